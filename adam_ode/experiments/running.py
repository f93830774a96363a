"""Running one experiment: every check before any work, the runner under a recorded warnings
context, and the result files written together into the output directory or not at all."""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import interrupt
from .._validation import DivergenceWarning, ExperimentError
from ..io import environment_info, save_figure, write_json, write_npz
from ..outputs import DATA_FILE, FIGURE_FILE, SUMMARY_FILE, RunDirectory, claim, timestamped
from .configs import _check_workers, find_experiment, resolve_config, solver_options
from .registry import ExperimentResult, RunContext, estimate, get_runner, runner_hook

__all__ = ["RunRecord", "run_experiment", "DEFAULT_RUNS_DIR"]

DEFAULT_RUNS_DIR = Path("runs")  # `run` writes to runs/<name>/<timestamp>/ unless --out is given
# Keys of summary.json that the framework fills in (a runner's key numbers may not reuse them).
RESERVED_SUMMARY_KEYS = ("experiment", "name", "description", "config", "config_file", "seed",
                         "workers", "started_at", "wall_time_s", "environment", "estimate",
                         "warnings", "diverged_runs")


@dataclass(frozen=True)
class RunRecord:
    """What :func:`run_experiment` did: the written summary, the runner's result and the files."""

    name: str
    out_dir: Path
    summary: dict
    result: ExperimentResult
    wall_time: float
    files: tuple


def run_experiment(name, overrides=(), out_dir=None, seed: int | None = None,
                   workers: int | None = None, quiet: bool = False,
                   yes: bool = False, force: bool = False, dry_run: bool = False) -> RunRecord:
    """Resolve the config of ``name``, check it, run its runner and write the result files.

    Parameters
    ----------
    name : str or path
        A shipped experiment (see :func:`list_experiments`) or the path of a user's TOML file
        naming its experiment (see :func:`find_experiment`).
    overrides : iterable of "key=value" strings, or dict
        Config overrides (see :func:`parse_override`).
    out_dir : path, optional
        Output directory (default ``runs/<name>/<timestamp>``), created if needed. Checked before
        any computation (:func:`adam_ode.outputs.claim`): not empty, a directory (or creatable),
        writable, and holding no other results unless ``force``.
    seed : int, optional
        Overrides the config's ``seed``.
    workers : int ≥ 1, optional
        Worker threads offered to the runner (default: all cores).
    quiet : bool
        No progress bars.
    yes : bool
        Run even when the cost estimate is above :data:`adam_ode.cost.TIME_LIMIT_S` (memory above
        what is available is always refused).
    force : bool
        Replace the results an output directory already holds.
    dry_run : bool
        Check everything and estimate the cost, run nothing, write nothing: the returned record
        has ``result=None`` and the estimate in ``summary["estimate"]``.

    Returns
    -------
    RunRecord

    Every check (config keys, types and ranges, the runner's own ``check``, the cost, the output
    directory) happens before the runner starts; an error is an :class:`ExperimentError` naming
    the key as written. Warnings raised during the run are recorded in ``summary.json``
    (``warnings``, each once) and re-emitted once each when the run ends; ``diverged_runs``
    counts the runs reported as diverged (:class:`DivergenceWarning`).
    """
    from ..config_checks import check_experiment
    from ..cost import check_cost

    workers = _check_workers(workers)
    spec = find_experiment(name)
    runner = get_runner(spec.runner)
    config = resolve_config(spec, overrides, seed)
    try:
        check_experiment(config, runner_hook(spec.runner, "check"), spec.runner)
    except ExperimentError as err:
        raise ExperimentError(f"{spec.path}: {err}" if spec.path is not None else str(err)) \
            from None
    cost = check_cost(spec.runner, estimate(spec.runner, config), workers=workers,
                      yes=yes or dry_run)
    target = out_dir if out_dir is not None else timestamped(DEFAULT_RUNS_DIR / spec.name)
    if dry_run:
        from ..outputs import check_target

        path = check_target(target, experiment=spec.runner, config=config, force=force)
        summary = {"experiment": spec.runner, "name": spec.name, "config": config,
                   "estimate": None if cost is None else cost.as_dict(workers)}
        return RunRecord(spec.name, path, summary, None, 0.0, ())
    directory = claim(target, experiment=spec.runner, config=config, force=force)
    interrupt.on_abort(directory.abort)
    try:
        record = _run_and_write(spec, runner, config, cost, workers, quiet, directory)
    except interrupt.Interrupted as err:
        err.outcome = directory.abort()  # the CLI prints "interrupted: <outcome>"
        raise
    except BaseException:
        directory.abort()
        raise
    finally:
        interrupt.remove_abort(directory.abort)
    for message in record.caught:
        warnings.warn_explicit(message.message, message.category, message.filename,
                               message.lineno)
    return record.record


