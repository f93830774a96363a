"""Heavy ball with friction form of the Adam ODE: M ẍ + (aM + Ṁ) ẋ + ∇F(x) = 0."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (adam_vector_field, friction, hbf_residual, mass, mass_rate, solve_ode,
                      unpack)

A_RATE, B_RATE, EPS = 1.0, 2.0, 0.1


@pytest.mark.parametrize("debias", [True, False])
def test_hbf_residual_small_along_solved_trajectories(problem_and_x0, debias):
    problem, x0 = problem_and_x0
    traj = solve_ode(problem, x0, A_RATE, B_RATE, EPS, 10.0, debias=debias)
    t = np.linspace(0.05, 9.9, 60)
    residual = hbf_residual(traj, t, problem, A_RATE, B_RATE, EPS, debias=debias)
    scale = np.max(np.abs(problem.grad_F(unpack(traj(t))[0])))
    assert np.max(np.abs(residual)) < 1e-6 * max(scale, 1.0), np.max(np.abs(residual))


def test_residual_detects_a_wrong_friction(problem_and_x0):
    # The residual is a real check: dropping Ṁ from c2 makes it O(1).
    problem, x0 = problem_and_x0
    traj = solve_ode(problem, x0, A_RATE, B_RATE, EPS, 5.0)
    t = np.linspace(0.1, 2.0, 20)
    z = traj(t)
    x_dot = unpack(adam_vector_field(t, z, problem, A_RATE, B_RATE, EPS))[0]
    wrong = hbf_residual(traj, t, problem, A_RATE, B_RATE, EPS) \
        - mass_rate(t, z, problem, A_RATE, B_RATE, EPS) * x_dot
    assert np.max(np.abs(wrong)) > 1e-3


def test_momentum_is_minus_a_mass_velocity(problem_and_x0):
    # m = −a M ẋ: the first line of eq. (3.3) rewritten with M = U/a².
    problem, x0 = problem_and_x0
    traj = solve_ode(problem, x0, A_RATE, B_RATE, EPS, 5.0)
    t = np.linspace(0.0, 5.0, 11)
    z = traj(t)
    x_dot = unpack(adam_vector_field(t, z, problem, A_RATE, B_RATE, EPS))[0]
    assert_allclose(unpack(z)[1], -A_RATE * mass(t, z, A_RATE, B_RATE, EPS) * x_dot,
                    rtol=1e-12, atol=1e-15)


def test_mass_starts_at_zero_and_friction_at_eps_plus_sqrt_S(problem_and_x0):
    problem, x0 = problem_and_x0
    traj = solve_ode(problem, x0, A_RATE, B_RATE, EPS, 1.0)
    z0 = traj(0.0)
    assert np.all(mass(0.0, z0, A_RATE, B_RATE, EPS) == 0.0)
    # c2(0) = Ṁ(0) = (ε + sqrt(S(x0))) (derived from U = a(1 − e^{−at})(ε + sqrt(v̂))).
    assert_allclose(friction(0.0, z0, problem, A_RATE, B_RATE, EPS),
                    EPS + np.sqrt(problem.S(x0)), rtol=1e-14)
    # Ṁ is the time derivative of M along the flow.
    t, h = 0.7, 1e-5
    fd = (mass(t + h, traj(t + h), A_RATE, B_RATE, EPS)
          - mass(t - h, traj(t - h), A_RATE, B_RATE, EPS)) / (2 * h)
    assert_allclose(mass_rate(t, traj(t), problem, A_RATE, B_RATE, EPS), fd, rtol=1e-6)
