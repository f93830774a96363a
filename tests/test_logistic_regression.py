"""LogisticRegression: closed forms from the definition, exact S_B by enumerating mini-batches,
numba = NumPy, sampler moments, stability for huge margins, the critical set in its three cases."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import Adam, ParameterError, run_optimizer
from adam_ode.kernels.simulate import evaluate_problem
from adam_ode.problems import kernel_data_of, make_problem
from adam_ode.problems.logistic_regression import LogisticRegression

Z_CRIT = 5.0


def _small(n=5, d=3, seed=1, l2=0.1, batch_size=1, labels01=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    y[0], y[1] = 1.0, -1.0
    if labels01:
        y = (y > 0).astype(float)
    return LogisticRegression(A, y, batch_size, l2)


def _per_sample_grads(p, x):
    out = []
    for a, y in zip(p.A, p.y):
        z = y * float(a @ x)
        out.append(-y / (1.0 + math.exp(z)) * a + p.l2 * x)
    return np.array(out)


def test_F_and_gradient_from_the_definition():
    p = _small()
    x = np.array([0.3, -0.7, 1.1])
    F = np.mean([math.log1p(math.exp(-y * float(a @ x))) for a, y in zip(p.A, p.y)]) \
        + 0.05 * float(x @ x)
    assert p.F(x) == pytest.approx(F, rel=1e-14)
    assert_allclose(p.grad_F(x), _per_sample_grads(p, x).mean(axis=0), rtol=1e-13, atol=1e-15)
    h = 1e-6
    fd = np.array([(p.F(x + h * e) - p.F(x - h * e)) / (2 * h) for e in np.eye(3)])
    assert_allclose(p.grad_F(x), fd, rtol=1e-7, atol=1e-9)
    # Batches of points give the pointwise values.
    X = np.stack([x, -x, 2 * x])
    assert_allclose(p.F(X), [p.F(v) for v in X], rtol=1e-14)
    assert_allclose(p.S(X), [p.S(v) for v in X], rtol=1e-14)


@pytest.mark.parametrize("n, batch_size", [(4, 1), (4, 2), (3, 4)])
def test_S_is_exact_for_any_batch_size_by_enumeration(n, batch_size):
    # E over all n^B ordered batches drawn with replacement (B > n included).
    p = _small(n=n, batch_size=batch_size)
    x = np.array([0.5, 0.2, -0.4])
    G = _per_sample_grads(p, x)
    second = np.zeros(3)
    for batch in itertools.product(range(n), repeat=batch_size):
        second += G[list(batch)].mean(axis=0) ** 2
    assert_allclose(p.S(x), second / n**batch_size, rtol=1e-12, atol=1e-15)


def test_hessian_vector_is_exact():
    from adam_ode.problems.base import Problem

    p = _small()
    x, u = np.array([0.4, -0.1, 0.9]), np.array([1.0, -2.0, 0.5])
    assert_allclose(p.hessian_vector(x, u), Problem.hessian_vector(p, x, u), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("l2, batch_size", [(0.0, 1), (0.05, 7)])
def test_numba_evaluators_equal_the_numpy_ones(l2, batch_size):
    p = make_problem({"name": "logistic-regression", "l2": l2, "batch_size": batch_size})
    x = np.linspace(-0.2, 0.3, p.dim)
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    draws, grad, dist = evaluate_problem(kernel_data_of(p), x, r1, 30)
    for g in draws:
        assert_allclose(g, p.sample_grad(x, r2), rtol=1e-13, atol=1e-14)
    assert_allclose(grad, p.grad_F(x), rtol=1e-13, atol=1e-14)
    assert dist == pytest.approx(float(p.critical_distance(x)), rel=1e-12)


def test_sampler_moments_match_grad_F_and_S():
    p = _small(n=7, batch_size=3)
    x = np.array([0.3, 0.1, -0.5])
    rng = np.random.default_rng(0)
    n_samples = 40_000
    G = np.array([p.sample_grad(x, rng) for _ in range(n_samples)])
    for stat, target in ((G, p.grad_F(x)), (G**2, p.S(x))):
        z = (stat.mean(axis=0) - target) / (stat.std(axis=0) / math.sqrt(n_samples))
        assert np.all(np.abs(z) < Z_CRIT), z


def test_huge_margins_do_not_overflow():
    A = np.array([[1e4, 0.0], [0.0, -1e4], [1.0, 1.0]])
    p = LogisticRegression(A, [1.0, 1.0, -1.0], l2=0.0)
    x = np.array([1.0, 1.0])  # margins 1e4, -1e4, -2
    expected = (0.0 + 1e4 + math.log1p(math.exp(2.0))) / 3
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert p.F(x) == pytest.approx(expected, rel=1e-14)
        g = p.grad_F(x)
        s = p.S(x)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(s))
    assert_allclose(g, [(-0.0 + 0.0 + 1.0 / (1 + math.exp(-2.0))) / 3,
                        (1e4 + 1.0 / (1 + math.exp(-2.0))) / 3], rtol=1e-13)
    draws, grad, _ = evaluate_problem(kernel_data_of(p), x,
                                      np.random.default_rng(0), 5)
    assert np.all(np.isfinite(draws)) and np.all(np.isfinite(grad))


def test_labels_01_are_converted_and_others_rejected():
    p01, pm = _small(labels01=True), _small()
    assert_allclose(p01.y, pm.y)
    assert set(p01.y) == {-1.0, 1.0}
    with pytest.raises(ParameterError, match="labels"):
        LogisticRegression(np.eye(3), [1.0, 2.0, -1.0])
    with pytest.raises(ParameterError, match="labels"):
        LogisticRegression(np.eye(3), [1.0, 0.0, -1.0])  # mixed conventions are ambiguous
    with pytest.raises(ParameterError, match="batch_size"):
        LogisticRegression(np.eye(3), [1.0, 0.0, 1.0], batch_size=0)


def test_minimizer_with_penalty_is_a_critical_point():
    p = make_problem({"name": "logistic-regression", "l2": 0.01})
    x_star = p.minimizer
    assert np.linalg.norm(p.grad_F(x_star)) < 1e-9
    assert p.critical_distance(x_star) == pytest.approx(0.0, abs=1e-12)
    assert p.critical_distance(x_star + 0.1) == pytest.approx(0.1 * math.sqrt(p.dim), rel=1e-12)
    # The real data are not linearly separable: without penalty a minimizer exists too.
    p0 = make_problem("logistic-regression")
    assert p0.separable is False and p0.minimizer is not None
    assert np.linalg.norm(p0.grad_F(p0.minimizer)) < 1e-9


def test_separable_data_without_penalty_have_an_empty_critical_set():
    A = np.array([[1.0, 0.2], [2.0, -0.3], [-1.0, 0.1], [-1.5, -0.4]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    p = LogisticRegression(A, y)
    assert p.separable and p.no_minimizer
    assert p.minimizer is None and p.min_value == 0.0
    x = np.array([3.0, 0.0])
    assert p.critical_distance(x) == math.inf
    _, _, dist = evaluate_problem(kernel_data_of(p), x, np.random.default_rng(0), 1)
    assert dist == math.inf
    # F keeps decreasing along the separating direction.
    assert p.F(10 * x) < p.F(x) < p.F(0 * x)
    # With a penalty the minimizer exists again.
    assert LogisticRegression(A, y, l2=0.1).minimizer is not None


def test_kernel_path_equals_the_numpy_transcription():
    p = make_problem({"name": "logistic-regression", "batch_size": 4, "l2": 0.001})
    opt = Adam(0.01)
    x0 = np.zeros(p.dim)
    path = run_optimizer(p, opt, x0, 200, 3)
    ref = opt.numpy_path(p, x0, 200, 3)
    assert_allclose(path, ref, rtol=1e-10, atol=1e-12)
    assert p.F(path[-1, :p.dim]) < p.F(x0)


def test_cli_spec_and_config():
    p = make_problem({"name": "logistic-regression", "dataset": "breast-cancer",
                      "batch_size": 16})
    assert p.config() == {"name": "logistic-regression", "dataset": "breast-cancer", "n": 569,
                          "d": 30, "batch_size": 16, "l2": 0.0}
    p = make_problem({"name": "logistic-regression", "intercept": True})
    assert p.dim == 31
