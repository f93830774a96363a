"""AMSGrad (adam_ode/optimizers/amsgrad.py): kernel = NumPy, torch's Adam(amsgrad=True) rule,
AMSGrad = Adam while v increases, first-order limit, refinement of the non-smooth solve, energy."""

import warnings

import numpy as np
import pytest
from cases import PROBLEMS
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import DoubleWell, StochasticQuadratic, run_optimizer
from adam_ode._validation import ParameterError
from adam_ode.integrate import solve_limit
from adam_ode.montecarlo import limit_reference

AMSGrad = adam_ode.OPTIMIZERS["amsgrad"]
Adam = adam_ode.OPTIMIZERS["adam"]
SEED = 7
NOISE_FREE = {"quadratic": (StochasticQuadratic(h=[1.0, 0.5], sigma=0.0), np.array([1.0, -2.0])),
              "double-well": (DoubleWell(d=2, sigma=0.0), np.array([0.4, -1.6]))}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adam_ode.LyapunovWarning)
        yield


def torch_amsgrad(problem, x0, lr, betas, eps, n_steps):
    """torch.optim.Adam(amsgrad=True)'s _single_tensor_adam (float lr, not capturable), op for op:
    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1);
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2);
    torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq);
    denom = (max_exp_avg_sq.sqrt() / sqrt(1 - beta2**step)).add_(eps);
    param.addcdiv_(exp_avg, denom, value=-lr/(1 - beta1**step))."""
    beta1, beta2 = betas
    p = np.array(x0, dtype=float)
    exp_avg, exp_avg_sq, max_sq = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for step in range(1, n_steps + 1):
        grad = problem.grad_F(p)
        exp_avg = exp_avg * beta1 + (1 - beta1) * grad
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad
        max_sq = np.maximum(max_sq, exp_avg_sq)
        denom = np.sqrt(max_sq) / np.sqrt(1 - beta2**step) + eps
        p = p + (-(lr / (1 - beta1**step))) * (exp_avg / denom)
    return np.concatenate([p, exp_avg, exp_avg_sq, max_sq])


@pytest.mark.parametrize("name", ["linear-regression-2d", "stochastic-quadratic", "double-well"])
def test_matches_torch_rule_after_1000_exact_steps(name):
    problem, x0 = PROBLEMS[name]
    gamma, a, b, eps = 1e-3, 100.0, 1.0, 1e-8
    z = run_optimizer(problem, AMSGrad(gamma=gamma, a=a, b=b, eps=eps), x0, 1000, 0,
                      noise=False)
    # the maximum is active: v decreases along these paths (else this would test Adam)
    assert np.any(z[-1, 3 * problem.dim:] > z[-1, 2 * problem.dim:3 * problem.dim])
    expected = torch_amsgrad(problem, x0, gamma, (1 - a * gamma, 1 - b * gamma), eps, 1000)
    assert_allclose(z[-1], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, name", [({"gamma": 0.0}, "gamma"),
                                          ({"gamma": 0.1, "a": 10.0}, "a"),
                                          ({"gamma": 0.001, "b": -1.0}, "b"),
                                          ({"gamma": 0.001, "eps": -1e-8}, "eps")])
def test_validation_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        AMSGrad(**kwargs)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("noise", [True, False], ids=["noisy", "exact"])
def test_equals_adam_while_v_is_nondecreasing(name, noise):
    problem, x0 = PROBLEMS[name]
    d = problem.dim
    kw = dict(gamma=0.01, a=10.0, b=1.0)
    adam = run_optimizer(problem, Adam(**kw), x0, 400, SEED, noise=noise)
    ams = run_optimizer(problem, AMSGrad(**kw), x0, 400, SEED, noise=noise)
    v = adam[:, 2 * d:]
    running_max = np.maximum.accumulate(v, axis=0)
    decreased = np.nonzero(np.any(v < running_max, axis=1))[0]
    first = decreased[0] if decreased.size else len(v)
    assert first > 1
    # bit for bit up to the first step where some v_n < max_{k<n} v_k
    assert np.array_equal(ams[:first, :3 * d], adam[:first])
    assert np.array_equal(ams[:first, 3 * d:], v[:first])
    if first < len(v) - 1:
        assert not np.array_equal(ams[first + 1:, :d], adam[first + 1:, :d])


@pytest.mark.parametrize("name", sorted(NOISE_FREE))
@pytest.mark.parametrize("debias", [True, False])
def test_noise_free_iterates_converge_at_first_order_to_the_limit(name, debias):
    problem, x0 = NOISE_FREE[name]
    gammas = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = []
    for g in gammas:
        opt = AMSGrad(gamma=g, a=2.0, b=3.0, eps=0.1, debias=debias)
        n = int(round(2.0 / g))
        path = run_optimizer(problem, opt, x0, n, 0, noise=False)
        errors.append(np.max(np.linalg.norm(path - limit_reference(problem, opt, x0, n), axis=1)))
    d = problem.dim
    assert np.any(path[-1, 3 * d:] > path[-1, 2 * d:3 * d]), "the maximum never switched off"
    slope = np.polyfit(np.log(gammas), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1, f"measured order {slope:.3f} (1 expected), errors {errors}"


@pytest.mark.parametrize("name", sorted(NOISE_FREE))
@pytest.mark.parametrize("debias", [True, False])
def test_non_smooth_solve_agrees_with_a_100x_tighter_one(name, debias):
    problem, x0 = NOISE_FREE[name]
    limit = AMSGrad(gamma=0.01, a=2.0, b=3.0, eps=0.1, debias=debias).limit()
    ts = np.linspace(0.0, 4.0, 401)
    coarse = solve_limit(problem, limit, x0, 4.0)(ts)
    fine = solve_limit(problem, limit, x0, 4.0, rtol=1e-13, atol=1e-15)(ts)
    d = problem.dim
    assert np.any(fine[-1, 3 * d:] > fine[-1, 2 * d:3 * d] + 1e-3), "no switch on [0, 4]"
    err = np.max(np.abs(coarse - fine))
    assert err < 1e-7, f"default vs 100x tighter tolerances differ by {err:.3g}"


@pytest.mark.parametrize("name", sorted(NOISE_FREE))
def test_energy_is_nonincreasing_without_bias_correction_even_for_b_above_4a(name):
    # E = F + ½ Σ m²/(a(ε + sqrt(u))) needs only u̇ ≥ 0 (no b ≤ 4a condition).
    problem, x0 = NOISE_FREE[name]
    limit = AMSGrad(gamma=0.01, a=0.5, b=5.0, eps=0.1, debias=False).limit()
    assert limit.has_energy
    ts = np.linspace(0.0, 10.0, 2001)
    z = solve_limit(problem, limit, x0, 10.0)(ts)
    energy = limit.energy(ts, z, problem)
    increase = np.max(np.diff(energy))
    assert increase <= 1e-10 * np.abs(energy).max(), f"energy increases by {increase:.3g}"
    assert not AMSGrad(gamma=0.001, debias=True).limit().has_energy
