r"""Reference integration of the continuous-time dynamics: the one module that calls ``solve_ivp``.

:func:`solve_ode` solves the Adam ODE (eq. 3.3, or the autonomous eq. 7.1) from z(0) = (x0, 0, 0);
:func:`solve_heavy_ball` and :func:`solve_gradient_flow` solve the classical continuous limits of
momentum SGD and SGD. Tolerances are explicit and tight (scipy's default rtol = 1e-3 is never used).

The t = 0 singularity of eq. (3.3)
----------------------------------
The field is 0/0 at t = 0. The solver integrates the debiased variables w = (x, m̂, v̂) of
:func:`adam_ode.dynamics.debiased_vector_field`, which stay O(1) as t ↓ 0, from a short Taylor
start t_s = START_SCALE · atol^{1/3} / max(1, a, b) (``adam_ode.optimizers.adam.START_SCALE``):

    x(t_s) = x0 + t_s ẋ(t_s/2),  m̂(t_s) = ∇F(x(t_s/2)),  v̂(t_s) = S(x(t_s/2))

with x(t_s/2) ≈ x0 + (t_s/2) ẋ(0) and ẋ(0) from Lemma 7.3. m̂(t) is an average of ∇F(x(s)) over
s ∈ [0, t] with weights centred at t/2 + O(a t²), hence the midpoint rule; the start errs by
O(t_s³) in x and O((1 + a + b) t_s²) in (m̂, v̂), and an error δ in m̂ decays like t_s/t afterwards,
so the start error is of the order of atol. On [0, t_s] the dense output interpolates z linearly
by the quadratic through z(0) = (x0, 0, 0), returned exactly, with the exact slope ż(0) of
Lemma 7.3, and through z(t_s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from ._validation import ParameterError, check_nonnegative, check_positive, check_vector, warn_if_lyapunov_fails
from .heavy_ball import gradient_flow_vector_field, heavy_ball_vector_field
from .state import unpack

__all__ = ["Trajectory", "AdamTrajectory", "SolverBudgetError", "solve_limit", "solve_system",
           "solve_ode",
           "solve_heavy_ball",
           "solve_gradient_flow"]

# Default tolerances: reference paths must be far more accurate than the O(sqrt(γ)) fluctuations
# they are compared with; at these values a solve agrees with one at 100x tighter tolerances to
# better than 1e-8 on every problem of the test suite (tests/test_integrate.py).
RTOL = 1e-11
ATOL = 1e-13
METHOD = "DOP853"  # 8th-order explicit Runge–Kutta with 7th-order dense output
# A solve that needs more field evaluations than this has stalled (a chattering sign, a stiff
# field at tolerances it cannot meet): it stops with a one-line error instead of running on. The
# shipped experiments need at most ~4e4 (measured over `adam-ode reproduce`); 5e5 Python field
# evaluations take 10–30 s.
MAX_EVALUATIONS = 500_000


class SolverBudgetError(ParameterError):
    """A solve stopped by its budget of field evaluations (the message names the time reached
    and the option to change)."""


class _BudgetExceeded(Exception):
    def __init__(self, t):
        super().__init__(t)
        self.t = t


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A solved trajectory: time-major samples ``t`` (n,), ``y`` (n, k) and dense evaluation.

    ``traj(t)`` returns the state at any time(s) in ``[0, T]``: shape ``(k,)`` for a scalar,
    ``(len(t), k)`` for an array.
    """

    t: np.ndarray
    y: np.ndarray
    T: float
    _dense: object = field(repr=False)
    nfev: int = 0
    config: dict = field(default_factory=dict)
    dim: int | None = None

    @property
    def x(self) -> np.ndarray:
        """The first d columns of ``y`` (x), or all of them when ``dim`` is unknown."""
        return self.y if self.dim is None else self.y[:, :self.dim]

    def __call__(self, t) -> np.ndarray:
        t_arr = np.asarray(t, dtype=float)
        if np.any(t_arr < 0.0) or np.any(t_arr > self.T * (1 + 1e-12)):
            raise ParameterError(f"t must lie in [0, T] = [0, {self.T:g}], got {t!r}")
        return self._dense(t_arr)


@dataclass(frozen=True, eq=False)
class AdamTrajectory(Trajectory):
    """Solution of the Adam ODE; ``y`` is the packed z = (x, m, v), also exposed as x, m, v."""

    @property
    def z(self) -> np.ndarray:
        return self.y

    @property
    def x(self) -> np.ndarray:
        return unpack(self.y)[0]

    @property
    def m(self) -> np.ndarray:
        return unpack(self.y)[1]

    @property
    def v(self) -> np.ndarray:
        return unpack(self.y)[2]


