r"""Separable non-convex double well with saddles.

F(x) = Σ (x_i² − 1)² / 4, ∇F(x) = x³ − x, gradient noise additive N(0, σ²) per coordinate,
so S(x) = (x³ − x)² + σ². Critical set {−1, 0, 1}^d: 2^d minima, the rest saddles or the
maximum at 0.

Gradient moments: g ~ N(x³ − x, σ² I), independent coordinates, so (Isserlis, see
:mod:`adam_ode.problems.base`) every moment matrix is diagonal,

    Var g_i = σ²,   Cov(g_i, g_i²) = 2 μ_i σ²,   Var g_i² = 2 σ⁴ + 4 μ_i² σ²   (μ = x³ − x),

∇²F = diag(3x² − 1) and ∂S/∂x = diag(2 μ (3x² − 1)).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import check_int, check_nonnegative
from ..streams import normal
from .base import (
    Problem,
    evaluator,
    gaussian_coordinate_moments,
    register_problem,
    separable_gaussian_moments,
    write_gaussian_coordinate,
)

__all__ = ["DoubleWell", "DoubleWellData"]


class DoubleWellData(NamedTuple):
    """Kernel data: the noise standard deviation σ."""

    sigma: float


@register_problem
class DoubleWell(Problem):
    r"""Separable double well (see the module docstring).

    Parameters
    ----------
    d : int >= 1
        Dimension.
    sigma : float >= 0
        Standard deviation of the gradient noise.
    """

    name = "double-well"
    data_class = DoubleWellData
    separable_moments = True

    @classmethod
    def example(cls) -> "DoubleWell":
        """An instance for the generic tests (d = 2, saddles and four minima)."""
        return cls(d=2, sigma=0.5)

    def example_start(self):
        return np.array([0.3, -1.7])

    def __init__(self, d: int = 2, sigma: float = 0.5):
        self.dim = check_int("d", d, 1)
        self.sigma = check_nonnegative("sigma", sigma)

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return 0.25 * np.sum((x**2 - 1.0) ** 2, axis=-1)

    def grad_F(self, x):
        x = np.asarray(x, dtype=float)
        return x**3 - x

    def hessian_vector(self, x, u):
        return (3.0 * np.asarray(x, dtype=float) ** 2 - 1.0) * np.asarray(u, dtype=float)

    def S(self, x):
        return self.grad_F(x) ** 2 + self.sigma**2

    def sample_grad(self, x, rng):
        x = np.asarray(x, dtype=float)
        xi = np.array([rng.standard_normal() for _ in range(self.dim)])
        return x**3 - x + self.sigma * xi

    def gradient_moments(self, x):
        return separable_gaussian_moments(self, np.asarray(x, dtype=float),
                                          np.full(self.dim, self.sigma**2))

    def critical_distance(self, x):
        x = np.asarray(x, dtype=float)
        # Coordinatewise nearest point of {-1, 0, 1}.
        gap = np.minimum(np.minimum(np.abs(x + 1.0), np.abs(x)), np.abs(x - 1.0))
        return np.linalg.norm(gap, axis=-1)

    @property
    def min_value(self):
        return 0.0

    @property
    def kernel_data(self):
        return DoubleWellData(self.sigma)

    def config(self):
        return {"name": self.name, "d": self.dim, "sigma": self.sigma}


@evaluator("sample_grad", DoubleWellData)
def _sample_grad(data, x, rng, g):
    for i in range(x.shape[0]):
        g[i] = x[i] * x[i] * x[i] - x[i] + data.sigma * normal(rng)


@evaluator("exact_grad", DoubleWellData)
def _exact_grad(data, x, g):
    for i in range(x.shape[0]):
        g[i] = x[i] * x[i] * x[i] - x[i]


@evaluator("critical_distance", DoubleWellData)
def _critical_distance(data, x):
    acc = 0.0
    for i in range(x.shape[0]):
        gap = min(abs(x[i] + 1.0), abs(x[i]), abs(x[i] - 1.0))
        acc += gap * gap
    return math.sqrt(acc)


@evaluator("kernel_dim", DoubleWellData)
def _kernel_dim(data, x):
    return x.shape[0]


@evaluator("noise_moments", DoubleWellData)
def _noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    for i in range(x.shape[0]):  # no temporaries: kernels call this every step
        write_gaussian_coordinate(i, x[i] * x[i] * x[i] - x[i], data.sigma * data.sigma, mu, s,
                                  cov, cov_g_g2, cov_g2)


@evaluator("diagonal_moments", DoubleWellData)
def _diagonal_moments(data, i, x_i):
    return gaussian_coordinate_moments(x_i * x_i * x_i - x_i, data.sigma * data.sigma)
