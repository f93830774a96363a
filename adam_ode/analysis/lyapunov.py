r"""Does a limit's energy decrease along its solution? (For Adam: Lemma 7.5, Prop. 7.6.)

A continuous limit with an energy (``limit.has_energy``) states when it is guaranteed to be
nonincreasing (``limit.energy_condition()``). For the Adam ODE (3.3) from (x0, 0, 0),

    V(t, z) = F(x) + ½ Σ_i m_i² / U_i(t, v),   U(t, v) = a (1 − e^{−at}) (ε + sqrt(v/(1 − e^{−bt})))

is nonincreasing when 0 < b ≤ 4a, so in particular F(x(t)) ≤ V(t, z(t)) ≤ V(0, z0) = F(x0). With
b > 4a the guarantee is lost and V can rise. This module measures, on a fine time grid,

- the largest rise of V above its running minimum, max_t [V(t) − min_{s≤t} V(s)]
  (:func:`max_energy_increase`; its definition does not depend on the grid, and it is 0 exactly
  when V is nonincreasing);
- the largest excursion of F(x(t)) above F(x0);
- the largest excess of the analytic rate dV/dt over the limit's dissipation bound where it
  states one (``energy_rate`` and ``energy_rate_bound``; Adam: −(ε/2)‖ẋ‖², ≤ 0 when b ≤ 4a);

for one limit (:func:`verify_energy`) or over a two-parameter family of limits
(:func:`energy_phase_diagram`; for Adam, the (a, b) grid). The paper's names
``verify_lyapunov`` and ``lyapunov_phase_diagram`` are in :mod:`adam_ode.paper`.

Monotonicity tolerance
----------------------
V is evaluated on the dense output of a solver run at relative tolerance ``rtol`` and absolute
tolerance ``atol`` (by default those of :func:`adam_ode.solve_limit`, ``integrate.RTOL`` and
``integrate.ATOL``). Errors of that size in
z move V by about ``rtol·scale + atol`` (scale = max |V| on the grid), and the DOP853 dense output
can be a few hundred times less accurate than the step-end values. V counts as monotone when its
largest rise is at most :func:`monotone_tolerance` = ``MONOTONE_TOL_FACTOR · (rtol·scale + atol)``
(1e4·rtol relative, e.g. 1e-7 for rtol = 1e-11), far below the O(1e-2) rises seen when b > 4a.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import ParameterError, check_int
from ..continuous import ATOL, RTOL, solve_limit

__all__ = [
    "max_energy_increase",
    "monotone_tolerance",
    "verify_energy",
    "energy_phase_diagram",
    "LyapunovRecord",
    "LyapunovPhaseDiagram",
    "N_TIMES",
    "MONOTONE_TOL_FACTOR",
]

# Points of the uniform evaluation grid on [0, T]; the solver's own steps (dense near t = 0, where
# V moves fastest) are merged in. 4001 points resolve the O(0.5)-wide bump seen for b > 4a on
# [0, 20] to ~1e-5 relative (grid spacing 5e-3, the bump maximum is quadratic in the offset).
N_TIMES = 4001

# Local refinement of the grid around the running-minimum time and the time of the largest rise:
# each pass replaces the neighbouring grid cells by REFINE_POINTS points, so the reported rise does
# not depend on where the uniform grid happens to fall (the bump for b > 4a is sharp: with 4001
# points alone the known case reads 0.03601 instead of 0.03608).
REFINE_PASSES = 3
REFINE_POINTS = 65

# Safety factor between the solver tolerance and the monotonicity tolerance (module docstring).
MONOTONE_TOL_FACTOR = 1e4


def max_energy_increase(V, t=None):
    r"""Largest rise of a sampled energy above its running minimum: max_k [V_k − min_{j≤k} V_j].

    This is the grid-independent quantity max_t [V(t) − min_{s≤t} V(s)] evaluated on the samples;
    it is 0 if and only if the samples are nonincreasing, and it ignores how much V fell before
    rising (unlike max_k (V_k − V_{k−1}), it does not shrink when the grid is refined).

    Parameters
    ----------
    V : array (n,)
        Energy samples in time order, n ≥ 1, finite.
    t : array (n,), optional
        Sample times; when given, the time of the largest rise is also returned.

    Returns
    -------
    float, or (float, float)
        The largest rise (≥ 0); with ``t``, also the time at which it is attained (the first
        sample time when the rise is 0).
    """
    V = np.asarray(V, dtype=float)
    if V.ndim != 1 or V.size == 0:
        raise ParameterError(f"V must be a non-empty 1-D array, got shape {V.shape}")
    if not np.all(np.isfinite(V)):
        raise ParameterError("V must be finite")
    rise = V - np.minimum.accumulate(V)
    k = int(np.argmax(rise))
    if t is None:
        return float(rise[k])
    t = np.asarray(t, dtype=float)
    if t.shape != V.shape:
        raise ParameterError(f"t must have the shape of V {V.shape}, got {t.shape}")
    return float(rise[k]), float(t[k])


def monotone_tolerance(V, rtol: float = RTOL, atol: float = ATOL) -> float:
    """Largest rise of V still attributed to solver error (see the module docstring)."""
    scale = float(np.max(np.abs(V))) if np.size(V) else 0.0
    return MONOTONE_TOL_FACTOR * (rtol * scale + atol)


class ParameterAttributes:
    """A study record whose ``parameters`` (the limit's labelling parameters) read as
    attributes: ``record.a``, ``record.b``."""

    def __getattr__(self, name):
        parameters = self.__dict__.get("parameters", {})
        if name in parameters:
            return parameters[name]
        raise AttributeError(name)


@dataclass(frozen=True, eq=False)
class LyapunovRecord(ParameterAttributes):
    """Outcome of :func:`verify_energy` for one limit.

    Attributes
    ----------
    parameters : dict
        The limit's parameters that label the record (``limit.energy_parameters()``; Adam:
        a, b), also readable as attributes (``record.a``).
    condition : (str, bool)
        The limit's sufficient condition for a nonincreasing energy and whether it holds
        (``limit.energy_condition()``; Adam: ``("b_le_4a", b <= 4a)``).
    T : float
        Horizon.
    max_energy_increase : float
        max_t [V(t) − min_{s≤t} V(s)] on the grid (0 for a nonincreasing V).
    t_max_increase : float
        Time at which it is attained.
    monotone : bool
        ``max_energy_increase <= tolerance``.
    tolerance : float
        The monotonicity tolerance, from the solver tolerances (module docstring).
    max_F_minus_F0 : float
        max_t F(x(t)) − F(x0) (≤ 0 up to the tolerance when V is monotone; 0 at t = 0).
    max_rate_minus_bound : float or None
        max_t [dV/dt − bound] on the grid (≤ 0 where the condition holds); None when the
        limit states no rate bound.
    t, V, F : arrays (n,)
        The grid, V(t, z(t)) and F(x(t)) for plotting.
    """

    parameters: dict
    condition: tuple
    T: float
    max_energy_increase: float
    t_max_increase: float
    monotone: bool
    tolerance: float
    max_F_minus_F0: float
    max_rate_minus_bound: float | None
    t: np.ndarray = field(repr=False)
    V: np.ndarray = field(repr=False)
    F: np.ndarray = field(repr=False)

    @property
    def lyapunov_condition(self) -> bool:
        """Whether the limit's sufficient condition for a nonincreasing energy holds."""
        return bool(self.condition[1])

    def as_dict(self) -> dict:
        """The scalar fields (JSON-able), for tables and summaries."""
        return {**self.parameters, self.condition[0]: self.lyapunov_condition,
                "max_energy_increase": self.max_energy_increase,
                "t_max_increase": self.t_max_increase, "monotone": self.monotone,
                "max_F_minus_F0": self.max_F_minus_F0,
                "max_rate_minus_bound": self.max_rate_minus_bound}