def _checked_solve(fun, t_span, y0, rtol, atol, method, what: str,
                   max_evaluations: int = MAX_EVALUATIONS):
    calls = [0]

    def counted(t, y):
        calls[0] += 1
        if calls[0] > max_evaluations:
            raise _BudgetExceeded(t)
        return fun(t, y)

    try:
        sol = solve_ivp(counted, t_span, y0, method=method, rtol=rtol, atol=atol,
                        dense_output=True)
    except _BudgetExceeded as stop:
        raise SolverBudgetError(
            f"{what}: stopped at t = {stop.t:.6g} of T = {t_span[1]:g} after "
            f"{max_evaluations} field evaluations (method {method}, rtol {rtol:g}); the field is "
            "stiff or switches fast there: shorten the horizon, loosen rtol, or raise "
            "max_evaluations") from None
    if sol.status != 0:
        raise RuntimeError(f"{what}: integration failed at t = {sol.t[-1]:.6g}: {sol.message}")
    if not np.all(np.isfinite(sol.y)):
        raise RuntimeError(f"{what}: the solution became non-finite before t = {t_span[1]:g}")
    return sol


def _check_tolerances(rtol, atol):
    rtol = check_positive("rtol", rtol)
    atol = check_positive("atol", atol)
    return rtol, atol


def _resolve_t_eval(t_eval, T, natural_t):
    if t_eval is None:
        return natural_t
    t_eval = np.asarray(t_eval, dtype=float)
    if t_eval.ndim != 1 or np.any(t_eval < 0) or np.any(t_eval > T):
        raise ParameterError(f"t_eval must be a 1-D array of times in [0, T] = [0, {T:g}]")
    return t_eval


def solve_limit(problem, limit, x0, T: float, *, t_eval=None, rtol: float = RTOL,
                atol: float = ATOL, method: str = METHOD) -> "Trajectory":
    r"""Solve a continuous limit (:class:`~adam_ode.optimizers.base.ContinuousLimit`) on [0, T].

    The state starts at ``limit.initial_state(problem, x0)``. A regular limit is integrated in
    its own state from t = 0. A limit whose field is singular at t = 0 (``limit.singular``) is
    integrated in its solver variables w from the short Taylor start t_s =
    ``limit.start_time(atol)``, w(t_s) = ``limit.start(problem, x0, t_s)``; on [0, t_s] the
    dense output is ``limit.early(...)`` when the limit defines one, else the quadratic through
    z(0) (returned exactly) with the exact slope ``limit.field(0, z(0))`` and through z(t_s).

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
    rtol, atol, method
        Solver settings (defaults :data:`RTOL`, :data:`ATOL`, :data:`METHOD`).

    Returns
    -------
    Trajectory
        ``.t``, ``.y`` (n, width), ``.x`` (n, d); ``traj(t)`` is the state at any t ∈ [0, T].
    """
    from .optimizers.base import ContinuousLimit, Optimizer

    if isinstance(limit, Optimizer):
        limit = limit.limit()  # the record's own continuous limit
    elif not isinstance(limit, ContinuousLimit):
        raise ParameterError(f"limit must be a ContinuousLimit (e.g. Adam(...).limit()) or an "
                             f"optimizer record, got {type(limit).__name__}")
    T = check_positive("T", T)
    x0 = check_vector("x0", x0, problem.dim)
    rtol, atol = _check_tolerances(rtol, atol)
    z0 = limit.initial_state(problem, x0)
    config = {"problem": problem.config(), "x0": x0.tolist(), **limit.config(), "T": T,
              "rtol": rtol, "atol": atol, "method": method}
    name = f"solve_limit({type(limit).__name__})"
    cls = AdamTrajectory if limit.slots == ("x", "m", "v") else Trajectory

    if not limit.singular:
        sol = _checked_solve(lambda t, z: limit.field(t, z, problem), (0.0, T), z0, rtol, atol,
                             method, name)
        t_out = _resolve_t_eval(t_eval, T, sol.t)
        dense = lambda t: sol.sol(t).T  # noqa: E731
        return cls(t_out, dense(t_out), T, dense, sol.nfev, config, problem.dim)

    t_s = min(limit.start_time(atol), 0.5 * T)
    w_s = limit.start(problem, x0, t_s)
    sol = _checked_solve(lambda t, w: limit.solver_field(t, w, problem), (t_s, T), w_s, rtol,
                         atol, method, name)
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

    t_out = _resolve_t_eval(t_eval, T, np.concatenate([[0.0], sol.t]))
    z_out = dense(t_out)
    if not np.all(np.isfinite(z_out)) or not np.all(np.isfinite(curvature)):
        raise RuntimeError(f"{name}: the solution is not finite (T = {T:g}, start step "
                           f"t_s = {t_s:g})")
    return cls(t_out, z_out, T, dense, sol.nfev, config, problem.dim)


