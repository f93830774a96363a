"""Lyapunov study: running-minimum rise, monotone V when b <= 4a, the known rise when b > 4a."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import DoubleWell, LinearRegression2D, StochasticQuadratic
from adam_ode.analysis import max_energy_increase, monotone_tolerance
from adam_ode.paper import lyapunov_phase_diagram, verify_lyapunov

EPS = 1e-2
N_TIMES = 801  # coarse grid for speed: the local refinement recovers the rise

# ----------------------------------------------------------------------------- max_energy_increase


@pytest.mark.parametrize("V, expected", [
    ([3.0, 2.0, 2.0, 1.0], 0.0),            # nonincreasing (with a plateau)
    ([5.0], 0.0),                           # single sample
    ([0.0, 1.0, 3.0], 3.0),                 # increasing: rise above V(0)
    ([3.0, 1.0, 2.0, 0.0, 0.5], 1.0),       # two rises, 1 then 0.5: the larger one counts
    ([4.0, 0.0, 3.0, -2.0, 0.5], 3.0),      # the rise is measured from the running minimum
])
def test_max_energy_increase_hand_computed(V, expected):
    assert max_energy_increase(V) == pytest.approx(expected, abs=0.0)


def test_max_energy_increase_returns_time_of_largest_rise():
    t = np.arange(5.0)
    rise, t_rise = max_energy_increase([3.0, 1.0, 2.0, 0.0, 0.5], t)
    assert (rise, t_rise) == (1.0, 2.0)


def test_max_energy_increase_is_grid_independent_on_sine():
    # V = sin t on [0, 10]: running minimum -1 at 3π/2, then V rises to 1 at 5π/2: rise 2.
    for n in (1001, 10_001, 100_001):
        t = np.linspace(0.0, 10.0, n)
        rise, t_rise = max_energy_increase(np.sin(t), t)
        assert_allclose(rise, 2.0, rtol=0, atol=1e-4, err_msg=f"n = {n}")
        assert_allclose(t_rise, 2.5 * np.pi, rtol=0, atol=1e-2, err_msg=f"n = {n}")


@pytest.mark.parametrize("V", [[], [1.0, np.nan], [[1.0, 2.0]]])
def test_max_energy_increase_rejects_bad_input(V):
    with pytest.raises(ValueError, match="V must"):
        max_energy_increase(V)


def test_monotone_tolerance_scales_with_solver_tolerance():
    V = np.array([4.0, 1.0])
    assert monotone_tolerance(V, rtol=1e-8, atol=0.0) == pytest.approx(
        100 * monotone_tolerance(V, rtol=1e-10, atol=0.0))
    assert 0 < monotone_tolerance(V) < 1e-4


# ----------------------------------------------------------------------------- along the ODE


CASES_B_LE_4A = [(1.0, 0.25), (1.0, 1.0), (1.0, 4.0), (0.5, 2.0), (4.0, 1.0), (0.2, 0.5)]


@pytest.mark.parametrize("problem, x0", [
    (LinearRegression2D(), [-1.0, 4.0]),
    (DoubleWell(d=2, sigma=0.5), [0.3, -1.8]),
    (DoubleWell(d=2, sigma=0.1), [2.0, 0.05]),
], ids=["linreg2d", "double-well", "double-well-low-noise"])
def test_no_violation_when_b_le_4a(problem, x0):
    for a, b in CASES_B_LE_4A:
        rec = verify_lyapunov(problem, x0, a, b, EPS, 10.0, n_times=N_TIMES)
        label = f"{problem!r}, a = {a}, b = {b}: {rec}"
        assert rec.lyapunov_condition
        assert rec.monotone, label
        assert rec.max_energy_increase <= rec.tolerance, label
        assert rec.max_F_minus_F0 <= rec.tolerance, label  # Prop. 7.6: F(x(t)) <= F(x0)
        assert rec.max_rate_minus_bound <= 1e-6, label     # Lemma 7.5, up to rounding


def test_record_arrays_are_consistent():
    problem = LinearRegression2D()
    x0 = np.array([-1.0, 4.0])
    rec = verify_lyapunov(problem, x0, 1.0, 1.0, EPS, 5.0, n_times=N_TIMES)
    assert rec.t[0] == 0.0 and rec.t[-1] == 5.0 and np.all(np.diff(rec.t) > 0)
    assert rec.t.shape == rec.V.shape == rec.F.shape
    assert_allclose(rec.V[0], problem.F(x0), rtol=0, atol=1e-14)  # V(0, z0) = F(x0)
    assert np.all(rec.V >= rec.F - 1e-12)  # kinetic term ½ Σ m²/U ≥ 0
    assert rec.V[-1] < 0.5 * rec.V[0]  # and the energy actually decreases


KNOWN_PROBLEM = StochasticQuadratic(h=[1.0, 4.0], sigma=np.sqrt(0.5))
KNOWN_X0 = [2.0, -1.0]


def test_known_rise_when_b_gt_4a():
    # F = ½(x1² + 4x2²), S = ∇F² + 0.5, x0 = (2, −1), a = 1, b = 20 > 4a, ε = 1e-2 on [0, 20]:
    # V rises above its running minimum by 0.03608 near t = 0.7737 (independent measurement).
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the expected LyapunovWarning must be suppressed inside
        rec = verify_lyapunov(KNOWN_PROBLEM, KNOWN_X0, 1.0, 20.0, EPS, 20.0, n_times=N_TIMES)
    assert not rec.lyapunov_condition
    assert not rec.monotone
    assert rec.max_energy_increase == pytest.approx(0.036, abs=0.002)
    assert rec.t_max_increase == pytest.approx(0.77, abs=0.02)
    assert rec.max_rate_minus_bound > 0.1  # dV/dt exceeds the dissipation bound


def test_phase_diagram_separates_violations():
    a_values, b_values = [0.5, 1.0], [1.0, 20.0]
    calls = []
    phase = lyapunov_phase_diagram(KNOWN_PROBLEM, KNOWN_X0, a_values, b_values, EPS, 20.0,
                                   n_times=N_TIMES, callback=lambda: calls.append(1))
    assert len(calls) == 4
    assert phase.max_energy_increase.shape == phase.monotone.shape == (2, 2)  # [b, a]
    assert np.all(phase.monotone[phase.lyapunov_condition])
    # b = 20 violates for both a = 0.5 and a = 1, more strongly for the smaller a.
    assert not phase.monotone[1, 0] and not phase.monotone[1, 1]
    assert phase.max_energy_increase[1, 0] > phase.max_energy_increase[1, 1]
    assert phase.max_energy_increase[1, 1] == pytest.approx(0.036, abs=0.002)


def test_phase_diagram_rejects_bad_grid():
    with pytest.raises(ValueError, match="a_values"):
        lyapunov_phase_diagram(KNOWN_PROBLEM, KNOWN_X0, [], [1.0], EPS, 1.0)
    with pytest.raises(ValueError, match="b_values"):
        lyapunov_phase_diagram(KNOWN_PROBLEM, KNOWN_X0, [1.0], [-1.0], EPS, 1.0)
