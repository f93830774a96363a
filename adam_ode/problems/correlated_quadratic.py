r"""A quadratic with correlated Gaussian gradient noise (the setting of Callisti et al. 2025).

f(x, ξ) = ½ xᵀAx + xᵀLξ with ξ ~ N(0, I_d), A symmetric positive definite and L (d, d), so

    F(x) = ½ xᵀAx,   ∇F(x) = Ax,   g = Ax + Lξ ~ N(Ax, Σ),  Σ = LLᵀ,
    S(x) = (Ax)² + diag Σ,   𝒮 = {0}.

The default is A = [[1, .5], [.5, 1]] with noise N(0, A²) (L = A). Adam is coordinatewise, so
this problem is not a rotation of :class:`~adam_ode.StochasticQuadratic`: the noise couples the
coordinates through Cov(g_i, g_j²) and Cov(g_i², g_j²). It is the test problem of the
fluctuation models (:mod:`adam_ode.fluctuations`, which re-exports it).

Gradient moments (Isserlis, see :mod:`adam_ode.problems.base`), μ = Ax:

    Cov(g) = Σ,   Cov(g_i, g_j²) = 2 μ_j Σ_ij,   Cov(g_i², g_j²) = 2 Σ_ij² + 4 μ_i μ_j Σ_ij,
    ∇²F = A,   ∂S_i/∂x_j = 2 μ_i A_ij.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import ParameterError
from ..streams import normal
from .base import Problem, evaluator, gaussian_moments, register_problem

__all__ = ["CorrelatedQuadratic", "CorrelatedQuadraticData", "DEFAULT_A"]

DEFAULT_A = ((1.0, 0.5), (0.5, 1.0))


class CorrelatedQuadraticData(NamedTuple):
    """Kernel data: A (d, d) and the noise factor L (d, d)."""

    A: np.ndarray
    L: np.ndarray


@register_problem
class CorrelatedQuadratic(Problem):
    r"""F(x) = ½ xᵀAx with gradient noise Lξ, ξ ~ N(0, I) (see the module docstring).

    Parameters
    ----------
    A : array (d, d), symmetric positive definite
        Hessian. Default [[1, .5], [.5, 1]].
    L : array (d, d), optional
        Noise factor, Cov(g) = LLᵀ. Default ``A`` (noise N(0, A²)).
    """

    name = "correlated-quadratic"
    linear_gaussian = True
    data_class = CorrelatedQuadraticData

    @classmethod
    def example(cls) -> "CorrelatedQuadratic":
        """An instance for the generic tests (the default 2-D matrices)."""
        return cls()

    def example_start(self):
        return np.array([1.0, -0.5])

    def __init__(self, A=DEFAULT_A, L=None):
        A = np.array(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ParameterError(f"A must be a square non-empty matrix, got shape {A.shape}")
        if not np.allclose(A, A.T, rtol=0.0, atol=1e-14 * np.abs(A).max()):
            raise ParameterError("A must be symmetric")
        if np.linalg.eigvalsh(A).min() <= 0:
            raise ParameterError("A must be positive definite (allowed: eigenvalues in (0, inf))")
        L = A.copy() if L is None else np.array(L, dtype=float)
        if L.shape != A.shape or not np.all(np.isfinite(L)):
            raise ParameterError(f"L must be a finite matrix of shape {A.shape}, got {L.shape}")
        self.dim = A.shape[0]
        self.A = np.ascontiguousarray(A)
        self.L = np.ascontiguousarray(L)
        self.noise_cov = self.L @ self.L.T

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x)

    def grad_F(self, x):
        return np.asarray(x, dtype=float) @ self.A.T

    def hessian_vector(self, x, u):
        return np.broadcast_to(np.asarray(u, dtype=float), np.shape(x)) @ self.A.T

    def S(self, x):
        return self.grad_F(x) ** 2 + np.diag(self.noise_cov)

    def sample_grad(self, x, rng):
        xi = np.array([rng.standard_normal() for _ in range(self.dim)])
        return self.A @ np.asarray(x, dtype=float) + self.L @ xi

    def gradient_moments(self, x):
        mu = self.grad_F(np.asarray(x, dtype=float))
        return gaussian_moments(mu, self.noise_cov, self.A.copy(), 2.0 * mu[:, None] * self.A)

    def critical_distance(self, x):
        return np.linalg.norm(np.asarray(x, dtype=float), axis=-1)

    @property
    def minimizer(self):
        return np.zeros(self.dim)

    @property
    def kernel_data(self):
        return CorrelatedQuadraticData(self.A, self.L)

    def config(self):
        return {"name": self.name, "A": self.A.tolist(), "L": self.L.tolist()}


@evaluator("sample_grad", CorrelatedQuadraticData)
def _sample_grad(data, x, rng, g):
    d = x.shape[0]
    xi = np.empty(d)
    for j in range(d):
        xi[j] = normal(rng)  # same bits as Generator.standard_normal (adam_ode.streams)
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += data.A[i, j] * x[j] + data.L[i, j] * xi[j]
        g[i] = acc


@evaluator("exact_grad", CorrelatedQuadraticData)
def _exact_grad(data, x, g):
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += data.A[i, j] * x[j]
        g[i] = acc


@evaluator("critical_distance", CorrelatedQuadraticData)
def _critical_distance(data, x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * x[i]
    return math.sqrt(acc)


@evaluator("kernel_dim", CorrelatedQuadraticData)
def _kernel_dim(data, x):
    return x.shape[0]


@evaluator("noise_moments", CorrelatedQuadraticData)
def _noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
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
