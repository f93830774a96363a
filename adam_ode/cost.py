"""Cost of an experiment before it runs: iterations, time and memory, and the limits enforced.

Every runner module owns its estimate ``estimate(config) -> Cost`` (found by
:func:`adam_ode.experiments.estimate`): the number of (run·step) iterations, the size of one
run's state z = (x, m, v) in floats, and the bytes of what the run records or holds at once
(trajectories, reference paths, per-run statistics). A runner without one runs without an
estimate.

:func:`check_cost` turns the estimate into seconds with :func:`seconds_per_run_step` (a rough
model of the numba kernels, measured on a 2-core machine: right within a factor of a few) and

- refuses a run whose memory exceeds what the machine has available (always, even with ``yes``);
- refuses a run estimated above :data:`TIME_LIMIT_S` or above :data:`MEMORY_ASK_FRACTION` of
  the available memory unless ``yes`` (``--yes``) is given.

The one-line message gives the estimate and the keys to lower (``--set n_runs=…``). The estimates
also check that each horizon covers at least one step (T ≥ γ): a shorter horizon is an error.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ._validation import ExperimentError

__all__ = ["Cost", "check_cost", "describe_estimate",
           "seconds_per_run_step",
           "available_memory", "TIME_LIMIT_S", "MEMORY_ASK_FRACTION"]

TIME_LIMIT_S = 15 * 60.0  # longer estimated runs need --yes (the shipped ones take seconds)
MEMORY_ASK_FRACTION = 0.5  # more than this share of the available memory needs --yes
# Time model of one (run·step) of the kernels, 1 worker: a fixed part (random draws, loop,
# bookkeeping) plus a part per float of the state z = (x, m, v). Measured: Adam on the 2-D
# regression 17-21 ns (6 floats), on the d = 100 quadratic ~0.6 µs (300 floats).
NS_PER_RUN_STEP_BASE = 12.0
NS_PER_STATE_FLOAT = 2.0
PARALLEL_EFFICIENCY = 0.75  # measured 2-worker speed-up 1.2-1.7x: count 0.75 per extra worker
FLOAT_BYTES = 8
PER_RUN_FLOATS = 8  # per-run statistics kept by the Monte Carlo (sup, averages, step, ...)
REFERENCE_COPIES = 3  # a reference path and the temporaries of evaluating the ODE on its grid


@dataclass(frozen=True)
class Cost:
    """What one run of an experiment will do.

    Attributes
    ----------
    run_steps : int
        Σ over Monte Carlo runs of their iterations.
    state_floats : int
        Floats of one run's state z = (x, m, v), i.e. 3d.
    memory_bytes : int
        Peak bytes of what is recorded or held at once.
    keys : tuple of str
        The config keys that scale the cost (named in the refusal message).
    """

    run_steps: int
    state_floats: int
    memory_bytes: int
    keys: tuple = ("n_runs",)

    def seconds(self, workers: int = 1) -> float:
        """Estimated wall time on ``workers`` threads."""
        speedup = 1.0 + PARALLEL_EFFICIENCY * (max(int(workers), 1) - 1)
        return self.run_steps * seconds_per_run_step(self.state_floats) / speedup

    def as_dict(self, workers: int = 1) -> dict:
        return {"run_steps": int(self.run_steps), "state_floats": int(self.state_floats),
                "memory_bytes": int(self.memory_bytes),
                "seconds": round(self.seconds(workers), 3)}


def seconds_per_run_step(state_floats: int) -> float:
    """Modelled seconds per (run·step) on one worker for a state of ``state_floats`` floats."""
    return (NS_PER_RUN_STEP_BASE + NS_PER_STATE_FLOAT * state_floats) * 1e-9


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _format_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"  # pragma: no cover


def _format_duration(s: float) -> str:
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    if s < 2 * 365 * 86400:
        return f"{s / 86400:.1f} days"
    return f"{s / (365 * 86400):.3g} years"


def _lower(cost: Cost) -> str:
    return " or ".join(f"--set {key}=…" for key in cost.keys)


def describe_estimate(estimate: dict) -> str:
    """``Cost.as_dict(workers)`` as words: run·steps, memory and the modelled time."""
    return (f"estimated {estimate['run_steps']:.3g} run·steps, "
            f"{_format_bytes(estimate['memory_bytes'])} of memory, about "
            f"{_format_duration(estimate['seconds'])}")


def check_cost(name: str, cost: Cost | None, workers: int = 1, yes: bool = False) -> Cost | None:
    """Refuse experiment ``name`` (:class:`ExperimentError`, one line) when its estimated
    ``cost`` is over the limits; None (no estimate) passes."""
    if cost is None:
        return None
    memory = available_memory()
    what = f"{name}: estimated {cost.run_steps:.3g} run·steps and {_format_bytes(cost.memory_bytes)}"
    if memory is not None and cost.memory_bytes > memory:
        raise ExperimentError(f"{what} of memory, more than the {_format_bytes(memory)} available;"
                              f" lower it with {_lower(cost)}")
    if yes:
        return cost
    seconds = cost.seconds(workers)
    if seconds > TIME_LIMIT_S:
        raise ExperimentError(f"{what}: about {_format_duration(seconds)} on {workers} worker(s),"
                              f" above the {_format_duration(TIME_LIMIT_S)} limit; lower it with "
                              f"{_lower(cost)}, or pass --yes to run it anyway")
    if memory is not None and cost.memory_bytes > MEMORY_ASK_FRACTION * memory:
        raise ExperimentError(f"{what} of memory, more than {MEMORY_ASK_FRACTION:.0%} of the "
                              f"{_format_bytes(memory)} available; lower it with {_lower(cost)},"
                              " or pass --yes to run it anyway")
    return cost


# --------------------------------------------------------------------------------------------
# Helpers of the runners' estimates


def problem_dim(config: dict) -> int:
    from .problems import make_problem

    return make_problem(config["problem"]).dim


def steps_covering(T: float, gamma: float, T_key: str = "T", gamma_key: str = "gammas") -> int:
    """floor(T/γ) iterations, at least one (a horizon shorter than one step is an error)."""
    from .montecarlo import steps_for_horizon

    try:
        n = steps_for_horizon(T, gamma)
    except ValueError as err:
        raise ExperimentError(str(err)) from None
    if n < 1:
        raise ExperimentError(f"{T_key} = {T:g} is shorter than one step of {gamma_key} "
                              f"γ = {gamma:g}: nothing to simulate; use {T_key} >= γ")
    return n


def step_sizes(config: dict, key: str = "gammas") -> list:
    gammas = [float(g) for g in config[key]]
    if not gammas:
        raise ExperimentError(f"{key} must be a non-empty list of step sizes > 0")
    return gammas


def recorded_states(n_steps: int, points: int) -> int:
    """States kept by a runner recording every max(1, N // points)-th step."""
    return n_steps // max(1, n_steps // points) + 1


def float_bytes(floats) -> int:
    return int(math.ceil(floats)) * FLOAT_BYTES
