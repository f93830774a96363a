"""adam_ode.analysis.weak_error: control-variate means, time bases, fitted orders."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import ParameterError
from adam_ode.analysis.weak_error import (
    control_variate_mean,
    difference_of_means,
    fit_order,
    local_slopes,
    time_basis,
)


def test_control_variates_are_unbiased_and_their_stderr_is_honest():
    # y = 1 + Yβ + small noise: the zero-mean controls carry most of the variance. Across
    # replications the cross-fitted estimates centre on 1 with the spread their se claims.
    rng = np.random.default_rng(0)
    est, se, plain = [], [], []
    for _ in range(200):
        Y = rng.standard_normal((400, 6))
        y = 1.0 + Y @ np.arange(1.0, 7.0) + 0.1 * rng.standard_normal(400)
        e, s = control_variate_mean(y, Y)
        est.append(e)
        se.append(s)
        plain.append(control_variate_mean(y)[1])
    est = np.array(est)
    assert abs(est.mean() - 1.0) < 4 * est.std(ddof=1) / np.sqrt(est.size), est.mean()
    ratio = est.std(ddof=1) / np.mean(se)
    assert abs(ratio - 1.0) < 0.15, ratio  # sampling error of the ratio ~0.05
    assert np.mean(se) < 0.02 * np.mean(plain)


def test_control_variate_mean_without_controls_is_the_plain_mean():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    assert_allclose(control_variate_mean(y), (3.5, y.std(ddof=1) / 2), rtol=1e-15, atol=0)
    assert_allclose(control_variate_mean(y, np.zeros((4, 0))), control_variate_mean(y),
                    rtol=0, atol=0)
    # too few paths for the controls: plain mean
    assert control_variate_mean(y, np.ones((4, 1))) == control_variate_mean(y)
    assert_allclose(difference_of_means((3.0, 0.3), (1.0, 0.4)), (2.0, 0.5), rtol=1e-15, atol=0)
    with pytest.raises(ParameterError):
        control_variate_mean([1.0])


GAMMAS = np.array([0.1, 0.05, 0.025, 0.0125, 0.00625])


def test_corrected_fit_recovers_the_order_the_power_law_misses():
    # e = C γ² (1 + Dγ) with the values measured on the correlated quadratic (C ≈ 2.9, D ≈ −1.6):
    # the pure power law gives ~1.94 and is rejected by χ²; the corrected model gives 2.
    e = 2.9 * GAMMAS**2 * (1 - 1.6 * GAMMAS)
    se = 0.01 * e
    fit = fit_order(GAMMAS, e, se, "corrected")
    assert_allclose([fit.slope, fit.C, fit.D], [2.0, 2.9, -1.6], rtol=1e-6, atol=0)
    assert fit.chi2_dof < 1e-10 and fit.n_points == 5
    power = fit_order(GAMMAS, e, se, "power")
    assert 1.9 < power.slope < 1.96 and power.p_value < 1e-4, power
    assert_allclose(local_slopes(GAMMAS, 3.0 * GAMMAS), [1.0] * 4, rtol=1e-12, atol=0)
    assert local_slopes([0.1, 0.05], [1.0, 0.0]) == [None]


def test_corrected_fit_stderr_covers_noisy_errors():
    rng = np.random.default_rng(1)
    truth = -0.14 * GAMMAS * (1 - 5.5 * GAMMAS)  # order 1, sign change near γ = 0.18
    se = 0.03 * np.abs(truth)
    pulls = []
    for _ in range(100):
        fit = fit_order(GAMMAS, truth + se * rng.standard_normal(5), se, "corrected")
        pulls.append((fit.slope - 1.0) / fit.stderr)
    assert abs(np.std(pulls) - 1.0) < 0.25, np.std(pulls)
    assert abs(np.mean(pulls)) < 0.4, np.mean(pulls)


def test_fit_order_rejects_too_few_or_bad_points():
    with pytest.raises(ParameterError):
        fit_order(GAMMAS[:3], GAMMAS[:3], GAMMAS[:3], "corrected")
    with pytest.raises(ParameterError):
        fit_order(GAMMAS, GAMMAS, np.zeros(5), "power")
    with pytest.raises(ParameterError):
        fit_order(GAMMAS, GAMMAS, GAMMAS, "cubic")


def test_time_basis():
    W = time_basis(8, 4.0, 3, [1.0])
    t = (np.arange(8) + 0.5) * 0.5
    s = t / 2.0 - 1.0
    assert_allclose(W, [np.ones(8), s, 1.5 * s**2 - 0.5, np.exp(-(4.0 - t))], rtol=1e-14,
                    atol=1e-15)
    assert time_basis(5, 1.0, 0).shape == (0, 5)