def _refined_energy(sol, t, problem, limit):
    """z and V on ``t`` plus local refinements around the largest rise (see REFINE_PASSES)."""
    z = sol(t)
    V = limit.energy(t, z, problem)
    for _ in range(REFINE_PASSES):
        rise = V - np.minimum.accumulate(V)
        k = int(np.argmax(rise))
        if rise[k] <= 0.0:
            break
        j = int(np.argmin(V[:k + 1]))
        last = t.size - 1
        extra = np.concatenate([np.linspace(t[max(i - 1, 0)], t[min(i + 1, last)], REFINE_POINTS)
                                for i in (j, k)])
        extra = np.setdiff1d(extra, t)
        if extra.size == 0:
            break
        t_new = np.concatenate([t, extra])
        order = np.argsort(t_new, kind="stable")
        z_extra = sol(extra)
        t = t_new[order]
        z = np.concatenate([z, z_extra])[order]
        V = np.concatenate([V, limit.energy(extra, z_extra, problem)])[order]
    return t, z, V


def verify_energy(problem, limit, x0, T: float, *, n_times: int = N_TIMES, rtol: float = RTOL,
                  atol: float = ATOL) -> LyapunovRecord:
    r"""Measure whether the energy of ``limit`` is nonincreasing along its solution on [0, T].

    Parameters
    ----------
    problem : Problem
    limit : ContinuousLimit
        A limit with an energy (``has_energy``), e.g. ``Adam(...).limit()``.
    x0 : array (d,)
        Initial point (the other slots as ``limit.initial_state``).
    T : float > 0
        Horizon.
    n_times : int ≥ 2
        Points of the uniform grid on [0, T]; the solver's step times are added to it.
    rtol, atol : float
        Solver tolerances (also set the monotonicity tolerance).

    Returns
    -------
    LyapunovRecord
    """
    if not getattr(limit, "has_energy", False):
        raise ParameterError(f"{type(limit).__name__} has no known energy to verify")
    n_times = check_int("n_times", n_times, 2)
    sol = solve_limit(problem, limit, x0, T, rtol=rtol, atol=atol)
    t = np.union1d(np.linspace(0.0, sol.T, n_times), sol.t)
    t, z, V = _refined_energy(sol, t, problem, limit)
    F = problem.F(z[..., :problem.dim])
    rise, t_rise = max_energy_increase(V, t)
    tol = monotone_tolerance(V, rtol, atol)
    rate = getattr(limit, "energy_rate", None)
    bound = getattr(limit, "energy_rate_bound", None)
    excess = None
    if callable(rate) and callable(bound):
        excess = float(np.max(rate(t, z, problem) - bound(t, z, problem)))
    return LyapunovRecord(
        parameters=limit.energy_parameters(), condition=limit.energy_condition(), T=sol.T,
        max_energy_increase=rise, t_max_increase=t_rise, monotone=bool(rise <= tol),
        tolerance=tol, max_F_minus_F0=float(np.max(F - F[0])), max_rate_minus_bound=excess,
        t=t, V=V, F=F)


