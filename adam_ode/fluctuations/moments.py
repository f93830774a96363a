r"""Exact moments of the stochastic gradient g = ∇f(x, ξ) that the fluctuation models need.

For a point x (d,), :func:`gradient_moments` returns a
:class:`~adam_ode.problems.base.GradientMoments`: ∇F = E g, S = E g², Cov(g), Cov(g_i, g_j²),
Cov(g_i², g_j²), ∇²F and ∂S/∂x. Each problem computes its own (``Problem.gradient_moments``),
with the closed forms derived in its module docstring and checked against sampling in
tests/test_fluctuations_moments.py:

- :mod:`~adam_ode.problems.stochastic_quadratic`, :mod:`~adam_ode.problems.double_well`,
  :mod:`~adam_ode.problems.correlated_quadratic`: Gaussian noise (Isserlis' theorem,
  :func:`~adam_ode.problems.base.gaussian_moments`);
- :mod:`~adam_ode.problems.linear_regression_2d`: Bernoulli-selected coordinates;
- :mod:`~adam_ode.problems.least_squares`, :mod:`~adam_ode.problems.logistic_regression`: mean
  of B per-sample gradients drawn with replacement
  (:func:`~adam_ode.problems.base.minibatch_moments`).

:func:`is_separable` is the problem's ``separable_moments``: True when every matrix is diagonal at
every x and the field is coordinatewise (then the covariance ODE splits into d independent
blocks).

The numba side (used by the SDE kernels) is the generic :func:`noise_moments` (and, for separable
problems, :func:`diagonal_moments`), one implementation registered per kernel-data type in the
problem's module; :func:`has_kernel_moments` and :func:`has_diagonal_moments` tell whether one is
registered. All of these live in :mod:`adam_ode.problems.base` and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from ..problems.base import (
    GradientMoments,
    Problem,
    diagonal_moments,
    has_diagonal_moments,
    has_kernel_moments,
    noise_moments,
)

__all__ = ["GradientMoments", "gradient_moments", "is_separable", "noise_moments",
           "has_kernel_moments", "diagonal_moments", "has_diagonal_moments"]


def gradient_moments(problem, x) -> GradientMoments:
    """The exact moments of g at x (d,): ``problem.gradient_moments(x)``.

    Raises
    ------
    NotImplementedError
        For a problem class without known moments.
    """
    x = np.asarray(x, dtype=float)
    if not isinstance(problem, Problem):  # not a problem: the default's NotImplementedError
        return Problem.gradient_moments(problem, x)
    return problem.gradient_moments(x)


def is_separable(problem) -> bool:
    """True when the noise moments, ∇²F and ∂S/∂x are diagonal everywhere
    (``problem.separable_moments``)."""
    return isinstance(problem, Problem) and problem.separable_moments
