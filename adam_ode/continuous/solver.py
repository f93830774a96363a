r"""The one caller of ``solve_ivp``: smooth solves, and switched solves with sliding modes.

A smooth field is integrated by one ``solve_ivp`` call with the options' method, tolerances
and budget. A field with switching surfaces σ_i(t, w) (``term.surfaces``) is integrated mode by
mode: between switches the signs are fixed (``term.field_on(t, w, u)``, u_i = ±1), so that each
segment is smooth; ``solve_ivp(events=...)`` stops at a crossing, and the crossing is decided as
*cross* (the field on the far side carries on), *slide* (both one-sided fields point into the
surface: Filippov's convex combination, u_i ∈ (−1, 1) by the equivalent control, is integrated
on σ_i = 0) or *leave* (a sliding surface's u_i reaches ±1). paper_notes.md, "Switching fields
and sliding modes", derives the rules.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.integrate import solve_ivp

from .options import SolverOptions
from .solution import SolverBudgetError, Switch

__all__ = ["checked_solve", "switched_solve", "SwitchedTerm", "PiecewiseSolution"]

# Central-difference step (relative) of the default Jacobian of the surfaces: exact for the
# affine surfaces of sign fields up to rounding, O(h²) otherwise.
JACOBIAN_STEP = 1e-6


class _BudgetExceeded(Exception):
    def __init__(self, t):
        super().__init__(t)
        self.t = t


def _budget_message(what, t, T, options: SolverOptions) -> str:
    return (f"{what}: stopped at t = {t:.6g} of T = {T:g} after {options.max_evaluations} field "
            f"evaluations (method {options.method}, rtol {options.rtol:g}); the field is stiff "
            "or switches fast there: shorten the horizon, loosen rtol, or raise "
            "max_evaluations (solver.max_evaluations)")


def _ivp_keywords(options: SolverOptions) -> dict:
    # max_step only when finite: the default call stays exactly the historical one.
    keywords = dict(method=options.method, rtol=options.rtol, atol=options.atol)
    if np.isfinite(options.max_step):
        keywords["max_step"] = options.max_step
    return keywords


def checked_solve(fun, t_span, y0, options: SolverOptions, what: str):
    """``solve_ivp(fun, t_span, y0, dense_output=True)`` under ``options``; raises
    :class:`SolverBudgetError` past the budget and RuntimeError on failure or non-finite output."""
    calls = [0]
    budget = options.max_evaluations

    def counted(t, y):
        calls[0] += 1
        if calls[0] > budget:
            raise _BudgetExceeded(t)
        return fun(t, y)

    try:
        sol = solve_ivp(counted, t_span, y0, dense_output=True, **_ivp_keywords(options))
    except _BudgetExceeded as stop:
        raise SolverBudgetError(_budget_message(what, stop.t, t_span[1], options)) from None
    if sol.status != 0:
        raise RuntimeError(f"{what}: integration failed at t = {sol.t[-1]:.6g}: {sol.message}")
    if not np.all(np.isfinite(sol.y)):
        raise RuntimeError(f"{what}: the solution became non-finite before t = {t_span[1]:g}")
    return sol


class SwitchedTerm:
    """A field with switching surfaces, in the solver's variables w.

    ``surfaces(t, w)`` -> σ (n,); ``field_on(t, w, u)`` -> dw/dt with the sign of σ_i replaced
    by u_i ∈ [−1, 1] (affine in each u_i: u_i = ±1 are the one-sided fields, u_i in between their
    convex combination); ``jacobian(t, w)`` -> (∂σ/∂w (n, k), ∂σ/∂t (n,)) or None for central
    differences.
    """

    def __init__(self, surfaces, field_on, jacobian=None):
        self.surfaces = surfaces
        self.field_on = field_on
        self._jacobian = jacobian

    def jacobian(self, t, w):
        if self._jacobian is not None:
            out = self._jacobian(t, w)
            if out is not None:
                J, sigma_t = out
                return np.atleast_2d(np.asarray(J, dtype=float)), np.asarray(sigma_t, dtype=float)
        w = np.asarray(w, dtype=float)
        columns = []
        for k in range(w.size):
            h = JACOBIAN_STEP * (1.0 + abs(w[k]))
            e = np.zeros_like(w)
            e[k] = h
            columns.append((np.asarray(self.surfaces(t, w + e)) -
                            np.asarray(self.surfaces(t, w - e))) / (2 * h))
        h = JACOBIAN_STEP * (1.0 + abs(t))
        sigma_t = (np.asarray(self.surfaces(t + h, w)) - np.asarray(self.surfaces(t - h, w))) / (2 * h)
        return np.array(columns).T, sigma_t


class PiecewiseSolution:
    """Segments of a switched solve glued together: ``.t``, ``.y`` (k, n) as scipy's, dense
    ``.sol(t)`` -> (k,) or (k, n), ``.nfev`` and ``.switches``."""

    def __init__(self, segments, nfev, switches):
        self.segments = segments  # (t0, t1, OdeSolution)
        self.nfev = nfev
        self.switches = tuple(switches)
        ts = [segments[0][3]] + [seg[3][1:] for seg in segments[1:]]
        ys = [segments[0][4]] + [seg[4][:, 1:] for seg in segments[1:]]
        self.t = np.concatenate(ts)
        self.y = np.concatenate(ys, axis=1)
        self._ends = np.array([seg[1] for seg in segments])

    def sol(self, t):
        t = np.asarray(t, dtype=float)
        scalar = t.ndim == 0
        tt = np.atleast_1d(t)
        index = np.minimum(np.searchsorted(self._ends, tt, side="left"), len(self.segments) - 1)
        out = np.empty((self.y.shape[0], tt.size))
        for k in np.unique(index):
            where = index == k
            out[:, where] = self.segments[k][2](tt[where])
        return out[:, 0] if scalar else out


def switched_solve(term: SwitchedTerm, t_span, w0, options: SolverOptions, what: str):
    """Integrate a switched field mode by mode on ``t_span`` from ``w0`` (see the module
    docstring); returns a :class:`PiecewiseSolution`."""
    t0, T = float(t_span[0]), float(t_span[1])
    w = np.asarray(w0, dtype=float).copy()
    budget = options.max_evaluations
    calls = [0]
    recent = deque()
    switches = []
    segments = []

    def field(t, y, u):
        calls[0] += 1
        if calls[0] > budget:
            raise _BudgetExceeded(t)
        return np.asarray(term.field_on(t, y, u), dtype=float)

    def sigma(t, y):
        return np.asarray(term.surfaces(t, y), dtype=float).reshape(-1)

    def sliding(t, y, u, sliding_set):
        """(field, u) with u on ``sliding_set`` from the equivalent control."""
        if not sliding_set:
            return field(t, y, u), u
        S = list(sliding_set)
        base = u.copy()
        base[S] = 0.0
        f0 = field(t, y, base)
        G = np.empty((y.size, len(S)))
        for col, i in enumerate(S):
            e = base.copy()
            e[i] = 1.0
            G[:, col] = field(t, y, e) - f0
        J, sigma_t = term.jacobian(t, y)
        A = J[S] @ G
        rhs = -(J[S] @ f0 + sigma_t[S])
        try:
            u_S = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            u_S = np.linalg.lstsq(A, rhs, rcond=None)[0]
        u = base.copy()
        u[S] = u_S
        return f0 + G @ u_S, u

    def rates(t, y, u, sliding_set, j):
        """dσ_j/dt with u_j = +1 and with u_j = −1 (the other sliding surfaces held)."""
        J, sigma_t = term.jacobian(t, y)
        out = []
        for side in (1.0, -1.0):
            trial = u.copy()
            trial[j] = side
            f, _ = sliding(t, y, trial, [i for i in sliding_set if i != j])
            out.append(float(J[j] @ f + sigma_t[j]))
        return out

    def decide(t, y, u, sliding_set, j, moving_to):
        """The mode after surface j is met at (t, y): ('slide', 0) or ('cross', side)."""
        up, down = rates(t, y, u, sliding_set, j)
        if up < 0.0 < down:  # both one-sided fields point into the surface
            trial_set = sorted(set(sliding_set) | {j})
            _, trial_u = sliding(t, y, u, trial_set)
            if np.all(np.abs(trial_u[trial_set]) < 1.0):
                return "slide", 0.0
        if moving_to != 0.0:
            return "cross", moving_to
        if up > 0.0:
            return "cross", 1.0
        if down < 0.0:
            return "cross", -1.0
        return "cross", 1.0

    def note(t, j, kind, side):
        switches.append(Switch(float(t), int(j), kind, int(side)))
        recent.append(t)
        while recent and recent[0] < t - 1.0:
            recent.popleft()
        if len(recent) > options.max_events_per_time:
            raise SolverBudgetError(
                f"{what}: {len(recent)} switches within one unit of time before t = {t:.6g} of "
                f"T = {T:g} (an accumulation of switches: Zeno); raise "
                "solver.max_events_per_time or shorten the horizon")

    try:
        s0 = sigma(t0, w)
        n = s0.size
        u = np.where(s0 >= 0.0, 1.0, -1.0)
        sliding_set = []
        scale = options.switch_tolerance * (1.0 + np.max(np.abs(w)))
        for j in np.flatnonzero(np.abs(s0) <= scale):
            kind, side = decide(t0, w, u, sliding_set, j, 0.0)
            if kind == "slide":
                sliding_set = sorted(set(sliding_set) | {int(j)})
                _, u = sliding(t0, w, u, sliding_set)
                note(t0, j, "slide", 0)
            else:
                u[j] = side
        t = t0
        while t < T:
            mode_u = u.copy()
            mode_set = list(sliding_set)

            def rhs(tt, y, mode_u=mode_u, mode_set=mode_set):
                return sliding(tt, y, mode_u, mode_set)[0]

            events, labels = [], []
            for j in range(n):
                if j in mode_set:
                    for side in (1.0, -1.0):
                        def leave(tt, y, j=j, side=side, mode_u=mode_u, mode_set=mode_set):
                            return 1.0 - side * sliding(tt, y, mode_u, mode_set)[1][j]
                        leave.terminal, leave.direction = True, -1.0
                        events.append(leave)
                        labels.append(("leave", j, side))
                else:
                    def cross(tt, y, j=j):
                        return sigma(tt, y)[j]
                    cross.terminal, cross.direction = True, -mode_u[j]
                    events.append(cross)
                    labels.append(("cross", j, -mode_u[j]))
            sol = solve_ivp(rhs, (t, T), w, dense_output=True, events=events or None,
                            **_ivp_keywords(options))
            if sol.status == -1:
                raise RuntimeError(f"{what}: integration failed at t = {sol.t[-1]:.6g}: "
                                   f"{sol.message}")
            if not np.all(np.isfinite(sol.y)):
                raise RuntimeError(f"{what}: the solution became non-finite before t = {T:g}")
            t_new = float(sol.t[-1])
            if t_new > t:
                segments.append((t, t_new, sol.sol, sol.t, sol.y))
            w = sol.y[:, -1].copy()
            if sol.status == 0:
                break
            fired = [k for k, te in enumerate(sol.t_events) if len(te)]
            k = min(fired, key=lambda k: sol.t_events[k][0])
            kind, j, side = labels[k]
            t = t_new
            if kind == "leave":
                sliding_set = [i for i in sliding_set if i != j]
                u = mode_u.copy()
                u[j] = side
                note(t, j, "leave", side)
                _, u = sliding(t, w, u, sliding_set)
                continue
            kind, new_side = decide(t, w, mode_u, mode_set, j, side)
            if kind == "slide":
                sliding_set = sorted(set(sliding_set) | {j})
                _, u = sliding(t, w, mode_u, sliding_set)
                note(t, j, "slide", 0)
            else:
                u = mode_u.copy()
                u[j] = new_side
                note(t, j, "cross", new_side)
    except _BudgetExceeded as stop:
        raise SolverBudgetError(_budget_message(what, stop.t, T, options)) from None
    if not segments:  # an event at the very start of a zero-length horizon
        raise RuntimeError(f"{what}: no progress from t = {t0:g}")
    return PiecewiseSolution(segments, calls[0], switches)
