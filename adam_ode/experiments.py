"""Experiment framework: TOML configs, registered runners, resolved configs and result files.

An experiment is

- a commented TOML file ``experiments/<name>.toml`` holding a one-line ``description`` and the
  default value of every parameter (the file is the documentation of the parameters), and
- a runner ``run(config, ctx) -> ExperimentResult`` registered with ``@register("<name>")`` in a
  module of :mod:`adam_ode.runners`.

:func:`run_experiment` resolves the config (defaults, then ``--set key=value`` overrides parsed as
TOML and type-checked against the defaults), calls the runner and writes, atomically, into the
output directory: ``data.npz`` (the runner's arrays), ``figure.png`` and, last, ``summary.json``
(experiment, resolved config, seed, workers, environment, start time, wall time and, at the top level
beside them, the runner's key numbers). A complete ``summary.json`` therefore marks a finished run.

Configuration errors raise :class:`ExperimentError` (a ``ValueError``) naming the key.
"""

from __future__ import annotations

import copy
import datetime as _dt
import importlib
import os
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._validation import ParameterError
from .io import environment_info, save_figure, write_json, write_npz
from .progress import Progress

__all__ = [
    "ExperimentError",
    "ReproduceError",
    "ExperimentResult",
    "RunContext",
    "RunRecord",
    "register",
    "registered_runners",
    "get_runner",
    "experiments_dir",
    "list_experiments",
    "load_config",
    "parse_override",
    "resolve_config",
    "run_experiment",
    "reproduce",
    "ENV_EXPERIMENTS_DIR",
    "DEFAULT_RUNS_DIR",
    "DEFAULT_FIGURES_DIR",
]

ENV_EXPERIMENTS_DIR = "ADAM_ODE_EXPERIMENTS"  # overrides where the TOML configs are looked up
DEFAULT_RUNS_DIR = Path("runs")  # `run` writes to runs/<experiment>/ unless --out is given
DEFAULT_FIGURES_DIR = Path("figures")  # `reproduce` writes to figures/<experiment>/
DEFAULT_SEED = 0
SUMMARY_FILE = "summary.json"
DATA_FILE = "data.npz"
FIGURE_FILE = "figure.png"
# Keys of a TOML file that are not parameters of the experiment.
META_KEYS = ("description",)
# A --set value that is not valid TOML is taken as a string when it looks like a bare name.
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")


class ReproduceError(RuntimeError):
    """Some experiments of :func:`reproduce` failed (the others were still run and written)."""

    def __init__(self, failed: dict):
        self.failed = dict(failed)
        super().__init__(f"{len(failed)} experiment(s) failed: " + "; ".join(
            f"{name} ({reason})" for name, reason in failed.items()))


class ExperimentError(ParameterError):
    """A configuration or usage error (unknown experiment or key, wrong type, bad value)."""


# --------------------------------------------------------------------------------------------
# Results and context


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
        Output directory (already created); runners may write extra files there.
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

    def progress(self, total: int, desc: str = "") -> Progress:
        """A progress bar (context manager with ``update(n)``; also callable as a callback)."""
        return Progress(total, desc=desc, quiet=self.quiet)

    def seed_sequence(self) -> np.random.SeedSequence:
        """``np.random.SeedSequence(seed)``: spawn one child per independent random stream."""
        return np.random.SeedSequence(self.seed)


@dataclass(frozen=True)
class RunRecord:
    """What :func:`run_experiment` did: the written summary, the runner's result and the files."""

    name: str
    out_dir: Path
    summary: dict
    result: ExperimentResult
    wall_time: float
    files: tuple


# --------------------------------------------------------------------------------------------
# Registry


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
    importlib.import_module(".runners", __package__)
    return dict(_RUNNERS)


def get_runner(name: str):
    """The runner of ``name``; :class:`ExperimentError` if unknown or without a runner yet."""
    runners = registered_runners()
    if name in runners:
        return runners[name]
    known = list_experiments()
    if name in known:
        raise ExperimentError(f"experiment {name!r} has a config ({experiments_dir() / name}.toml)"
                              f" but no registered runner yet; runners available: "
                              f"{', '.join(sorted(runners)) or 'none'}")
    raise ExperimentError(f"unknown experiment {name!r}; known experiments: "
                          f"{', '.join(known)}")


# --------------------------------------------------------------------------------------------
# Configs


def experiments_dir() -> Path:
    """Directory of the experiment TOML files.

    ``$ADAM_ODE_EXPERIMENTS`` if set; else ``experiments/`` at the root of the source tree that
    holds this package (editable install); else ``./experiments``.
    """
    env = os.environ.get(ENV_EXPERIMENTS_DIR)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ExperimentError(f"{ENV_EXPERIMENTS_DIR}={env} is not a directory")
        return path
    from . import __file__ as package_file

    candidates = [Path(package_file).resolve().parents[1] / "experiments",
                  Path.cwd() / "experiments"]
    for path in candidates:
        if path.is_dir():
            return path
    raise ExperimentError("no experiments directory found (looked in "
                          + ", ".join(str(p) for p in candidates)
                          + f"); set {ENV_EXPERIMENTS_DIR} to the directory of the TOML configs")


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(f"{path}: invalid TOML: {err}") from None