@dataclass(frozen=True, eq=False)
class LyapunovPhaseDiagram:
    """Outcome of :func:`energy_phase_diagram`.

    Arrays are indexed ``[i, j]`` with i over ``b_values`` (rows) and j over ``a_values``
    (columns), the layout of an image with the second parameter on the vertical axis.
    """

    a_values: np.ndarray
    b_values: np.ndarray
    max_energy_increase: np.ndarray
    monotone: np.ndarray
    max_F_minus_F0: np.ndarray
    condition: np.ndarray

    @property
    def lyapunov_condition(self) -> np.ndarray:
        """Boolean grid: each limit's sufficient condition (Adam: b ≤ 4a)."""
        return self.condition


def _positive_grid(name, values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(f"{name} must be a non-empty list of numbers > 0, got {values!r}")
    return arr


def energy_phase_diagram(problem, x0, make_limit, a_values, b_values, T: float, *,
                         n_times: int = N_TIMES, rtol: float = RTOL, atol: float = ATOL,
                         callback=None) -> LyapunovPhaseDiagram:
    """:func:`verify_energy` of ``make_limit(a, b)`` over the grid ``b_values × a_values``.

    Parameters
    ----------
    problem, x0, T, n_times, rtol, atol
        As in :func:`verify_energy`.
    make_limit : callable (a, b) -> ContinuousLimit
        The two-parameter family (Adam: ``lambda a, b: Adam(..., a=a, b=b).limit()``).
    a_values, b_values : arrays of floats > 0
        Grid axes.
    callback : callable, optional
        Called with no argument after each grid point (e.g. a progress bar's ``update``).
    """
    a_values = _positive_grid("a_values", a_values)
    b_values = _positive_grid("b_values", b_values)
    shape = (b_values.size, a_values.size)
    rise = np.empty(shape)
    monotone = np.empty(shape, dtype=bool)
    f_excess = np.empty(shape)
    condition = np.empty(shape, dtype=bool)
    for i, b in enumerate(b_values):
        for j, a in enumerate(a_values):
            rec = verify_energy(problem, make_limit(float(a), float(b)), x0, T, n_times=n_times,
                                rtol=rtol, atol=atol)
            rise[i, j] = rec.max_energy_increase
            monotone[i, j] = rec.monotone
            f_excess[i, j] = rec.max_F_minus_F0
            condition[i, j] = rec.lyapunov_condition
            if callback is not None:
                callback()
    return LyapunovPhaseDiagram(a_values, b_values, rise, monotone, f_excess, condition)