def solve_ode(problem, x0, a: float, b: float, eps: float, T: float, debias: bool = True, *,
              t_eval=None, rtol: float = RTOL, atol: float = ATOL,
              method: str = METHOD) -> AdamTrajectory:
    r"""Solve the continuous-time Adam ODE from z(0) = (x0, 0, 0) on [0, T].

    :func:`solve_limit` of :class:`~adam_ode.optimizers.adam.AdamLimit` (``Adam(...).limit()``).

    Parameters
    ----------
    problem : Problem
        Supplies ∇F and S.
    x0 : array (d,)
        Initial point.
    a, b : float > 0
        Moment rates (α = 1 − aγ, β = 1 − bγ). ``b > 4a`` is allowed with a
        :class:`~adam_ode.LyapunovWarning`: the energy may then increase.
    eps : float > 0
        ε, outside the square root.
    T : float > 0
        Time horizon.
    debias : bool
        True: non-autonomous ODE (3.3) with bias corrections. False: autonomous ODE (7.1).
    t_eval : array, optional
        Output times in [0, T]; default: the solver's own steps (t = 0 included).
    rtol, atol : float
        Tolerances of the solver (defaults :data:`RTOL`, :data:`ATOL`).
    method : str
        ``solve_ivp`` method (default :data:`METHOD`).

    Returns
    -------
    AdamTrajectory
        ``.t`` (n,), ``.x``, ``.m``, ``.v`` (n, d); ``traj(t)`` gives z at any t ∈ [0, T].

    Raises
    ------
    ValueError
        On a parameter out of range (the message names it).
    RuntimeError
        When the solver fails (with its message) or the solution is not finite.
    """
    from .optimizers.adam import AdamLimit

    a = check_positive("a", a)
    b = check_positive("b", b)
    eps = check_positive("eps", eps)
    warn_if_lyapunov_fails(a, b)
    traj = solve_limit(problem, AdamLimit(a, b, eps, bool(debias)), x0, T, t_eval=t_eval,
                       rtol=rtol, atol=atol, method=method)
    config = {"problem": problem.config(), "x0": traj.config["x0"], "a": a, "b": b, "eps": eps,
              "T": traj.T, "debias": debias, "rtol": traj.config["rtol"],
              "atol": traj.config["atol"], "method": method}
    return AdamTrajectory(traj.t, traj.y, traj.T, traj._dense, traj.nfev, config, traj.dim)


def solve_heavy_ball(problem, x0, damping: float, T: float, gradient_scale: float = 1.0,
                     v0=None, *, t_eval=None, rtol: float = RTOL, atol: float = ATOL,
                     method: str = METHOD) -> Trajectory:
    """Solve the classical HBF ẍ + λ ẋ + κ∇F(x) = 0, y = (x, ẋ), from (x0, v0) (v0 = 0 default).

    With λ = κ = a this is the small-step limit of momentum SGD
    (m_n = α m_{n−1} + (1 − α) g_n, x_n = x_{n−1} − γ m_n, α = 1 − aγ), since then ẋ = −m.
    """
    damping = check_nonnegative("damping", damping)
    gradient_scale = check_positive("gradient_scale", gradient_scale)
    T = check_positive("T", T)
    x0 = check_vector("x0", x0, problem.dim)
    v0 = np.zeros(problem.dim) if v0 is None else check_vector("v0", v0, problem.dim)
    rtol, atol = _check_tolerances(rtol, atol)
    sol = _checked_solve(
        lambda t, y: heavy_ball_vector_field(t, y, problem, damping, gradient_scale),
        (0.0, T), np.concatenate([x0, v0]), rtol, atol, method, "solve_heavy_ball")
    dense = lambda t: sol.sol(t).T  # noqa: E731
    t_out = _resolve_t_eval(t_eval, T, sol.t)
    config = {"problem": problem.config(), "x0": x0.tolist(), "damping": damping,
              "gradient_scale": gradient_scale, "T": T}
    return Trajectory(t_out, dense(t_out), T, dense, sol.nfev, config, problem.dim)


def solve_gradient_flow(problem, x0, T: float, *, t_eval=None, rtol: float = RTOL,
                        atol: float = ATOL, method: str = METHOD) -> Trajectory:
    """Solve the gradient flow ẋ = −∇F(x) from x0 on [0, T] (the small-step limit of SGD)."""
    T = check_positive("T", T)
    x0 = check_vector("x0", x0, problem.dim)
    rtol, atol = _check_tolerances(rtol, atol)
    sol = _checked_solve(lambda t, x: gradient_flow_vector_field(t, x, problem),
                         (0.0, T), x0, rtol, atol, method, "solve_gradient_flow")
    dense = lambda t: sol.sol(t).T  # noqa: E731
    t_out = _resolve_t_eval(t_eval, T, sol.t)
    return Trajectory(t_out, dense(t_out), T, dense, sol.nfev,
                      {"problem": problem.config(), "x0": x0.tolist(), "T": T}, problem.dim)


# ------------------------------------------------------------------------------------------------
# Generic systems (used by adam_ode.fluctuations: the covariance ODE of the linear-noise
# approximation). Same solver, tolerances and failure checks as the limits above.
# ------------------------------------------------------------------------------------------------

def solve_system(fun, t_span, y0, *, rtol: float = RTOL, atol: float = ATOL,
                 method: str = METHOD, what: str = "solve_system"):
    """Solve y' = fun(t, y) on ``t_span`` from ``y0`` with dense output.

    Returns scipy's solution object (``.t``, ``.y``, ``.sol``, ``.nfev``); raises
    RuntimeError when the solver fails or the solution is not finite.
    """
    rtol, atol = _check_tolerances(rtol, atol)
    return _checked_solve(fun, (float(t_span[0]), float(t_span[1])),
                          np.asarray(y0, dtype=float), rtol, atol, method, what)
