"""Sweeps: one experiment over the Cartesian product of parameter values, locally or on Dask.

``sweep("weak-convergence", {"n_runs": [100, 200], "T": [5.0, 10.0]}, out="runs/s")`` runs each
point of the grid as a normal run (:func:`adam_ode.experiments.run_experiment`) and writes

- ``DIR/<point>/`` per point: its ``summary.json``, ``data.npz`` and ``figure.png``, exactly what
  ``adam-ode run`` writes;
- ``DIR/sweep.csv``: one row per point (grid values, seed, diverged runs, the run's scalar key
  numbers), in grid order, identical whichever machines ran the points;
- ``DIR/sweep.png``: the chosen key number (``metric``) over the grid;
- ``DIR/sweep.json``: the experiment, grid, overrides, root seed and each point's seed.

**Points and seeds.** A point is named by its canonical key string ``key=value,key=value`` (keys
in the order of the grid, values written as TOML, so each is a valid ``--set``). Its directory is
that string with characters other than letters, digits and ``._=+,-`` replaced by ``_`` (plus a
short hash when something was replaced or it is long). Its seed is::

    seed(point) = int.from_bytes(sha256(f"{root_seed}:{point}").digest()[:8], "big") >> 1

(63 bits; ``root_seed`` is the config's seed after ``--set`` and ``--seed``), unless ``seed`` is
itself a key of the grid, in which case the grid value is used. Any point can therefore be rerun
alone with the same bits: ``adam-ode run NAME --set key=value ... --seed <its seed>`` (the seed
is in the point's ``summary.json`` and in ``sweep.csv``).

**Resume.** A point whose ``summary.json`` exists with the same resolved config is not run
again, so rerunning a sweep after a crash only runs what is missing.

**Where points run.** Without a scheduler, on local processes (``spawn`` context: numba and
threads do not survive ``fork``); with ``scheduler="tcp://host:8786"``, on a running Dask
distributed cluster (``dask scheduler``, ``dask worker``; install the ``dask`` extra). A point
runs in a temporary directory of its worker, which returns the files' bytes; the client writes
them into ``DIR/<point>/``, so workers need no shared file system, and a worker that dies takes
nothing with it: the scheduler runs its points elsewhere.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import experiments as ex
from . import interrupt
from .outputs import DATA_FILE, FIGURE_FILE, SUMMARY_FILE
from .io import atomic_write, save_figure, to_jsonable, write_json

__all__ = ["sweep", "SweepTable", "SweepError", "parse_grid", "point_key", "point_seed",
           "point_dir_name", "draw_table", "check_scheduler_address", "SWEEP_CSV", "SWEEP_FIGURE",
           "SWEEP_MANIFEST"]

SWEEP_CSV = "sweep.csv"
SWEEP_FIGURE = "sweep.png"
SWEEP_MANIFEST = "sweep.json"
SEED_BYTES = 8  # bytes of sha256 taken for a point's seed (then >> 1: a 63-bit TOML integer)
MAX_DIR_NAME = 96  # longer point names are cut and completed by a hash
DIR_HASH_CHARS = 8
POINT_WORKERS = 1  # threads per point: the points themselves are the parallelism
DASK_CONNECT_TIMEOUT_S = 30  # seconds to reach the scheduler
DASK_WORKER_TIMEOUT_S = 60.0  # seconds to wait for a first worker (a cluster starting up)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+,\-]")
# Columns of sweep.csv taken from a point's summary besides its key numbers.
BOOKKEEPING_COLUMNS = ("seed", "diverged_runs")
# Keys of summary.json that are not key numbers (differ between runs or describe the run).
_NOT_KEY_NUMBERS = set(ex.RESERVED_SUMMARY_KEYS)
# Key numbers that are timings differ between runs: kept out of sweep.csv so that it is identical
# whichever machines ran the points.
TIMING_SUFFIXES = ("elapsed", "wall_time_s", "_seconds")
_RESULT_FILES = (DATA_FILE, FIGURE_FILE, SUMMARY_FILE)  # written in this order


class SweepError(RuntimeError):
    """Some points failed (the others were written, and ``sweep.csv`` lists them)."""

    def __init__(self, failed: dict, table=None):
        self.failed = dict(failed)
        self.table = table
        shown = "; ".join(f"{p} ({reason})" for p, reason in list(failed.items())[:3])
        more = "" if len(failed) <= 3 else f" and {len(failed) - 3} more"
        super().__init__(f"{len(failed)} sweep point(s) failed: {shown}{more}")


@dataclass
class SweepTable:
    """The result of :func:`sweep`: one row per point, in grid order.

    Attributes
    ----------
    keys : list of str
        The grid keys (the first columns).
    columns : list of str
        Every column of ``sweep.csv``.
    rows : list of dict
        Column -> value (grid values as given, numbers as floats/ints).
    out, csv_path, figure_path : Path
    ran, skipped : int
        Points run now, points already complete.
    warnings : list of str
        The warnings recorded by the points, each once.
    """

    keys: list
    columns: list
    rows: list
    out: Path
    csv_path: Path
    figure_path: Path | None = None
    ran: int = 0
    skipped: int = 0
    warnings: list = field(default_factory=list)

    def column(self, name: str) -> list:
        return [row.get(name) for row in self.rows]


# --------------------------------------------------------------------------------------------
# Points


def _toml(value) -> str:
    """``value`` as a TOML literal (the canonical text of a grid value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise ex.ExperimentError(f"grid value {value!r} cannot be written as TOML")


def point_key(point: dict) -> str:
    """The canonical key string of a point: ``key=value,key=value`` (values as TOML)."""
    return ",".join(f"{k}={_toml(v)}" for k, v in point.items())


def point_seed(root_seed: int, key: str) -> int:
    """The seed of the point ``key`` of a sweep with root seed ``root_seed`` (63 bits)."""
    digest = hashlib.sha256(f"{int(root_seed)}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:SEED_BYTES], "big") >> 1


def point_dir_name(key: str) -> str:
    """A file-system-safe directory name for the point ``key`` (stable across runs)."""
    safe = _UNSAFE.sub("_", key)
    if safe != key or len(safe) > MAX_DIR_NAME:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:DIR_HASH_CHARS]
        safe = f"{safe[:MAX_DIR_NAME - DIR_HASH_CHARS - 1]}-{digest}"
    return safe


def parse_grid(items) -> dict:
    """``["key=[v1, v2]", ...]`` (the ``--grid`` options) -> {key: [v1, v2]}."""
    grid = {}
    for text in items:
        key, value = ex.parse_override(text)
        if key in grid:
            raise ex.ExperimentError(f"--grid {key} given twice")
        grid[key] = value
    return grid


def _check_grid(grid) -> dict:
    if not isinstance(grid, dict) or not grid:
        raise ex.ExperimentError("the grid must give at least one key with a list of values")
    out = {}
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ex.ExperimentError(f"--grid {key} must be a non-empty list of values, e.g. "
                                     f"--grid '{key}=[1, 2]', got {values!r}")
        keys = [point_key({key: v}) for v in values]
        if len(set(keys)) != len(keys):
            raise ex.ExperimentError(f"--grid {key} repeats a value: {list(values)!r}")
        out[str(key)] = list(values)
    return out


@dataclass(frozen=True)
class _Point:
    key: str
    values: dict
    overrides: tuple
    seed: int
    dir_name: str
    config: dict  # the resolved config, JSON-normalised


def _points(spec, grid, overrides, seed, yes) -> tuple[list, int]:
    """Every point of the grid, resolved, checked and cost-checked before anything runs."""
    from .config_checks import check_experiment
    from .cost import check_cost

    base = ex.resolve_config(spec, overrides, seed)
    root_seed = base["seed"]
    keys = list(grid)
    points = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        values = dict(zip(keys, combo))
        key = point_key(values)
        point_overrides = tuple(overrides) + tuple(f"{k}={_toml(v)}" for k, v in values.items()
                                                   if k != "seed")
        s = int(values["seed"]) if "seed" in values else point_seed(root_seed, key)
        try:
            config = ex.resolve_config(spec, point_overrides, s)
            check_experiment(config, ex.runner_hook(spec.runner, "check"), spec.runner)
            check_cost(spec.runner, ex.estimate(spec.runner, config), workers=POINT_WORKERS,
                       yes=yes)
        except ex.ExperimentError as err:
            raise ex.ExperimentError(f"sweep point {key}: {err}") from None
        points.append(_Point(key, values, point_overrides, s, point_dir_name(key),
                             to_jsonable(config)))
    names = [p.dir_name for p in points]
    if len(set(names)) != len(names):  # pragma: no cover - would need a sha256 collision
        raise ex.ExperimentError("two sweep points map to the same directory name")
    return points, root_seed


# --------------------------------------------------------------------------------------------
# Running one point (in a worker process, local or Dask)


POINT_PREFIX = "adam-ode-point-"  # temporary directories of points: <prefix><client pid>-*


def _point_prefix(client_pid: int) -> str:
    return f"{POINT_PREFIX}{client_pid}-"


def _worker_init() -> None:
    """Local worker processes: SIGTERM (the client abandoning its points) unwinds the point, so
    that its temporary directory is removed (the kernels return to Python between chunks)."""
    import signal

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the client handles Ctrl-C


def _run_point(spec, overrides, seed, yes, client_pid=None) -> dict:
    """Run one point in a temporary directory; return its files' bytes and its summary."""
    interrupt.reset()
    prefix = _point_prefix(client_pid) if client_pid is not None else POINT_PREFIX
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        import warnings

        with warnings.catch_warnings(record=True):  # recorded in the point's summary.json
            record = ex.run_experiment(spec, overrides=list(overrides), out_dir=tmp / "run",
                                       seed=seed, workers=POINT_WORKERS, quiet=True, yes=yes)
        files = {name: (tmp / "run" / name).read_bytes() for name in _RESULT_FILES
                 if (tmp / "run" / name).exists()}
        return {"files": files, "wall_time_s": record.wall_time}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_point(directory: Path, files: dict) -> None:
    """Write a point's files atomically, summary.json last (it marks the point complete)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SUMMARY_FILE).unlink(missing_ok=True)
    with interrupt.deferred():
        for name in _RESULT_FILES:
            if name in files:
                with atomic_write(directory / name) as f:
                    f.write(files[name])


def _complete(directory: Path, point: _Point, force: bool = False) -> dict | None:
    """The summary of an already complete point (same config), or None; error if different."""
    path = directory / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable: run it again
    if summary.get("config") != point.config:
        if force:
            return None  # replaced by this sweep's point
        raise ex.ExperimentError(f"{directory} holds a run with another config (not point "
                                 f"{point.key} of this sweep); use another --out, or --force "
                                 "to replace it")
    return summary


# --------------------------------------------------------------------------------------------
# Executors


def _local_pool(workers: int):
    context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                  initializer=_worker_init)


@contextlib.contextmanager
def _main_module_hidden():
    """Start worker processes without re-running the caller's script.

    The ``spawn`` start method makes each worker import the parent's ``__main__`` (by path, or by
    name under ``python -m``) before it runs a task; a plain script calling :func:`sweep` at top
    level, without ``if __name__ == "__main__":``, would then call it again in every worker and
    the pool would break. The tasks are functions of this package, so the workers do not need
    the caller's module: its path and name are hidden while the workers start.
    """
    main = sys.modules.get("__main__")
    saved = {}
    for attr in ("__file__", "__spec__"):
        if main is not None and attr in vars(main):
            saved[attr] = vars(main)[attr]
    try:
        if main is not None:
            if "__file__" in saved:
                del main.__file__
            if "__spec__" in saved:
                main.__spec__ = None
        yield
    finally:
        for attr, value in saved.items():
            setattr(main, attr, value)


def _remove_point_directories(client_pid: int) -> None:
    for path in Path(tempfile.gettempdir()).glob(_point_prefix(client_pid) + "*"):
        shutil.rmtree(path, ignore_errors=True)


def _run_local(tasks, workers, on_result, on_ready):
    pool = _local_pool(workers)
    processes = []

    def abort():  # Ctrl-C or SIGTERM: the points still running in child processes are abandoned
        for process in processes or list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        for process in processes:
            process.join(timeout=2.0)
        _remove_point_directories(os.getpid())
        return None

    interrupt.on_abort(abort)
    try:
        on_ready()
        with _main_module_hidden():
            futures = {pool.submit(_run_point, *args, os.getpid()): index
                       for index, args in tasks}
        processes = list(getattr(pool, "_processes", {}).values())
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(pending, timeout=0.2,
                                                    return_when="FIRST_COMPLETED")
            interrupt.check()
            for fut in done:
                on_result(futures[fut], fut)
    except BaseException:
        abort()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        interrupt.remove_abort(abort)
    pool.shutdown(wait=True)


_ADDRESS = re.compile(r"(?:(tcp|tls|inproc|ucx|ws|wss)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)"
                      r"(?::(\d{1,5}))?/?")


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address ``[tcp://]host[:port]`` (one line naming the option if not)."""
    text = str(address).strip()
    m = _ADDRESS.fullmatch(text)
    if not text or m is None or (m.group(3) is not None and not 0 < int(m.group(3)) < 65536):
        raise ex.ExperimentError(f"--scheduler {address!r} is not a Dask scheduler address; "
                                 "expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    return text


def _run_dask(tasks, address, on_result, on_ready, log, worker_timeout):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ex.ExperimentError("--scheduler needs Dask: pip install 'adam-ode[dask]'") \
            from None
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ex.ExperimentError(f"cannot reach the Dask scheduler at {address} within "
                                 f"{DASK_CONNECT_TIMEOUT_S} s ({ex_message(err)})") from None
    try:
        if not client.scheduler_info().get("workers"):
            log(f"waiting up to {worker_timeout:g} s for a Dask worker to connect to {address} "
                f"(start one with: dask worker {address})")
            try:
                client.wait_for_workers(1, timeout=worker_timeout)
            except (TimeoutError, OSError):
                raise ex.ExperimentError(
                    f"no Dask worker connected to {address} within {worker_timeout:g} s; start "
                    f"one with: dask worker {address}") from None
        on_ready()
        futures = {}
        for index, args in tasks:
            fut = client.submit(_run_point, *args, pure=False,
                                key=f"adam-ode-point-{index}-{os.getpid()}-{time.time_ns()}")
            futures[fut] = index
        for fut in as_completed(list(futures), loop=client.loop):
            interrupt.check()
            on_result(futures[fut], fut)
    finally:
        client.close()


# --------------------------------------------------------------------------------------------
# The sweep


def _manifest(spec, grid, overrides, root_seed, points) -> dict:
    return {"experiment": spec.runner, "name": spec.name, "grid": grid, "overrides": overrides,
            "root_seed": root_seed,
            "seed_rule": "int.from_bytes(sha256(f'{root_seed}:{point}').digest()[:8], 'big') >> 1",
            "points": [{"point": p.key, "dir": p.dir_name, "seed": p.seed} for p in points]}


def _check_sweep_dir(out: Path, manifest: dict, force: bool) -> None:
    """Refuse a directory that holds another sweep, or a run, unless ``force``."""
    from .outputs import RESULT_FILES, holds_results

    if force:
        return
    previous = out / SWEEP_MANIFEST
    if previous.is_file():
        try:
            old = json.loads(previous.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        same = isinstance(old, dict) and all(
            old.get(k) == to_jsonable(manifest[k]) for k in ("experiment", "grid", "overrides",
                                                              "root_seed"))
        if not same:
            raise ex.ExperimentError(f"{out} holds another sweep (other experiment, grid, "
                                     "overrides or seed); choose another --out, or pass --force "
                                     "to replace its table")
    elif any(name in RESULT_FILES for name in holds_results(out)):
        raise ex.ExperimentError(f"{out} holds the results of a run, not a sweep; choose "
                                 "another --out, or pass --force")


def sweep(name_or_path, grid: dict, *, overrides=None, scheduler: str | None = None, out,
          seed: int | None = None, workers: int | None = None, metric: str | None = None,
          yes: bool = False, log=None, force: bool = False, dry_run: bool = False,
          worker_timeout: float = DASK_WORKER_TIMEOUT_S) -> SweepTable:
    """Run ``name_or_path`` at every point of ``grid`` (see the module docstring).

    Parameters
    ----------
    name_or_path : str or path
        A shipped experiment or a user's TOML file.
    grid : dict of key -> list of values
        The Cartesian product of the lists is the set of points (keys as for ``--set``,
        including dotted ones like ``problem.sigma``).
    overrides : list of "key=value" or dict, optional
        Applied at every point (before the point's own values).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); None: local processes.
    out : path
        The sweep directory (required). One that holds another sweep, or a run, is refused
        unless ``force``; the same sweep resumes.
    seed : int, optional
        Root seed (default: the config's).
    workers : int, optional
        Local processes (default: all cores; ignored with a scheduler).
    metric : str, optional
        The column of ``sweep.csv`` drawn in ``sweep.png`` (default: the first key number). It
        is checked against the first point's key numbers as soon as that point is complete.
    yes : bool
        Run points whose cost estimate is above the time limit.
    log : callable, optional
        Receives one line per finished point.
    force : bool
        Replace another sweep's table (and points of other configs) in ``out``.
    dry_run : bool
        Check every point and the directory, run nothing; returns the table of points.
    worker_timeout : float
        Seconds to wait for a first Dask worker to connect before giving up.

    Returns
    -------
    SweepTable

    Raises
    ------
    ExperimentError
        Before anything runs: a bad grid, config value of any point, cost, scheduler address or
        output directory; or a bad ``metric``, once the first point is complete.
    SweepError
        After the others were written, when some points failed.

    Called from a plain script, a sweep on local processes works with or without
    ``if __name__ == "__main__":`` (the workers do not re-run the script).
    """
    from .outputs import _existing_parent, _remove_created, check_out_path

    spec = ex.find_experiment(name_or_path)
    ex.get_runner(spec.runner)
    grid = _check_grid(grid)
    if isinstance(overrides, dict):
        overrides = [f"{k}={_toml(v)}" for k, v in overrides.items()]
    overrides = list(overrides or [])
    if out is None:
        raise ex.ExperimentError("a sweep needs an output directory (--out DIR)")
    out = check_out_path(out)
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    workers = ex._check_workers(workers)
    points, root_seed = _points(spec, grid, overrides, seed, yes)
    manifest = _manifest(spec, grid, overrides, root_seed, points)
    if out.exists() and not out.is_dir():
        raise ex.ExperimentError(f"output directory {out} exists and is not a directory")
    _check_sweep_dir(out, manifest, force)
    if dry_run:
        return _table(points, {}, list(grid), out)
    missing, _parent = _existing_parent(out)
    created = []
    try:
        for directory in reversed(missing):
            directory.mkdir()
            created.append(directory)
    except OSError as err:
        _remove_created(created)
        raise ex.ExperimentError(f"output directory {out} is not writable "
                                 f"({err.strerror or type(err).__name__})") from None
    log = log or (lambda text: None)

    summaries, todo = {}, []
    for index, point in enumerate(points):
        summary = _complete(out / point.dir_name, point, force)
        if summary is not None:
            summaries[index] = summary
        else:
            todo.append(index)
    if metric is not None and summaries:
        _check_metric(_table(points, summaries, list(grid), out), metric)
    skipped = len(summaries)
    if skipped:
        log(f"sweep: {skipped} of {len(points)} points already complete")

    def ready():  # the executor is reached: the sweep is under way
        write_json(out / SWEEP_MANIFEST, manifest)

    failed = {}
    finished = [0]

    def on_result(index, fut):
        point = points[index]
        try:
            result = fut.result()
        except interrupt.Interrupted:
            raise
        except Exception as err:  # a failing point must not cost the others
            failed[point.key] = f"{type(err).__name__}: {ex_message(err)}"
            log(f"point {point.key}: FAILED: {failed[point.key]}")
            return
        _write_point(out / point.dir_name, result["files"])
        summaries[index] = json.loads(result["files"][SUMMARY_FILE].decode("utf-8"))
        finished[0] += 1
        log(f"[{finished[0] + skipped}/{len(points)}] {point.key}: "
            f"{result['wall_time_s']:.2f} s")
        if metric is not None and len(summaries) == 1:
            _check_metric(_table(points, summaries, list(grid), out), metric,
                          f"; {len(summaries)} of {len(points)} points complete in {out}, rerun "
                          "with another --metric to run the others")

    tasks = [(i, (spec, points[i].overrides, points[i].seed, yes)) for i in todo]
    try:
        if tasks:
            if scheduler:
                _run_dask(tasks, scheduler, on_result, ready, log, worker_timeout)
            else:
                _run_local(tasks, min(workers, len(tasks)), on_result, ready)
        else:
            ready()
    except (interrupt.Interrupted, ex.ExperimentError) as err:
        done = len(summaries)
        if done == 0 and created:
            shutil.rmtree(created[-1], ignore_errors=True)
            _remove_created(created[:-1])
            outcome = f"nothing written to {out}"
        else:
            outcome = (f"{done} of {len(points)} points complete in {out}; rerun the same "
                       "command to run the others")
        if isinstance(err, interrupt.Interrupted):
            err.outcome = outcome
        raise

    table = _table(points, summaries, list(grid), out)
    table.ran, table.skipped = finished[0], skipped
    _write_csv(table)
    fig = draw_table(table, metric, spec.name)
    if fig is not None:
        from .runners._plot import pyplot

        table.figure_path = save_figure(fig, table.out / SWEEP_FIGURE)
        pyplot().close(fig)
    if failed:
        raise SweepError(failed, table)
    return table


def ex_message(err) -> str:
    return " ".join(str(err).split())


def _scalars(obj, prefix="") -> list:
    """(dotted key, value) of the numbers and booleans of a summary (lists skipped)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _scalars(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (bool, int, float)) and not prefix.endswith(TIMING_SUFFIXES):
        out.append((prefix, obj))
    return out


def _table(points, summaries, keys, out) -> SweepTable:
    columns = list(keys) + ["point"] + [c for c in BOOKKEEPING_COLUMNS if c not in keys]
    rows, warnings_seen = [], []
    for index, point in enumerate(points):
        summary = summaries.get(index)
        row = dict(point.values)
        row["point"] = point.key
        row["seed"] = point.seed
        if summary is not None:
            row["diverged_runs"] = summary.get("diverged_runs", 0)
            config_keys = set(summary.get("config", {}))
            for k, v in summary.items():
                if k in _NOT_KEY_NUMBERS or k in config_keys:
                    continue
                for name, value in _scalars(v, k):
                    row[name] = value
                    if name not in columns:
                        columns.append(name)
            for text in summary.get("warnings", []):
                if text not in warnings_seen:
                    warnings_seen.append(text)
        rows.append(row)
    return SweepTable(keys, columns, rows, out, out / SWEEP_CSV, warnings=warnings_seen)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)) or isinstance(value, bool):
        return _toml(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_csv(table: SweepTable) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(row.get(c)) for c in table.columns])
    with atomic_write(table.csv_path) as f:
        f.write(buffer.getvalue().encode("utf-8"))


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _key_numbers(table: SweepTable) -> list:
    return [c for c in table.columns if c not in table.keys and c != "point"
            and c not in BOOKKEEPING_COLUMNS]


def _check_metric(table: SweepTable, metric: str, more: str = "") -> None:
    if metric not in table.columns:
        shown = ", ".join(_key_numbers(table)[:12])
        rest = len(_key_numbers(table)) - 12
        raise ex.ExperimentError(f"--metric {metric!r} is not a column of {SWEEP_CSV}; key "
                                 f"numbers: {shown}" + (f" (and {rest} more)" if rest > 0 else "")
                                 + more)


def draw_table(table: SweepTable, metric, name: str):
    """``metric`` over the grid: against the first key, one line per other combination (a
    figure, or None when the table has no numeric column to draw)."""
    key_numbers = _key_numbers(table)
    if metric is None:
        numeric = [c for c in key_numbers if _numeric([v for v in table.column(c)
                                                       if v is not None])]
        if not numeric:
            return None
        metric = numeric[0]
    else:
        _check_metric(table, metric)
    from .runners._plot import FIGSIZE_PANEL, STYLE, pyplot

    plt = pyplot()
    first, rest = table.keys[0], table.keys[1:]
    xs = [row[first] for row in table.rows]
    x_numeric = _numeric(xs)
    categories = list(dict.fromkeys(_toml(x) for x in xs))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FIGSIZE_PANEL[0] * 1.4, FIGSIZE_PANEL[1]),
                               layout="constrained")
        groups = {}
        for row in table.rows:
            label = ", ".join(f"{k} = {_toml(row[k])}" for k in rest)
            groups.setdefault(label, []).append(row)
        for label, rows in groups.items():
            x = [r[first] if x_numeric else categories.index(_toml(r[first])) for r in rows]
            y = [math.nan if r.get(metric) is None else float(r[metric]) for r in rows]
            ax.plot(x, y, "o-", label=label or None)
        if x_numeric and all(x > 0 for x in xs) and max(xs) / min(xs) >= 10:
            ax.set_xscale("log")
        if not x_numeric:
            ax.set_xticks(range(len(categories)), categories, rotation=20, ha="right")
        ax.set_xlabel(first)
        ax.set_ylabel(metric)
        ax.set_title(f"{name}: {metric} over the grid ({len(table.rows)} points)")
        if rest:
            ax.legend(fontsize=8)
    return fig
