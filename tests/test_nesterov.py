"""Nesterov: kernel vs NumPy transcription, validation, limits (SBC / constant friction), energy,
the torch change of variables, and the convergence rates."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import ParameterError, StochasticQuadratic
from adam_ode.integrate import solve_limit
from adam_ode.iterates import run_optimizer
from adam_ode.montecarlo import limit_reference
from adam_ode.optimizers.nesterov import SBCLimit, thm5_sequence

from cases import PROBLEMS

Nesterov = adam_ode.OPTIMIZERS["nesterov"]
SGD = adam_ode.OPTIMIZERS["sgd"]
SEED = 2024
N_STEPS = 200
TOL = 1e-13
SCHEDULES = ["sbc", "thm5", "constant"]
SEED_FIGURE = StochasticQuadratic(h=[2.0, 1.0], sigma=0.0)  # f(x, y) = x² + y²/2 (seed 002)


def slope(gammas, errors):
    return np.polyfit(np.log(gammas), np.log(errors), 1)[0]


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "exact"])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_kernel_equals_numpy_reference(problem_and_x0, schedule, noise):
    problem, x0 = problem_and_x0
    record = Nesterov(gamma=0.01, schedule=schedule)
    path = run_optimizer(problem, record, x0, N_STEPS, SEED, noise=noise)
    expected = record.numpy_path(problem, x0, N_STEPS, SEED, noise)
    assert path.shape == expected.shape == (N_STEPS + 1, 2 * problem.dim)
    assert np.all(np.isfinite(path))
    # dx is small next to x: relative to the size of the path.
    assert_allclose(path, expected, rtol=TOL, atol=TOL * np.max(np.abs(expected)))


def test_thm5_numpy_path_equals_generic_step():
    """The thm5 shortcut of numpy_path is numpy_step applied step by step."""
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    record = Nesterov(gamma=0.01, schedule="thm5")
    fast = record.numpy_path(problem, x0, 50, SEED)
    slow = super(Nesterov, record).numpy_path(problem, x0, 50, SEED)
    assert_allclose(fast, slow, rtol=0, atol=0)


def test_defaults_and_momenta():
    record = Nesterov(gamma=0.01)
    assert (record.schedule, record.c, record.name) == ("sbc", 2.0, "nesterov")
    assert record.slots == ("x", "dx")
    assert_allclose(record.times([0, 1, 100]), [0.0, 0.1, 10.0])
    assert_allclose([record.momentum(n) for n in (2, 3, 11)], [0.0, 0.25, 9.0 / 12.0])
    assert Nesterov(gamma=0.01, schedule="constant", c=3.0).momentum(7) == pytest.approx(0.7)
    y = thm5_sequence(5)
    assert_allclose(y[:3], [0.0, 1.0, (1 + math.sqrt(5)) / 2])
    thm5 = Nesterov(gamma=0.01, schedule="thm5")
    assert thm5.momentum(2) == 0.0  # γ_1 = (y_1 − 1)/y_2 = 0
    assert thm5.momentum(4) == pytest.approx((y[3] - 1) / y[4])
    # 1 − μ_k ≈ 3/k: Théorème 5's sequence has the SBC friction asymptotically.
    y = thm5_sequence(100001)
    k = 100000
    assert (1 - (y[k] - 1) / y[k + 1]) * k == pytest.approx(3.0, rel=2e-4)


@pytest.mark.parametrize("kwargs, name", [
    ({"gamma": 0.0}, "gamma"), ({"gamma": -1.0}, "gamma"), ({"gamma": float("nan")}, "gamma"),
    ({"gamma": 0.01, "schedule": "bogus"}, "schedule"), ({"gamma": 0.01, "c": 0.0}, "c"),
    ({"gamma": 0.01, "schedule": "constant", "c": 10.0}, "c"),  # c·sqrt(γ) = 1: μ = 0
])
def test_validation_names_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        Nesterov(**kwargs)


def test_limit_state_mapping():
    record = Nesterov(gamma=0.04)
    z = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert_allclose(record.from_limit_state(z), [[1.0, 2.0, 0.6, 0.8]])


# -- discrete -> limit ----------------------------------------------------------------------------

# Measured slopes (sup_k ‖x_k − X(t_k)‖ on t ≤ 3, γ = 1e-2 … 3.9e-5, quadratic h = [2, 1]): sbc 0.495,
# constant 0.502, thm5 0.42 (√γ·log(1/γ): err/√γ grows by ~0.2 per factor 4 in γ).
ORDER_BOUNDS = {"sbc": (0.45, 0.55), "constant": (0.45, 0.55), "thm5": (0.36, 0.47)}


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_discrete_to_limit_order(schedule):
    problem, x0, T = SEED_FIGURE, np.array([1.0, 1.0]), 3.0
    gammas = [1e-2 / 4**j for j in range(5)]
    errors = []
    for gamma in gammas:
        record = Nesterov(gamma=gamma, schedule=schedule)
        n = int(round(T / math.sqrt(gamma)))
        x = run_optimizer(problem, record, x0, n, 0, noise=False)[:, :2]
        X = limit_reference(problem, record, x0, n, x_only=True)
        errors.append(np.max(np.linalg.norm(x - X, axis=1)))
    measured = slope(gammas, errors)
    low, high = ORDER_BOUNDS[schedule]
    assert low < measured < high, (f"{schedule}: measured order {measured:.3f} in gamma, "
                                   f"errors {errors}")
    if schedule != "thm5":
        assert abs(measured - Nesterov.limit_order) < 0.05


def test_full_state_reference_row_zero():
    """With slots (x, dx) the zero start of the kernel is the algorithm's own: row 0 agrees."""
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    record = Nesterov(gamma=1e-3)
    z = run_optimizer(problem, record, x0, 100, 0, noise=False)
    ref = limit_reference(problem, record, x0, 100)
    assert_allclose(z[0], ref[0], atol=1e-15)
    assert np.max(np.abs(z - ref)) < 0.1


