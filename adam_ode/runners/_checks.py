"""Helpers shared by the runners' checks, estimates and redraws.

Checks (:func:`built`, :func:`require_int`, :func:`require_numbers`, …) raise one
:class:`~adam_ode.ExperimentError` ``key = value: reason (allowed range)`` naming the key as the
user writes it in ``--set``; they build nothing expensive. The cost helpers turn the phases the
kernels' time model (:mod:`adam_ode.cost`) does not cover — continuous-time solves, Python loops,
NumPy post-processing — into equivalent run·steps. :func:`saved` gives a run's arrays and
summary in the form ``data.npz`` and ``summary.json`` hold them, so that a run draws its figure
from exactly what ``adam-ode plot`` reads back.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from .._validation import ExperimentError, LyapunovWarning
from ..config_checks import keyed, require_positive, show

__all__ = ["built", "because", "require_int", "require_ints", "require_numbers", "require_table",
           "require_pair", "require_window", "require_labels", "require_horizon",
           "require_adam_steps",
           "ode_run_steps", "budgeted_ode_run_steps", "seconds_run_steps", "figure_run_steps",
           "saved", "num", "nums"]

_NO_VALUE = object()

# Continuous-time solves (solve_ivp through adam_ode.integrate, compiled right-hand sides):
# seconds per solve (set-up, the t = 0 start, the early transient: 0.02-0.1 s measured on a
# 2-core machine for horizons of 20-100) and per unit of the horizon (the Adam ODE at d = 2 and
# d = 100: 0.15-1.2 ms per unit of t, the larger for large a, b; the SBC ODE at d = 120:
# 0.45-0.55 ms; the logistic-regression limits at d = 30: ~2 ms). The number of solver steps
# depends on stiffness and oscillation, which no config key gives: this is a model within a
# factor of a few, enough to refuse a horizon of hours.
ODE_SECONDS_PER_SOLVE = 0.02
ODE_SECONDS_PER_TIME = 1e-3
ODE_SECONDS_PER_OUTPUT = 1e-6  # dense-output evaluation and post-processing per output time


@contextlib.contextmanager
def built(key: str, value=_NO_VALUE, note: str = ""):
    """Build records and problems inside: their own validation errors name ``key`` (and end
    with ``note``, e.g. the other key the record was built from).

    A :class:`~adam_ode.LyapunovWarning` (b > 4a) is not raised here: the run raises and records
    it once.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LyapunovWarning)
            with (keyed(key) if value is _NO_VALUE else keyed(key, value)):
                yield
    except ExperimentError as err:
        if not note:
            raise
        raise ExperimentError(f"{err} ({note})") from None


@contextlib.contextmanager
def because(why: str):
    """An :class:`~adam_ode.ExperimentError` raised inside ends with `` (why)``."""
    try:
        yield
    except ExperimentError as err:
        raise ExperimentError(f"{err} ({why})") from None


def require_int(key: str, value, low: int = 1, why: str = "") -> int:
    """An integer >= ``low`` (a bool is not one); ``why`` ends the message."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ExperimentError(f"{key} = {show(value)}: must be an integer >= {low}"
                              + (f" ({why})" if why else ""))
    return int(value)


def require_ints(key: str, values, low: int = 1, *, distinct: bool = False) -> list:
    """A non-empty list of integers >= ``low``."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ExperimentError(f"{key} = {show(values)}: must be a non-empty list of integers "
                              f">= {low}")
    out = [require_int(f"{key}[{i}]", v, low) for i, v in enumerate(values)]
    if distinct:
        _distinct(key, out, [str(v) for v in out])
    return out


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ExperimentError(f"{key} = {show(value)}: must be a number")
    if not math.isfinite(value):
        raise ExperimentError(f"{key} = {show(value)}: must be finite")
    return float(value)


def require_numbers(key: str, values, *, positive: bool = True, min_distinct: int = 1,
                    increasing: bool = False, why: str = "") -> list:
    """A non-empty list of finite numbers (each > 0 when ``positive``), with at least
    ``min_distinct`` distinct values, strictly increasing when asked; ``why`` ends the message
    of the last two."""
    why = f" ({why})" if why else ""
    if not isinstance(values, (list, tuple)) or not values:
        raise ExperimentError(f"{key} = {show(values)}: must be a non-empty list of numbers")
    out = [require_positive(f"{key}[{i}]", v) if positive else _number(f"{key}[{i}]", v)
           for i, v in enumerate(values)]
    if len(set(out)) < min_distinct:
        raise ExperimentError(f"{key} = {show(values)}: must hold at least {min_distinct} "
                              f"distinct values{why}")
    if increasing and any(b <= a for a, b in zip(out, out[1:])):
        raise ExperimentError(f"{key} = {show(values)}: must be increasing{why}")
    return out


def _distinct(key: str, values, labels) -> None:
    first = {}
    for i, label in enumerate(labels):
        if label in first:
            raise ExperimentError(f"{key}[{i}] = {show(values[i])}: repeats {key}[{first[label]}]"
                                  f" = {show(values[first[label]])}"
                                  + ("" if values[i] == values[first[label]] else
                                     f" to the digits that name its results ({label})"))
        first[label] = i


def require_labels(key: str, values, fmt: str = "g") -> None:
    """Values that stay distinct when formatted with ``fmt`` (they name arrays and rows)."""
    _distinct(key, list(values), [format(v, fmt) for v in values])


def require_table(key: str, table, known, required=()) -> dict:
    """A table holding only the keys ``known``, among them every key of ``required``."""
    if not isinstance(table, dict):
        raise ExperimentError(f"{key} = {show(table)}: must be a table")
    for name, value in table.items():
        if name not in known:
            raise ExperimentError(f"{key}.{name} = {show(value)}: unknown key of the table {key}"
                                  f" (its keys: {', '.join(known)})")
    for name in required:
        if name not in table:
            raise ExperimentError(f"{key}.{name}: missing; the table {key} needs "
                                  f"{', '.join(required)}")
    return table


