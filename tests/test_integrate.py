"""Reference integration: z(0), dense output, refinement, independent RK4, long-time behaviour."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (AdamTrajectory, LinearRegression2D, LyapunovWarning, Problem,
                      StochasticQuadratic, adam_vector_field, autonomous_vector_field,
                      initial_state, solve_gradient_flow, solve_heavy_ball, solve_ode, unpack)

A_RATE, B_RATE, EPS = 1.0, 2.0, 0.1
REFINEMENT_TOL = 1e-8  # issue contract: within 1e-8 of the same solve at 100x tighter tolerances


@pytest.mark.parametrize("debias", [True, False])
def test_refinement_at_100x_tighter_tolerances(problem_and_x0, debias):
    problem, x0 = problem_and_x0
    T = 10.0
    coarse = solve_ode(problem, x0, A_RATE, B_RATE, EPS, T, debias=debias)
    fine = solve_ode(problem, x0, A_RATE, B_RATE, EPS, T, debias=debias, rtol=1e-12, atol=1e-14)
    t = np.linspace(0.0, T, 2001)
    err = np.max(np.abs(coarse(t) - fine(t)))
    assert err < REFINEMENT_TOL, f"refinement error {err:.3g}"


def _rk4_adam(problem, x0, a, b, eps, T, n):
    # Independent check of the Taylor start: classical RK4 on eq. (3.3) from t = 0, the t = 0
    # stage using the Lemma 7.3 limit, no debiased variables.
    h = T / n
    z = initial_state(x0)
    for k in range(n):
        t = k * h
        k1 = adam_vector_field(t, z, problem, a, b, eps)
        k2 = adam_vector_field(t + h / 2, z + h / 2 * k1, problem, a, b, eps)
        k3 = adam_vector_field(t + h / 2, z + h / 2 * k2, problem, a, b, eps)
        k4 = adam_vector_field(t + h, z + h * k3, problem, a, b, eps)
        z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def test_agrees_with_independent_rk4_from_t0(problem_and_x0):
    problem, x0 = problem_and_x0
    T = 2.0
    z_ref = solve_ode(problem, x0, A_RATE, B_RATE, EPS, T)(T)
    errors = [np.max(np.abs(_rk4_adam(problem, x0, A_RATE, B_RATE, EPS, T, n) - z_ref))
              for n in (200, 400)]
    assert errors[1] < 1e-6, errors
    assert errors[1] < errors[0], errors  # the RK4 error shrinks towards the reference


@pytest.mark.parametrize("T", [1e-300, 1e-12, 1e-3])
def test_tiny_horizons_follow_lemma_7_3(T):
    # For T -> 0 the solution is z0 + T ż(0): no underflow in the Taylor start.
    problem = LinearRegression2D()
    traj = solve_ode(problem, [0.0, 0.0], A_RATE, B_RATE, EPS, T)
    slope = adam_vector_field(0.0, initial_state([0.0, 0.0]), problem, A_RATE, B_RATE, EPS)
    assert_allclose(traj(T) / T, slope, rtol=1e-2)


def test_z0_exact_and_shapes():
    problem = LinearRegression2D()
    x0 = np.array([0.5, -1.0])
    traj = solve_ode(problem, x0, A_RATE, B_RATE, EPS, 5.0)
    assert isinstance(traj, AdamTrajectory)
    assert np.array_equal(traj(0.0), np.array([0.5, -1.0, 0, 0, 0, 0]))
    assert traj(1.0).shape == (6,)
    assert traj(np.array([0.0, 1.0, 5.0])).shape == (3, 6)
    assert traj.t[0] == 0.0 and traj.t[-1] == 5.0
    assert traj.x.shape == traj.m.shape == traj.v.shape == (traj.t.size, 2)
    assert np.array_equal(traj.x[0], x0)
    t_eval = np.linspace(0, 5, 11)
    assert_allclose(solve_ode(problem, x0, A_RATE, B_RATE, EPS, 5.0, t_eval=t_eval).z,
                    traj(t_eval), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="t must lie in"):
        traj(6.0)


@pytest.mark.parametrize("debias", [True, False])
def test_dense_derivative_matches_field(problem_and_x0, debias):
    # Central differences of the dense solution against the vector field (and z(t) ≈ z0 + t ż(0)).
    problem, x0 = problem_and_x0
    field = adam_vector_field if debias else autonomous_vector_field
    traj = solve_ode(problem, x0, A_RATE, B_RATE, EPS, 5.0, debias=debias)
    t = np.array([0.05, 0.5, 1.3, 4.0])
    h = 1e-4
    fd = (traj(t + h) - traj(t - h)) / (2 * h)
    assert_allclose(fd, field(t, traj(t), problem, A_RATE, B_RATE, EPS), rtol=1e-6, atol=1e-6)
    if not debias:
        return  # autonomous: ẋ ~ −a∇F t/(ε + sqrt(bSt)) is not C¹ at 0 (√t), no O(h²) check
    # One-sided second-order difference at t = 0: the slope of Lemma 7.3 (C¹ solution).
    h0 = 1e-3
    slope = (4 * traj(h0) - traj(2 * h0) - 3 * traj(0.0)) / (2 * h0)
    assert_allclose(slope, field(0.0, traj(0.0), problem, A_RATE, B_RATE, EPS), rtol=1e-5,
                    atol=1e-5)


@pytest.mark.parametrize("debias", [True, False])
def test_theorem_3_2_long_time_convergence(problem_and_x0, debias):
    # d(x(t), 𝒮) → 0, m(t) → 0, S(x(t)) − v(t) → 0.
    problem, x0 = problem_and_x0
    T = 400.0
    z = solve_ode(problem, x0, 1.0, 1.0, EPS, T, debias=debias)(T)
    x, m, v = unpack(z)
    assert problem.critical_distance(x) < 1e-3
    assert np.max(np.abs(m)) < 1e-4
    assert np.max(np.abs(problem.S(x) - v)) < 1e-4
    if problem.minimizer is not None:
        assert_allclose(x, problem.minimizer, atol=1e-3)


class _NaNBeyondOne(Problem):
    """A problem whose gradient is NaN beyond x = 1, where the flow heads: the solve must fail."""

    dim = 1

    def F(self, x):
        return 0.5 * np.sum(np.asarray(x) ** 2, axis=-1)

    def grad_F(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x < 1.0, x - 5.0, np.nan)

    def S(self, x):
        return self.grad_F(x) ** 2 + 1.0

    def sample_grad(self, x, rng):
        return self.grad_F(x)

    def critical_distance(self, x):
        return np.abs(np.asarray(x)[..., 0])

    kernel_data = None  # never reaches a kernel

    def config(self):
        return {"name": "nan"}


def test_solver_failure_raises_with_message():
    with pytest.raises(RuntimeError, match="AdamLimit"):
        solve_ode(_NaNBeyondOne(), [0.0], 1.0, 1.0, 0.1, 50.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"a": 0.0}, "a"), ({"a": -1.0}, "a"), ({"b": 0.0}, "b"), ({"eps": 0.0}, "eps"),
        ({"T": 0.0}, "T"), ({"T": -2.0}, "T"), ({"x0": [1.0, 2.0, 3.0]}, "x0"),
        ({"x0": [np.nan, 1.0]}, "x0"), ({"x0": [np.inf, 1.0]}, "x0"), ({"rtol": 0.0}, "rtol"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    args = {"problem": LinearRegression2D(), "x0": [0.0, 0.0], "a": 1.0, "b": 1.0, "eps": 0.1,
            "T": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        solve_ode(**args)


def test_warns_when_b_exceeds_4a():
    with pytest.warns(LyapunovWarning, match="b = 5 > 4a = 4"):
        solve_ode(LinearRegression2D(), [0.0, 0.0], 1.0, 5.0, 0.1, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_ode(LinearRegression2D(), [0.0, 0.0], 1.0, 4.0, 0.1, 1.0)


def test_gradient_flow_closed_form():
    q = StochasticQuadratic(h=[0.5, 2.0], sigma=0.0)
    traj = solve_gradient_flow(q, [1.0, -3.0], 4.0)
    t = np.linspace(0, 4, 9)
    assert_allclose(traj(t), np.array([1.0, -3.0]) * np.exp(-np.outer(t, q.h)), rtol=1e-9)


def test_heavy_ball_closed_form_damped_oscillator():
    # ẍ + λẋ + h x = 0 with λ² < 4h: x(t) = e^{−λt/2}(x0 cos ωt + (λ x0/(2ω)) sin ωt).
    lam, h, x0 = 0.6, 2.0, 1.5
    omega = np.sqrt(h - lam**2 / 4)
    traj = solve_heavy_ball(StochasticQuadratic(h=[h], sigma=0.0), [x0], lam, 10.0)
    t = np.linspace(0, 10, 21)
    exact = np.exp(-lam * t / 2) * (x0 * np.cos(omega * t) + lam * x0 / (2 * omega)
                                    * np.sin(omega * t))
    assert_allclose(traj(t)[:, 0], exact, rtol=1e-8, atol=1e-10)


def test_continuous_solver_is_the_only_caller_of_solve_ivp():
    # The layering rule: one module integrates (adam_ode/continuous/solver.py, re-exported by
    # adam_ode.integrate); everything else goes through it.
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "adam_ode"
    callers = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if "solve_ivp(" in p.read_text(encoding="utf-8")
                     and p.relative_to(package).as_posix() != "continuous/solver.py")
    assert callers == [], f"solve_ivp called outside adam_ode/continuous/solver.py: {callers}"