@dataclass
class _Outcome:
    record: RunRecord
    caught: list


def _run_and_write(spec, runner, config, cost, workers, quiet,
                   directory: RunDirectory) -> _Outcome:
    out_dir = directory.path
    ctx = RunContext(out_dir=directory.staging, seed=config["seed"], workers=workers,
                     quiet=quiet)
    started = _dt.datetime.now(_dt.timezone.utc).astimezone()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, _solver_defaults(config):
        result = runner(copy.deepcopy(config), ctx)
    if not isinstance(result, ExperimentResult):
        raise TypeError(f"runner of {spec.runner!r} returned {type(result).__name__}, "
                        "expected ExperimentResult")
    caught = _unique_warnings(caught)
    texts = [f"{w.category.__name__}: {w.message}" for w in caught]
    non_finite = _non_finite_keys(result.summary)
    if non_finite:
        shown = ", ".join(f"{k} = {v}" for k, v in non_finite[:5])
        more = "" if len(non_finite) <= 5 else f" (and {len(non_finite) - 5} more)"
        texts.append(f"NonFinite: {len(non_finite)} key number(s) are not finite (null in "
                     f"summary.json): {shown}{more}")
    diverged = _diverged_runs(caught)
    summary = {
        "experiment": spec.runner,
        "name": spec.name,
        "description": spec.description,
        "config": config,
        "seed": config["seed"],
        "workers": workers,
        "started_at": started.isoformat(timespec="seconds"),
        "wall_time_s": None,
        "environment": environment_info(),
        "estimate": None if cost is None else cost.as_dict(workers),
        "warnings": texts,
        "diverged_runs": diverged,
    }
    if spec.path is not None:
        summary["config_file"] = str(spec.path)
    # The runner's key numbers stand at the top level (summary["slope"], summary["table"], ...),
    # next to the bookkeeping keys above, which they may not shadow.
    clash = set(RESERVED_SUMMARY_KEYS) & set(result.summary)
    if clash:
        raise TypeError(f"runner of {spec.runner!r} returned reserved summary keys "
                        f"{sorted(clash)}")
    interrupt.check()  # an interrupt during the run: write nothing
    # Everything is written into the staging directory, then moved into place at once: a full
    # disk or an error leaves the earlier files as they were. A Ctrl-C now takes effect once the
    # files are complete (writing takes well under a second).
    with interrupt.deferred():
        stage = directory.staging
        try:
            write_npz(stage / DATA_FILE, **result.arrays)
            if result.figure is not None:
                save_figure(result.figure, stage / FIGURE_FILE)
            wall_time = time.perf_counter() - t0  # the run and its data and figure files
            summary["wall_time_s"] = round(wall_time, 3)
            summary.update(result.summary)
            write_json(stage / SUMMARY_FILE, summary)  # last: marks a complete run
            files = directory.commit()
        except OSError as err:
            left = "its files are unchanged" if not directory.created else "nothing written"
            raise ExperimentError(f"cannot write the results to {out_dir} "
                                  f"({err.strerror or type(err).__name__}); {left}") from None
        finally:
            if result.figure is not None:
                import matplotlib.pyplot as plt

                plt.close(result.figure)
    record = RunRecord(spec.name, out_dir, summary, result, wall_time, tuple(files))
    return _Outcome(record, caught)


def _solver_defaults(config: dict):
    """The config's ``[solver]`` table as the default options of every solve of the run."""
    options = solver_options(config)
    if options is None:
        return contextlib.nullcontext()
    from ..continuous import solver_defaults

    return solver_defaults(options)


def _diverged_runs(caught) -> int:
    """Runs reported as diverged by the run's :class:`DivergenceWarning` s (their ``count``; a
    warning raised without one counts one run)."""
    total = 0
    for w in caught:
        if issubclass(w.category, DivergenceWarning):
            count = getattr(w.message, "count", None)
            total += 1 if count is None else int(count)
    return total


def _unique_warnings(caught) -> list:
    """The recorded warnings, each (category, message) once, in the order first raised."""
    seen, out = set(), []
    for w in caught:
        key = (w.category, str(w.message))
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out


def _non_finite_keys(obj, prefix: str = "") -> list:
    """(dotted key, value) of every NaN or infinite float in a runner's summary."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _non_finite_keys(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += _non_finite_keys(v, f"{prefix}[{i}]")
    elif isinstance(obj, np.ndarray):
        out += _non_finite_keys(obj.tolist(), prefix)
    elif isinstance(obj, (float, np.floating)) and not math.isfinite(float(obj)):
        out.append((prefix, float(obj)))
    return out