def require_pair(key: str, value, low: float, high: float, *, low_closed: bool = False,
                 high_closed: bool = False) -> tuple:
    """``[lo, hi]``: two numbers with lo < hi, both in the interval (low, high)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ExperimentError(f"{key} = {show(value)}: must be [low, high], two numbers")
    lo, hi = (_number(f"{key}[{i}]", v) for i, v in enumerate(value))
    inside = [(x >= low if low_closed else x > low) and (x <= high if high_closed else x < high)
              for x in (lo, hi)]
    interval = f"{'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
    for i, ok in enumerate(inside):
        if not ok:
            raise ExperimentError(f"{key}[{i}] = {show(value[i])}: must lie in {interval}")
    if not lo < hi:
        raise ExperimentError(f"{key} = {show(value)}: must be [low, high] with low < high")
    return lo, hi


def require_window(key: str, value, high: int, high_key: str) -> list:
    """``[k_lo, k_hi]``: integers with 1 <= k_lo < k_hi <= ``high`` (the value of ``high_key``)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2 or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value) \
            or not 1 <= value[0] < value[1] <= high:
        raise ExperimentError(f"{key} = {show(value)}: must be [k_lo, k_hi], integers with "
                              f"1 <= k_lo < k_hi <= {high_key} = {high}")
    return [int(value[0]), int(value[1])]


def require_horizon(T_key: str, T: float, gamma_key: str, gamma: float) -> int:
    """floor(T/γ) >= 1 iterations (a horizon shorter than one step is an error)."""
    from ..cost import steps_covering

    return steps_covering(T, gamma, T_key, gamma_key)


def require_adam_steps(config: dict, gammas, key: str = "gammas", T_key: str = "T") -> None:
    """Adam's record at each step size ``gammas`` (``config[key]``, already checked as numbers)
    with the config's a, b, ε (a·γ, b·γ < 1: the message names ``key[i]``), and a horizon
    ``config[T_key]`` covering one step of each."""
    from ..optimizers import Adam

    for i, gamma in enumerate(gammas):
        with built(f"{key}[{i}]", gamma):
            Adam(gamma, config["a"], config["b"], config["eps"])
        require_horizon(T_key, config[T_key], key, gamma)


def seconds_run_steps(seconds: float, state_floats: int) -> int:
    """``seconds`` of work as run·steps of :mod:`adam_ode.cost`'s time model (one worker)."""
    from ..cost import seconds_per_run_step

    return int(math.ceil(seconds / seconds_per_run_step(state_floats)))


def ode_run_steps(horizon: float, state_floats: int, solves: int = 1, outputs: int = 0,
                  seconds_per_time: float = ODE_SECONDS_PER_TIME) -> int:
    """Run·steps equivalent to ``solves`` continuous-time solves on [0, ``horizon``], each
    evaluated at ``outputs`` times (a serial phase: the model's worker speed-up overstates
    how fast it goes on several workers)."""
    seconds = solves * (ODE_SECONDS_PER_SOLVE + seconds_per_time * horizon
                        + ODE_SECONDS_PER_OUTPUT * outputs)
    return seconds_run_steps(seconds, state_floats)


def saved(arrays: dict, summary: dict, config: dict) -> tuple[dict, dict]:
    """``(arrays, summary)`` as ``data.npz`` and ``summary.json`` give them back to ``redraw``:
    NumPy arrays, and JSON types (lists, None for NaN and inf) with the config under
    ``"config"``."""
    from ..io import to_jsonable

    return ({k: np.asarray(v) for k, v in arrays.items()},
            to_jsonable({**summary, "config": config}))


def num(value) -> float:
    """A number of ``summary.json``: None (NaN or inf written as null) becomes NaN."""
    return float("nan") if value is None else float(value)


def nums(values) -> np.ndarray:
    """A list of numbers of ``summary.json`` (None as NaN) as a float array."""
    return np.array([num(v) for v in values], dtype=float)


def budgeted_ode_run_steps(horizon: float, state_floats: int, outputs: int = 0,
                           seconds_per_time: float = ODE_SECONDS_PER_TIME,
                           seconds_per_evaluation: float = 0.0) -> int:
    """Run·steps of one continuous-time solve (:func:`ode_run_steps`), at most the cost of the
    solver's budget of field evaluations (:data:`adam_ode.integrate.MAX_EVALUATIONS` at
    ``seconds_per_evaluation`` each), where a solve on a long horizon stops with an error."""
    from ..continuous import MAX_EVALUATIONS

    run_steps = ode_run_steps(horizon, state_floats, outputs=outputs,
                              seconds_per_time=seconds_per_time)
    if seconds_per_evaluation <= 0.0:
        return run_steps
    budget = ODE_SECONDS_PER_SOLVE + MAX_EVALUATIONS * seconds_per_evaluation \
        + ODE_SECONDS_PER_OUTPUT * outputs
    return min(run_steps, seconds_run_steps(budget, state_floats))


# The figure: drawn by the runner, rendered to PNG at 150 dpi by the framework (measured on a
# 2-core machine: 0.6-0.9 s for one or two panels, 1.8-2.9 s for 6-12 panels with contours).
FIGURE_SECONDS = 0.5
FIGURE_SECONDS_PER_PANEL = 0.25


def figure_run_steps(panels: int, state_floats: int) -> int:
    """Run·steps equivalent to drawing and writing a figure of ``panels`` panels."""
    return seconds_run_steps(FIGURE_SECONDS + FIGURE_SECONDS_PER_PANEL * panels, state_floats)
