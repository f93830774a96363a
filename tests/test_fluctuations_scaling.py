"""Scaling rules (adam_ode.fluctuations.scaling): the square-root rule keeps Adam's spread."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import SGD, Adam, ParameterError, StochasticQuadratic, monte_carlo
from adam_ode.fluctuations import linear_noise
from adam_ode.fluctuations.scaling import scale_hyperparameters

X0 = [2.0, -1.0]


def _problem(B):  # a batch of B Gaussian gradients: σ → σ/√B, exactly
    return StochasticQuadratic(h=[1.0, 0.5], sigma=1.0 / np.sqrt(B))


def test_sqrt_rule_values():
    s = scale_hyperparameters(Adam(1e-3, 100.0, 1.0, 1e-8), 32, 4)
    assert s.batch_size == 128
    assert_allclose([s.optimizer.gamma, 1 - s.optimizer.alpha, 1 - s.optimizer.beta,
                     s.optimizer.eps], [2e-3, 4 * 0.1, 4 * 1e-3, 5e-9], rtol=1e-12)
    with pytest.raises(ParameterError):
        scale_hyperparameters(SGD(0.1), 1, 2)


@pytest.mark.parametrize("kappa", [2, 4, 8])
def test_sqrt_rule_keeps_the_stationary_lna_covariance(kappa):
    base = Adam(0.004, 2.0, 1.0, 0.05)
    s = scale_hyperparameters(base, 1, kappa)
    P0 = linear_noise(_problem(1), base, X0, 1.0).stationary_cov
    P1 = linear_noise(_problem(s.batch_size), s.optimizer, X0, 1.0).stationary_cov
    assert_allclose(P1[:2, :2], P0[:2, :2], rtol=1e-10, atol=1e-14)
    sgd = scale_hyperparameters(SGD(0.01), 1, kappa, rule="linear")
    Q0 = linear_noise(_problem(1), SGD(0.01), X0, 1.0).stationary_cov
    Q1 = linear_noise(_problem(sgd.batch_size), sgd.optimizer, X0, 1.0).stationary_cov
    assert_allclose(Q1, Q0, rtol=1e-10, atol=1e-14)


def test_sqrt_rule_monte_carlo():
    base = Adam(0.004, 2.0, 1.0, 0.05)
    N, R = 4000, 2000
    ref = monte_carlo(_problem(1), base, X0, N, R, 0, track_grad_norm=False).final_x
    s = scale_hyperparameters(base, 1, 8)
    x = monte_carlo(_problem(8), s.optimizer, X0, N // 8, R, 1, track_grad_norm=False).final_x
    lin = scale_hyperparameters(base, 1, 8, rule="linear")
    xu = monte_carlo(_problem(8), lin.optimizer, X0, N // 8, R, 2,
                     track_grad_norm=False).final_x
    ratio = np.var(x, 0) / np.var(ref, 0)
    ratio_u = np.var(xu, 0) / np.var(ref, 0)
    err = 4.5 * np.sqrt(4.0 / R)  # ratio of two sample variances
    assert np.all(np.abs(ratio - 1) < err), ratio
    assert np.all(np.abs(ratio_u - np.sqrt(8)) < 0.25 * np.sqrt(8)), ratio_u  # ∝ √κ


@pytest.mark.parametrize("kappa", [2, 4])
def test_nesterov_linear_rule_in_its_time_step(kappa):
    # Δt = sqrt(γ) → κΔt (γ → κ²γ): the constant-friction LNA at the rest point is unchanged
    from adam_ode import Nesterov

    base = Nesterov(1e-4, schedule="constant", c=2.0)
    s = scale_hyperparameters(base, 1, kappa, rule="linear")
    assert_allclose(np.sqrt(s.optimizer.gamma), kappa * np.sqrt(base.gamma), rtol=1e-12)
    assert s.optimizer.c == base.c and s.steps_factor == 1.0 / kappa
    P0 = linear_noise(_problem(1), base, X0, 1.0).stationary_cov
    P1 = linear_noise(_problem(s.batch_size), s.optimizer, X0, 1.0).stationary_cov
    assert_allclose(P1[:2, :2], P0[:2, :2], rtol=1e-10, atol=1e-14)
    # Monte Carlo: x after n/κ steps at κB matches x after n steps at B
    N, R = 400, 3000
    ref = monte_carlo(_problem(1), base, X0, N, R, 0, track_grad_norm=False).final_x
    x = monte_carlo(_problem(s.batch_size), s.optimizer, X0, N // kappa, R, 1,
                    track_grad_norm=False).final_x
    ratio = np.var(x, 0) / np.var(ref, 0)
    assert np.all(np.abs(ratio - 1) < 4.5 * np.sqrt(4.0 / R) + 0.05), ratio


def test_adamw_sqrt_rule_scales_the_decay():
    from adam_ode import AdamW

    base = AdamW(0.004, 2.0, 1.0, 0.05, weight_decay=0.3)
    s = scale_hyperparameters(base, 1, 4)
    assert_allclose([s.optimizer.gamma, s.optimizer.a, s.optimizer.weight_decay],
                    [0.008, 4.0, 0.6], rtol=1e-12)
    P0 = linear_noise(_problem(1), base, X0, 1.0).stationary_cov
    P1 = linear_noise(_problem(4), s.optimizer, X0, 1.0).stationary_cov
    # the rest point is x* = 0 for both (decay and gradient point the same way): at (0, 0, S/B)
    # the stationary covariance is exactly invariant, as Adam's
    assert_allclose(P1[:2, :2], P0[:2, :2], rtol=1e-10, atol=1e-14)
