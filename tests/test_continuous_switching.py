"""Switched solves against closed forms and fine fixed-step references (sign fields)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import SolverBudgetError, SolverOptions, StochasticQuadratic, solve_limit
from adam_ode.optimizers.base import ContinuousLimit


class SignFlow(ContinuousLimit):
    """ẋ = −sign(∇F(x)): switches on the surfaces ∇F_i(x) = 0."""

    has_switches = True

    def field(self, t, z, problem):
        return -np.sign(problem.grad_F(z))

    def switching(self, t, w, problem):
        return problem.grad_F(w)

    def field_on(self, t, w, problem, signs):
        return -np.asarray(signs, dtype=float)

    def config(self):
        return {"limit": "SignFlow"}


class MomentumSign(ContinuousLimit):
    """ẋ = −sign(m), ṁ = b(∇F(x) − m) (the Signum-type limit): switches on m_i = 0."""

    slots = ("x", "m")
    has_switches = True

    def __init__(self, b):
        self.b = b

    def field(self, t, z, problem):
        x, m = np.split(z, 2)
        return np.concatenate([-np.sign(m), self.b * (problem.grad_F(x) - m)])

    def switching(self, t, w, problem):
        return np.split(w, 2)[1]

    def field_on(self, t, w, problem, signs):
        x, m = np.split(w, 2)
        return np.concatenate([-np.asarray(signs, dtype=float), self.b * (problem.grad_F(x) - m)])

    def config(self):
        return {"limit": "MomentumSign", "b": self.b}


class MomentumSignSmooth(MomentumSign):
    """The same field given to the solver as if it were smooth (no events)."""

    has_switches = False


def test_one_dimensional_sign_flow_reaches_zero_and_slides():
    problem = StochasticQuadratic(h=[1.0], sigma=0.0)
    traj = solve_limit(problem, SignFlow(), [1.0], 5.0)
    t = np.linspace(0.0, 5.0, 201)
    assert np.max(np.abs(traj(t)[:, 0] - np.maximum(1.0 - t, 0.0))) <= 1e-9
    assert [s.kind for s in traj.switches] == ["slide"]
    assert abs(traj.switches[0].t - 1.0) < 1e-9
    assert traj.nfev < 2_000, traj.nfev


def test_two_dimensional_sign_flow_each_coordinate_slides_at_its_own_time():
    problem = StochasticQuadratic(h=[1.0, 3.0], sigma=0.0)
    traj = solve_limit(problem, SignFlow(), [1.0, -2.0], 5.0)
    t = np.linspace(0.0, 5.0, 201)
    exact = np.stack([np.maximum(1.0 - t, 0.0), -np.maximum(2.0 - t, 0.0)], axis=1)
    assert np.max(np.abs(traj(t) - exact)) <= 1e-9
    assert [(s.surface, s.kind) for s in traj.switches] == [(0, "slide"), (1, "slide")]
    assert_allclose(traj.switch_times, [1.0, 2.0], atol=1e-9)


def test_start_on_the_surface_slides_from_t0():
    problem = StochasticQuadratic(h=[1.0, 1.0], sigma=0.0)
    traj = solve_limit(problem, SignFlow(), [0.0, 0.5], 2.0)
    assert_allclose(traj(np.array([0.25, 1.0, 2.0])), [[0.0, 0.25], [0.0, 0.0], [0.0, 0.0]],
                    atol=1e-12)


def _euler_momentum_sign(b, x0, T, h):
    n = int(round(T / h))
    x, m = x0, 0.0
    out = [x]
    for _ in range(n):
        # m(0) = 0 and ṁ(0) = b x0 > 0: the + side from the start
        s = 1.0 if m >= 0.0 else -1.0
        x, m = x - h * s, m + h * b * (x - m)
        out.append(x)
    return np.arange(n + 1) * h, np.array(out)


def test_momentum_sign_finishes_where_the_smooth_solve_stalls():
    problem = StochasticQuadratic(h=[1.0], sigma=0.0)
    T, b = 4.0, 2.0
    budget = SolverOptions(max_evaluations=3_000)  # the switched solve needs ~900
    with pytest.raises(SolverBudgetError, match="max_evaluations"):
        solve_limit(problem, MomentumSignSmooth(b), [1.0], T, solver=budget)
    traj = solve_limit(problem, MomentumSign(b), [1.0], T, solver=budget)
    assert all(s.kind == "cross" for s in traj.switches) and len(traj.switches) >= 5
    h = 2e-5
    t_ref, x_ref = _euler_momentum_sign(b, 1.0, T, h)
    every = 500
    err = np.max(np.abs(traj(t_ref[::every])[:, 0] - x_ref[::every]))
    assert err < 5e-3, f"sup |x - Euler(h={h})| = {err:.3g}"
    # Euler is first order: halving its step halves the gap (the solve is the limit)
    t_ref2, x_ref2 = _euler_momentum_sign(b, 1.0, T, 2 * h)
    err2 = np.max(np.abs(traj(t_ref2[::every // 2])[:, 0] - x_ref2[::every // 2]))
    assert err < 0.7 * err2, (err, err2)


def test_accumulating_switches_stop_with_the_zeno_error():
    # The momentum sign limit spirals into the origin with ever faster switches.
    problem = StochasticQuadratic(h=[1.0], sigma=0.0)
    with pytest.raises(SolverBudgetError) as info:
        solve_limit(problem, MomentumSign(2.0), [1.0], 20.0,
                    solver=SolverOptions(max_events_per_time=200))
    message = str(info.value)
    assert "\n" not in message
    assert "max_events_per_time" in message and "Zeno" in message


def test_switched_budget_error_is_one_line_naming_time_and_option():
    problem = StochasticQuadratic(h=[1.0], sigma=0.0)
    with pytest.raises(SolverBudgetError) as info:
        solve_limit(problem, MomentumSign(2.0), [1.0], 20.0,
                    solver=SolverOptions(max_evaluations=3_000))
    message = str(info.value)
    assert "\n" not in message and "stopped at t = " in message
    assert "max_evaluations" in message
