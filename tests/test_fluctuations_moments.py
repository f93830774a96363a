"""Exact gradient-noise moments (adam_ode.fluctuations.moments) against sampling and S."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import DoubleWell, LeastSquares, LinearRegression2D, StochasticQuadratic
from adam_ode.fluctuations import CorrelatedQuadratic, gradient_moments

N_SAMPLES = 40_000

PROBLEMS = [
    (LinearRegression2D(0.3, 1.0, (3.0, 1.0)), [2.0, 1.7]),
    (StochasticQuadratic(h=[0.5, 2.0, 1.0], sigma=[0.3, 1.0, 0.7]), [1.0, -0.5, 0.2]),
    (DoubleWell(d=2, sigma=0.5), [1.1, -0.8]),
    (CorrelatedQuadratic(), [1.0, -0.5]),
    (LeastSquares.from_config(n=30, d=3, noise=0.5, seed=1, batch_size=3), [0.2, -0.1, 0.4]),
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
