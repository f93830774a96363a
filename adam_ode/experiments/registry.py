"""The runners' side of the framework: what a runner receives (:class:`RunContext`) and returns
(:class:`ExperimentResult`), the registry of runners (:func:`register`), and the optional hooks
of a runner's module (``check``, ``estimate``, ``redraw``: :func:`runner_hook`)."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import ExperimentError
from ..progress import Progress
from .configs import DEFAULT_SEED, list_experiments

__all__ = ["ExperimentResult", "RunContext", "register", "registered_runners", "get_runner",
           "runner_hook", "estimate"]

HOOKS = ("check", "estimate", "redraw")


@dataclass
class ExperimentResult:
    """What a runner returns.

    Attributes
    ----------
    summary : dict
        Key numbers (JSON-able; NumPy values are converted), stored at the top level of
        ``summary.json`` (they may not reuse its bookkeeping keys).
    arrays : dict of str -> ndarray
        Saved to ``data.npz``.
    figure : matplotlib.figure.Figure, optional
        Saved to ``figure.png`` and closed.
    table : str, optional
        Human-readable table printed to stdout by the CLI.
    """

    summary: dict
    arrays: dict = field(default_factory=dict)
    figure: object = None
    table: str | None = None


@dataclass(frozen=True)
class RunContext:
    """Run-wide settings handed to a runner.

    Attributes
    ----------
    out_dir : Path
        Where the runner may write extra files: the run's staging directory, whose files are
        moved into the output directory together with ``data.npz``, ``figure.png`` and
        ``summary.json`` when the run completes (:mod:`adam_ode.outputs`).
    seed : int
        Root seed: build every random stream from :meth:`seed_sequence`.
    workers : int
        Number of worker threads the runner may use (≥ 1).
    quiet : bool
        No progress output.
    """

    out_dir: Path
    seed: int = DEFAULT_SEED
    workers: int = 1
    quiet: bool = False

    def progress(self, total: int, desc: str = "", unit: str = "") -> Progress:
        """A progress bar (context manager with ``update(n)``; also callable as a callback);
        ``unit`` names what ``total`` counts (``"run·steps"``)."""
        return Progress(total, desc=desc, quiet=self.quiet, unit=unit)

    def seed_sequence(self) -> np.random.SeedSequence:
        """``np.random.SeedSequence(seed)``: spawn one child per independent random stream."""
        return np.random.SeedSequence(self.seed)


_RUNNERS: dict = {}


def register(name: str):
    """Decorator registering ``run(config, ctx) -> ExperimentResult`` as experiment ``name``."""

    def decorator(func):
        if name in _RUNNERS and _RUNNERS[name] is not func:
            raise RuntimeError(f"experiment {name!r} is registered twice "
                               f"({_RUNNERS[name].__module__} and {func.__module__})")
        _RUNNERS[name] = func
        return func

    return decorator


def registered_runners() -> dict:
    """Name -> runner for every runner in :mod:`adam_ode.runners` (imports them on first use)."""
    importlib.import_module("adam_ode.runners")
    return dict(_RUNNERS)


def get_runner(name: str):
    """The runner of ``name``; :class:`ExperimentError` if unknown or without a runner yet."""
    runners = registered_runners()
    if name in runners:
        return runners[name]
    known = list_experiments()
    if name in known:
        raise ExperimentError(f"experiment {name!r} has a config ({name}.toml)"
                              f" but no registered runner yet; runners available: "
                              f"{', '.join(sorted(runners)) or 'none'}")
    raise ExperimentError(f"unknown experiment {name!r}; known experiments: "
                          f"{', '.join(known)}")


def runner_hook(name: str, hook: str):
    """The function ``hook`` (one of :data:`HOOKS`) of the module that defines the runner of
    ``name``, or None when that module has none."""
    if hook not in HOOKS:
        raise ValueError(f"unknown runner hook {hook!r}; hooks: {', '.join(HOOKS)}")
    runner = get_runner(name)
    own = getattr(sys.modules.get(runner.__module__), hook, None)
    return own if callable(own) else None


def estimate(name: str, config: dict):
    """The :class:`~adam_ode.cost.Cost` of running experiment ``name`` with ``config`` (None: its
    runner has no estimate)."""
    own = runner_hook(name, "estimate")
    return None if own is None else own(config)
