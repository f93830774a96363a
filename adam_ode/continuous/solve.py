r"""Solving a continuous limit (its term, its start treatment at t = 0) or a generic system.

The t = 0 singularity
---------------------
A limit whose field is singular at t = 0 (``limit.singular``, e.g. the Adam ODE (3.3), 0/0 at
t = 0) is integrated in its solver variables w (Adam: the debiased w = (x, m̂, v̂), O(1) as
t ↓ 0) from a short Taylor start t_s = ``limit.start_time(atol)``, w(t_s) =
``limit.start(problem, x0, t_s)``. On [0, t_s] the dense output is ``limit.early(...)`` when the
limit defines one, else the quadratic through z(0) (returned exactly) with the exact slope
``limit.field(0, z(0))`` and through z(t_s).

Switching fields
----------------
A limit with switching surfaces (``limit.has_switches``: ``limit.switching`` and
``limit.field_on``) is integrated by :func:`~adam_ode.continuous.solver.switched_solve`; the
switches are listed in the trajectory's ``switches``.
"""

from __future__ import annotations

import numpy as np

from .._validation import ParameterError, check_positive, check_vector
from .options import resolve
from .solution import AdamTrajectory, Trajectory
from .solver import SwitchedTerm, checked_solve, switched_solve

__all__ = ["solve_limit", "solve_system", "resolve_t_eval"]


def resolve_t_eval(t_eval, T, natural_t):
    if t_eval is None:
        return natural_t
    t_eval = np.asarray(t_eval, dtype=float)
    if t_eval.ndim != 1 or np.any(t_eval < 0) or np.any(t_eval > T):
        raise ParameterError(f"t_eval must be a 1-D array of times in [0, T] = [0, {T:g}]")
    return t_eval


def _integrate(limit, problem, t_span, w0, options, name, solver_field):
    if getattr(limit, "has_switches", False):
        term = SwitchedTerm(lambda t, w: limit.switching(t, w, problem),
                            lambda t, w, u: limit.field_on(t, w, problem, u),
                            lambda t, w: limit.switching_jacobian(t, w, problem))
        return switched_solve(term, t_span, w0, options, name)
    return checked_solve(solver_field, t_span, w0, options, name)


def solve_limit(problem, limit, x0, T: float, *, t_eval=None, solver=None, rtol=None,
                atol=None, method=None) -> Trajectory:
    r"""Solve a continuous limit (:class:`~adam_ode.optimizers.base.ContinuousLimit`) on [0, T].

    The state starts at ``limit.initial_state(problem, x0)``. A regular limit is integrated in
    its own state from t = 0, a singular one in its solver variables from t_s (module
    docstring), a switched one mode by mode with its sliding modes.

    Parameters
    ----------
    problem : Problem
    limit : ContinuousLimit or Optimizer
        E.g. ``optimizer.limit()``; a record stands for its own limit.
    x0 : array (d,)
    T : float > 0
        Horizon, in the limit's own time (``limit.time``).
    t_eval : array, optional
        Output times in [0, T]; default: the solver's own steps (t = 0 included).
    solver : SolverOptions or mapping, optional
        Method, tolerances, budget (default: :func:`~adam_ode.continuous.current_defaults`).
    rtol, atol, method
        Override the corresponding fields of ``solver``.

    Returns
    -------
    Trajectory
        ``.t``, ``.y`` (n, width), ``.x`` (n, d), ``.switches``; ``traj(t)`` is the state at any
        t ∈ [0, T]. An :class:`AdamTrajectory` when ``limit.trajectory_slots_as_properties``.
    """
    from ..optimizers.base import ContinuousLimit, Optimizer

    if isinstance(limit, Optimizer):
        limit = limit.limit()  # the record's own continuous limit
    elif not isinstance(limit, ContinuousLimit):
        raise ParameterError(f"limit must be a ContinuousLimit (e.g. Adam(...).limit()) or an "
                             f"optimizer record, got {type(limit).__name__}")
    T = check_positive("T", T)
    x0 = check_vector("x0", x0, problem.dim)
    options = resolve(solver, rtol=rtol, atol=atol, method=method)
    rtol, atol, method = options.rtol, options.atol, options.method
    z0 = limit.initial_state(problem, x0)
    config = {"problem": problem.config(), "x0": x0.tolist(), **limit.config(), "T": T,
              "rtol": rtol, "atol": atol, "method": method}
    name = f"solve_limit({type(limit).__name__})"
    cls = AdamTrajectory if getattr(limit, "trajectory_slots_as_properties", False) else Trajectory
    extra = dict(slots=tuple(limit.slots))

    if not limit.singular:
        sol = _integrate(limit, problem, (0.0, T), z0, options, name,
                         lambda t, z: limit.field(t, z, problem))
        t_out = resolve_t_eval(t_eval, T, sol.t)
        dense = lambda t: sol.sol(t).T  # noqa: E731
        return cls(t_out, dense(t_out), T, dense, sol.nfev, config, problem.dim,
                   getattr(sol, "switches", ()), **extra)

    t_s = min(limit.start_time(atol), 0.5 * T)
    w_s = limit.start(problem, x0, t_s)
    sol = _integrate(limit, problem, (t_s, T), w_s, options, name,
                     lambda t, w: limit.solver_field(t, w, problem))
    z_s = limit.to_state(t_s, w_s)
    z_dot0 = limit.field(0.0, z0, problem)
    curvature = ((z_s - z0) / t_s - z_dot0) / t_s  # not / t_s**2: that underflows for tiny T

    def dense(t):
        t = np.asarray(t, dtype=float)
        late = np.maximum(t, t_s)
        z_late = limit.to_state(late, sol.sol(late).T)
        early = getattr(limit, "early", None)
        z_early = None if early is None else early(t, problem, x0, z0, z_s, t_s)
        if z_early is None:
            tc = t[..., None] if t.ndim else t
            z_early = z0 + tc * z_dot0 + tc**2 * curvature
        is_early = (t < t_s)[..., None] if t.ndim else t < t_s
        return np.where(is_early, z_early, z_late)

    t_out = resolve_t_eval(t_eval, T, np.concatenate([[0.0], sol.t]))
    z_out = dense(t_out)
    if not np.all(np.isfinite(z_out)) or not np.all(np.isfinite(curvature)):
        raise RuntimeError(f"{name}: the solution is not finite (T = {T:g}, start step "
                           f"t_s = {t_s:g})")
    return cls(t_out, z_out, T, dense, sol.nfev, config, problem.dim,
               getattr(sol, "switches", ()), **extra)


def solve_system(fun, t_span, y0, *, solver=None, rtol=None, atol=None, method=None,
                 what: str = "solve_system"):
    """Solve y' = fun(t, y) on ``t_span`` from ``y0`` with dense output.

    ``solver`` (a :class:`~adam_ode.continuous.SolverOptions`, default the current defaults)
    with ``rtol``/``atol``/``method`` on top. Returns scipy's solution object (``.t``, ``.y``,
    ``.sol``, ``.nfev``); raises :class:`~adam_ode.SolverBudgetError` past the budget and
    RuntimeError when the solver fails or the solution is not finite.
    """
    options = resolve(solver, rtol=rtol, atol=atol, method=method)
    return checked_solve(fun, (float(t_span[0]), float(t_span[1])),
                         np.asarray(y0, dtype=float), options, what)
