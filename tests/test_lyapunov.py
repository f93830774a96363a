"""Lyapunov energy (eqs. 3.4–3.5, Lemma 7.5): values, analytic rate, monotonicity, F ≤ F(x0)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (LyapunovWarning, StochasticQuadratic, energy, energy_rate,
                      energy_rate_bound, initial_state, mass, solve_ode, unpack)
from adam_ode.paper import adam_vector_field, autonomous_vector_field

EPS = 0.1
# (a, b) pairs with b <= 4a, from heavy to light momentum, including the boundary b = 4a.
LYAPUNOV_PAIRS = [(1.0, 0.1), (1.0, 1.0), (0.5, 2.0), (2.0, 8.0), (5.0, 1.0)]
T = 30.0
N_GRID = 3001
# Tolerance for monotonicity on a grid: solver errors (rtol 1e-11) on O(1) energies.
MONOTONE_TOL = 1e-9


def test_energy_at_t0_is_F_x0(problem_and_x0):
    problem, x0 = problem_and_x0
    assert energy(0.0, initial_state(x0), problem, 1.0, 1.0, EPS) == problem.F(x0)
    assert energy(0.0, initial_state(x0), problem, 1.0, 1.0, EPS, debias=False) == problem.F(x0)


@pytest.mark.parametrize("debias", [True, False])
@pytest.mark.parametrize("a, b", LYAPUNOV_PAIRS)
def test_energy_nonincreasing_and_F_below_F0(problem_and_x0, a, b, debias):
    problem, x0 = problem_and_x0
    traj = solve_ode(problem, x0, a, b, EPS, T, debias=debias)
    t = np.linspace(0.0, T, N_GRID)
    z = traj(t)
    V = energy(t, z, problem, a, b, EPS, debias=debias)
    assert np.max(np.diff(V)) < MONOTONE_TOL, f"energy rises by {np.max(np.diff(V)):.3g}"
    # "With debiasing, early Adam cannot worsen x0": F(x(t)) <= V(t) <= V(0) = F(x0).
    F = problem.F(unpack(z)[0])
    assert np.max(F - problem.F(x0)) < MONOTONE_TOL
    assert np.all(F <= V + MONOTONE_TOL)


@pytest.mark.parametrize("debias", [True, False])
def test_energy_rate_matches_finite_differences_and_bound(problem_and_x0, debias):
    problem, x0 = problem_and_x0
    a, b = 1.0, 2.0
    traj = solve_ode(problem, x0, a, b, EPS, 10.0, debias=debias)
    t = np.array([0.01, 0.1, 0.5, 1.0, 3.0, 8.0])
    h = 1e-5
    fd = (energy(t + h, traj(t + h), problem, a, b, EPS, debias)
          - energy(t - h, traj(t - h), problem, a, b, EPS, debias)) / (2 * h)
    rate = energy_rate(t, traj(t), problem, a, b, EPS, debias)
    assert_allclose(rate, fd, rtol=1e-5, atol=1e-7)
    bound = energy_rate_bound(t, traj(t), problem, a, b, EPS, debias)
    assert np.all(rate <= bound + 1e-12), rate - bound


def test_energy_rate_limit_at_t0(problem_and_x0):
    # dV/dt(0) = −½ Σ ∇F(x0)²/(ε + sqrt(S(x0))), and the rate is continuous there.
    problem, x0 = problem_and_x0
    a, b = 1.0, 2.0
    traj = solve_ode(problem, x0, a, b, EPS, 1.0)
    limit = -0.5 * np.sum(problem.grad_F(x0) ** 2 / (EPS + np.sqrt(problem.S(x0))))
    assert energy_rate(0.0, traj(0.0), problem, a, b, EPS) == pytest.approx(limit, rel=1e-14)
    assert energy_rate(1e-3, traj(1e-3), problem, a, b, EPS) == pytest.approx(limit, rel=1e-2)


def test_energy_is_mechanical_energy_of_the_heavy_ball(problem_and_x0):
    # V(t, z(t)) = F(x) + ½ Σ M ẋ² along the flow (paper_notes.md, "Heavy ball with friction").
    problem, x0 = problem_and_x0
    a, b = 1.5, 2.0
    t = np.array([0.0, 0.2, 1.0, 4.0])
    for debias, field in ((True, adam_vector_field), (False, autonomous_vector_field)):
        z = solve_ode(problem, x0, a, b, EPS, 5.0, debias=debias)(t)
        x_dot = unpack(field(t, z, problem, a, b, EPS))[0]
        mech = problem.F(unpack(z)[0]) + 0.5 * np.sum(mass(t, z, a, b, EPS, debias) * x_dot**2,
                                                      axis=-1)
        assert_allclose(energy(t, z, problem, a, b, EPS, debias), mech, rtol=1e-12)


def test_energy_can_increase_when_b_exceeds_4a():
    # The known counterexample: F = ½(x1² + 4x2²), S = ∇F² + 0.5, x0 = (2, −1), a = 1,
    # b = 20, ε = 1e-2: V rises above its running minimum by about 0.036 near t ≈ 0.77.
    problem = StochasticQuadratic(h=[1.0, 4.0], sigma=np.sqrt(0.5))
    with pytest.warns(LyapunovWarning):
        traj = solve_ode(problem, [2.0, -1.0], 1.0, 20.0, 1e-2, 20.0)
    t = np.linspace(0.0, 20.0, 200_001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LyapunovWarning)
        V = energy(t, traj(t), problem, 1.0, 20.0, 1e-2)
    rise = V - np.minimum.accumulate(V)
    assert rise.max() == pytest.approx(0.036, abs=1e-3)
    assert t[rise.argmax()] == pytest.approx(0.77, abs=0.01)
