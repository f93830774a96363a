"""Argument checks shared by every layer: each error names the parameter and the allowed range."""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "ParameterError",
    "ExperimentError",
    "check_positive",
    "check_nonnegative",
    "check_open_interval",
    "check_int",
    "check_vector",
    "warn_if_lyapunov_fails",
    "LyapunovWarning",
    "DivergenceWarning",
    "PluginError",
]


class ParameterError(ValueError):
    """A parameter outside its allowed range; the message names the parameter and the range.

    A ``ValueError``, so ``except ValueError`` still catches it; the CLI reports exactly these
    (and configuration errors) as one-line usage errors, and lets any other exception surface.
    """


class ExperimentError(ParameterError):
    """A configuration or usage error (unknown experiment or key, wrong type, bad value); the
    message names the key as the user wrote it."""


class DivergenceWarning(UserWarning):
    """Some runs of the iterates diverged (non-finite or huge); the message names run and step.

    Its structured fields are what the run summaries count: ``count`` runs (or paths) of
    ``total`` diverged, the first at the steps ``first_steps`` (-1 where unknown). A
    ``UserWarning``, not a ``RuntimeWarning`` (the test configuration turns RuntimeWarnings
    raised in adam_ode into errors).
    """

    def __init__(self, message: str = "", count: int | None = None, total: int | None = None,
                 first_steps=()):
        super().__init__(message)
        self.count = count
        self.total = total
        self.first_steps = tuple(int(k) for k in first_steps)


class PluginError(ParameterError):
    """A plug-in optimizer or problem lacks a piece, or clashes with a registered name."""


class LyapunovWarning(UserWarning):
    """b > 4a: the Lyapunov guarantee of Barakat & Bianchi (Assumption 2.5) does not hold."""


def _as_float(name: str, value) -> float:
    if isinstance(value, (str, bytes, bool, np.bool_)):
        # float("0.1") and float(True) would pass: a quoted number in a config is a mistake.
        raise ParameterError(f"{name} must be a real number, got {value!r} "
                             f"({type(value).__name__})")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    return out


def check_positive(name: str, value) -> float:
    """Return ``float(value)`` or raise ``ValueError`` unless ``0 < value < inf``."""
    out = _as_float(name, value)
    if out <= 0.0:
        raise ParameterError(f"{name} must be > 0 (allowed range (0, inf)), got {value!r}")
    return out


def check_nonnegative(name: str, value) -> float:
    """Return ``float(value)`` or raise ``ValueError`` unless ``0 <= value < inf``."""
    out = _as_float(name, value)
    if out < 0.0:
        raise ParameterError(f"{name} must be >= 0 (allowed range [0, inf)), got {value!r}")
    return out


def check_open_interval(name: str, value, low: float, high: float) -> float:
    """Return ``float(value)`` or raise unless ``low < value < high``."""
    out = _as_float(name, value)
    if not low < out < high:
        raise ParameterError(f"{name} must lie in ({low:g}, {high:g}), got {value!r}")
    return out


def check_int(name: str, value, minimum: int) -> int:
    """Return ``int(value)`` or raise unless it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_vector(name: str, value, dim: int) -> np.ndarray:
    """Return a fresh float64 array of shape ``(dim,)`` or raise on shape or non-finite entries."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be an array of {dim} real numbers, got {value!r}") from None
    if arr.shape != (dim,):
        raise ParameterError(f"{name} must have shape ({dim},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be finite, got {arr}")
    return arr


def warn_if_lyapunov_fails(a: float, b: float, stacklevel: int = 3, strict: bool = False) -> None:
    """Warn (not raise) when b > 4a: Lemma 7.5's energy decrease is no longer guaranteed.

    ``strict=True`` warns from b = 4a on: Theorem 5.2 (decreasing steps) needs b < 4a.
    """
    if b > 4.0 * a or (strict and b == 4.0 * a):
        needed = "b < 4a (Theorem 5.2)" if strict else "b <= 4a (Assumption 2.5)"
        warnings.warn(
            f"b = {b:g} {'>=' if strict else '>'} 4a = {4 * a:g}: the Lyapunov energy is not "
            f"guaranteed to decrease (Barakat & Bianchi require {needed})",
            LyapunovWarning,
            stacklevel=stacklevel,
        )
