r"""Quadratic with additive Gaussian gradient noise in any dimension d.

f(x, ξ) = ½ Σ h_i x_i² + ⟨σ ⊙ ξ, x⟩ with ξ ~ N(0, I_d), so
F(x) = ½ Σ h_i x_i², ∇F(x) = h ⊙ x, S(x) = (h ⊙ x)² + σ², 𝒮 = {0}.

Gradient moments: g ~ N(h ⊙ x, diag σ²), independent coordinates, so (Isserlis, see
:mod:`adam_ode.problems.base`) every moment matrix is diagonal,

    Var g_i = σ_i²,   Cov(g_i, g_i²) = 2 μ_i σ_i²,   Var g_i² = 2 σ_i⁴ + 4 μ_i² σ_i²   (μ = h ⊙ x),

∇²F = diag h and ∂S/∂x = diag(2 μ h).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import ParameterError, check_int
from ..streams import normal
from .base import (
    Problem,
    evaluator,
    gaussian_coordinate_moments,
    register_problem,
    separable_gaussian_moments,
    write_gaussian_coordinate,
)

__all__ = ["StochasticQuadratic", "StochasticQuadraticData"]


class StochasticQuadraticData(NamedTuple):
    """Kernel data: curvatures h (d,) and noise standard deviations σ (d,)."""

    h: np.ndarray
    sigma: np.ndarray


@register_problem
class StochasticQuadratic(Problem):
    r"""Quadratic with additive Gaussian gradient noise (see the module docstring).

    Parameters
    ----------
    h : array of d floats > 0, optional
        Curvatures. Default (:data:`DEFAULT_DIM` = 100): ``h_i`` log-spaced from 1e-2 to 1, an
        ill-conditioned problem (condition number 100) like the talk's dimension-100 example.
    sigma : float >= 0 or array of d floats >= 0
        Noise standard deviation per coordinate (a scalar is broadcast). Default 0.5.
    """

    name = "stochastic-quadratic"
    data_class = StochasticQuadraticData
    separable_moments = True
    DEFAULT_DIM = 100

    @classmethod
    def example(cls) -> "StochasticQuadratic":
        """An instance for the generic tests (d = 3, three curvatures)."""
        return cls(h=[1.0, 4.0, 0.5], sigma=0.3)

    def example_start(self):
        return np.array([2.0, -1.0, 1.0])

    def __init__(self, h=None, sigma=0.5):
        if h is None:
            h = np.logspace(-2.0, 0.0, self.DEFAULT_DIM)
        h_arr = np.atleast_1d(np.asarray(h, dtype=float))
        if h_arr.ndim != 1 or h_arr.size == 0:
            raise ParameterError(f"h must be a non-empty 1-D array, got shape {h_arr.shape}")
        if not np.all(np.isfinite(h_arr)) or np.any(h_arr <= 0):
            raise ParameterError(f"h must be > 0 and finite (allowed range (0, inf)), got {h_arr}")
        self.dim = h_arr.size
        self.h = h_arr
        sig = np.broadcast_to(np.asarray(sigma, dtype=float), (self.dim,)).copy() \
            if np.ndim(sigma) == 0 else np.asarray(sigma, dtype=float)
        if sig.shape != (self.dim,):
            raise ParameterError(f"sigma must be a scalar or have shape ({self.dim},), got {sig.shape}")
        if not np.all(np.isfinite(sig)) or np.any(sig < 0):
            raise ParameterError(f"sigma must be >= 0 and finite (allowed range [0, inf)), got {sigma!r}")
        self.sigma = sig

    @classmethod
    def from_config(cls, **params):
        """``d`` (with the default log-spaced curvatures) or ``h``, and ``sigma``."""
        if "d" in params:
            d = check_int("d", params.pop("d"), 1)
            if "h" in params and np.size(params["h"]) != d:
                raise ParameterError(f"d = {d} and h of length {np.size(params['h'])} disagree: "
                                     "give h, or d for the default log-spaced curvatures")
            params.setdefault("h", np.logspace(-2.0, 0.0, d) if d > 1 else [1.0])
        return cls(**params)

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return 0.5 * np.sum(self.h * x**2, axis=-1)

    def grad_F(self, x):
        return self.h * np.asarray(x, dtype=float)

    def hessian_vector(self, x, u):
        return self.h * np.broadcast_to(np.asarray(u, dtype=float), np.shape(x))

    def S(self, x):
        return (self.h * np.asarray(x, dtype=float)) ** 2 + self.sigma**2

    def sample_grad(self, x, rng):
        x = np.asarray(x, dtype=float)
        xi = np.array([rng.standard_normal() for _ in range(self.dim)])
        return self.h * x + self.sigma * xi

    def gradient_moments(self, x):
        return separable_gaussian_moments(self, np.asarray(x, dtype=float), self.sigma**2)

    def critical_distance(self, x):
        return np.linalg.norm(np.asarray(x, dtype=float), axis=-1)

    @property
    def minimizer(self):
        return np.zeros(self.dim)

    @property
    def kernel_data(self):
        return StochasticQuadraticData(self.h, self.sigma)

    def config(self):
        return {"name": self.name, "h": self.h.tolist(), "sigma": self.sigma.tolist()}


@evaluator("sample_grad", StochasticQuadraticData)
def _sample_grad(data, x, rng, g):
    for i in range(x.shape[0]):
        g[i] = data.h[i] * x[i] + data.sigma[i] * normal(rng)


@evaluator("exact_grad", StochasticQuadraticData)
def _exact_grad(data, x, g):
    for i in range(x.shape[0]):
        g[i] = data.h[i] * x[i]


@evaluator("critical_distance", StochasticQuadraticData)
def _critical_distance(data, x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * x[i]
    return math.sqrt(acc)


@evaluator("kernel_dim", StochasticQuadraticData)
def _kernel_dim(data, x):
    return x.shape[0]


@evaluator("noise_moments", StochasticQuadraticData)
def _noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    for i in range(x.shape[0]):  # no temporaries: kernels call this every step
        write_gaussian_coordinate(i, data.h[i] * x[i], data.sigma[i] * data.sigma[i], mu, s, cov,
                                  cov_g_g2, cov_g2)


@evaluator("diagonal_moments", StochasticQuadraticData)
def _diagonal_moments(data, i, x_i):
    return gaussian_coordinate_moments(data.h[i] * x_i, data.sigma[i] * data.sigma[i])
