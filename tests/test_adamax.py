"""Adamax (adam_ode/optimizers/adamax.py): kernel = NumPy, torch's rule, first-order noise-free
limit, refinement of the non-smooth solve, and no limit under Gaussian noise (u grows as γ → 0)."""

import numpy as np
import pytest
from cases import PROBLEMS
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import DoubleWell, StochasticQuadratic, run_optimizer
from adam_ode._validation import ParameterError
from adam_ode.integrate import solve_limit
from adam_ode.montecarlo import limit_reference

Adamax = adam_ode.OPTIMIZERS["adamax"]
SEED = 7
NOISE_FREE = {"quadratic": (StochasticQuadratic(h=[1.0, 0.5], sigma=0.0), np.array([1.0, -2.0])),
              "double-well": (DoubleWell(d=2, sigma=0.0), np.array([0.4, -1.6]))}


def torch_adamax(problem, x0, lr, betas, eps, n_steps):
    """torch.optim.Adamax's _single_tensor_adamax (not differentiable/capturable), op for op:
    exp_avg.lerp_(grad, 1 - beta1);
    torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf);
    clr = lr / (1 - beta1**step); param.addcdiv_(exp_avg, exp_inf, value=-clr)."""
    beta1, beta2 = betas
    p = np.array(x0, dtype=float)
    exp_avg, exp_inf = np.zeros_like(p), np.zeros_like(p)
    for step in range(1, n_steps + 1):
        grad = problem.grad_F(p)
        exp_avg = exp_avg + (1 - beta1) * (grad - exp_avg)  # lerp, weight < 0.5
        exp_inf = np.maximum(exp_inf * beta2, np.abs(grad) + eps)
        clr = lr / (1 - beta1**step)
        p = p + (-clr) * (exp_avg / exp_inf)
    return np.concatenate([p, exp_avg, exp_inf])


@pytest.mark.parametrize("name", ["linear-regression-2d", "stochastic-quadratic", "double-well"])
def test_matches_torch_rule_after_1000_exact_steps(name):
    problem, x0 = PROBLEMS[name]
    gamma, a, b, eps = 2e-3, 50.0, 0.5, 1e-8  # torch's defaults: lr 2e-3, betas (0.9, 0.999)
    z = run_optimizer(problem, Adamax(gamma=gamma, a=a, b=b, eps=eps), x0, 1000, 0,
                      noise=False)
    expected = torch_adamax(problem, x0, gamma, (1 - a * gamma, 1 - b * gamma), eps, 1000)
    assert_allclose(z[-1], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, name", [({"gamma": -0.1}, "gamma"),
                                          ({"gamma": 0.1, "a": 10.0}, "a"),
                                          ({"gamma": 0.001, "b": 0.0}, "b"),
                                          ({"gamma": 0.001, "eps": 0.0}, "eps")])
def test_validation_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        Adamax(**kwargs)


@pytest.mark.parametrize("name", sorted(NOISE_FREE))
@pytest.mark.parametrize("debias", [True, False])
def test_noise_free_iterates_converge_at_first_order_to_the_limit(name, debias):
    problem, x0 = NOISE_FREE[name]
    gammas = np.array([0.01, 0.005, 0.0025, 0.00125])
    errors = []
    for g in gammas:
        opt = Adamax(gamma=g, a=2.0, b=3.0, eps=0.1, debias=debias)
        n = int(round(2.0 / g))
        path = run_optimizer(problem, opt, x0, n, 0, noise=False)
        errors.append(np.max(np.linalg.norm(path - limit_reference(problem, opt, x0, n), axis=1)))
    slope = np.polyfit(np.log(gammas), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1, f"measured order {slope:.3f} (1 expected), errors {errors}"


@pytest.mark.parametrize("name", sorted(NOISE_FREE))
@pytest.mark.parametrize("debias", [True, False])
def test_non_smooth_solve_agrees_with_a_100x_tighter_one(name, debias):
    problem, x0 = NOISE_FREE[name]
    limit = Adamax(gamma=0.01, a=2.0, b=3.0, eps=0.1, debias=debias).limit()
    ts = np.linspace(0.0, 4.0, 401)
    coarse = solve_limit(problem, limit, x0, 4.0)(ts)
    fine = solve_limit(problem, limit, x0, 4.0, rtol=1e-13, atol=1e-15)(ts)
    d = problem.dim
    w = np.abs(problem.grad_F(fine[:, :d])) + 0.1
    assert np.any(fine[1:, 2 * d:] > w[1:] + 1e-3), "u never detached from |∇F| + ε"
    err = np.max(np.abs(coarse - fine))
    assert err < 1e-7, f"default vs 100x tighter tolerances differ by {err:.3g}"


def test_with_gaussian_noise_u_grows_as_gamma_decreases():
    # u_n ≈ max of |g_k| + ε over the last ~1/(bγ) samples: no γ → 0 limit at fixed t = nγ.
    problem = StochasticQuadratic(h=[1.0], sigma=1.0)
    x0 = np.array([0.0])
    T, R = 3.0, 20
    means = []
    gammas = [1e-2, 1e-3, 1e-4]
    for gamma in gammas:
        opt = Adamax(gamma=gamma, a=10.0, b=1.0)
        n = int(round(T / gamma))
        means.append(np.mean([run_optimizer(problem, opt, x0, n, s)[-1, 2] for s in range(R)]))
    # reference: E max |ξ| over 1/(bγ) standard normals ≈ sqrt(2 log(1/(bγ))) (leading order)
    predicted = [np.sqrt(2 * np.log(1 / g)) for g in gammas]
    msg = f"E u(t={T}) for gamma = {gammas}: {np.round(means, 3)} (sqrt(2 log 1/(bγ)): " \
          f"{np.round(predicted, 3)})"
    assert means[0] < means[1] < means[2], msg
    assert means[2] > 1.2 * means[0], msg
