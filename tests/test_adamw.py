"""AdamW (adam_ode/optimizers/adamw.py): kernel = NumPy transcription, torch's rule, λ = 0 is Adam,
first-order limit, rest points ≠ those of F + (λ/2)‖x‖²."""

import warnings

import numpy as np
import pytest
from cases import PROBLEMS
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import LeastSquares, StochasticQuadratic, run_optimizer
from adam_ode._validation import ParameterError
from adam_ode.integrate import solve_limit
from adam_ode.montecarlo import limit_reference

AdamW = adam_ode.OPTIMIZERS["adamw"]
Adam = adam_ode.OPTIMIZERS["adam"]
SEED = 7


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", adam_ode.LyapunovWarning)
        yield


def torch_adamw(problem, x0, lr, betas, eps, weight_decay, n_steps):
    """torch.optim.AdamW's _single_tensor_adamw (float lr, not capturable), op for op, in NumPy:
    param.mul_(1 - lr*wd); exp_avg.lerp_(grad, 1 - beta1);
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2);
    denom = (exp_avg_sq.sqrt() / sqrt(1 - beta2**step)).add_(eps);
    param.addcdiv_(exp_avg, denom, value=-lr/(1 - beta1**step)). The gradient is computed first,
    at the old parameters."""
    beta1, beta2 = betas
    p = np.array(x0, dtype=float)
    exp_avg = np.zeros_like(p)
    exp_avg_sq = np.zeros_like(p)
    for step in range(1, n_steps + 1):
        grad = problem.grad_F(p)
        p = p * (1 - lr * weight_decay)
        exp_avg = exp_avg + (1 - beta1) * (grad - exp_avg)  # lerp, weight < 0.5
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq) / np.sqrt(1 - beta2**step) + eps
        p = p + (-(lr / (1 - beta1**step))) * (exp_avg / denom)
    return p, exp_avg, exp_avg_sq


@pytest.mark.parametrize("name", ["linear-regression-2d", "stochastic-quadratic", "double-well"])
def test_matches_torch_rule_after_1000_exact_steps(name):
    problem, x0 = PROBLEMS[name]
    gamma, a, b, eps, lam = 1e-3, 100.0, 1.0, 1e-8, 0.3
    opt = AdamW(gamma=gamma, a=a, b=b, eps=eps, weight_decay=lam)
    z = run_optimizer(problem, opt, x0, 1000, 0, noise=False)[-1]
    p, m, v = torch_adamw(problem, x0, gamma, (1 - a * gamma, 1 - b * gamma), eps, lam, 1000)
    d = problem.dim
    assert_allclose(z[:d], p, rtol=1e-12, atol=1e-14)
    assert_allclose(z[d:2 * d], m, rtol=1e-12, atol=1e-14)
    assert_allclose(z[2 * d:], v, rtol=1e-12, atol=1e-14)


def test_defaults_are_torchs():
    opt = AdamW(gamma=1e-3)
    assert (opt.alpha, opt.beta, opt.eps, opt.weight_decay) == pytest.approx((0.9, 0.999, 1e-8,
                                                                               1e-2))


@pytest.mark.parametrize("kwargs, name", [({"gamma": -1.0}, "gamma"),
                                          ({"gamma": 0.1, "a": 20.0}, "a"),
                                          ({"gamma": 0.1, "b": 0.0}, "b"),
                                          ({"gamma": 0.001, "eps": 0.0}, "eps"),
                                          ({"gamma": 0.001, "weight_decay": -1.0}, "weight_decay"),
                                          ({"gamma": 0.1, "a": 1.0, "weight_decay": 10.0},
                                           "weight_decay")])
def test_validation_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        AdamW(**kwargs)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_zero_weight_decay_is_adam_bit_for_bit(name):
    problem, x0 = PROBLEMS[name]
    a = run_optimizer(problem, AdamW(gamma=0.01, a=10.0, b=1.0, weight_decay=0.0), x0, 300, SEED)
    b = run_optimizer(problem, Adam(gamma=0.01, a=10.0, b=1.0), x0, 300, SEED)
    assert np.array_equal(a, b)
    c = run_optimizer(problem, AdamW(gamma=0.01, a=10.0, b=1.0, weight_decay=0.1), x0, 300, SEED)
    assert not np.array_equal(a, c)


