"""Exact gradient-noise moments (adam_ode.fluctuations.moments) against sampling and S."""

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (
    CustomProblem,
    DoubleWell,
    LeastSquares,
    LinearRegression2D,
    LogisticRegression,
    StochasticQuadratic,
)
from adam_ode.fluctuations import gradient_moments
from adam_ode.fluctuations.moments import (
    has_diagonal_moments,
    has_kernel_moments,
    is_separable,
)
from adam_ode.problems import CorrelatedQuadratic

N_SAMPLES = 40_000


def _logistic(n=40, d=3, l2=0.1, batch_size=3, seed=0):
    """A small non-separable logistic problem (labels of a noisy linear model)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    y = np.where(A @ np.linspace(1.0, -0.5, d) + rng.standard_normal(n) > 0, 1.0, -1.0)
    return LogisticRegression(A, y, batch_size, l2)


PROBLEMS = [
    (LinearRegression2D(0.3, 1.0, (3.0, 1.0)), [2.0, 1.7]),
    (StochasticQuadratic(h=[0.5, 2.0, 1.0], sigma=[0.3, 1.0, 0.7]), [1.0, -0.5, 0.2]),
    (DoubleWell(d=2, sigma=0.5), [1.1, -0.8]),
    (CorrelatedQuadratic(), [1.0, -0.5]),
    (LeastSquares.from_config(n=30, d=3, noise=0.5, seed=1, batch_size=3), [0.2, -0.1, 0.4]),
    (_logistic(), [0.3, -0.6, 0.2]),
    (_logistic(l2=0.0, batch_size=2, seed=1), [1.5, 0.4, -1.0]),
]


def _samples(problem, x, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.array([problem.sample_grad(np.asarray(x, float), rng) for _ in range(n)])


@pytest.mark.parametrize("problem, x", PROBLEMS, ids=lambda p: type(p).__name__)
def test_moments_match_sampling(problem, x):
    mom = gradient_moments(problem, x)
    assert_allclose(mom.mean, problem.grad_F(x), rtol=1e-12, atol=1e-14)
    assert_allclose(mom.second, problem.S(x), rtol=1e-12, atol=1e-14)
    g = _samples(problem, x, N_SAMPLES)
    z = np.concatenate([g, g**2], axis=1)
    d = problem.dim
    C = np.cov(z.T)
    # Monte Carlo tolerance: ~5 standard errors of the sample covariances.
    scale = np.sqrt(np.outer(np.diag(C), np.diag(C))) * 5.0 / np.sqrt(N_SAMPLES) * 2.0
    assert np.all(np.abs(C[:d, :d] - mom.cov) <= scale[:d, :d] + 1e-12)
    assert np.all(np.abs(C[:d, d:] - mom.cov_g_g2) <= scale[:d, d:] + 1e-12)
    assert np.all(np.abs(C[d:, d:] - mom.cov_g2) <= scale[d:, d:] + 1e-12)


@pytest.mark.parametrize("problem, x", PROBLEMS, ids=lambda p: type(p).__name__)
def test_jacobians_match_central_differences(problem, x):
    mom = gradient_moments(problem, x)
    x = np.asarray(x, float)
    step = 1e-6
    eye = np.eye(problem.dim)
    dS = np.stack([(problem.S(x + step * e) - problem.S(x - step * e)) / (2 * step)
                   for e in eye], axis=1)
    H = np.stack([(problem.grad_F(x + step * e) - problem.grad_F(x - step * e)) / (2 * step)
                  for e in eye], axis=1)
    assert_allclose(mom.dS, dS, rtol=1e-6, atol=1e-8)
    assert_allclose(mom.hessian, H, rtol=1e-6, atol=1e-8)


class _Indices:
    """Stands in for the Generator of a finite-sum sampler: ``integers`` returns given indices."""

    def __init__(self, indices):
        self._indices = iter(indices)

    def integers(self, low, high):
        return next(self._indices)


@pytest.mark.parametrize("problem, x", [
    (LeastSquares.from_config(n=12, d=3, noise=0.5, seed=2, batch_size=2), [0.2, -0.1, 0.4]),
    (_logistic(n=12, l2=0.1, batch_size=2), [0.3, -0.6, 0.2]),
    (_logistic(n=15, l2=0.0, batch_size=2, seed=1), [1.5, 0.4, -1.0]),
], ids=["least-squares", "logistic-l2", "logistic"])
def test_minibatch_moments_by_enumeration(problem, x):
    """B = 2: the sampler's gradient over all n² index pairs (equally likely) gives the exact
    covariances of (g, g²), to rounding."""
    n, d = problem.n, problem.dim
    x = np.asarray(x, float)
    g = np.array([problem.sample_grad(x, _Indices((k, l))) for k in range(n) for l in range(n)])
    z = np.concatenate([g, g**2], axis=1)
    C = np.cov(z.T, ddof=0)
    mom = gradient_moments(problem, x)
    scale = np.abs(C).max()
    assert_allclose(g.mean(axis=0), mom.mean, rtol=0, atol=1e-13 * np.abs(g).max())
    assert_allclose(C[:d, :d], mom.cov, rtol=0, atol=1e-12 * scale)
    assert_allclose(C[:d, d:], mom.cov_g_g2, rtol=0, atol=1e-12 * scale)
    assert_allclose(C[d:, d:], mom.cov_g2, rtol=0, atol=1e-12 * scale)


@numba.njit
def _custom_sample_grad(x, rng, out):
    for i in range(x.shape[0]):
        out[i] = x[i] + rng.standard_normal()


@numba.njit
def _custom_grad_F(x):
    return x.copy()


@pytest.mark.parametrize("problem, x", PROBLEMS, ids=lambda p: type(p).__name__)
def test_public_entry_is_the_problem_method(problem, x):
    mom = gradient_moments(problem, x)
    ref = problem.gradient_moments(np.asarray(x, float))
    for name in mom.__dataclass_fields__:
        assert np.array_equal(getattr(mom, name), getattr(ref, name))
    assert is_separable(problem) is problem.separable_moments
    if is_separable(problem):  # every matrix diagonal
        for name in ("cov", "cov_g_g2", "cov_g2", "hessian", "dS"):
            M = getattr(mom, name)
            assert np.array_equal(M, np.diag(np.diag(M))), name


def test_which_problems_have_moments():
    """The numba moments are found from the registered evaluators, per kernel-data type."""
    expected = {  # (is_separable, has_kernel_moments, has_diagonal_moments)
        "StochasticQuadratic": (True, True, True),
        "DoubleWell": (True, True, True),
        "CorrelatedQuadratic": (False, True, False),
        "LinearRegression2D": (False, True, False),
        "LeastSquares": (False, False, False),
        "LogisticRegression": (False, False, False),
    }
    for problem, _ in PROBLEMS:
        got = (is_separable(problem), has_kernel_moments(problem), has_diagonal_moments(problem))
        assert got == expected[type(problem).__name__], type(problem).__name__
    custom = CustomProblem(2, _custom_sample_grad, _custom_grad_F)
    assert not (is_separable(custom) or has_kernel_moments(custom)
                or has_diagonal_moments(custom))
    with pytest.raises(NotImplementedError, match="no exact gradient-noise moments for "
                                                  "CustomProblem"):
        gradient_moments(custom, [0.0, 0.0])


def test_logistic_separability_is_not_separable_moments():
    """LogisticRegression.separable (linearly separable data) is a different flag."""
    A = np.array([[1.0, 0.2], [2.0, -0.1], [-1.0, 0.3], [-1.5, -0.2]])
    p = LogisticRegression(A, [1, 1, -1, -1])
    assert p.separable and not is_separable(p)
