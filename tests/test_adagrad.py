"""AdaGrad: kernel vs NumPy transcription, validation, the τ = nγ² limit (start, order, energy),
and torch's rule."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import DoubleWell, ParameterError, StochasticQuadratic
from adam_ode.integrate import solve_limit
from adam_ode.iterates import run_optimizer
from adam_ode.montecarlo import limit_reference

from cases import PROBLEMS

AdaGrad = adam_ode.OPTIMIZERS["adagrad"]
SEED = 99
N_STEPS = 200
TOL = 1e-13
ZETA_HALF = -1.4603545088095868  # ζ(1/2)
# Noise-free problems: exact-gradient iterates accumulate ∇F², so their limit has S = ∇F².
EXACT = {
    "quadratic": (StochasticQuadratic(h=[1.0, 4.0, 0.5], sigma=0.0), np.array([2.0, -1.0, 1.0])),
    "double-well": (DoubleWell(d=2, sigma=0.0), np.array([0.3, -1.7])),
}


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "exact"])
def test_kernel_equals_numpy_reference(problem_and_x0, noise):
    problem, x0 = problem_and_x0
    record = AdaGrad(gamma=0.05)
    path = run_optimizer(problem, record, x0, N_STEPS, SEED, noise=noise)
    expected = record.numpy_path(problem, x0, N_STEPS, SEED, noise)
    assert path.shape == expected.shape == (N_STEPS + 1, 2 * problem.dim)
    assert np.all(np.isfinite(path))
    assert_allclose(path, expected, rtol=TOL, atol=TOL * np.max(np.abs(expected)))


def test_defaults_and_time_map():
    record = AdaGrad(gamma=0.01)
    assert (record.eps, record.name, record.slots) == (1e-10, "adagrad", ("x", "w"))
    assert_allclose(record.times([0, 1, 10000]), [0.0, 1e-4, 1.0])
    assert record.limit().eps_tilde == pytest.approx(1e-12)
    assert_allclose(record.from_limit_state(np.array([1.0, 2.0, 3e-4, 4e-4])),
                    [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("kwargs, name", [
    ({"gamma": 0.0}, "gamma"), ({"gamma": -0.1}, "gamma"), ({"gamma": float("inf")}, "gamma"),
    ({"gamma": 0.1, "eps": 0.0}, "eps"), ({"gamma": 0.1, "eps": -1.0}, "eps"),
    ({"gamma": 1e-200, "eps": 1e-200}, "eps"),
])
def test_validation_names_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        AdaGrad(**kwargs)


def torch_adagrad(problem, x0, lr, eps, n_steps, lr_decay=0.0):
    """A NumPy transcription of torch.optim.Adagrad (initial_accumulator_value=0)."""
    p = np.array(x0, dtype=float)
    state_sum = np.zeros_like(p)
    out = [p.copy()]
    for step in range(1, n_steps + 1):
        grad = problem.grad_F(p)
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum = state_sum + grad * grad
        std = np.sqrt(state_sum) + eps
        p = p + (-clr) * (grad / std)
        out.append(p.copy())
    return np.array(out)


@pytest.mark.parametrize("case", ["stochastic-quadratic", "least-squares", "double-well"])
def test_torch_adagrad_is_adagrad(case):
    problem, x0 = PROBLEMS[case]
    record = AdaGrad(gamma=0.05, eps=1e-10)
    z = run_optimizer(problem, record, x0, 1000, 0, noise=False)
    assert_allclose(z[:, :problem.dim], torch_adagrad(problem, x0, 0.05, 1e-10, 1000),
                    rtol=0, atol=1e-12)


# -- the limit ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(PROBLEMS))
def test_start_refinement(case):
    problem, x0 = PROBLEMS[case]
    limit = AdaGrad(gamma=0.04).limit()
    tau = np.concatenate([[0.0, 1e-12, 1e-9], np.linspace(1e-3, 2.0, 100)])
    coarse = solve_limit(problem, limit, x0, 2.0)(tau)
    fine = solve_limit(problem, limit, x0, 2.0, rtol=1e-13, atol=1e-15)(tau)
    assert np.max(np.abs(coarse - fine)) < 1e-7


def test_early_sqrt_tau():
    """x(τ) − x0 ≈ −2 sqrt(τ) ∇F(x0)/sqrt(S(x0)) and W ≈ τ S(x0) for small τ (ε̃ ≪ sqrt(Sτ))."""
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    traj = solve_limit(problem, AdaGrad(gamma=0.01).limit(), x0, 1.0)
    g, S = problem.grad_F(x0), problem.S(x0)
    for tau in (1e-10, 1e-8, 1e-6, 1e-4):  # inside and outside [0, τ_s], τ_s = 2.2e-9
        x, W = traj(tau)[:3], traj(tau)[3:]
        rel = 10 * math.sqrt(tau)  # next order: O(τ) against O(sqrt(τ))
        assert_allclose(x - x0, -2 * math.sqrt(tau) * g / np.sqrt(S), rtol=rel)
        assert_allclose(W, tau * S, rtol=rel)
    assert_allclose(traj(0.0), np.concatenate([x0, np.zeros(3)]), atol=0)


def test_first_steps_lag_by_zeta():
    """Frozen x: x_n − x(τ_n) = −γ sign(∇F) (Σ_{k≤n} k^{−1/2} − 2 sqrt(n)) → −γ ζ(1/2) sign(∇F)."""
    problem, x0 = EXACT["quadratic"]
    gamma, n = 1e-4, 400
    record = AdaGrad(gamma=gamma)
    x = run_optimizer(problem, record, x0, n, 0, noise=False)[:, :3]
    X = limit_reference(problem, record, x0, n, x_only=True)
    k = np.arange(1, n + 1)
    lag = np.cumsum(k ** -0.5) - 2 * np.sqrt(k)
    sign = np.sign(problem.grad_F(x0))
    assert_allclose((x[1:] - X[1:]) / gamma, -lag[:, None] * sign, rtol=0, atol=0.02)
    assert lag[-1] == pytest.approx(ZETA_HALF, abs=0.03)


@pytest.mark.parametrize("case", sorted(EXACT))
def test_discrete_to_limit_order(case):
    """Measured (τ ≤ 1, γ = 0.04 … 0.0025): slope 0.95 on both cases; sup error/γ tends to
    |ζ(1/2)|·sqrt(d) (2.48 → 2.53 for d = 3, 2.01 → 2.07 for d = 2)."""
    problem, x0 = EXACT[case]
    gammas = [0.04 / 2**j for j in range(5)]
    errors = []
    for gamma in gammas:
        record = AdaGrad(gamma=gamma)
        n = int(round(1.0 / gamma**2))
        x = run_optimizer(problem, record, x0, n, 0, noise=False)[:, :problem.dim]
        X = limit_reference(problem, record, x0, n, x_only=True)
        errors.append(np.max(np.linalg.norm(x - X, axis=1)))
    measured = np.polyfit(np.log(gammas), np.log(errors), 1)[0]
    assert abs(measured - AdaGrad.limit_order) < 0.1, (f"measured order {measured:.3f}, "
                                                       f"errors {errors}")
    constant = errors[-1] / gammas[-1]
    expected = abs(ZETA_HALF) * math.sqrt(problem.dim)
    assert 0.9 * expected < constant < 1.02 * expected, f"sup error/gamma = {constant:.3f}"


@pytest.mark.parametrize("case", sorted(PROBLEMS))
def test_energy_F_nonincreasing(case):
    problem, x0 = PROBLEMS[case]
    limit = AdaGrad(gamma=0.02).limit()
    tau = np.concatenate([np.geomspace(1e-12, 1e-3, 200), np.linspace(1e-3, 5.0, 2000)])
    F = limit.energy(tau, solve_limit(problem, limit, x0, 5.0)(tau), problem)
    assert np.max(np.diff(F)) < 1e-12, f"max increase {np.max(np.diff(F)):.3g}"
