r"""What a continuous-time solve returns: samples, dense evaluation, cost and the switches met."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import ParameterError
from ..state import unpack

__all__ = ["Trajectory", "AdamTrajectory", "Switch", "SolverBudgetError"]


class SolverBudgetError(ParameterError):
    """A solve stopped by its budget of field evaluations or of switches (the message names the
    time reached and the option to change)."""


@dataclass(frozen=True)
class Switch:
    """One event of a switched solve: at time ``t`` surface ``surface`` was crossed
    (``kind = "cross"``), became a sliding surface (``"slide"``) or was left (``"leave"``);
    ``sign`` is the side (±1) the field uses afterwards (0 while sliding)."""

    t: float
    surface: int
    kind: str
    sign: int


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A solved trajectory: time-major samples ``t`` (n,), ``y`` (n, k) and dense evaluation.

    ``traj(t)`` returns the state at any time(s) in ``[0, T]``: shape ``(k,)`` for a scalar,
    ``(len(t), k)`` for an array. ``switches`` lists the events of a switched solve (empty for
    a smooth field); ``slots`` names the state's slots, each also an attribute (``traj.m``).
    """

    t: np.ndarray
    y: np.ndarray
    T: float
    _dense: object = field(repr=False)
    nfev: int = 0
    config: dict = field(default_factory=dict)
    dim: int | None = None
    switches: tuple = ()
    slots: tuple = ()

    @property
    def x(self) -> np.ndarray:
        """The first d columns of ``y`` (x), or all of them when ``dim`` is unknown."""
        return self.y if self.dim is None else self.y[:, :self.dim]

    @property
    def switch_times(self) -> np.ndarray:
        return np.array([s.t for s in self.switches], dtype=float)

    def __getattr__(self, name):
        # Only reached for names that are not fields: a slot's columns.
        slots = self.__dict__.get("slots", ())
        dim = self.__dict__.get("dim")
        if name in slots and dim is not None:
            k = slots.index(name)
            return self.__dict__["y"][:, k * dim:(k + 1) * dim]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

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