# -- the SBC limit ------------------------------------------------------------------------------

def test_sbc_start_refinement():
    problem, x0 = PROBLEMS["least-squares"]
    t = np.linspace(0.0, 2.0, 201)
    coarse = solve_limit(problem, SBCLimit(), x0, 2.0)(t)
    fine = solve_limit(problem, SBCLimit(), x0, 2.0, rtol=1e-13, atol=1e-15)(t)
    assert np.max(np.abs(coarse - fine)) < 1e-7


def test_sbc_early_taylor():
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    traj = solve_limit(problem, SBCLimit(), x0, 1.0)
    g = problem.grad_F(x0)
    Hg = problem.hessian_vector(x0, g)
    for t in (1e-4, 1e-3, 0.02, 0.05):  # inside and outside [0, t_s], t_s = atol^{1/4} = 5.6e-4
        X, V = traj(t)[:3], traj(t)[3:]
        assert_allclose(X - x0, -t**2 * g / 8, rtol=0, atol=1e-15 + t**4)  # leading term
        # to t⁴: the next term is −H³(x0 − x*)t⁶/9216
        assert_allclose(X, x0 - t**2 * g / 8 + t**4 * Hg / 192, rtol=0, atol=1e-12 + t**6)
        assert_allclose(V, -t * g / 4 + t**3 * Hg / 48, rtol=0, atol=1e-12 + t**5)
    assert_allclose(traj(0.0), np.concatenate([x0, np.zeros(3)]), atol=0)


def test_sbc_matches_bessel_solution():
    """On F = ½h x² the SBC solution is x0 · 2 J₁(√h t)/(√h t)."""
    from scipy.special import j1

    problem = StochasticQuadratic(h=[1.0, 4.0], sigma=0.0)
    x0 = np.array([1.0, -2.0])
    t = np.linspace(0.05, 8.0, 50)
    traj = solve_limit(problem, SBCLimit(), x0, 8.0)
    r = np.sqrt(problem.h) * t[:, None]
    assert_allclose(traj(t)[:, :2], x0 * 2 * j1(r) / r, rtol=0, atol=1e-9)


@pytest.mark.parametrize("case", ["stochastic-quadratic", "least-squares", "linear-regression-2d"])
def test_sbc_energy_nonincreasing(case):
    problem, x0 = PROBLEMS[case]
    limit = SBCLimit()
    t = np.linspace(0.0, 20.0, 4001)
    z = solve_limit(problem, limit, x0, 20.0)(t)
    E = limit.energy(t, z, problem)
    assert E[0] == pytest.approx(2 * np.sum((x0 - problem.minimizer) ** 2))
    assert np.max(np.diff(E)) < 1e-9 * E[0], f"max increase {np.max(np.diff(E)):.3g}"
    # F − F* ≤ 2‖x0 − x*‖²/t²
    gap = problem.F(z[1:, :problem.dim]) - problem.min_value
    assert np.all(gap <= E[0] / t[1:] ** 2 * (1 + 1e-9))


