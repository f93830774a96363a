"""Problems: closed forms, sampler moments, numba/NumPy sampler agreement, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from adam_ode import DoubleWell, LeastSquares, LinearRegression2D, StochasticQuadratic
from adam_ode.problems import make_problem
from adam_ode.kernels.simulate import evaluate_problem
from adam_ode.problems import kernel_data_of

from cases import PROBLEMS

N_MOMENT_SAMPLES = 40_000
Z_CRIT = 5.0  # |z| above 5 has probability < 6e-7 per check under the null


def _numerical_gradient(F, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (F(x + e) - F(x - e)) / (2 * h)
    return g


def test_linear_regression_closed_forms_from_definition():
    # F, ∇F, S of the talk's regression (paper_notes.md) recomputed by exact expectation over X ∈ {0, 1} and the Gaussian noise.
    p, sigma, x_star = 0.3, 1.0, np.array([3.0, 1.0])
    prob = LinearRegression2D(p, sigma, x_star)
    x = np.array([0.5, -2.0])
    F = g = S = 0.0
    for X, weight in ((1.0, p), (0.0, 1 - p)):
        u = np.array([X, 1 - X])
        mean_r = u @ x - (X * x_star[0] + (1 - X) * x_star[1])  # E[r | X]
        F += weight * 0.5 * (mean_r**2 + sigma**2)
        g = g + weight * u * mean_r
        S = S + weight * u**2 * (mean_r**2 + sigma**2)
    assert_allclose(prob.F(x), F, rtol=1e-15)
    assert_allclose(prob.grad_F(x), g, rtol=1e-15)
    assert_allclose(prob.S(x), S, rtol=1e-15)


@settings(deadline=None, max_examples=25)
@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3), st.sampled_from(sorted(PROBLEMS)))
def test_grad_F_matches_finite_differences(coords, name):
    problem, _ = PROBLEMS[name]
    x = np.resize(np.array(coords), problem.dim)
    assert_allclose(problem.grad_F(x), _numerical_gradient(problem.F, x), rtol=1e-6, atol=1e-6)


def test_batched_evaluation_matches_pointwise(problem_and_x0):
    problem, x0 = problem_and_x0
    X = x0 + np.random.default_rng(0).standard_normal((5, problem.dim))
    for method in (problem.F, problem.grad_F, problem.S, problem.critical_distance):
        assert_allclose(method(X), np.array([method(x) for x in X]), rtol=1e-14, atol=1e-14)


def test_sampler_moments_match_grad_F_and_S(problem_and_x0):
    # E ∇f(x, ξ) = ∇F(x) and E ∇f(x, ξ)² = S(x), each within Z_CRIT standard errors.
    problem, x0 = problem_and_x0
    x = x0 + 0.3
    rng = np.random.default_rng(1)
    G = np.array([problem.sample_grad(x, rng) for _ in range(N_MOMENT_SAMPLES)])
    for sample, target in ((G, problem.grad_F(x)), (G**2, problem.S(x))):
        se = sample.std(axis=0) / np.sqrt(N_MOMENT_SAMPLES)
        z = np.abs(sample.mean(axis=0) - target) / np.maximum(se, 1e-300)
        assert np.all(z < Z_CRIT), f"moment off by {z} standard errors"


def test_numba_sampler_draws_exactly_what_numpy_sampler_draws(problem_and_x0):
    problem, x0 = problem_and_x0
    rng_nb, rng_np = np.random.default_rng(7), np.random.default_rng(7)
    x = x0 + 0.1
    draws, grad, dist = evaluate_problem(kernel_data_of(problem), x, rng_nb, 50)
    for g in draws:
        assert_allclose(g, problem.sample_grad(x, rng_np), rtol=1e-13, atol=1e-13)
    assert_allclose(grad, problem.grad_F(x), rtol=1e-13, atol=1e-13)
    assert dist == pytest.approx(problem.critical_distance(x), rel=1e-13, abs=1e-13)


def test_hessian_vector_product_is_exact(problem_and_x0):
    # The built-ins' exact ∇²F·u against the base class's central difference of ∇F.
    from adam_ode.problems.base import Problem

    problem, x0 = problem_and_x0
    u = np.linspace(-1.0, 1.0, problem.dim)
    x = x0 + 0.2
    assert_allclose(problem.hessian_vector(x, u), Problem.hessian_vector(problem, x, u),
                    rtol=1e-6, atol=1e-8)


def test_unknown_problem_type_cannot_reach_a_kernel():
    from adam_ode import Adam, ParameterError, run_optimizer

    class Mine(StochasticQuadratic):
        name = "mine"  # not registered

    with pytest.raises(ParameterError, match="registered problem"):
        run_optimizer(Mine(h=[1.0]), Adam(0.01), [1.0], 5, 0)
    with pytest.raises(ParameterError, match="unknown problem 'nope'"):
        make_problem("nope")


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_least_squares_S_exact_by_enumerating_batches(batch_size):
    # S_B = ∇F² + (S_1 − ∇F²)/B, checked against the exact average over all n^B ordered batches.
    rng = np.random.default_rng(3)
    A, y = rng.standard_normal((4, 2)), rng.standard_normal(4)
    prob = LeastSquares(A, y, batch_size=batch_size)
    x = np.array([0.3, -0.7])
    per_sample = A * (A @ x - y)[:, None]
    idx = np.stack(np.meshgrid(*[np.arange(4)] * batch_size, indexing="ij"), -1).reshape(-1,
                                                                                       batch_size)
    batch_grads = per_sample[idx].mean(axis=1)
    assert_allclose(prob.S(x), np.mean(batch_grads**2, axis=0), rtol=1e-13)
    assert_allclose(prob.grad_F(x), batch_grads.mean(axis=0), rtol=1e-13, atol=1e-15)


def test_critical_sets():
    assert LinearRegression2D().critical_distance([3.0, 1.0]) == 0.0
    dw = DoubleWell(d=3)
    for point in ([-1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]):
        assert dw.critical_distance(point) == 0.0
        assert_allclose(dw.grad_F(point), 0.0)
    assert dw.critical_distance([0.4, 0.0, 0.0]) == pytest.approx(0.4)
    # Rank-deficient least squares: the critical set is the affine set x⁺ + ker A.
    A = np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 1.0]])
    ls = LeastSquares(A, np.array([1.0, 2.0, 0.0]))
    assert ls.minimizer is None
    x_plus = ls._x_plus
    assert_allclose(ls.grad_F(x_plus), 0.0, atol=1e-14)
    assert ls.critical_distance(x_plus + np.array([5.0, -5.0])) == pytest.approx(0.0, abs=1e-12)
    assert ls.critical_distance(x_plus + np.array([1.0, 1.0])) == pytest.approx(np.sqrt(2))


def test_quadratic_defaults_are_dimension_100_ill_conditioned():
    q = StochasticQuadratic()
    assert q.dim == 100
    assert q.h.max() / q.h.min() == pytest.approx(100.0)
    assert_allclose(q.S(np.zeros(100)), 0.25)


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: LinearRegression2D(p=0.0), "p"),
        (lambda: LinearRegression2D(p=1.0), "p"),
        (lambda: LinearRegression2D(sigma=-1.0), "sigma"),
        (lambda: LinearRegression2D(x_star=(1.0, 2.0, 3.0)), "x_star"),
        (lambda: StochasticQuadratic(h=[1.0, 0.0]), "h"),
        (lambda: StochasticQuadratic(h=[1.0, 2.0], sigma=-0.1), "sigma"),
        (lambda: StochasticQuadratic(h=[1.0, 2.0], sigma=[1.0, 2.0, 3.0]), "sigma"),
        (lambda: DoubleWell(d=0), "d"),
        (lambda: DoubleWell(sigma=-2.0), "sigma"),
        (lambda: LeastSquares(np.ones((3, 2)), np.ones(4)), "y"),
        (lambda: LeastSquares(np.ones(3), np.ones(3)), "A"),
        (lambda: LeastSquares(np.ones((3, 2)), np.ones(3), batch_size=0), "batch_size"),
        (lambda: make_problem("no-such-problem-xyz"), "problem"),
        (lambda: make_problem({"name": "least-squares", "data": "/nonexistent.npz"}), "data"),
        (lambda: make_problem({"name": "stochastic-quadratic", "d": 3, "h": [1.0, 2.0]}), "d"),
    ],
)
def test_bad_input_names_the_parameter(build, name):
    with pytest.raises(ValueError, match=name):
        build()


def test_make_problem_builds_every_problem():
    assert isinstance(make_problem("linear-regression-2d"), LinearRegression2D)
    q = make_problem({"name": "stochastic-quadratic", "d": 10, "sigma": 0.1})
    assert q.dim == 10 and q.h.max() / q.h.min() == pytest.approx(100.0)
    assert make_problem({"name": "double-well", "d": 4}).dim == 4
    ls = make_problem({"name": "least-squares", "n": 50, "d": 3, "batch_size": 5})
    assert (ls.n, ls.dim, ls.batch_size) == (50, 3, 5)
