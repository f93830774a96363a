"""Statistics helpers: Wilson interval, log-log slope fit."""

import numpy as np
import pytest

from adam_ode.analysis.statistics import loglog_slope, summarize_sample, wilson_interval


def test_wilson_interval_known_values():
    # Reference values: Wilson (1927) score interval, e.g. 0 of 10 -> [0, 0.2775].
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.27753, abs=1e-5)
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)


def test_wilson_interval_covers_at_nominal_rate():
    rng = np.random.default_rng(0)
    p, n, trials = 0.07, 200, 4000
    hits = rng.binomial(n, p, trials)
    covered = np.mean([lo <= p <= hi for lo, hi in (wilson_interval(k, n) for k in hits)])
    assert 0.93 < covered < 0.97, covered


def test_loglog_slope_recovers_power_law_and_stderr():
    x = np.logspace(-4, -1, 7)
    fit = loglog_slope(x, 3.0 * x**0.5)
    assert fit.slope == pytest.approx(0.5, abs=1e-12) and fit.stderr < 1e-12
    assert fit.predict(1.0) == pytest.approx(3.0)
    noisy = 3.0 * x**0.5 * np.exp(np.random.default_rng(1).normal(0, 0.05, x.size))
    fit = loglog_slope(x, noisy)
    assert abs(fit.slope - 0.5) < 4 * fit.stderr and 0 < fit.stderr < 0.05
    assert np.isnan(loglog_slope([0.1, 0.01], [1.0, 0.3]).stderr)  # two points: no error bar
    with pytest.raises(ValueError, match="distinct"):
        loglog_slope([0.1, 0.1, 0.1], [1.0, 2.0, 3.0])


def test_summarize_sample():
    s = summarize_sample(np.arange(1.0, 11.0), delta=8.5)
    assert s["mean_sup"] == 5.5 and s["median_sup"] == 5.5
    assert s["p_exceed"] == 0.2 and s["n_runs"] == 10
    assert s["p_exceed_ci95"][0] < 0.2 < s["p_exceed_ci95"][1]


def test_scipy_wrappers_equal_the_closed_forms():
    # Wilson (1927): centre (p + z²/2n)/(1 + z²/n), half-width z sqrt(p(1−p)/n + z²/4n²)/(1 + z²/n);
    # OLS slope standard error sqrt(s²/Σ(log x − mean)²).
    z = 1.959963984540054
    for n in (1, 7, 200):
        for k in range(n + 1):
            p = k / n
            denom = 1.0 + z**2 / n
            centre = (p + z**2 / (2 * n)) / denom
            half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
            assert wilson_interval(k, n) == pytest.approx(
                (max(0.0, centre - half), min(1.0, centre + half)), abs=1e-15)
    x = np.logspace(-4, -1, 6)
    y = x**0.5 * np.exp(np.random.default_rng(2).normal(0, 0.05, 6))
    lx, ly = np.log(x), np.log(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (intercept + slope * lx)
    stderr = np.sqrt(resid @ resid / 4 / np.sum((lx - lx.mean()) ** 2))
    fit = loglog_slope(x, y)
    assert (fit.slope, fit.intercept, fit.stderr) == pytest.approx((slope, intercept, stderr),
                                                                   rel=1e-12)