def list_experiments() -> dict:
    """Name -> one-line description, for every ``*.toml`` in :func:`experiments_dir` (sorted)."""
    out = {}
    for path in sorted(experiments_dir().glob("*.toml")):
        out[path.stem] = str(_read_toml(path).get("description", "")).strip()
    return out


def load_config(name: str) -> tuple[dict, str]:
    """Default parameters and description of experiment ``name`` from its TOML file."""
    path = experiments_dir() / f"{name}.toml"
    if not path.is_file():
        raise ExperimentError(f"unknown experiment {name!r}; known experiments: "
                              f"{', '.join(list_experiments())}")
    raw = _read_toml(path)
    description = str(raw.get("description", "")).strip()
    config = {k: v for k, v in raw.items() if k not in META_KEYS}
    config.setdefault("seed", DEFAULT_SEED)
    return config, description


def parse_override(text: str) -> tuple[str, object]:
    """Parse ``key=value``; the value is TOML (``0.1``, ``[1, 2]``, ``{name = "double-well"}``).

    A value that is not valid TOML is taken as a number if ``float`` accepts it (``.5``) and as a
    string if it is a bare name (``double-well``); otherwise the TOML error is reported.
    """
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise ExperimentError(f"--set expects key=value, got {text!r}")
    try:
        return key, tomllib.loads(f"value = {value}")["value"]
    except tomllib.TOMLDecodeError as err:
        try:
            return key, float(value)
        except ValueError:
            pass
        if _BARE_WORD.fullmatch(value):
            return key, value
        raise ExperimentError(f"--set {key}: cannot parse {value!r} as a TOML value ({err}); "
                              "quote strings, e.g. key='\"text\"'") from None


def _type_name(default) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float (or int)"
    if isinstance(default, str):
        return "string"
    if isinstance(default, dict):
        return "table"
    if isinstance(default, list):
        return f"list of {_type_name(default[0])}" if default else "list"
    return type(default).__name__


def _check_value(key: str, value, default):
    """``value`` converted to the type of ``default``, or :class:`ExperimentError`."""
    def fail():
        expected = _type_name(default)
        article = "an" if expected[0] in "aeiou" else "a"
        raise ExperimentError(f"{key} must be {article} {expected} (like the default "
                              f"{default!r}), got {value!r} ({type(value).__name__})")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            fail()
        return value
    if isinstance(default, int):
        if isinstance(value, bool):
            fail()
        if isinstance(value, float) and value.is_integer():
            return int(value)  # --set n_runs=1e4
        if not isinstance(value, int):
            fail()
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail()
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            fail()
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            fail()
        if not default:
            return value
        return [_check_value(f"{key}[{i}]", item, default[0]) for i, item in enumerate(value)]
    if isinstance(default, dict):
        if key == "problem" and isinstance(value, str):
            return {"name": value}  # make_problem also accepts a bare problem name
        if not isinstance(value, dict):
            fail()
        return value
    return value


def _set_dotted(config: dict, key: str, value) -> None:
    """Apply one override; ``problem.p=0.5`` sets one entry of the ``problem`` table."""
    head, _, rest = key.partition(".")
    if head not in config:
        raise ExperimentError(f"unknown key {head!r}; known keys: {', '.join(sorted(config))}")
    if not rest:
        config[key] = _check_value(key, value, config[key])
        return
    table = config[head]
    if not isinstance(table, dict):
        raise ExperimentError(f"{key}: {head!r} is a {_type_name(table)}, not a table")
    table = dict(table)
    config[head] = table
    if "." in rest:
        _set_dotted(table, rest, value)
    elif rest in table:
        table[rest] = _check_value(key, value, table[rest])
    else:
        table[rest] = value  # new table entries (e.g. problem parameters) are checked downstream


def resolve_config(name: str, overrides=(), seed: int | None = None) -> dict:
    """Defaults of ``name`` updated by ``overrides`` (``"key=value"`` strings or a dict).

    ``seed`` (the ``--seed`` option), when given, replaces the config's ``seed``. A ``problem``
    table is checked by building it with :func:`adam_ode.problems.make_problem`.
    """
    config, _ = load_config(name)
    config = copy.deepcopy(config)
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    for key, value in items:
        try:
            _set_dotted(config, key, value)
        except ExperimentError as err:
            raise ExperimentError(f"experiment {name!r}: {err}") from None
    if seed is not None:
        config["seed"] = seed
    config["seed"] = _check_seed("seed", config["seed"])
    if "problem" in config:
        from .problems import make_problem

        try:
            make_problem(config["problem"])
        except ValueError as err:
            raise ExperimentError(f"problem: {err}") from None
    return config


