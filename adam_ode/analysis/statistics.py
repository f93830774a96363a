"""Small statistics used by the studies: binomial confidence intervals, log-log slopes, quantiles.

The interval and the fit are scipy.stats' (``binomtest(...).proportion_ci(method="wilson")``,
``linregress``); these wrappers fix the project's conventions (argument checks, 95 % default,
NaN standard error from two points) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .._validation import ParameterError

__all__ = ["wilson_interval", "SlopeFit", "loglog_slope", "summarize_sample"]

Z_95 = 1.959963984540054  # standard normal 97.5 % quantile: two-sided 95 % intervals


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (default 95 %).

    Unlike the normal ("Wald") interval it stays inside [0, 1] and is not degenerate at 0 or n
    successes, which is the regime of P(sup > δ) for small γ.
    """
    if n < 1:
        raise ParameterError(f"n must be an integer >= 1, got {n!r}")
    if not 0 <= successes <= n:
        raise ParameterError(f"successes must lie in [0, n] = [0, {n}], got {successes!r}")
    level = 2.0 * stats.norm.cdf(z) - 1.0  # the two-sided level of the quantile z
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(level, method="wilson")
    return float(max(0.0, ci.low)), float(min(1.0, ci.high))


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares fit log y = intercept + slope · log x with the slope's standard error."""

    slope: float
    stderr: float
    intercept: float

    def predict(self, x):
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** self.slope


def loglog_slope(x, y) -> SlopeFit:
    """Fit a power law y ≈ C x^slope by least squares in log-log coordinates.

    The standard error is the usual OLS one, sqrt(s² / Σ (log x − mean)²) with s² the residual
    variance on n − 2 degrees of freedom (NaN when only two points are given: two points fit
    any line exactly and say nothing about its uncertainty).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ParameterError("x and y must be 1-D arrays of the same length >= 2")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ParameterError("x and y must be > 0 for a log-log fit")
    if np.unique(x).size < 2:
        raise ParameterError("x must hold at least 2 distinct values for a slope")
    fit = stats.linregress(np.log(x), np.log(y))
    stderr = float(fit.stderr) if x.size > 2 else float("nan")
    return SlopeFit(float(fit.slope), stderr, float(fit.intercept))


def summarize_sample(values, delta: float) -> dict:
    """Mean, median, 90 % quantile of a sample and P(value > δ) with its Wilson interval."""
    values = np.asarray(values, dtype=float)
    exceed = int(np.count_nonzero(values > delta))
    low, high = wilson_interval(exceed, values.size)
    return {
        "n_runs": int(values.size),
        "mean_sup": float(values.mean()),
        "median_sup": float(np.median(values)),
        "q90_sup": float(np.quantile(values, 0.9)),
        "p_exceed": exceed / values.size,
        "p_exceed_ci95": [low, high],
    }
