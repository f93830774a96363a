"""Numba iterates vs their plain-NumPy versions, special-case equivalences, convergence order."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from adam_ode import DoubleWell, LinearRegression2D, StochasticQuadratic
from adam_ode import Adam, AdamDecreasing, MomentumSGD, RMSProp
from adam_ode.iterates import run_optimizer
from adam_ode.paper import (run_adam, run_adam_decreasing, run_momentum_sgd, run_rmsprop,
                            run_sgd, solve_gradient_flow, solve_ode)
from adam_ode.kernels.simulate import kernel_inputs, simulate, simulate_pair
from adam_ode.optimizers.adam import AdamArgs
from adam_ode.paper import unpack

from cases import PROBLEMS

N_STEPS = 200
SEED = 12345
TOL = 1e-13  # rounding only: the kernels and the references differ in summation order

# (kernel call, record whose NumPy transcription is the reference) for every algorithm.
ALGORITHMS = {
    "adam": (lambda p, x0, s, noise: run_adam(p, x0, 0.01, 2.0, 3.0, 1e-8, N_STEPS, s,
                                              noise=noise), Adam(0.01, 2.0, 3.0, 1e-8)),
    "adam-no-debias": (
        lambda p, x0, s, noise: run_adam(p, x0, 0.01, 2.0, 3.0, 1e-3, N_STEPS, s, debias=False,
                                         noise=noise), Adam(0.01, 2.0, 3.0, 1e-3, debias=False)),
    # a·γ0 = 1.5 ≥ 1: the first α_n are clipped to 0.
    "adam-decreasing": (
        lambda p, x0, s, noise: run_adam_decreasing(p, x0, 0.5, 0.7, 3.0, 2.0, 1e-8, N_STEPS, s,
                                                    noise=noise),
        AdamDecreasing(0.5, 0.7, 3.0, 2.0, 1e-8)),
    "sgd": (lambda p, x0, s, noise: run_sgd(p, x0, 0.02, N_STEPS, s, noise=noise), None),
    "momentum-sgd": (
        lambda p, x0, s, noise: run_momentum_sgd(p, x0, 0.02, 5.0, N_STEPS, s, noise=noise),
        MomentumSGD(0.02, 5.0)),
    "rmsprop": (lambda p, x0, s, noise: run_rmsprop(p, x0, 0.01, 3.0, 1e-8, N_STEPS, s,
                                                    noise=noise), RMSProp(0.01, 3.0, 1e-8)),
}


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "exact"])
@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_kernel_equals_numpy_reference(problem_and_x0, algorithm, noise):
    problem, x0 = problem_and_x0
    from adam_ode import SGD

    kernel, record = ALGORITHMS[algorithm]
    record = record or SGD(0.02)
    path = kernel(problem, x0, SEED, noise)
    expected = record.numpy_path(problem, x0, N_STEPS, SEED, noise)
    assert path.shape == expected.shape
    assert np.all(np.isfinite(path))
    assert_allclose(path, expected, rtol=TOL, atol=TOL)


def test_paths_move_and_depend_on_the_seed(problem_and_x0):
    # Guards the equality test against a degenerate path (e.g. nothing happening).
    problem, x0 = problem_and_x0
    z1 = run_adam(problem, x0, 0.01, 2.0, 3.0, 1e-8, 50, 1)
    z2 = run_adam(problem, x0, 0.01, 2.0, 3.0, 1e-8, 50, 2)
    assert not np.allclose(z1[-1], z1[0])
    assert not np.allclose(z1[1:], z2[1:])


def test_shapes_and_initial_state():
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    z = run_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 7, 0)
    assert z.shape == (8, 9)
    x, m, v = unpack(z[0])
    assert_array_equal(x, x0)
    assert_array_equal(m, 0.0)
    assert_array_equal(v, 0.0)
    assert run_sgd(problem, x0, 0.01, 7, 0).shape == (8, 3)
    assert run_momentum_sgd(problem, x0, 0.01, 2.0, 7, 0).shape == (8, 6)  # (x, m)
    assert run_rmsprop(problem, x0, 0.01, 2.0, 1e-8, 7, 0).shape == (8, 6)  # (x, v)
    assert run_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 0, 0).shape == (1, 9)


def test_sgd_without_noise_is_explicit_euler_on_gradient_flow(problem_and_x0):
    problem, x0 = problem_and_x0
    path = run_sgd(problem, x0, 0.03, 300, SEED, noise=False)
    x = x0.copy()
    for n in range(1, 301):
        x = x - 0.03 * problem.grad_F(x)
        assert_allclose(path[n], x, rtol=TOL, atol=TOL)


def test_sgd_without_noise_converges_to_gradient_flow():
    problem = StochasticQuadratic(h=[1.0, 0.5], sigma=0.0)
    x0 = np.array([1.0, -2.0])
    gamma, T = 1e-3, 2.0
    n = int(round(T / gamma))
    path = run_sgd(problem, x0, gamma, n, 0, noise=False)
    flow = solve_gradient_flow(problem, x0, T)(np.arange(n + 1) * gamma)
    # Euler's global error is O(γ): here ≈ γ T max|h²x|/2.
    assert np.max(np.abs(path - flow)) < 2e-3


def test_rmsprop_equals_adam_without_momentum(problem_and_x0):
    # optax-style equivalence: RMSProp == Adam with α = 0 (kernel-level arguments): same x and
    # v; Adam's m is then g_n.
    problem, x0 = problem_and_x0
    gamma, b, eps = 0.01, 3.0, 1e-8
    expected = run_rmsprop(problem, x0, gamma, b, eps, N_STEPS, SEED)
    data, _ = kernel_inputs(problem, Adam(gamma, 1.0, b, eps))
    d = problem.dim
    path = np.empty((1, N_STEPS + 1, 3 * d))
    final = np.empty((1, 3 * d))
    simulate(data, AdamArgs(gamma, 0.0, 1.0 - b * gamma, eps, True), x0, True, N_STEPS,
             np.random.default_rng(SEED), np.zeros((0, 0)), -1.0, False, 0, 1, path, final, 0,
             np.inf)
    assert_array_equal(path[0][:, :d], expected[:, :d])
    assert_array_equal(path[0][:, 2 * d:], expected[:, d:])
    # and RMSProp differs from Adam with momentum, so the equality above is not vacuous
    assert not np.allclose(run_adam(problem, x0, gamma, 2.0, b, eps, N_STEPS, SEED)[:, :d],
                           expected[:, :d])


def test_first_decreasing_step_is_clipped():
    # a·γ_1 = 3 · 0.5 ≥ 1: α_1 = β_1 = 0, so m_1 = g_1, v_1 = g_1², r_1 = r̄_1 = 1.
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    z = run_adam_decreasing(problem, x0, 0.5, 0.7, 3.0, 2.0, 1e-8, 1, SEED)
    g1 = problem.sample_grad(x0, np.random.default_rng(SEED))
    x1, m1, v1 = unpack(z[1])
    assert_array_equal(m1, g1)
    assert_array_equal(v1, g1 * g1)
    assert_allclose(x1, x0 - 0.5 * g1 / (1e-8 + np.abs(g1)), rtol=TOL, atol=TOL)


def test_seed_forms_agree():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    z_int = run_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 20, 5)
    z_ss = run_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 20, np.random.SeedSequence(5))
    z_gen = run_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 20, np.random.default_rng(5))
    assert_array_equal(z_int, z_ss)
    assert_array_equal(z_int, z_gen)


def test_new_values_do_not_recompile():
    # One compiled loop per (problem type, optimizer type): new values of any parameter reuse it.
    problem, x0 = PROBLEMS["double-well"]
    for run in (lambda: run_adam(problem, x0, 0.01, 1.0, 2.0, 1e-8, 5, 0),
                lambda: run_sgd(problem, x0, 0.1, 5, 3),
                lambda: run_momentum_sgd(problem, x0, 0.1, 2.0, 5, 3),
                lambda: run_rmsprop(problem, x0, 0.1, 2.0, 1e-8, 5, 3),
                lambda: run_adam_decreasing(problem, x0, 0.1, 1, 2.0, 1.0, 1e-8, 5, 3),
                lambda: run_adam(*PROBLEMS["linear-regression-2d"], 0.01, 1.0, 2.0, 1e-8, 5, 0),
                lambda: run_adam(*PROBLEMS["least-squares-b4"], 0.01, 1.0, 2.0, 1e-8, 5, 0)):
        run()
    n_signatures = len(simulate.signatures)
    run_adam(problem, x0 + 0.25, 0.02, 3.0, 1.0, 1e-3, 9, 17, debias=False)
    run_adam(problem, [1, 2], 0.005, 1, 2, 1e-8, 3, np.int64(4), noise=False)
    run_sgd(problem, x0, 0.1, 5, 3)
    run_momentum_sgd(problem, x0, 0.1, 2.0, 5, 3)
    run_rmsprop(problem, x0, 0.1, 2.0, 1e-8, 5, 3)
    run_adam_decreasing(problem, x0, 0.1, 1, 2.0, 1.0, 1e-8, 5, 3)
    run_adam(*PROBLEMS["linear-regression-2d"], 0.2, 3.0, 1.0, 1e-3, 9, 1, noise=False)
    run_adam(*PROBLEMS["least-squares-b4"], 0.02, 3.0, 1.0, 1e-3, 9, 1, debias=False)
    assert len(simulate.signatures) == n_signatures


def test_on_disk_cache_hits_in_a_new_process():
    run_adam(*PROBLEMS["linear-regression-2d"], 0.01, 1.0, 2.0, 1e-8, 5, 0)  # make sure the cache is written
    code = ("from adam_ode import LinearRegression2D\n"
            "from adam_ode.paper import run_adam\n"
            "from adam_ode.kernels.simulate import simulate\n"
            "run_adam(LinearRegression2D(), [0.0, 0.0], 0.01, 1.0, 2.0, 1e-8, 5, 0)\n"
            "print(sum(simulate.stats.cache_hits.values()), "
            "sum(simulate.stats.cache_misses.values()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    hits, misses = map(int, out.stdout.split())
    assert (hits, misses) == (1, 0), out.stdout + out.stderr


def _pair_and_singles(gamma, a, b, eps, debias, noise, n_steps, bound, seeds, reference,
                      delta, burn_in, record_every):
    """simulate_pair on runs (0, 1) and simulate on each run: (results, finals, records) twice."""
    problem = LinearRegression2D(sigma=2.0)
    data, hyper = kernel_inputs(problem, Adam(gamma, a, b, eps, debias))
    x0 = np.array([0.3, -0.2])
    shape = (2, n_steps // record_every + 1, 6) if record_every else (1, 0, 6)
    record_pair, record_single = np.full(shape, -7.0), np.full(shape, -7.0)
    final_pair, final_single = np.full((2, 6), -7.0), np.full((2, 6), -7.0)
    pair = simulate_pair(data, hyper, x0, noise, n_steps, np.random.default_rng(seeds[0]),
                         np.random.default_rng(seeds[1]), reference, delta, True, burn_in,
                         record_every, record_pair, final_pair, 0, bound)
    singles = tuple(
        simulate(data, hyper, x0, noise, n_steps, np.random.default_rng(seeds[r]), reference,
                 delta, True, burn_in, record_every, record_single, final_single, r, bound)
        for r in (0, 1))
    return (pair, final_pair, record_pair), (singles, final_single, record_single)


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "exact"])
@pytest.mark.parametrize("bound, debias", [(np.inf, True), (1.5, True), (5.0, False)])
def test_pair_kernel_equals_two_single_runs(bound, debias, noise):
    # simulate_pair (Adam on LinearRegression2D, two runs advanced together) must give every
    # output of two simulate calls bit for bit, also when one run of the pair diverges.
    reference = np.random.default_rng(3).standard_normal((60, 6)) * 0.1
    for seeds in ((11, 12), (5, 6), (0, 1)):
        for record_every, delta in ((1, -1.0), (7, 0.1)):
            pair, singles = _pair_and_singles(0.3 if bound == 5.0 else 0.01, 1.0, 1.5, 1e-8,
                                              debias, noise, 300, bound, seeds, reference,
                                              delta, 10, record_every)
            # (sup, mean ‖∇F‖, outside, divergence step) for both runs; NaN == NaN here
            assert_array_equal(np.array(pair[0]), np.array(singles[0]))
            assert_array_equal(pair[1], singles[1])
            assert_array_equal(pair[2], singles[2])


def test_pair_kernel_with_exactly_one_diverging_run():
    # Run 0 diverges early (bound 1.5), run 1 (another seed) later or never: the survivor goes
    # on alone and still matches its single-run kernel.
    found = False
    for seed in range(40):
        pair, singles = _pair_and_singles(0.01, 1.0, 1.5, 1e-8, True, True, 300, 1.5,
                                          (seed, seed + 1), np.zeros((0, 0)), 0.1, 0, 3)
        (a, b), _, _ = pair
        assert_array_equal(np.array(pair[0]), np.array(singles[0]))
        assert_array_equal(pair[1], singles[1])
        assert_array_equal(pair[2], singles[2])
        found |= (a[3] >= 0) != (b[3] >= 0)
    assert found, "no pair with exactly one diverging run: the test would be vacuous"


def test_pair_kernel_on_disk_cache_hits_in_a_new_process():
    # 8 runs on 1 worker: 4 chunks of 2 runs, each one pair. Make sure the cache is written.
    from adam_ode.montecarlo import monte_carlo
    monte_carlo(LinearRegression2D(), Adam(0.01, 1.0, 2.0, 1e-8), [0.0, 0.0], 5, 8, 0, workers=1)
    code = ("from adam_ode import LinearRegression2D\n"
            "from adam_ode import Adam\n"
            "from adam_ode.kernels.simulate import simulate_chunk_pairs\n"
            "from adam_ode.montecarlo import monte_carlo\n"
            "monte_carlo(LinearRegression2D(), Adam(0.01, 1.0, 2.0, 1e-8), [0.0, 0.0], 5, 8, 0,"
            " workers=1)\n"
            "print(sum(simulate_chunk_pairs.stats.cache_hits.values()), "
            "sum(simulate_chunk_pairs.stats.cache_misses.values()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    hits, misses = map(int, out.stdout.split())
    assert (hits, misses) == (1, 0), out.stdout + out.stderr


def _sup_error(problem, x0, gamma, a, b, eps, T):
    n = int(round(T / gamma))
    path = run_adam(problem, x0, gamma, a, b, eps, n, 0, noise=False)
    exact = solve_ode(problem, x0, a, b, eps, T)(np.arange(n + 1) * gamma)
    return np.max(np.linalg.norm(path - exact, axis=1))


@pytest.mark.parametrize("problem", [StochasticQuadratic(h=[1.0, 0.5], sigma=0.0),
                                     DoubleWell(d=2, sigma=0.0)], ids=["quadratic", "double-well"])
def test_noise_free_adam_converges_at_first_order_to_the_ode(problem):
    # Without noise S = (∇F)², so the exact-gradient scheme is a consistent discretisation of
    # the non-autonomous ODE (3.3), bias corrections included: error O(γ).
    x0 = np.array([1.0, -2.0]) if problem.dim == 2 and isinstance(problem, StochasticQuadratic) \
        else np.array([0.4, -1.6])
    gammas = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = np.array([_sup_error(problem, x0, g, 2.0, 3.0, 0.1, 2.0) for g in gammas])
    slope = np.polyfit(np.log(gammas), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1, f"measured order {slope:.3f}, errors {errors}"


def test_momentum_without_noise_converges_to_heavy_ball():
    from adam_ode.paper import solve_heavy_ball
    problem = StochasticQuadratic(h=[1.0, 0.5], sigma=0.0)
    x0 = np.array([1.0, -2.0])
    a, T = 3.0, 2.0
    errors = []
    for gamma in (0.01, 0.005):
        n = int(round(T / gamma))
        path = run_momentum_sgd(problem, x0, gamma, a, n, 0, noise=False)
        hb = solve_heavy_ball(problem, x0, a, T, gradient_scale=a)(np.arange(n + 1) * gamma)
        errors.append(np.max(np.abs(path[:, :2] - hb[:, :2])))
        # the record's own limit on (x, m): ẋ = −m, ṁ = a(∇F − m), the same heavy ball
        limit = MomentumSGD(gamma, a).limit()
        from adam_ode.integrate import solve_limit
        z = solve_limit(problem, limit, x0, T)(np.arange(n + 1) * gamma)
        assert_allclose(z[:, :2], hb[:, :2], atol=1e-8)
        assert_allclose(-z[:, 2:], hb[:, 2:], atol=1e-8)
    assert errors[1] < 0.6 * errors[0], errors


@pytest.mark.parametrize("call, name", [
    (lambda p, x0: run_adam(p, x0, 0.0, 1.0, 2.0, 1e-8, 5, 0), "gamma"),
    (lambda p, x0: run_adam(p, x0, -1e-3, 1.0, 2.0, 1e-8, 5, 0), "gamma"),
    (lambda p, x0: run_adam(p, x0, 0.1, 10.0, 2.0, 1e-8, 5, 0), "a"),
    (lambda p, x0: run_adam(p, x0, 0.1, 1.0, 10.0, 1e-8, 5, 0), "b"),
    (lambda p, x0: run_adam(p, x0, 0.1, 1.0, 2.0, 0.0, 5, 0), "eps"),
    (lambda p, x0: run_adam(p, x0, 0.1, 1.0, 2.0, 1e-8, -1, 0), "n_steps"),
    (lambda p, x0: run_adam(p, x0, 0.1, 1.0, 2.0, 1e-8, 2.5, 0), "n_steps"),
    (lambda p, x0: run_adam(p, x0, 0.1, 1.0, 2.0, 1e-8, 5, -3), "seed"),
    (lambda p, x0: run_adam(p, [0.0, np.nan], 0.1, 1.0, 2.0, 1e-8, 5, 0), "x0"),
    (lambda p, x0: run_adam(p, [0.0, 0.0, 0.0], 0.1, 1.0, 2.0, 1e-8, 5, 0), "x0"),
    (lambda p, x0: run_sgd(p, x0, np.inf, 5, 0), "gamma"),
    (lambda p, x0: run_momentum_sgd(p, x0, 0.5, 2.0, 5, 0), "a"),
    (lambda p, x0: run_rmsprop(p, x0, 0.5, 2.0, 1e-8, 5, 0), "b"),
    (lambda p, x0: run_adam_decreasing(p, x0, 0.1, 0.5, 1.0, 2.0, 1e-8, 5, 0), "kappa"),
    (lambda p, x0: run_adam_decreasing(p, x0, 0.1, 1.2, 1.0, 2.0, 1e-8, 5, 0), "kappa"),
    (lambda p, x0: run_adam_decreasing(p, x0, 0.0, 0.7, 1.0, 2.0, 1e-8, 5, 0), "gamma0"),
])
def test_bad_input_names_the_parameter(call, name):
    problem, x0 = PROBLEMS["linear-regression-2d"]
    with pytest.raises(ValueError, match=rf"\b{name}\b") as info:
        call(problem, x0)
    assert "allowed range" in str(info.value) or "must" in str(info.value)


def test_optimizer_records_are_frozen_and_logged():
    opt = Adam(1e-3, 100.0, 1.0, 1e-8)
    assert opt.alpha == pytest.approx(0.9) and opt.beta == pytest.approx(0.999)
    assert opt.config() == {"name": "adam", "gamma": 1e-3, "a": 100.0, "b": 1.0, "eps": 1e-8,
                            "debias": True}
    with pytest.raises(AttributeError):
        opt.gamma = 1.0
    assert_allclose(AdamDecreasing(0.5, 1.0, 1.0, 1.0, 1e-8).times([0, 1, 2]), [0, 0.5, 0.75])
    assert_allclose(MomentumSGD(0.1, 2.0).times([3]), [0.3])
    assert RMSProp(0.1, 2.0, 1e-8).beta == pytest.approx(0.8)


def test_run_optimizer_rejects_non_optimizers():
    with pytest.raises(ValueError, match="optimizer"):
        run_optimizer(LinearRegression2D(), {"gamma": 0.1}, [0.0, 0.0], 5, 0)


def test_path_wrappers_report_divergence():
    # A diverging path is reported with its step (DivergenceWarning), not returned as silent NaN.
    from adam_ode import DivergenceWarning, DoubleWell, run_sgd

    with pytest.warns(DivergenceWarning, match=r"diverged at step \d+"):
        path = run_sgd(DoubleWell(1), [5.0], 0.5, 50, 0)
    assert np.isnan(path[-1]).all()


def test_rates_below_float64_resolution_rejected():
    # a*gamma = 1e-18: alpha = 1 - a*gamma rounds to 1 and 1 - alpha^n = 0 (0/0 steps).
    from adam_ode import LinearRegression2D, run_adam

    with pytest.raises(ValueError, match="resolution"):
        run_adam(LinearRegression2D(), [0.0, 0.0], 0.1, 1e-17, 1.0, 0.1, 5, 0)


def test_decreasing_steps_warn_from_b_equal_4a():
    # Theorem 5.2 needs b < 4a strictly.
    from adam_ode import AdamDecreasing, LyapunovWarning

    with pytest.warns(LyapunovWarning, match="b < 4a"):
        AdamDecreasing(0.1, 0.75, 1.0, 4.0, 1e-8)