def test_noise_free_iterates_converge_at_first_order_to_the_limit():
    problem = StochasticQuadratic(h=[1.0, 0.5], sigma=0.0)
    x0 = np.array([1.0, -2.0])
    gammas = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = []
    for g in gammas:
        opt = AdamW(gamma=g, a=2.0, b=3.0, eps=0.1, weight_decay=0.7)
        n = int(round(2.0 / g))
        ref = limit_reference(problem, opt, x0, n)
        path = run_optimizer(problem, opt, x0, n, 0, noise=False)
        errors.append(np.max(np.linalg.norm(path - ref, axis=1)))
    slope = np.polyfit(np.log(gammas), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1, f"measured order {slope:.3f} (1 expected), errors {errors}"


def _ill_conditioned_least_squares():
    # Columns scaled by 1, 10, 0.1: ill-conditioned, minimizer away from the origin (on a centred
    # StochasticQuadratic both rest-point equations have the root x = 0, see the next test).
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 3)) * np.array([1.0, 10.0, 0.1])
    y = A @ np.array([1.0, -0.5, 4.0]) + 0.2 * rng.standard_normal(40)
    return LeastSquares(A, y)


def test_rest_point_is_not_the_l2_penalised_minimizer():
    problem = _ill_conditioned_least_squares()
    lam, eps = 0.05, 1e-8
    opt = AdamW(gamma=1e-3, a=10.0, b=1.0, eps=eps, weight_decay=lam)
    x_rest = opt.rest_point(problem, problem._x_plus)
    G = problem.grad_F(x_rest) / (eps + np.sqrt(problem.S(x_rest))) + lam * x_rest
    assert np.linalg.norm(G) < 1e-9
    # F + (λ/2)‖x‖²: (AᵀA/n + λI) x = Aᵀy/n
    n = problem.A.shape[0]
    x_l2 = np.linalg.solve(problem.A.T @ problem.A / n + lam * np.eye(3), problem.A.T @ problem.y / n)
    gap = np.linalg.norm(x_rest - x_l2)
    assert gap > 0.1, (f"AdamW rest point {x_rest} vs L2 minimizer {x_l2}: distance {gap:.3g}")
    # and the limit goes there: the autonomous limit's state after a long horizon
    traj = solve_limit(problem, opt.limit(), problem._x_plus, 200.0)
    assert_allclose(traj(200.0)[:3], x_rest, atol=1e-6,
                    err_msg=f"L2 minimizer would be {x_l2}")


def test_centred_quadratic_rest_point_is_the_origin():
    problem = StochasticQuadratic(h=np.logspace(-2, 0, 5), sigma=0.5)
    x = rest_x = AdamW(gamma=1e-3, weight_decay=0.1).rest_point(problem, np.full(5, 0.3))
    assert_allclose(rest_x, 0.0, atol=1e-12), x


def test_small_gamma_iterates_approach_the_adamw_rest_point():
    problem = _ill_conditioned_least_squares()
    problem = LeastSquares(problem.A, problem.y, batch_size=1)
    lam = 0.05
    x_rest = AdamW(gamma=1e-3, weight_decay=lam).rest_point(problem, problem._x_plus)
    distances = []
    for gamma in [4e-3, 1e-3]:
        opt = AdamW(gamma=gamma, a=10.0, b=1.0, weight_decay=lam)
        n = int(round(60.0 / gamma))
        path = run_optimizer(problem, opt, problem._x_plus, n, SEED)
        # time average of the last third (stationary fluctuations are O(sqrt(γ)))
        distances.append(np.linalg.norm(path[2 * n // 3:, :3].mean(axis=0) - x_rest))
    assert distances[1] < distances[0] and distances[1] < 0.05, \
        f"distance of the time-averaged iterates to the rest point: {distances}"
