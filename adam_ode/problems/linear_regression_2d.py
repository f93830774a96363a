r"""The talk's 2D linear regression (Barakat & Bianchi, seed talk, 'Régression linéaire 2D').

ξ = (X, Y) with X ~ Bernoulli(p), Y = X x1* + (1 − X) x2* + σ N(0, 1) and
f(x, ξ) = ½ (⟨(X, 1 − X), x⟩ − Y)². Closed forms:

    F(x)  = ½ [p (x1 − x1*)² + (1 − p)(x2 − x2*)²] + σ²/2
    ∇F(x) = (p (x1 − x1*), (1 − p)(x2 − x2*))
    S(x)  = (p [(x1 − x1*)² + σ²], (1 − p)[(x2 − x2*)² + σ²])

Gradient moments: g = (X r, (1 − X) r) with r = X e₁ + (1 − X) e₂ − σζ, e = x − x*. Given
X = 1, g₁ ~ N(e₁, σ²) and g₂ = 0 (and symmetrically), so g₁g₂ = 0 and, with w = (p, 1 − p),

    E g_iᵏ = w_i E N(e_i, σ²)ᵏ,   E[g_i g_j²] = E[g_i² g_j²] = 0 (i ≠ j),

from which Cov(g), Cov(g_i, g_j²) and Cov(g_i², g_j²) follow (raw moments minus products of
means); ∇²F = diag w and ∂S/∂x = diag(2 w e).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import check_nonnegative, check_open_interval, check_vector
from ..streams import normal, uniform
from .base import GradientMoments, Problem, evaluator, register_problem

__all__ = ["LinearRegression2D", "LinearRegression2DData"]


class LinearRegression2DData(NamedTuple):
    """Kernel data: Bernoulli parameter p, noise σ and the minimizer (x1*, x2*)."""

    p: float
    sigma: float
    x1: float
    x2: float


@register_problem
class LinearRegression2D(Problem):
    r"""The talk's 2D linear regression (see the module docstring for F, ∇F, S).

    Parameters
    ----------
    p : float in (0, 1)
        Probability that a sample informs the first coordinate.
    sigma : float >= 0
        Standard deviation of the label noise.
    x_star : pair of floats
        The minimizer (x1*, x2*).
    """

    name = "linear-regression-2d"
    data_class = LinearRegression2DData
    dim = 2
    kernel_pairs = True  # 2-D, latency-bound steps: two runs per loop overlap (adam_ode.kernels)

    @classmethod
    def example(cls) -> "LinearRegression2D":
        """An instance for the generic tests: the talk's regression."""
        return cls()

    def example_start(self):
        return np.array([0.0, 0.0])

    def __init__(self, p: float = 0.3, sigma: float = 1.0, x_star=(3.0, 1.0)):
        self.p = check_open_interval("p", p, 0.0, 1.0)
        self.sigma = check_nonnegative("sigma", sigma)
        self.x_star = check_vector("x_star", x_star, 2)
        self._weights = np.array([self.p, 1.0 - self.p])

    def F(self, x):
        e = np.asarray(x, dtype=float) - self.x_star
        return 0.5 * np.sum(self._weights * e**2, axis=-1) + 0.5 * self.sigma**2

    def grad_F(self, x):
        return self._weights * (np.asarray(x, dtype=float) - self.x_star)

    def hessian_vector(self, x, u):
        return self._weights * np.broadcast_to(np.asarray(u, dtype=float), np.shape(x))

    def S(self, x):
        e = np.asarray(x, dtype=float) - self.x_star
        return self._weights * (e**2 + self.sigma**2)

    def sample_grad(self, x, rng):
        # Same draw order as the numba sampler: uniform for X, then one normal for the noise.
        X = 1.0 if rng.random() < self.p else 0.0
        e = np.asarray(x, dtype=float) - self.x_star
        r = X * e[0] + (1.0 - X) * e[1] - self.sigma * rng.standard_normal()
        return np.array([X * r, (1.0 - X) * r])

    def gradient_moments(self, x):
        e = np.asarray(x, dtype=float) - self.x_star
        w = self._weights
        s2 = self.sigma**2
        m1 = w * e
        m2 = w * (e**2 + s2)
        m3 = w * (e**3 + 3.0 * e * s2)
        m4 = w * (e**4 + 6.0 * e**2 * s2 + 3.0 * s2**2)
        # Raw cross moments vanish off the diagonal (g₁g₂ = 0).
        cov = -np.outer(m1, m1) + np.diag(m2)
        cov_g_g2 = -np.outer(m1, m2) + np.diag(m3)
        cov_g2 = -np.outer(m2, m2) + np.diag(m4)
        return GradientMoments(m1, m2, cov, cov_g_g2, cov_g2, np.diag(w), np.diag(2.0 * w * e))

    def critical_distance(self, x):
        return np.linalg.norm(np.asarray(x, dtype=float) - self.x_star, axis=-1)

    @property
    def minimizer(self):
        return self.x_star.copy()

    @property
    def kernel_data(self):
        return LinearRegression2DData(self.p, self.sigma, float(self.x_star[0]),
                                      float(self.x_star[1]))

    def config(self):
        return {"name": self.name, "p": self.p, "sigma": self.sigma,
                "x_star": self.x_star.tolist()}


# The numba evaluators (the same arithmetic, in the same order, as the NumPy methods).

@evaluator("sample_grad", LinearRegression2DData)
def _sample_grad(data, x, rng, g):
    X = 1.0 if uniform(rng) < data.p else 0.0
    r = X * (x[0] - data.x1) + (1.0 - X) * (x[1] - data.x2) - data.sigma * normal(rng)
    g[0] = X * r
    g[1] = (1.0 - X) * r


@evaluator("exact_grad", LinearRegression2DData)
def _exact_grad(data, x, g):
    g[0] = data.p * (x[0] - data.x1)
    g[1] = (1.0 - data.p) * (x[1] - data.x2)


@evaluator("critical_distance", LinearRegression2DData)
def _critical_distance(data, x):
    return math.sqrt((x[0] - data.x1) ** 2 + (x[1] - data.x2) ** 2)


@evaluator("kernel_dim", LinearRegression2DData)
def _kernel_dim(data, x):
    return 2  # a literal: LLVM unrolls every coordinate loop


@evaluator("noise_moments", LinearRegression2DData)
def _noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
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
