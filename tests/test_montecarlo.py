"""Monte Carlo: reproducibility across thread counts, streaming statistics, divergence reports."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from adam_ode import LinearRegression2D, StochasticQuadratic
from adam_ode import SGD, Adam, AdamDecreasing, MomentumSGD, RMSProp
from adam_ode.iterates import run_optimizer
from adam_ode.montecarlo import (DivergenceWarning, monte_carlo, run_seed_sequence,
                                 steps_for_horizon)
from adam_ode.paper import monte_carlo_adam, reference_path, sup_distance

from cases import PROBLEMS

TOL = 1e-12

OPTIMIZERS = [Adam(0.01, 2.0, 3.0, 1e-8), Adam(0.01, 2.0, 3.0, 1e-8, debias=False),
              AdamDecreasing(0.2, 0.8, 2.0, 3.0, 1e-8), SGD(0.02), MomentumSGD(0.02, 4.0),
              RMSProp(0.01, 3.0, 1e-8)]


def _fields(result):
    return (result.sup_distance, result.final_state, result.mean_grad_norm,
            result.fraction_outside, result.divergence_step, result.record)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.name)
def test_identical_for_one_and_two_workers(optimizer):
    problem, x0 = PROBLEMS["least-squares-b4"]
    reference = np.tile(np.concatenate([x0, np.zeros(3 * (optimizer.n_slots - 1))]), (101, 1))
    kw = dict(delta=0.5, record_every=7)
    if optimizer.uniform_steps:  # decreasing steps are not on the grid kγ
        kw.update(reference=reference, partial_reference=True)
    one = monte_carlo(problem, optimizer, x0, 150, 13, 99, workers=1, **kw)
    two = monte_carlo(problem, optimizer, x0, 150, 13, 99, workers=2, **kw)
    for a, b in zip(_fields(one), _fields(two)):
        assert_array_equal(a, b)
    assert np.unique(one.final_state[:, 0]).size == 13  # the runs are independent


@pytest.mark.parametrize("n_runs", [1, 2, 13])
def test_paired_adam_runs_equal_single_paths(n_runs):
    # Adam on LinearRegression2D advances runs in pairs (simulate_pair), an odd run alone; every
    # run must still be the path of its own stream, whatever the pairing (1 or 2 workers), also
    # when some runs of a pair diverge and the others do not.
    problem, x0 = LinearRegression2D(sigma=2.0), np.array([0.3, -0.2])
    opt = Adam(0.01, 1.0, 1.5, 1e-8)
    reference = np.tile(np.concatenate([x0, np.zeros(4)]), (51, 1))
    kw = dict(delta=0.2, burn_in=5, reference=reference, partial_reference=True,
              divergence_bound=1.2, record_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        one = monte_carlo(problem, opt, x0, 200, n_runs, 4, workers=1, **kw)
        two = monte_carlo(problem, opt, x0, 200, n_runs, 4, workers=2, **kw)
        for a, b in zip(_fields(one), _fields(two)):
            assert_array_equal(a, b)
        for i in range(n_runs):
            # The single-run kernel on stream i (its path goes on past the bound 1.2).
            path = run_optimizer(problem, opt, x0, 200, run_seed_sequence(4, i))
            end = one.divergence_step[i] if one.diverged[i] else 201
            assert_array_equal(one.record[i, :end], path[:end])
            assert np.isnan(one.record[i, end:]).all()
            assert_array_equal(one.final_state[i], path[min(end, 200)])
    if n_runs == 13:
        assert 0 < one.diverged.sum() < 13  # mixed pairs are exercised


def test_reference_rejected_for_decreasing_steps():
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    reference = np.tile(np.concatenate([x0, np.zeros(6)]), (11, 1))
    with pytest.raises(ValueError, match="reference"):
        monte_carlo(problem, AdamDecreasing(0.2, 0.8, 2.0, 3.0, 1e-8), x0, 10, 2, 0,
                    reference=reference)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.name)
def test_run_i_is_the_ith_spawned_stream(optimizer):
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    result = monte_carlo(problem, optimizer, x0, 60, 5, 7, record_every=1, workers=2)
    children = np.random.SeedSequence(7).spawn(5)
    for i in (0, 3, 4):
        assert_array_equal(run_seed_sequence(7, i).generate_state(8),
                           children[i].generate_state(8))
        path = run_optimizer(problem, optimizer, x0, 60, children[i])
        assert_array_equal(result.record[i], path)
        assert_array_equal(result.final_state[i], path[-1])


def test_streaming_statistics_equal_those_of_the_stored_path(problem_and_x0):
    problem, x0 = problem_and_x0
    d = problem.dim
    opt = Adam(0.01, 2.0, 3.0, 1e-8)
    n_steps, burn_in, delta = 120, 30, 0.3
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((81, 3 * d))  # shorter than the run: sup over k ≤ 80
    result = monte_carlo(problem, opt, x0, n_steps, 4, 3, reference=reference, delta=delta,
                         burn_in=burn_in, record_every=1, workers=2, partial_reference=True)
    for r in range(4):
        path = result.record[r]
        x = path[:, :d]
        sup = np.max(np.linalg.norm(path[:81] - reference, axis=1))
        grad = np.mean(np.linalg.norm(problem.grad_F(x[burn_in + 1:]), axis=1))
        outside = np.mean(problem.critical_distance(x[burn_in + 1:]) > delta)
        assert_allclose(result.sup_distance[r], sup, rtol=TOL)
        assert_allclose(result.mean_grad_norm[r], grad, rtol=TOL)
        assert result.fraction_outside[r] == pytest.approx(outside, abs=1e-15)
    # the x-only reference compares x only
    x_only = monte_carlo(problem, opt, x0, n_steps, 2, 3, reference=reference[:, :d], workers=1,
                         partial_reference=True,
                         record_every=1)
    expected = np.max(np.linalg.norm(x_only.record[0, :81, :d] - reference[:, :d], axis=1))
    assert_allclose(x_only.sup_distance[0], expected, rtol=TOL)


def test_statistics_left_out_when_not_requested():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    result = monte_carlo(problem, SGD(0.01), x0, 20, 3, 0, track_grad_norm=False)
    assert result.sup_distance is None
    assert result.mean_grad_norm is None
    assert result.fraction_outside is None
    assert result.record is None and result.record_times is None
    assert not result.diverged.any()


def test_divergence_reported_with_run_and_step():
    # Noise-free SGD on F = x²: x_n = (1 − 2γ)^n x0 with |1 − 2γ| = 2 passes 1e150 at a known n.
    problem = StochasticQuadratic(h=[2.0, 2.0], sigma=0.0)
    x0 = np.array([1.0, 0.5])
    gamma = 1.5
    expected_step = int(np.ceil(150 * np.log(10) / np.log(2)))
    if 2.0**expected_step <= 1e150:
        expected_step += 1
    with pytest.warns(DivergenceWarning, match=rf"run 0 at step {expected_step}\b") as record:
        result = monte_carlo(problem, SGD(gamma), x0, 1000, 3, 0, noise=False, delta=0.1,
                             reference=np.zeros((1001, 2)), record_every=100, workers=2,
                             divergence_bound=1e150)
    assert "3 of 3 runs" in str(record[0].message)
    assert_array_equal(result.divergence_step, expected_step)
    assert result.divergences == [(0, expected_step), (1, expected_step), (2, expected_step)]
    assert np.all(result.sup_distance == np.inf)
    assert np.all(result.mean_grad_norm == np.inf)
    assert np.all(result.fraction_outside == 1.0)
    k = -(-expected_step // 100)
    assert np.all(np.isfinite(result.record[:, :k])) and np.all(np.isnan(result.record[:, k:]))
    assert result.summary()["n_diverged"] == 3


def test_divergence_after_the_reference_horizon_keeps_the_sup_distance():
    problem = StochasticQuadratic(h=[2.0], sigma=0.0)
    with pytest.warns(DivergenceWarning):
        result = monte_carlo(problem, SGD(1.5), [1.0], 1000, 2, 0, noise=False,
                             reference=np.zeros((11, 1)), partial_reference=True)
    assert_allclose(result.sup_distance, 2.0**10, rtol=TOL)  # |x_10| = 2^10


def test_only_some_runs_diverge_and_the_others_are_untouched():
    problem = StochasticQuadratic(h=[1.0], sigma=3.0)
    opt = SGD(1.999)  # |1 − γh| ≈ 1: noise pushes some runs past the bound
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        result = monte_carlo(problem, opt, [0.0], 400, 40, 1, divergence_bound=150.0)
    assert 0 < result.diverged.sum() < 40
    ok = ~result.diverged
    assert np.all(np.abs(result.final_state[ok, 0]) <= 150.0)
    assert np.all(np.abs(result.final_state[result.diverged, 0]) > 150.0)
    assert np.all(np.isfinite(result.mean_grad_norm[ok]))
    assert np.all(result.mean_grad_norm[result.diverged] == np.inf)


def test_sup_distance_uses_the_ode_on_the_grid():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    gamma, a, b, eps, T = 0.01, 1.0, 2.0, 1e-8, 1.0
    n = steps_for_horizon(T, gamma)
    assert n == 100
    reference = reference_path(problem, x0, gamma, a, b, eps, T)
    assert reference.shape == (101, 6)
    s = sup_distance(problem, x0, gamma, a, b, eps, T, 6, 5, workers=2)
    s_ref = sup_distance(problem, x0, gamma, a, b, eps, T, 6, 5, workers=1, reference=reference)
    assert s.shape == (6,)
    assert_array_equal(s, s_ref)
    paths = [run_optimizer(problem, Adam(gamma, a, b, eps), x0, n, run_seed_sequence(5, i))
             for i in range(6)]
    expected = [np.max(np.linalg.norm(p - reference, axis=1)) for p in paths]
    assert_allclose(s, expected, rtol=TOL)
    with pytest.raises(ValueError, match="reference"):
        sup_distance(problem, x0, gamma, a, b, eps, T, 6, 5, reference=reference[:-1])


def test_sup_distance_without_bias_correction_uses_the_autonomous_ode():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    gamma, a, b, eps, T = 0.01, 1.0, 2.0, 1e-8, 1.0
    auto = reference_path(problem, x0, gamma, a, b, eps, T, debias=False)
    s = sup_distance(problem, x0, gamma, a, b, eps, T, 4, 5, debias=False)
    path = run_optimizer(problem, Adam(gamma, a, b, eps, debias=False), x0, 100,
                         run_seed_sequence(5, 2))
    assert_allclose(s[2], np.max(np.linalg.norm(path - auto, axis=1)), rtol=TOL)


def test_sup_distance_shrinks_with_gamma():
    # Theorem 4.3 (weak convergence): the sup distance goes to 0 with γ (about like sqrt(γ)).
    problem, x0 = PROBLEMS["linear-regression-2d"]
    means = [sup_distance(problem, x0, g, 1.0, 2.0, 1e-8, 2.0, 40, 0).mean()
             for g in (0.02, 0.002)]
    assert means[1] < 0.6 * means[0], means


def test_progress_callback_counts_finished_runs():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    seen = []
    monte_carlo_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 30, 37, 0, workers=2,
                     progress=seen.append)
    # Increments of finished runs, one call per finished chunk.
    assert sum(seen) == 37 and min(seen) >= 1 and len(seen) > 1


def test_result_logs_its_configuration():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    result = monte_carlo(problem, MomentumSGD(0.05, 2.0), x0, 40, 2, 11, record_every=10)
    assert result.config["optimizer"] == {"name": "momentum-sgd", "gamma": 0.05, "a": 2.0}
    assert result.config["problem"] == problem.config()
    assert result.config["n_steps"] == 40
    assert_allclose(result.record_times, [0.0, 0.5, 1.0, 1.5, 2.0])
    assert result.record.shape == (2, 5, 4)  # (x, m)
    assert result.record_x.shape == (2, 5, 2) and result.final_x.shape == (2, 2)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_runs=0), "n_runs"),
    (dict(workers=0), "workers"),
    (dict(n_steps=-1), "n_steps"),
    (dict(seed=-1), "seed"),
    (dict(burn_in=50), "burn_in"),
    (dict(delta=-0.1), "delta"),
    (dict(record_every=-1), "record_every"),
    (dict(x0=[np.inf, 0.0]), "x0"),
    (dict(x0=[0.0]), "x0"),
    (dict(reference=np.zeros((5, 4))), "reference"),
    (dict(reference=np.full((5, 2), np.nan)), "reference"),
    (dict(divergence_bound=0.0), "divergence_bound"),
])
def test_monte_carlo_bad_input(kwargs, name):
    problem = LinearRegression2D()
    args = dict(x0=[0.0, 0.0], n_steps=50, n_runs=3, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        monte_carlo(problem, Adam(0.01, 1.0, 2.0, 1e-8), **args)


@pytest.mark.parametrize("kwargs, name", [
    (dict(T=0.0), "T"), (dict(T=-1.0), "T"), (dict(gamma=0.0), "gamma"),
    (dict(gamma=0.6), "a"), (dict(n_runs=0), "n_runs"), (dict(workers=0), "workers"),
])
def test_sup_distance_bad_input(kwargs, name):
    args = dict(problem=LinearRegression2D(), x0=[0.0, 0.0], gamma=0.01, a=2.0, b=1.0, eps=1e-8,
                T=1.0, n_runs=2, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        sup_distance(**args)


@pytest.mark.slow
def test_sup_distance_weak_convergence_sweep():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    gammas = np.array([0.04, 0.01, 0.0025])
    means = np.array([sup_distance(problem, x0, g, 1.0, 2.0, 1e-8, 5.0, 200, 1).mean()
                      for g in gammas])
    slope = np.polyfit(np.log(gammas), np.log(means), 1)[0]
    assert 0.3 < slope < 0.7, f"measured exponent {slope:.3f} (sqrt(γ) expected), {means}"


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.name)
def test_reference_limit_is_the_records_own_limit(optimizer):
    # reference="limit": each run against optimizer.limit() at t_k = optimizer.times(k), in the
    # scheme's own variables; equal to the explicit array.
    from adam_ode.montecarlo import limit_reference

    problem, x0 = PROBLEMS["stochastic-quadratic"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = limit_reference(problem, optimizer, x0, 50)
        auto = monte_carlo(problem, optimizer, x0, 50, 3, 2, reference="limit", workers=1)
        by_hand = monte_carlo(problem, optimizer, x0, 50, 3, 2, record_every=1, workers=1)
    assert ref.shape == (51, optimizer.n_slots * problem.dim)
    expected = np.max(np.linalg.norm(by_hand.record - ref[None], axis=2), axis=1)
    assert_allclose(auto.sup_distance, expected, rtol=1e-12)
    if optimizer.uniform_steps:  # decreasing steps (γ0 = 0.2) follow their limit only later
        assert np.all(auto.sup_distance < 1.0)  # the right limit: iterates stay close


def test_unknown_optimizer_raises():
    from adam_ode import ParameterError, make_optimizer

    problem, x0 = PROBLEMS["stochastic-quadratic"]
    with pytest.raises(ParameterError, match="registered optimizer"):
        monte_carlo(problem, object(), x0, 5, 2, 0)
    with pytest.raises(ParameterError, match="unknown optimizer 'no-such-optimizer-xyz'"):
        make_optimizer({"name": "no-such-optimizer-xyz", "gamma": 0.1})
