r"""Solver options as data: one frozen record travels with every call that solves.

:data:`DEFAULT` holds the reference settings (DOP853, rtol 1e-11, atol 1e-13): reference paths
must be far more accurate than the O(sqrt(γ)) fluctuations they are compared with; at these
values a solve agrees with one at 100x tighter tolerances to better than 1e-8 on every problem of
the test suite (tests/test_integrate.py). :func:`solver_defaults` replaces the default options of
every solve inside a ``with`` block (a context variable: threads and tasks see their own).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass, fields, replace as _replace

from .._validation import ParameterError

__all__ = ["SolverOptions", "DEFAULT", "solver_defaults", "current_defaults", "resolve",
           "METHODS", "RTOL", "ATOL", "METHOD", "MAX_EVALUATIONS"]

RTOL = 1e-11
ATOL = 1e-13
METHOD = "DOP853"  # 8th-order explicit Runge–Kutta with 7th-order dense output
# A solve that needs more field evaluations than this has stalled (a chattering sign, a stiff
# field at tolerances it cannot meet): it stops with a one-line error instead of running on. The
# shipped experiments need at most ~4e4; 5e5 Python field evaluations take 10–30 s.
MAX_EVALUATIONS = 500_000
# Zeno guard: more switches than this within one unit of time is an accumulation of switches
# (or a surface the event logic cannot resolve), not a path worth following.
MAX_EVENTS_PER_TIME = 10_000
# |σ| below this (relative to 1 + |state|) counts as "on the surface" when a mode starts.
SWITCH_TOLERANCE = 1e-12
METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


@dataclass(frozen=True)
class SolverOptions:
    """Settings of one continuous-time solve.

    Attributes
    ----------
    method : str
        ``solve_ivp`` method, one of :data:`METHODS` (default ``"DOP853"``).
    rtol, atol : float > 0
        Relative and absolute tolerances (defaults 1e-11, 1e-13; scipy's 1e-3 is never used).
    max_step : float > 0
        Largest step (default ``inf``: the step control alone decides).
    max_evaluations : int ≥ 1
        Budget of field evaluations of one solve (all modes of a switched solve together);
        beyond it the solve stops with :class:`~adam_ode.SolverBudgetError`.
    max_events_per_time : int ≥ 1
        Zeno guard of switched solves: at most this many switches in any unit of time.
    switch_tolerance : float in (0, 1e-3]
        |σ| below ``switch_tolerance · (1 + |w|)`` counts as on a switching surface when a mode
        starts (event location itself is to rounding).
    """

    method: str = METHOD
    rtol: float = RTOL
    atol: float = ATOL
    max_step: float = math.inf
    max_evaluations: int = MAX_EVALUATIONS
    max_events_per_time: int = MAX_EVENTS_PER_TIME
    switch_tolerance: float = SWITCH_TOLERANCE

    def __post_init__(self):
        self._validate("solver")

    def _validate(self, prefix: str) -> None:
        def fail(name, value, allowed):
            raise ParameterError(f"{prefix}.{name} = {value!r}: {allowed}")

        if not isinstance(self.method, str) or self.method not in METHODS:
            fail("method", self.method, f"must be one of {', '.join(METHODS)}")
        for name, upper in (("rtol", 1.0), ("atol", math.inf), ("max_step", math.inf),
                            ("switch_tolerance", 1e-3)):
            value = getattr(self, name)
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and not math.isnan(value) and value > 0)
            if name != "max_step":
                ok = ok and math.isfinite(value)
            if not ok or value > upper:
                bound = "" if math.isinf(upper) else f" and <= {upper:g}"
                fail(name, value, f"must be > 0{bound}"
                     + (" (inf allowed)" if name == "max_step" else ""))
            object.__setattr__(self, name, float(value))
        for name in ("max_evaluations", "max_events_per_time"):
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(name, value, "must be an integer >= 1")
            object.__setattr__(self, name, value)

    @classmethod
    def from_mapping(cls, mapping, prefix: str = "solver", base: "SolverOptions | None" = None):
        """Options from a mapping (a TOML table): keys are the field names; missing keys keep
        ``base`` (default :data:`DEFAULT`); an unknown key or a bad value is a one-line
        :class:`~adam_ode.ParameterError` naming ``prefix.key``."""
        if not hasattr(mapping, "items"):
            raise ParameterError(f"{prefix}: must be a table of solver options, "
                                 f"got {type(mapping).__name__}")
        allowed = [f.name for f in fields(cls)]
        for key in mapping:
            if key not in allowed:
                raise ParameterError(f"{prefix}.{key}: unknown key; allowed: "
                                     f"{', '.join(allowed)}")
        values = {f.name: getattr(base or DEFAULT, f.name) for f in fields(cls)}
        values.update(mapping)
        out = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(out, name, value)
        out._validate(prefix)
        return out

    def replace(self, **changes) -> "SolverOptions":
        """A copy with some fields changed (validated again; an unknown name is an error)."""
        allowed = [f.name for f in fields(self)]
        for key in changes:
            if key not in allowed:
                raise ParameterError(f"solver.{key}: unknown key; allowed: {', '.join(allowed)}")
        return _replace(self, **changes)

    def config(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT = SolverOptions()

_DEFAULTS: contextvars.ContextVar = contextvars.ContextVar("adam_ode_solver_defaults",
                                                           default=DEFAULT)


def current_defaults() -> SolverOptions:
    """The default options of a solve here (:data:`DEFAULT` outside :func:`solver_defaults`)."""
    return _DEFAULTS.get()


@contextlib.contextmanager
def solver_defaults(options=None, **changes):
    """Within the block, every solve given no ``solver=`` uses ``options`` (a
    :class:`SolverOptions` or a mapping of its fields), with ``changes`` applied."""
    if options is None:
        options = current_defaults()
    elif not isinstance(options, SolverOptions):
        options = SolverOptions.from_mapping(options, base=current_defaults())
    if changes:
        options = options.replace(**changes)
    token = _DEFAULTS.set(options)
    try:
        yield options
    finally:
        _DEFAULTS.reset(token)


def resolve(solver=None, *, rtol=None, atol=None, method=None) -> SolverOptions:
    """The options of one solve: ``solver`` (a :class:`SolverOptions`, a mapping, or None for
    the current defaults) with the legacy keywords ``rtol``/``atol``/``method`` on top."""
    if solver is None:
        options = current_defaults()
    elif isinstance(solver, SolverOptions):
        options = solver
    else:
        options = SolverOptions.from_mapping(solver, base=current_defaults())
    changes = {k: v for k, v in (("rtol", rtol), ("atol", atol), ("method", method))
               if v is not None}
    if not changes:
        return options
    bad = [k for k, v in changes.items() if k != "method" and not _positive(v)]
    if bad:  # the legacy keywords keep their legacy names in messages
        raise ParameterError(f"{bad[0]} must be > 0 (allowed range (0, inf)), "
                             f"got {changes[bad[0]]!r}")
    return options.replace(**changes)


def _positive(value) -> bool:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and value > 0
