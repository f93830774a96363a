"""First-order SDE paths for the whole family: a pure-NumPy Euler–Maruyama on the same draws,
the LNA's mean and covariance, worker independence and the errors."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import ParameterError, simulate_sde
from adam_ode.fluctuations import CorrelatedQuadratic, gradient_moments, linear_noise
from adam_ode.fluctuations.noise import NoiseModel

PROBLEM = CorrelatedQuadratic()  # Gaussian noise: the Gaussian SDE is the right diffusion
X0 = [1.0, -0.5]
RECORDS = [adam_ode.SGD(2e-3), adam_ode.MomentumSGD(2e-3, a=4.0),
           adam_ode.Nesterov(1e-4, schedule="constant", c=2.0), adam_ode.Nesterov(1e-4),
           adam_ode.RMSProp(2e-3, b=1.0, eps=0.1),
           adam_ode.RMSProp(2e-3, b=1.0, eps=0.1, debias=False),
           adam_ode.AdamW(2e-3, 2.0, 1.0, 0.1, weight_decay=0.2)]
IDS = ["sgd", "momentum", "nesterov-constant", "nesterov-sbc", "rmsprop", "rmsprop-nodebias",
       "adamw"]


def numpy_euler_maruyama(problem, optimizer, x0, n_steps, seed, r, n_paths):
    """Path r of the SDE by the formulas of adam_ode.fluctuations.sde_family, in NumPy: the
    NumPy field, noise map and moments of the spec, NumPy's Cholesky, the same draws."""
    model = NoiseModel(problem, optimizer)
    d = problem.dim
    dt = model.step
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(n_paths)[r])
    z = model.limit.initial_state(problem, np.asarray(x0, dtype=float)).astype(float)
    for n in range(n_steps):
        t = n * dt
        xi = rng.standard_normal(2 * d)
        mom = gradient_moments(problem, z[:d])
        h = model.limit.field(t, z, problem)
        B = model.limit.noise_map(t, z, problem, mom)
        M = np.block([[mom.cov, mom.cov_g_g2], [mom.cov_g_g2.T, mom.cov_g2]])
        w = np.sqrt(model.step * dt) * (np.linalg.cholesky(M) @ xi)
        z = model.limit.project(z + dt * h + (B[:, 0, :] * w[:d] + B[:, 1, :] * w[d:]).ravel())
    return model.to_state_mean(z)


@pytest.mark.parametrize("opt", RECORDS, ids=IDS)
def test_kernel_is_the_numpy_euler_maruyama(opt):
    n = 60
    T = n * float(opt.times(1))
    res = simulate_sde(PROBLEM, opt, X0, T, 3, seed=5, variant="gaussian")
    assert res.n_steps == n
    for r in range(3):
        ref = numpy_euler_maruyama(PROBLEM, opt, X0, n, 5, r, 3)
        assert_allclose(res.final_state[r], ref, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("opt", RECORDS, ids=IDS)
def test_sde_mean_and_covariance_match_the_lna(opt):
    R, T = 3000, 3.0
    res = simulate_sde(PROBLEM, opt, X0, T, R, seed=2)
    ln = linear_noise(PROBLEM, opt, X0, T, t_eval=np.array([T]))
    var = np.diag(ln.cov[-1])
    ratio = np.var(res.final_state, axis=0, ddof=1) / var
    step = float(opt.times(1))
    assert np.all(np.abs(ratio - 1.0) < 4.5 * np.sqrt(2.0 / R) + 2 * step), np.round(ratio, 3)
    # the mean: the limit, up to the sampling error and an O(Δt) bias
    z = (res.final_state.mean(0) - ln.mean[-1]) / np.sqrt(var / R + step**2)
    assert np.all(np.abs(z) < 4.5), np.round(z, 2)


def test_results_do_not_depend_on_workers_or_on_the_number_of_paths():
    opt = adam_ode.Nesterov(1e-3)
    one = simulate_sde(PROBLEM, opt, X0, 0.5, 13, seed=9, workers=1, record_every=4)
    two = simulate_sde(PROBLEM, opt, X0, 0.5, 13, seed=9, workers=2, record_every=4)
    assert np.array_equal(one.final_state, two.final_state)
    assert np.array_equal(one.record, two.record)
    assert np.array_equal(one.record[:, -1], one.final_state)
    fewer = simulate_sde(PROBLEM, opt, X0, 0.5, 5, seed=9, workers=2)
    assert np.array_equal(fewer.final_state, one.final_state[:5])  # path r: SeedSequence child r
    # Nesterov's state is (x, dx): dx = sqrt(γ)·V of the limit
    assert one.final_state.shape == (13, 4) and one.final_x.shape == (13, 2)


def test_errors_name_the_reason():
    with pytest.raises(ParameterError, match="order must be 1"):
        simulate_sde(PROBLEM, adam_ode.SGD(0.01), X0, 1.0, 2, seed=0, order=2)
    with pytest.raises(ParameterError, match="no linear-noise approximation"):
        simulate_sde(PROBLEM, adam_ode.AdaGrad(0.01), X0, 1.0, 2, seed=0)
    with pytest.raises(ParameterError, match="n_paths"):
        simulate_sde(PROBLEM, adam_ode.SGD(0.01), X0, 1.0, 0, seed=0)


def test_diverging_paths_are_reported():
    # The Gaussian SDE on the regression (heavy-tailed g², ε tiny, v from 0) with a large step:
    # Adam's order-2 drift ∝ m/sqrt(v) blows up on some paths; they are flagged and warned about.
    from adam_ode import DivergenceWarning, LinearRegression2D

    problem = LinearRegression2D(0.3, 1.0, (3.0, 1.0))
    with pytest.warns(DivergenceWarning, match="SDE paths of adam diverged"):
        res = simulate_sde(problem, adam_ode.Adam(0.1, 4.0, 1.0, 1e-3, debias=False),
                           [-1.0, 4.0], 4.0, 200, seed=0, order=2)
    bad = res.diverged
    assert 0 < bad.sum() < 200
    assert np.all(np.isfinite(res.final_state[~bad]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for paths that stay finite
        ok = simulate_sde(PROBLEM, adam_ode.SGD(0.01), X0, 1.0, 50, seed=0)
    assert not ok.diverged.any()
