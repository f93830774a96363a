"""Test cases shared by the test modules: one instance of every problem of the core package."""

import numpy as np

from adam_ode import DoubleWell, LeastSquares, LinearRegression2D, StochasticQuadratic


def _least_squares(batch_size=1):
    rng = np.random.default_rng(42)
    A = rng.standard_normal((30, 3))
    y = A @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(30)
    return LeastSquares(A, y, batch_size=batch_size)


PROBLEMS = {
    "linreg2d": (LinearRegression2D(), np.array([0.0, 0.0])),
    "quadratic": (StochasticQuadratic(h=[1.0, 4.0, 0.5], sigma=0.3), np.array([2.0, -1.0, 1.0])),
    "double-well": (DoubleWell(d=2, sigma=0.5), np.array([0.3, -1.7])),
    "least-squares": (_least_squares(), np.array([0.0, 0.0, 0.0])),
    "least-squares-b4": (_least_squares(4), np.array([0.5, 0.5, 0.5])),
}
