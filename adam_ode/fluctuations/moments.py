r"""Exact moments of the stochastic gradient g = ∇f(x, ξ) that the fluctuation models need.

For a point x (d,), :func:`gradient_moments` returns, exactly for every built-in problem,

- ``mean`` ∇F(x) = E g and ``second`` S(x) = E g² (coordinatewise);
- ``cov`` Cov(g) (d, d);
- ``cov_g_g2`` [i, j] = Cov(g_i, g_j²) (d, d);
- ``cov_g2`` [i, j] = Cov(g_i², g_j²) (d, d);
- ``hessian`` ∇²F(x) and ``dS`` [i, j] = ∂S_i/∂x_j (d, d).

Closed forms (derived; each checked against sampling in tests/test_fluctuations_moments.py):

Gaussian gradient noise, g ~ N(μ, Σ) (StochasticQuadratic and DoubleWell with Σ = diag σ²,
CorrelatedQuadratic with Σ = LLᵀ): by Isserlis' theorem

    Cov(g_i, g_j²) = 2 μ_j Σ_ij,   Cov(g_i², g_j²) = 2 Σ_ij² + 4 μ_i μ_j Σ_ij.

LinearRegression2D: g = (X r, (1 − X) r) with r = X e₁ + (1 − X) e₂ − σζ, e = x − x*. Given X = 1,
g₁ ~ N(e₁, σ²) and g₂ = 0 (and symmetrically), so g₁g₂ = 0 and, with w = (p, 1 − p),

    E g_iᵏ = w_i E N(e_i, σ²)ᵏ,   E[g_i g_j²] = E[g_i² g_j²] = 0 (i ≠ j).

LeastSquares (mean of B per-sample gradients G_k = a_k r_k drawn with replacement, δ = G − μ with
covariance Σ₁, third moment κ_ijj = E δ_iδ_j², fourth moment E δ_i²δ_j²):

    Cov(ĝ) = Σ₁/B,   Cov(ĝ_i, ĝ_j²) = 2μ_jΣ₁_ij/B + κ_ijj/B²,
    Cov(ĝ_i², ĝ_j²) = 4μ_iμ_jΣ₁_ij/B + 2(μ_iκ_ijj + μ_jκ_jii)/B²
                      + E[δ_i²δ_j²]/B³ + (B − 1)(Σ₁_iiΣ₁_jj + 2Σ₁_ij²)/B³ − Σ₁_iiΣ₁_jj/B².

``separable`` is True when every matrix is diagonal at every x and the field is coordinatewise
(then the covariance ODE splits into d independent blocks).

The numba side (used by the SDE kernels) is the generic :func:`noise_moments`, one registered
implementation per kernel-data type, writing μ, S and the three covariance matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .._overloads import register_overload
from ..problems import (CorrelatedQuadratic, DoubleWell, LeastSquares, LinearRegression2D,
                        StochasticQuadratic)
from ..problems.correlated_quadratic import CorrelatedQuadraticData
from ..problems.double_well import DoubleWellData
from ..problems.linear_regression_2d import LinearRegression2DData
from ..problems.stochastic_quadratic import StochasticQuadraticData

__all__ = ["GradientMoments", "gradient_moments", "is_separable", "noise_moments",
           "has_kernel_moments", "diagonal_moments", "has_diagonal_moments"]


@dataclass(frozen=True)
class GradientMoments:
    """The moments of g at one point (see the module docstring)."""

    mean: np.ndarray
    second: np.ndarray
    cov: np.ndarray
    cov_g_g2: np.ndarray
    cov_g2: np.ndarray
    hessian: np.ndarray
    dS: np.ndarray


def _gaussian(mu, sigma, hessian, dS):
    mu = np.asarray(mu, dtype=float)
    second = mu**2 + np.diag(sigma)
    return GradientMoments(mu, second, sigma.copy(), 2.0 * sigma * mu[None, :],
                           2.0 * sigma**2 + 4.0 * np.outer(mu, mu) * sigma, hessian, dS)


def _separable_gaussian(problem, x, sigma2):
    mu = problem.grad_F(x)
    h = problem.hessian_vector(x, np.ones_like(x))  # diagonal Hessian: H·1 = diag H
    return _gaussian(mu, np.diag(sigma2), np.diag(h), np.diag(2.0 * mu * h))


def _regression_2d(problem, x):
    e = x - problem.x_star
    w = problem._weights
    s2 = problem.sigma**2
    m1 = w * e
    m2 = w * (e**2 + s2)
    m3 = w * (e**3 + 3.0 * e * s2)
    m4 = w * (e**4 + 6.0 * e**2 * s2 + 3.0 * s2**2)
    # Raw cross moments vanish off the diagonal (g₁g₂ = 0).
    cov = -np.outer(m1, m1) + np.diag(m2)
    cov_g_g2 = -np.outer(m1, m2) + np.diag(m3)
    cov_g2 = -np.outer(m2, m2) + np.diag(m4)
    return GradientMoments(m1, m2, cov, cov_g_g2, cov_g2, np.diag(w), np.diag(2.0 * w * e))


def _least_squares(problem, x):
    A, B = problem.A, problem.batch_size
    r = A @ x - problem.y
    G = A * r[:, None]  # per-sample gradients (n, d)
    mu = G.mean(axis=0)
    delta = G - mu
    n = A.shape[0]
    sigma1 = delta.T @ delta / n
    kappa = delta.T @ delta**2 / n  # κ[i, j] = E δ_i δ_j²
    fourth = (delta**2).T @ delta**2 / n
    dd = np.diag(sigma1)
    cov = sigma1 / B
    cov_g_g2 = 2.0 * sigma1 * mu[None, :] / B + kappa / B**2
    cov_g2 = (4.0 * np.outer(mu, mu) * sigma1 / B
              + 2.0 * (mu[:, None] * kappa + (mu[:, None] * kappa).T) / B**2
              + fourth / B**3 + (B - 1) * (np.outer(dd, dd) + 2.0 * sigma1**2) / B**3
              - np.outer(dd, dd) / B**2)
    second = mu**2 + dd / B
    H = A.T @ A / n
    # S = μ² + (S₁ − μ²)/B with S₁_i = (1/n) Σ_k A_ki² r_k²: ∂S₁_i/∂x_j = (2/n) Σ_k A_ki² r_k A_kj.
    dS1 = 2.0 * (A**2 * r[:, None]).T @ A / n
    dmu2 = 2.0 * mu[:, None] * H
    dS = dmu2 + (dS1 - dmu2) / B
    return GradientMoments(mu, second, cov, cov_g_g2, cov_g2, H, dS)


def gradient_moments(problem, x) -> GradientMoments:
    """The exact moments of g at x (d,) for a built-in problem (see the module docstring).

    Raises
    ------
    NotImplementedError
        For a problem class without known moments.
    """
    x = np.asarray(x, dtype=float)
    if isinstance(problem, StochasticQuadratic):
        return _separable_gaussian(problem, x, problem.sigma**2)
    if isinstance(problem, DoubleWell):
        return _separable_gaussian(problem, x, np.full(problem.dim, problem.sigma**2))
    if isinstance(problem, CorrelatedQuadratic):
        mu = problem.grad_F(x)
        return _gaussian(mu, problem.noise_cov, problem.A.copy(),
                         2.0 * mu[:, None] * problem.A)
    if isinstance(problem, LinearRegression2D):
        return _regression_2d(problem, x)
    if isinstance(problem, LeastSquares):
        return _least_squares(problem, x)
    raise NotImplementedError(f"no exact gradient-noise moments for {type(problem).__name__}: "
                              "the fluctuation models need Cov(g), Cov(g, g²), Var(g²), ∂S/∂x")


def is_separable(problem) -> bool:
    """True when the noise moments, ∇²F and ∂S/∂x are diagonal everywhere."""
    return isinstance(problem, (StochasticQuadratic, DoubleWell))


# ------------------------------------------------------------------------------------------------
# numba side: noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2) writes the moments at x.
# ------------------------------------------------------------------------------------------------

def noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    """Write ∇F, S, Cov(g), Cov(g, g²), Cov(g²) at x (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only; call gradient_moments")


_KERNEL_MOMENTS = (LinearRegression2DData, StochasticQuadraticData, DoubleWellData,
                   CorrelatedQuadraticData)


def has_kernel_moments(problem) -> bool:
    """Whether the SDE kernels support ``problem`` (a numba :func:`noise_moments` exists)."""
    return type(problem.kernel_data) in _KERNEL_MOMENTS


def diagonal_moments(data, i, x_i):
    """(∇F_i, S_i, Var g_i, Cov(g_i, g_i²), Var g_i²) at coordinate x_i of a separable problem
    (numba kernels only): the diagonal of what :func:`noise_moments` writes, the same arithmetic."""
    raise NotImplementedError("compiled into kernels only; call gradient_moments")


_DIAGONAL_MOMENTS = (StochasticQuadraticData, DoubleWellData)


def has_diagonal_moments(problem) -> bool:
    """Whether the separable SDE kernels apply (:func:`diagonal_moments` exists): the noise of
    g_i depends on x_i only and the coordinates are independent (block-diagonal (m, v) noise)."""
    return type(problem.kernel_data) in _DIAGONAL_MOMENTS


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gaussian_diagonal(mu_i, sigma2):
    return (mu_i, mu_i * mu_i + sigma2, sigma2, 2.0 * mu_i * sigma2,
            2.0 * sigma2 * sigma2 + 4.0 * mu_i * mu_i * sigma2)


@register_overload(diagonal_moments, StochasticQuadraticData)
def _quadratic_diagonal(data, i, x_i):
    return _gaussian_diagonal(data.h[i] * x_i, data.sigma[i] * data.sigma[i])


@register_overload(diagonal_moments, DoubleWellData)
def _double_well_diagonal(data, i, x_i):
    return _gaussian_diagonal(x_i * x_i * x_i - x_i, data.sigma * data.sigma)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _diagonal_gaussian(i, mu_i, sigma2, mu, s, cov, cov_g_g2, cov_g2):
    """Row and column i of the moments of g_i ~ N(μ_i, σ²) independent of the others."""
    d = mu.shape[0]
    for j in range(d):
        cov[i, j] = 0.0
        cov_g_g2[i, j] = 0.0
        cov_g2[i, j] = 0.0
    mu[i] = mu_i
    s[i] = mu_i * mu_i + sigma2
    cov[i, i] = sigma2
    cov_g_g2[i, i] = 2.0 * mu_i * sigma2
    cov_g2[i, i] = 2.0 * sigma2 * sigma2 + 4.0 * mu_i * mu_i * sigma2


@register_overload(noise_moments, StochasticQuadraticData)
def _quadratic_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    for i in range(x.shape[0]):  # no temporaries: kernels call this every step
        _diagonal_gaussian(i, data.h[i] * x[i], data.sigma[i] * data.sigma[i], mu, s, cov,
                           cov_g_g2, cov_g2)


@register_overload(noise_moments, DoubleWellData)
def _double_well_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    for i in range(x.shape[0]):
        _diagonal_gaussian(i, x[i] * x[i] * x[i] - x[i], data.sigma * data.sigma, mu, s, cov,
                           cov_g_g2, cov_g2)


@register_overload(noise_moments, CorrelatedQuadraticData)
def _correlated_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += data.A[i, j] * x[j]
        mu[i] = acc
    for i in range(d):
        for j in range(d):
            c = 0.0
            for k in range(d):
                c += data.L[i, k] * data.L[j, k]
            cov[i, j] = c
    for i in range(d):
        s[i] = mu[i] * mu[i] + cov[i, i]
        for j in range(d):
            cov_g_g2[i, j] = 2.0 * mu[j] * cov[i, j]
            cov_g2[i, j] = 2.0 * cov[i, j] * cov[i, j] + 4.0 * mu[i] * mu[j] * cov[i, j]


@register_overload(noise_moments, LinearRegression2DData)
def _regression_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    s2 = data.sigma * data.sigma
    e0 = x[0] - data.x1
    e1 = x[1] - data.x2
    w0 = data.p
    w1 = 1.0 - data.p
    m1a, m1b = w0 * e0, w1 * e1
    m2a, m2b = w0 * (e0 * e0 + s2), w1 * (e1 * e1 + s2)
    m3a, m3b = w0 * (e0 * e0 * e0 + 3.0 * e0 * s2), w1 * (e1 * e1 * e1 + 3.0 * e1 * s2)
    m4a = w0 * (e0 ** 4 + 6.0 * e0 * e0 * s2 + 3.0 * s2 * s2)
    m4b = w1 * (e1 ** 4 + 6.0 * e1 * e1 * s2 + 3.0 * s2 * s2)
    mu[0], mu[1] = m1a, m1b
    s[0], s[1] = m2a, m2b
    cov[0, 0], cov[0, 1], cov[1, 0], cov[1, 1] = m2a - m1a * m1a, -m1a * m1b, -m1b * m1a, \
        m2b - m1b * m1b
    cov_g_g2[0, 0], cov_g_g2[0, 1] = m3a - m1a * m2a, -m1a * m2b
    cov_g_g2[1, 0], cov_g_g2[1, 1] = -m1b * m2a, m3b - m1b * m2b
    cov_g2[0, 0], cov_g2[0, 1] = m4a - m2a * m2a, -m2a * m2b
    cov_g2[1, 0], cov_g2[1, 1] = -m2b * m2a, m4b - m2b * m2b
