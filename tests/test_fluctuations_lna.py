"""The linear-noise approximation against closed forms and the Monte Carlo of the iterates."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (SGD, Adam, DoubleWell, LinearRegression2D, MomentumSGD, RMSProp,
                      StochasticQuadratic, monte_carlo)
from adam_ode.fluctuations import CorrelatedQuadratic, linear_noise
from adam_ode.fluctuations.lna import stationary
from adam_ode.fluctuations.noise import NoiseModel

REGRESSION = LinearRegression2D(0.3, 1.0, (3.0, 1.0))
X0 = [-1.0, 4.0]


@pytest.mark.parametrize("a, b, eps", [(4.0, 1.0, 0.01), (50.0, 0.5, 0.01), (2.0, 8.0, 0.3)])
def test_adam_stationary_variance_closed_form(a, b, eps):
    # Var x_i ≈ γ C_ii / (2 h_i D_i), D_i = ε + sqrt(S_i(x*)): independent of a and b.
    gamma = 1e-3
    model = NoiseModel(REGRESSION, Adam(gamma, a, b, eps))
    x_star = REGRESSION.x_star
    P = stationary(model, np.concatenate([x_star, [0.0, 0.0], REGRESSION.S(x_star)]))
    w = np.array([0.3, 0.7])
    expected = w * 1.0 / (2.0 * w * (eps + np.sqrt(w)))
    assert_allclose(np.diag(P)[:2], expected, rtol=1e-10, atol=0)


def test_sgd_stationary_variance_closed_form():
    ln = linear_noise(REGRESSION, SGD(0.01), X0, 1.0)
    assert_allclose(np.diag(ln.stationary_P), [1.0 / 2.0, 1.0 / 2.0], rtol=1e-10, atol=0)


@pytest.mark.parametrize("opt", [Adam(0.01, 4.0, 1.0, 0.01), RMSProp(0.01, 1.0, 0.01),
                                 MomentumSGD(0.01, 4.0), SGD(0.01)],
                         ids=lambda o: o.name)
def test_covariance_ode_reaches_the_lyapunov_solution(opt):
    ln = linear_noise(REGRESSION, opt, X0, 60.0)
    d = 2
    assert_allclose(ln.P[-1][:d, :d], ln.stationary_P[:d, :d], rtol=1e-4, atol=1e-8)
    assert_allclose(ln.cov, opt.gamma * ln.P, rtol=0, atol=0)


def test_adam_singular_start_against_monte_carlo():
    # Early times (t = 0.1, 1000 steps): P(t) ≈ t P₁ with P₁ from the Lyapunov equation of the
    # singular part of J (module docstring of adam_ode.fluctuations.lna).
    opt = Adam(1e-4, 4.0, 1.0, 0.01)
    R = 4000
    r = _ratios(REGRESSION, opt, X0, 0.1, R, 2, np.arange(6))
    tol = 4.5 * np.sqrt(2.0 / R)
    assert np.all(np.abs(r - 1.0) < tol), f"Var / (γP) = {np.round(r, 3)}"


def test_early_covariance_is_linear_in_t():
    ln = linear_noise(REGRESSION, Adam(0.01, 4.0, 1.0, 0.01), X0, 1.0,
                      t_eval=np.array([1e-4, 2e-4]))
    assert_allclose(ln.P[1], 2.0 * ln.P[0], rtol=2e-3, atol=1e-12)


def _ratios(problem, opt, x0, T, n_runs, seed, coords):
    n = int(round(T / opt.gamma))
    mc = monte_carlo(problem, opt, x0, n, n_runs, seed, track_grad_norm=False)
    ln = linear_noise(problem, opt, x0, T, t_eval=np.array([T]))
    var = np.var(mc.final_state[:, coords], axis=0, ddof=1)
    return var / np.diag(ln.cov[-1])[coords]


# Relative standard error of a sample variance from R Gaussian draws: sqrt(2/R).
@pytest.mark.parametrize("problem, opt, x0, T", [
    (REGRESSION, Adam(2e-3, 4.0, 1.0, 0.01), X0, 4.0),
    (CorrelatedQuadratic(), Adam(2e-3, 2.0, 1.0, 0.1), [1.0, -0.5], 4.0),
    (REGRESSION, RMSProp(2e-3, 1.0, 0.01), X0, 4.0),
    (DoubleWell(d=2, sigma=0.3), Adam(2e-3, 4.0, 1.0, 0.1), [0.8, -1.2], 6.0),
], ids=["adam-regression", "adam-correlated", "rmsprop-regression", "adam-double-well"])
def test_lna_matches_monte_carlo(problem, opt, x0, T):
    R = 3000
    k = opt.n_slots * problem.dim
    r = _ratios(problem, opt, x0, T, R, 7, np.arange(k))
    tol = 4.5 * np.sqrt(2.0 / R) + 3 * opt.gamma * 10  # MC error + the O(γ) bias
    assert np.all(np.abs(r - 1.0) < tol), f"Var / (γP) = {np.round(r, 3)}, tolerance {tol:.3f}"


def test_lna_d100_quadratic_blocks():
    problem = StochasticQuadratic()
    opt = Adam(5e-3, 4.0, 1.0, 0.01)
    x0 = np.ones(100)
    ln = linear_noise(problem, opt, x0, 5.0, t_eval=np.array([5.0]))
    assert ln.cov.shape == (1, 300, 300)
    R = 800
    mc = monte_carlo(problem, opt, x0, int(round(5.0 / opt.gamma)), R, 3,
                     track_grad_norm=False)
    r = np.var(mc.final_state[:, :100], axis=0, ddof=1) / np.diag(ln.cov[-1])[:100]
    # 100 coordinates: the mean ratio has standard error sqrt(2/R)/10.
    assert abs(r.mean() - 1.0) < 4 * np.sqrt(2.0 / R) / 10 + 0.02, r.mean()
    assert np.all(np.abs(r - 1.0) < 5 * np.sqrt(2.0 / R) + 0.02)