def _check_seed(name, seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ExperimentError(f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)


def _check_workers(workers) -> int:
    if workers is None:  # default: every core (results do not depend on the thread count)
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ExperimentError(f"workers must be an integer >= 1, got {workers!r}")
    return int(workers)


# --------------------------------------------------------------------------------------------
# Running


def run_experiment(name: str, overrides=(), out_dir=None, seed: int | None = None,
                   workers: int | None = None, quiet: bool = False) -> RunRecord:
    """Resolve the config of ``name``, run its runner and write the result files.

    Parameters
    ----------
    name : str
        Experiment name (a TOML file in :func:`experiments_dir` with a registered runner).
    overrides : iterable of "key=value" strings, or dict
        Config overrides (see :func:`parse_override`).
    out_dir : path, optional
        Output directory (default ``runs/<name>``), created if needed.
    seed : int, optional
        Overrides the config's ``seed``.
    workers : int ≥ 1, optional
        Worker threads offered to the runner (default: all cores).
    quiet : bool
        No progress bars.

    Returns
    -------
    RunRecord
    """
    workers = _check_workers(workers)
    runner = get_runner(name)
    _, description = load_config(name)
    config = resolve_config(name, overrides, seed)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_RUNS_DIR / name
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(out_dir=out_dir, seed=config["seed"], workers=workers, quiet=quiet)

    started = _dt.datetime.now(_dt.timezone.utc).astimezone()
    t0 = time.perf_counter()
    result = runner(copy.deepcopy(config), ctx)
    if not isinstance(result, ExperimentResult):
        raise TypeError(f"runner of {name!r} returned {type(result).__name__}, "
                        "expected ExperimentResult")
    # summary.json marks a complete run: drop a stale one before the new files replace the old.
    (out_dir / SUMMARY_FILE).unlink(missing_ok=True)
    files = [write_npz(out_dir / DATA_FILE, **result.arrays)]
    if result.figure is not None:
        files.append(save_figure(result.figure, out_dir / FIGURE_FILE))
        import matplotlib.pyplot as plt

        plt.close(result.figure)
    wall_time = time.perf_counter() - t0  # the run and its data and figure files
    summary = {
        "experiment": name,
        "description": description,
        "config": config,
        "seed": config["seed"],
        "workers": workers,
        "started_at": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time, 3),
        "environment": environment_info(),
    }
    # The runner's key numbers stand at the top level (summary["slope"], summary["table"], ...),
    # next to the bookkeeping keys above, which they may not shadow.
    clash = set(summary) & set(result.summary)
    if clash:
        raise TypeError(f"runner of {name!r} returned reserved summary keys {sorted(clash)}")
    summary.update(result.summary)
    files.append(write_json(out_dir / SUMMARY_FILE, summary))  # last: marks a complete run
    return RunRecord(name, out_dir, summary, result, wall_time, tuple(files))


def reproduce(out_root=None, workers: int | None = None, quiet: bool = False, only=None,
              log=print) -> list:
    """Run every registered experiment with its default config into ``out_root/<name>/``.

    Parameters
    ----------
    out_root : path, optional
        Default ``figures`` (relative to the current directory).
    workers, quiet
        As in :func:`run_experiment`.
    only : list of str, optional
        Restrict to these experiments (each must have a config and a runner).
    log : callable
        Receives one line per experiment (name, wall time) and the total.

    Returns
    -------
    list of RunRecord

    Raises
    ------
    ReproduceError
        After running all of them, when some experiments failed (named with their error).
    """
    workers = _check_workers(workers)
    out_root = Path(out_root) if out_root is not None else DEFAULT_FIGURES_DIR
    runners = registered_runners()
    configs = list_experiments()
    if only:
        for name in only:
            get_runner(name)  # raises a clear error for unknown or runner-less names
        names = list(dict.fromkeys(only))
    else:
        names = [n for n in configs if n in runners]
        missing = [n for n in configs if n not in runners]
        if missing:
            log(f"skipping (no runner registered yet): {', '.join(missing)}")
    records = []
    t0 = time.perf_counter()
    width = max((len(n) for n in names), default=0)
    failed = {}
    for name in names:
        try:
            rec = run_experiment(name, out_dir=out_root / name, workers=workers, quiet=quiet)
        except Exception as err:  # one broken experiment must not cost the other figures
            failed[name] = f"{type(err).__name__}: {err}"
            log(f"{name:<{width}}  FAILED: {failed[name]}")
            continue
        records.append(rec)
        log(f"{name:<{width}}  {rec.wall_time:8.2f} s  -> {rec.out_dir}")
    plural = "" if len(records) == 1 else "s"
    log(f"{'total':<{width}}  {time.perf_counter() - t0:8.2f} s  "
        f"({len(records)} experiment{plural})")
    if failed:
        raise ReproduceError(failed)
    return records
