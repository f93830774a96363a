"""Checks of an experiment's resolved config, before any work: every error names the key as written.

A run's config is checked in two layers, both before the cost estimate and before the output
directory is touched (:func:`check_experiment`):

1. **Conventions** (:func:`check_conventions`): keys named like step sizes (``gamma``,
   ``gamma0``, ``cloud_gamma``, ``gamma_sgd``, ``gammas``, ``order_gammas``, …), horizons
   (``T``, ``T_*``, ``horizon``), moment rates and ε (``a``, ``b``, ``eps``, ``*_b``, ``*_eps``),
   noise levels (``sigma``), tolerances (``delta``), decay exponents (``kappa``, ``kappas``) and
   weight decay must be finite numbers in their range wherever they stand in the config (inside
   tables too: ``optimizers.adam.gamma``); start points (``x0``, ``x0_*``, ``*_x0``) must be lists
   of finite numbers; counts (``n_*``, ``*_runs``, ``*_steps``, ``*_paths``, ``epochs``) must be
   integers >= 1.
2. **The runner's own** ``check(config)``: a module of :mod:`adam_ode.runners` may define it to
   check what the conventions cannot (a choice among names, a dimension, a·γ < 1); it builds
   every problem and optimizer record the run will build, inside :func:`keyed`, so that their own
   validation speaks in the user's keys.

Messages read ``key = value: reason (allowed range)``, e.g. ``gammas[0] = 0.0: must be > 0
(allowed range (0, inf))`` or ``optimizers.adam: gamma must be > 0 …`` for an error raised by a
record built from the table ``optimizers.adam``.
"""

from __future__ import annotations

import contextlib
import math
import re

from ._validation import ExperimentError, ParameterError

__all__ = ["keyed", "show", "check_conventions", "check_experiment", "require_positive",
           "require_nonnegative", "require_in", "require_choice", "require_points",
           "require_vector", "require_start", "CONVENTIONS"]

_MISSING = object()

# (pattern on the last component of a dotted key, lower bound, bound included, what it is)
CONVENTIONS = (
    (re.compile(r"gamma\d*|\w+_gamma|gamma_\w+"), 0.0, False, "a step size"),
    (re.compile(r"gammas|\w+_gammas"), 0.0, False, "a step size"),
    (re.compile(r"T|T_\w+|\w+_T|horizon"), 0.0, False, "a horizon"),
    (re.compile(r"a|b|\w+_a|\w+_b"), 0.0, False, "a moment rate"),
    (re.compile(r"eps|\w+_eps"), 0.0, False, "epsilon"),
    (re.compile(r"sigma|\w+_sigma"), 0.0, True, "a noise level"),
    (re.compile(r"delta"), 0.0, False, "a distance"),
    (re.compile(r"kappa|kappas"), 0.0, False, "an exponent"),
    (re.compile(r"weight_decay|l2"), 0.0, True, "a weight decay"),
)
_START = re.compile(r"x0|x0_\w+|\w+_x0")
# Integer parameters named like counts (n_runs, n_steps, cloud_runs, compare_steps, n_times,
# epochs, ...) must be >= 1.
_COUNT = re.compile(r"n_\w+|\w+_runs|\w+_steps|\w+_paths|epochs")


