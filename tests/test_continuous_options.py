"""SolverOptions validation, solver_defaults, solver= reaching the solves, bit-identity."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from adam_ode import (OPTIMIZERS, LinearRegression2D, ParameterError, SolverBudgetError,
                      SolverOptions, linear_noise, monte_carlo, solve_limit, solver_defaults)
from adam_ode.continuous import DEFAULT, current_defaults


@pytest.mark.parametrize("key, value", [("method", "Euler"), ("rtol", -1.0), ("rtol", 0.0),
                                        ("rtol", 2.0), ("atol", 0.0), ("atol", math.inf),
                                        ("max_step", 0.0), ("max_step", -1.0),
                                        ("max_evaluations", 0), ("max_evaluations", 1.5),
                                        ("max_events_per_time", 0),
                                        ("switch_tolerance", 0.0), ("switch_tolerance", 0.1)])
def test_every_field_is_validated_with_a_message_naming_it(key, value):
    with pytest.raises(ParameterError, match=rf"^solver\.{key} = ") as info:
        SolverOptions(**{key: value})
    assert "\n" not in str(info.value)
    with pytest.raises(ParameterError, match=rf"^run\.solver\.{key} = "):
        SolverOptions.from_mapping({key: value}, prefix="run.solver")


def test_from_mapping_unknown_key_lists_the_allowed_ones():
    with pytest.raises(ParameterError, match=r"^solver\.rtoll: unknown key; allowed: method, "
                                             r"rtol, atol"):
        SolverOptions.from_mapping({"rtoll": 1e-9})
    with pytest.raises(ParameterError, match=r"solver\.bogus: unknown key"):
        DEFAULT.replace(bogus=1)


def test_from_mapping_and_replace_keep_the_other_fields():
    opts = SolverOptions.from_mapping({"rtol": 1e-9, "max_evaluations": 1000.0})
    assert opts.rtol == 1e-9 and opts.max_evaluations == 1000 and opts.atol == DEFAULT.atol
    assert opts.replace(method="RK45").method == "RK45" and opts.replace().rtol == 1e-9
    assert DEFAULT == SolverOptions(method="DOP853", rtol=1e-11, atol=1e-13,
                                    max_evaluations=500_000)


def _legacy_solve_limit(problem, limit, x0, T):
    # The historical algorithm of integrate.solve_limit with default options, written out.
    x0 = np.asarray(x0, dtype=float)
    z0 = limit.initial_state(problem, x0)
    if not limit.singular:
        sol = solve_ivp(lambda t, z: limit.field(t, z, problem), (0.0, T), z0, method="DOP853",
                        rtol=1e-11, atol=1e-13, dense_output=True)
        return sol.t, sol.sol(sol.t).T
    t_s = min(limit.start_time(1e-13), 0.5 * T)
    w_s = limit.start(problem, x0, t_s)
    sol = solve_ivp(lambda t, w: limit.solver_field(t, w, problem), (t_s, T), w_s,
                    method="DOP853", rtol=1e-11, atol=1e-13, dense_output=True)
    t = np.concatenate([[0.0], sol.t])
    late = np.maximum(t, t_s)
    z_late = limit.to_state(late, sol.sol(late).T)
    return t, z_late


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_smooth_solves_are_bit_identical_to_the_historical_call(name):
    record = OPTIMIZERS[name].example()
    problem = LinearRegression2D()
    x0 = np.array([1.0, -0.5])
    traj = solve_limit(problem, record.limit(), x0, 2.0)
    t, z = _legacy_solve_limit(problem, record.limit(), x0, 2.0)
    np.testing.assert_array_equal(traj.t, t)
    # rows after the start step are the solver's own (the first one is z(0), exact)
    np.testing.assert_array_equal(traj.y[1:], z[1:])
    assert traj.switches == ()


def test_keywords_override_solver_and_defaults_change_inside_the_block_only():
    problem = LinearRegression2D()
    limit = OPTIMIZERS["sgd"].example().limit()
    base = solve_limit(problem, limit, [1.0, 0.0], 2.0)
    loose = SolverOptions(rtol=1e-6, atol=1e-8)
    with solver_defaults(loose) as inside:
        assert current_defaults() is inside
        in_block = solve_limit(problem, limit, [1.0, 0.0], 2.0)
        kw = solve_limit(problem, limit, [1.0, 0.0], 2.0, rtol=1e-11, atol=1e-13)
    after = solve_limit(problem, limit, [1.0, 0.0], 2.0)
    assert in_block.config["rtol"] == 1e-6 and in_block.nfev < base.nfev
    np.testing.assert_array_equal(kw.y, base.y)
    np.testing.assert_array_equal(after.y, base.y)
    assert current_defaults() is DEFAULT


def test_solver_reaches_the_monte_carlo_reference_and_the_lna():
    problem = LinearRegression2D()
    record = OPTIMIZERS["adam"].example()
    tiny = SolverOptions(max_evaluations=20)
    with pytest.raises(SolverBudgetError, match="max_evaluations"):
        monte_carlo(problem, record, [1.0, -0.5], 50, 2, 0, reference="limit", solver=tiny)
    with pytest.raises(SolverBudgetError):
        with solver_defaults(tiny):
            monte_carlo(problem, record, [1.0, -0.5], 50, 2, 0, reference="limit")
    with pytest.raises(SolverBudgetError):
        linear_noise(problem, record, [1.0, -0.5], 1.0, solver=tiny)
    ok = monte_carlo(problem, record, [1.0, -0.5], 50, 2, 0, reference="limit",
                     solver=DEFAULT)
    assert np.all(np.isfinite(ok.sup_distance))