def test_sbc_energy_needs_minimizer():
    problem, x0 = PROBLEMS["double-well"]
    with pytest.raises(ParameterError, match="minimizer"):
        SBCLimit().energy(0.0, np.concatenate([x0, 0 * x0]), problem)


def test_friction_energy_nonincreasing():
    problem, x0 = PROBLEMS["double-well"]  # not convex: F + ½‖Ẋ‖² still decreases
    limit = Nesterov(gamma=0.01, schedule="constant", c=1.5).limit()
    t = np.linspace(0.0, 20.0, 2001)
    E = limit.energy(t, solve_limit(problem, limit, x0, 20.0)(t), problem)
    assert np.max(np.diff(E)) < 1e-10


# -- peers: torch.optim.SGD(nesterov=True) ------------------------------------------------------

def torch_sgd_nesterov(problem, p0, lr, momentum, n_steps):
    """A NumPy transcription of torch.optim.SGD(lr, momentum, dampening=0, nesterov=True)."""
    p = np.array(p0, dtype=float)
    buf = None
    out = [p.copy()]
    for _ in range(n_steps):
        g = problem.grad_F(p)
        buf = g.copy() if buf is None else momentum * buf + g
        p = p - lr * (g + momentum * buf)
        out.append(p.copy())
    return np.array(out)


@pytest.mark.parametrize("case", ["stochastic-quadratic", "least-squares", "double-well"])
def test_torch_sgd_nesterov_is_the_look_ahead_point(case):
    problem, x0 = PROBLEMS[case]
    record = Nesterov(gamma=0.01, schedule="constant", c=2.0)  # μ = 0.8
    z = run_optimizer(problem, record, x0, 1000, 0, noise=False)
    d = problem.dim
    y = z[:, :d] + record.mu * z[:, d:]  # y_k = θ_k + μ(θ_k − θ_{k−1})
    p = torch_sgd_nesterov(problem, x0, record.gamma, record.mu, 1000)
    assert_allclose(y, p, rtol=0, atol=1e-12)


# -- rates: F − F* = O(1/k²) vs O(1/k) -----------------------------------------------------------

def test_seed_figure_bounds():
    """f = x² + ½y² at η = 1/L: both bounds hold; both methods are in fact geometric there."""
    problem, x0 = SEED_FIGURE, np.array([1.0, 1.0])
    gamma, n = 0.5, 60
    k = np.arange(1, n + 1)
    for schedule in ("sbc", "thm5"):
        F = problem.F(run_optimizer(problem, Nesterov(gamma=gamma, schedule=schedule), x0, n, 0,
                                    noise=False)[1:, :2])
        assert np.all(F <= 2 * np.sum(x0**2) / (gamma * (k + 1) ** 2)), schedule
    F = problem.F(run_optimizer(problem, SGD(gamma), x0, n, 0, noise=False)[1:])
    assert np.all(F <= np.sum(x0**2) / (2 * gamma * k))


def test_rates_on_a_flat_spectrum():
    """F = ½Σ h_i x_i² with h log-uniform on [1e-6, 1], x0 = 1: on the window k ≪ 1/sqrt(h_min)
    (Nesterov) and k ≪ 1/h_min (GD) the problem is not strongly convex and the rates are the
    worst-case ones. Measured: GD −1.00 (k ∈ [100, 1e4]), SBC −1.93 (k ∈ [10, 1000])."""
    d = 120
    problem = StochasticQuadratic(h=np.logspace(-6, 0, d), sigma=0.0)
    x0 = np.ones(d)
    F_gd = problem.F(run_optimizer(problem, SGD(1.0), x0, 10000, 0, noise=False))
    F_nag = problem.F(run_optimizer(problem, Nesterov(gamma=1.0), x0, 1000, 0,
                                    noise=False)[:, :d])
    k_gd = np.unique(np.logspace(2, 4, 20).astype(int))
    k_nag = np.unique(np.logspace(1, 3, 20).astype(int))
    s_gd = np.polyfit(np.log(k_gd), np.log(F_gd[k_gd]), 1)[0]
    s_nag = np.polyfit(np.log(k_nag), np.log(F_nag[k_nag]), 1)[0]
    assert abs(s_gd + 1.0) < 0.1, f"gradient descent: measured slope {s_gd:.3f}"
    assert abs(s_nag + 2.0) < 0.15, f"Nesterov (SBC): measured slope {s_nag:.3f}"