def show(value) -> str:
    """A config value as the user would write it in TOML (short)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    text = repr(value) if not isinstance(value, (list, tuple)) else \
        "[" + ", ".join(show(v) for v in value) + "]"
    return text if len(text) <= 60 else text[:57] + "..."


@contextlib.contextmanager
def keyed(key: str, value=_MISSING):
    """Errors raised inside name the config ``key`` (and its value, when given).

    A :class:`~adam_ode.ParameterError` (a record's or a problem's own validation) becomes an
    :class:`ExperimentError` ``"key = value: message"``; one that already names a key (an
    ExperimentError) passes unchanged.
    """
    try:
        yield
    except ExperimentError:
        raise
    except ParameterError as err:
        shown = "" if value is _MISSING else f" = {show(value)}"
        raise ExperimentError(f"{key}{shown}: {err}") from None


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExperimentError(f"{key} = {show(value)}: must be a number")
    if not math.isfinite(value):
        raise ExperimentError(f"{key} = {show(value)}: must be finite")
    return float(value)


def require_positive(key: str, value) -> float:
    """``value`` as a float if 0 < value < inf, else one line naming ``key``."""
    out = _number(key, value)
    if out <= 0.0:
        raise ExperimentError(f"{key} = {show(value)}: must be > 0 (allowed range (0, inf))")
    return out


def require_nonnegative(key: str, value) -> float:
    out = _number(key, value)
    if out < 0.0:
        raise ExperimentError(f"{key} = {show(value)}: must be >= 0 (allowed range [0, inf))")
    return out


def require_in(key: str, value, low: float, high: float, *, low_closed: bool = False,
               high_closed: bool = False) -> float:
    """``value`` in the interval (low, high) (ends included as asked)."""
    out = _number(key, value)
    ok = (out >= low if low_closed else out > low) and (out <= high if high_closed else out < high)
    if not ok:
        interval = f"{'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
        raise ExperimentError(f"{key} = {show(value)}: must lie in {interval}")
    return out


def require_choice(key: str, value, choices) -> str:
    """``value`` one of ``choices`` (strings)."""
    choices = list(choices)
    if value not in choices:
        raise ExperimentError(f"{key} = {show(value)}: must be one of "
                              f"{', '.join(map(repr, choices))}")
    return value


def require_vector(key: str, value, dim: int | None = None) -> list:
    """A list of finite numbers (of length ``dim`` when given)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ExperimentError(f"{key} = {show(value)}: must be a non-empty list of numbers")
    out = [_number(f"{key}[{i}]", v) for i, v in enumerate(value)]
    if dim is not None and len(out) != dim:
        raise ExperimentError(f"{key} = {show(value)}: must have {dim} entries (the problem's "
                              f"dimension), got {len(out)}")
    return out


def require_points(key: str, value, dim: int | None = None) -> list:
    """A non-empty list of points, each a list of ``dim`` finite numbers."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ExperimentError(f"{key} = {show(value)}: must be a non-empty list of points")
    return [require_vector(f"{key}[{i}]", p, dim) for i, p in enumerate(value)]


def require_start(key: str, value, problem) -> list:
    """A start point for ``problem``: ``dim`` finite numbers where F, ∇F and S are finite (a
    start like [1e200, 1e200] overflows S and would fail inside the solver)."""
    import numpy as np

    x0 = require_vector(key, value, problem.dim)
    with np.errstate(all="ignore"):
        try:
            values = [problem.F(np.asarray(x0)), problem.grad_F(np.asarray(x0)),
                      problem.S(np.asarray(x0))]
        except (ArithmeticError, ValueError):
            values = [np.inf]
    if not all(np.all(np.isfinite(v)) for v in values):
        raise ExperimentError(f"{key} = {show(value)}: F, its gradient or S is not finite "
                              "there (too far from the problem's minimizer); use a smaller start")
    return x0


def _check_number_or_list(key: str, value, low: float, closed: bool) -> None:
    check = require_nonnegative if closed else require_positive
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, (list, tuple)):
                _check_number_or_list(f"{key}[{i}]", item, low, closed)
            else:
                check(f"{key}[{i}]", item)
    elif not isinstance(value, (str, dict)):
        check(key, value)


def check_conventions(config: dict, prefix: str = "") -> None:
    """Check every key of ``config`` (and of its tables) named by :data:`CONVENTIONS`."""
    for key, value in config.items():
        full = f"{prefix}{key}"
        name = str(key)
        if isinstance(value, dict):
            if name != "problem":  # a problem table is checked by building the problem
                check_conventions(value, f"{full}.")
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):  # a list of tables, e.g. family.optimizers
                check_conventions(item, f"{full}[{i}].")
            continue
        if _COUNT.fullmatch(name) and not isinstance(value, bool):
            if not isinstance(value, int) or value < 1:
                raise ExperimentError(f"{full} = {show(value)}: must be an integer >= 1")
            continue
        for pattern, low, closed, _what in CONVENTIONS:
            if pattern.fullmatch(name):
                _check_number_or_list(full, value, low, closed)
                break
        else:
            if _START.fullmatch(name) and isinstance(value, (list, tuple)) and value:
                if all(isinstance(v, (list, tuple)) for v in value):
                    require_points(full, value)
                elif not any(isinstance(v, (list, tuple)) for v in value):
                    require_vector(full, value)


def check_experiment(config: dict, own=None, name: str = "") -> None:
    """Both layers of checks (module docstring): the conventions, then ``own(config)``, the
    runner module's ``check`` (experiment ``name``) when it has one; raises
    :class:`ExperimentError`."""
    check_conventions(config)
    if own is not None:
        with keyed(name):  # a record error the runner did not key itself
            own(config)
