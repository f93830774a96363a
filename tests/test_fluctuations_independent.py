"""adam_ode.fluctuations.independent: discrete Adam and both SDEs from z0, independent draws."""

import numpy as np
import pytest

import adam_ode as ao
from adam_ode import ParameterError
from adam_ode.analysis.weak_error import time_basis
from adam_ode.fluctuations.independent import independent_paths
from adam_ode.fluctuations.sde import sde_path
from adam_ode.montecarlo import monte_carlo
from adam_ode.problems.base import kernel_data_of

PROBLEM = ao.LinearRegression2D()
X0 = np.array([-1.0, 4.0])
OPT = ao.Adam(0.05, 4.0, 0.25, 0.01, debias=False)


def test_paths_are_the_monte_carlo_and_sde_path_ones_from_v_zero():
    # From (x0, 0, 0): the discrete path is monte_carlo's run r (same stream, same arithmetic)
    # and sde2 with one sub-step is sde_path's order-2 Heun path on the same normals.
    z0 = np.concatenate([X0, np.zeros(4)])
    res = independent_paths(PROBLEM, OPT, z0, 1.0, 7, 3, substeps=1, workers=2)
    disc_seed, sde_seed = np.random.SeedSequence(3).spawn(2)
    mc = monte_carlo(PROBLEM, OPT, X0, 20, 7, disc_seed, track_grad_norm=False, workers=1)
    assert np.array_equal(mc.final_state, res.final[:, 0])
    final = np.empty((7, 6))
    for r in range(7):
        rng = np.random.default_rng(np.random.SeedSequence(
            sde_seed.entropy, spawn_key=sde_seed.spawn_key + (r,)))
        sde_path(kernel_data_of(PROBLEM), 4.0, 0.25, 0.01, 0.05, False, 2, X0, 20, 0.05, rng,
                 0, np.zeros((1, 0, 6)), final, r)
    assert np.array_equal(final, res.final[:, 2])


def test_workers_and_controls_do_not_change_the_paths():
    z0 = np.concatenate([X0, np.zeros(2), PROBLEM.S(X0)])
    a = independent_paths(PROBLEM, OPT, z0, 1.0, 9, 5, workers=1)
    b = independent_paths(PROBLEM, OPT, z0, 1.0, 9, 5, workers=2,
                          time_weights=time_basis(20, 1.0, 3))
    assert np.array_equal(a.final, b.final)
    assert a.controls_discrete.shape == (9, 0) and b.controls_discrete.shape == (9, 2 * 3 * 2)
    assert b.controls_sde.shape == (9, 2, 3 * 4)


def test_controls_have_mean_zero():
    # Martingale transforms: whatever the path, each sum has mean 0.
    z0 = np.concatenate([X0, np.zeros(2), PROBLEM.S(X0)])
    res = independent_paths(PROBLEM, OPT, z0, 2.0, 3000, 11, time_weights=time_basis(40, 2.0, 3))
    for c in (res.controls_discrete, res.controls_sde[:, 0], res.controls_sde[:, 1]):
        z = c.mean(0) / (c.std(0, ddof=1) / np.sqrt(c.shape[0]))
        assert np.all(np.abs(z) < 4.5), np.round(z, 2)
    assert not res.projections.any()


def test_rejects_unsupported():
    z0 = np.concatenate([X0, np.zeros(2), PROBLEM.S(X0)])
    with pytest.raises(ParameterError):
        independent_paths(PROBLEM, ao.Adam(0.05, 4.0, 0.25, 0.01), z0, 1.0, 2, 0)
    with pytest.raises(ParameterError):
        independent_paths(PROBLEM, OPT, X0, 1.0, 2, 0)
    with pytest.raises(ParameterError):
        independent_paths(PROBLEM, OPT, z0, 1.0, 2, 0, time_weights=np.ones((2, 3)))


def test_control_variate_stderr_matches_the_spread_over_replications():
    from adam_ode.analysis.weak_error import control_variate_mean, difference_of_means

    z0 = np.concatenate([X0, np.zeros(2), PROBLEM.S(X0)])
    W = time_basis(40, 2.0, 4)
    est, se = [], []
    for s in np.random.SeedSequence(2025).spawn(40):
        res = independent_paths(PROBLEM, OPT, z0, 2.0, 400, s, time_weights=W)
        f = [(res.final[:, j, 4:] ** 2).sum(-1) for j in range(3)]  # ‖v‖²
        e, s_e = difference_of_means(control_variate_mean(f[0], res.controls_discrete),
                                     control_variate_mean(f[1], res.controls_sde[:, 0]))
        est.append(e)
        se.append(s_e)
    ratio = np.std(est, ddof=1) / np.mean(se)
    assert abs(ratio - 1.0) < 0.35, ratio
