"""Experiment framework: TOML configs, registered runners, resolved configs and result files.

An experiment is

- a commented TOML file ``experiments/<name>.toml`` holding a one-line ``description`` and the
  default value of every parameter (the file is the documentation of the parameters); the files
  ship inside the package as ``adam_ode/configs/*.toml`` and are read with
  :mod:`importlib.resources`, so any install runs them from any directory; and
- a runner ``run(config, ctx) -> ExperimentResult`` registered with ``@register("<name>")`` in a
  module of :mod:`adam_ode.runners`.

A user's own TOML file (``adam-ode run path/to/my.toml``) names the experiment it configures
(``experiment = "weak-convergence"``) and gives every parameter of that experiment: a missing or
an unknown key, or a value of the wrong type, is an error naming the file and the key.

:func:`run_experiment` resolves the config (defaults, then ``--set key=value`` overrides parsed as
TOML and type-checked against the defaults), estimates its cost (:mod:`adam_ode.cost`) and checks
the output directory *before* computing, calls the runner and writes, atomically, into the
output directory: ``data.npz`` (the runner's arrays), ``figure.png`` and, last, ``summary.json``
(experiment, resolved config, seed, workers, environment, start time, wall time, the cost
estimate, the warnings raised during the run and the number of diverged runs and, at the top
level beside them, the runner's key numbers). A complete ``summary.json`` therefore marks a
finished run. An output directory created by a run that fails or is interrupted is removed again.

Configuration errors raise :class:`ExperimentError` (a ``ValueError``) naming the key.
"""

from __future__ import annotations

import copy
import datetime as _dt
import importlib
import importlib.resources
import math
import os
import re
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import interrupt
from ._validation import DivergenceWarning, ExperimentError
from .io import environment_info, save_figure, write_json, write_npz
from .outputs import DATA_FILE, FIGURE_FILE, SUMMARY_FILE, RunDirectory, claim, timestamped
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
    "ExperimentSpec",
    "find_experiment",
    "config_text",
    "parse_override",
    "resolve_config",
    "run_experiment",
    "reproduce",
    "ENV_EXPERIMENTS_DIR",
    "DEFAULT_RUNS_DIR",
    "DEFAULT_FIGURES_DIR",
]

ENV_EXPERIMENTS_DIR = "ADAM_ODE_EXPERIMENTS"  # overrides where the TOML configs are looked up
PACKAGE_CONFIGS = "configs"  # the configs inside the installed package: adam_ode/configs/*.toml
DEFAULT_RUNS_DIR = Path("runs")  # `run` writes to runs/<name>/<timestamp>/ unless --out is given
DEFAULT_FIGURES_DIR = Path("figures")  # `reproduce` writes to figures/<experiment>/
DEFAULT_SEED = 0
# Keys of a TOML file that are not parameters of the experiment: its one-line description and, in
# a user's own file, the experiment (runner) it configures.
META_KEYS = ("description", "experiment")
EXPERIMENT_KEY = "experiment"
# Keys of summary.json that the framework fills in (a runner's key numbers may not reuse them).
RESERVED_SUMMARY_KEYS = ("experiment", "name", "description", "config", "config_file", "seed",
                         "workers", "started_at", "wall_time_s", "environment", "estimate",
                         "warnings", "diverged_runs")
# "k of n runs of <optimizer> diverged": the counts in a DivergenceWarning's message.
_DIVERGED = re.compile(r"(\d+) of (\d+) runs\b")
# A --set value that is not valid TOML is taken as a string when it looks like a bare name.
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")


class ReproduceError(RuntimeError):
    """Some experiments of :func:`reproduce` failed (the others were still run and written)."""

    def __init__(self, failed: dict):
        self.failed = dict(failed)
        super().__init__(f"{len(failed)} experiment(s) failed: " + "; ".join(
            f"{name} ({reason})" for name, reason in failed.items()))


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
        raise ExperimentError(f"experiment {name!r} has a config ({name}.toml)"
                              f" but no registered runner yet; runners available: "
                              f"{', '.join(sorted(runners)) or 'none'}")
    raise ExperimentError(f"unknown experiment {name!r}; known experiments: "
                          f"{', '.join(known)}")


# --------------------------------------------------------------------------------------------
# Configs


def experiments_dir() -> Path:
    """Directory of the experiment TOML files.

    ``$ADAM_ODE_EXPERIMENTS`` if set; else the configs shipped in the package
    (``adam_ode/configs``, found with :mod:`importlib.resources`: a regular or wheel install);
    else ``experiments/`` at the root of the source tree that holds this package (editable
    install, where the configs stay in the repository).
    """
    env = os.environ.get(ENV_EXPERIMENTS_DIR)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ExperimentError(f"{ENV_EXPERIMENTS_DIR}={env} is not a directory")
        return path
    packaged = importlib.resources.files(__package__) / PACKAGE_CONFIGS
    if packaged.is_dir():
        return Path(str(packaged))
    from . import __file__ as package_file

    source = Path(package_file).resolve().parents[1] / "experiments"
    if source.is_dir():
        return source
    raise ExperimentError(f"the experiment configs are missing from this install (looked in "
                          f"{packaged} and {source}); reinstall adam-ode or set "
                          f"{ENV_EXPERIMENTS_DIR} to the directory of the TOML configs")


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(f"{path}: invalid TOML: {err}") from None
    except UnicodeDecodeError as err:
        raise ExperimentError(f"{path}: not a UTF-8 text file (byte {err.start}: "
                              f"{err.object[err.start:err.start + 1]!r}); TOML files are UTF-8, "
                              "save it in that encoding") from None
    except IsADirectoryError:
        raise ExperimentError(f"{path} is a directory, not a TOML file") from None
    except OSError as err:
        raise ExperimentError(f"{path}: cannot read ({err.strerror})") from None


def list_experiments() -> dict:
    """Name -> one-line description, for every ``*.toml`` in :func:`experiments_dir` (sorted)."""
    out = {}
    for path in sorted(experiments_dir().glob("*.toml")):
        out[path.stem] = str(_read_toml(path).get("description", "")).strip()
    return out


def load_config(name: str) -> tuple[dict, str]:
    """Default parameters and description of the shipped experiment ``name``."""
    path = experiments_dir() / f"{name}.toml"
    if not path.is_file():
        raise ExperimentError(f"unknown experiment {name!r}; known experiments: "
                              f"{', '.join(list_experiments())} (or give the path of a .toml "
                              "file)")
    raw = _read_toml(path)
    description = str(raw.get("description", "")).strip()
    config = {k: v for k, v in raw.items() if k not in META_KEYS}
    config.setdefault("seed", DEFAULT_SEED)
    return config, description


def config_text(name: str) -> str:
    """The commented TOML text of the shipped experiment ``name`` (what ``adam-ode init`` copies)."""
    load_config(name)  # a clear error for unknown names
    return (experiments_dir() / f"{name}.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ExperimentSpec:
    """An experiment to run: a shipped one, or a user's TOML file naming its runner.

    Attributes
    ----------
    name : str
        The shipped name, or the file's stem (``my`` for ``path/to/my.toml``): the default output
        directory is ``runs/<name>/<timestamp>``.
    runner : str
        The registered runner (= the shipped experiment whose parameters the file gives).
    defaults : dict
        Parameters before ``--set`` overrides (type-checked against the shipped defaults).
    description : str
    path : Path or None
        The user's file; None for a shipped experiment.
    """

    name: str
    runner: str
    defaults: dict
    description: str
    path: Path | None = None


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or os.sep in text


def find_experiment(name_or_path) -> ExperimentSpec:
    """The :class:`ExperimentSpec` of a shipped name or of a user's ``.toml`` file.

    A file must name its experiment (``experiment = "weak-convergence"``) and give every parameter
    of it (``seed`` may be left out); unknown keys and wrong types are errors naming the file.
    """
    if isinstance(name_or_path, ExperimentSpec):
        return name_or_path
    text = os.fspath(name_or_path)
    if not isinstance(name_or_path, os.PathLike) and not _looks_like_path(text):
        defaults, description = load_config(text)
        return ExperimentSpec(text, text, defaults, description)
    path = Path(text)
    if not path.exists():
        raise ExperimentError(f"{path}: no such file")
    raw = _read_toml(path)
    known = list_experiments()
    if EXPERIMENT_KEY not in raw:
        raise ExperimentError(f"{path}: missing key {EXPERIMENT_KEY!r} (the experiment this file "
                              f"configures, one of: {', '.join(known)})")
    runner = raw[EXPERIMENT_KEY]
    if not isinstance(runner, str) or runner not in known:
        raise ExperimentError(f"{path}: {EXPERIMENT_KEY} = {runner!r} is not a known experiment; "
                              f"known experiments: {', '.join(known)}")
    base, base_description = load_config(runner)
    params = {k: v for k, v in raw.items() if k not in META_KEYS}
    missing = [k for k in base if k not in params and k != "seed"]
    if missing:
        more = "" if len(missing) == 1 else f" (and {', '.join(map(repr, missing[1:]))})"
        raise ExperimentError(f"{path}: missing key {missing[0]!r}{more}: experiment {runner!r} "
                              f"needs {', '.join(k for k in base if k != 'seed')}")
    for key in params:
        if key not in base:
            raise ExperimentError(f"{path}: unknown key {key!r}; keys of experiment {runner!r}: "
                                  f"{', '.join(sorted(base))}")
    config = dict(base)
    for key, value in params.items():
        try:
            config[key] = _check_value(key, value, base[key])
        except ExperimentError as err:
            raise ExperimentError(f"{path}: {err}") from None
    config = _relative_data_path(config, path.parent)
    description = str(raw.get("description", base_description)).strip()
    return ExperimentSpec(path.stem, runner, config, description, path)


def _relative_data_path(config: dict, base: Path) -> dict:
    """A problem's ``data`` file given relative to a TOML file is looked up next to that file;
    its ``factory`` file (``FILE.py:function``) is always relative to the TOML file."""
    problem = config.get("problem")
    if isinstance(problem, dict) and isinstance(problem.get("data"), str):
        data = Path(problem["data"])
        if not data.is_absolute() and not data.exists() and (base / data).exists():
            config["problem"] = {**problem, "data": str(base / data)}
    problem = config.get("problem")
    if isinstance(problem, dict) and isinstance(problem.get("factory"), str):
        file, sep, func = problem["factory"].rpartition(":")
        if sep and file.endswith(".py") and not Path(file).is_absolute():
            config["problem"] = {**problem, "factory": f"{(base / file).resolve()}:{func}"}
    return config


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


def resolve_config(name, overrides=(), seed: int | None = None) -> dict:
    """Defaults of ``name`` updated by ``overrides`` (``"key=value"`` strings or a dict).

    ``name`` is a shipped experiment, the path of a user's TOML file or an
    :class:`ExperimentSpec`. ``seed`` (the ``--seed`` option), when given, replaces the config's
    ``seed``. A ``problem`` table is checked by building it with
    :func:`adam_ode.problems.make_problem`; ranges are checked by
    :func:`adam_ode.config_checks.check_experiment`.
    """
    spec = find_experiment(name)
    config = copy.deepcopy(spec.defaults)
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    for key, value in items:
        try:
            _set_dotted(config, key, value)
        except ExperimentError as err:
            raise ExperimentError(f"experiment {spec.name!r}: {err}") from None
    if seed is not None:
        config["seed"] = seed
    config["seed"] = _check_seed("seed", config["seed"])
    if "problem" in config:
        _check_problem(config["problem"])
    return config


def _check_problem(spec) -> None:
    from .problems import make_problem

    try:
        make_problem(spec)
    except ValueError as err:
        data = spec.get("data") if isinstance(spec, dict) else None
        if data is None:
            raise ExperimentError(f"problem: {err}") from None
        hint = ""
        if str(data).lower().endswith((".csv", ".txt", ".tsv")) and "cannot read" not in str(err):
            hint = (" (a CSV file must hold comma-separated numbers only, no header row, "
                    "the last column being y)")
        raise ExperimentError(f"problem.data {data}: {err}{hint}") from None


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
    from .config_checks import check_experiment
    from .cost import check_cost

    workers = _check_workers(workers)
    spec = find_experiment(name)
    runner = get_runner(spec.runner)
    config = resolve_config(spec, overrides, seed)
    try:
        check_experiment(spec.runner, config)
    except ExperimentError as err:
        raise ExperimentError(f"{spec.path}: {err}" if spec.path is not None else str(err)) \
            from None
    cost = check_cost(spec.runner, config, workers=workers, yes=yes or dry_run)
    target = out_dir if out_dir is not None else timestamped(DEFAULT_RUNS_DIR / spec.name)
    if dry_run:
        from .outputs import check_target

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
    with warnings.catch_warnings(record=True) as caught:
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


def _diverged_runs(caught) -> int:
    """Runs reported as diverged by the run's :class:`DivergenceWarning` s (structured counts
    where the warning carries them, else the "k of n runs" of its text)."""
    total = 0
    for w in caught:
        if not issubclass(w.category, DivergenceWarning):
            continue
        count = getattr(w.message, "count", None)
        if count is None:
            m = _DIVERGED.search(str(w.message))
            count = int(m.group(1)) if m else 0
        total += int(count)
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


def reproduce(out_root=None, workers: int | None = None, quiet: bool = False, only=None,
              log=print, yes: bool = False, force: bool = False) -> list:
    """Run every registered experiment with its default config into ``out_root/<name>/``.

    Parameters
    ----------
    out_root : path, optional
        Default ``figures`` (relative to the current directory).
    workers, quiet, yes, force
        As in :func:`run_experiment`: a directory ``out_root/<name>/`` holding the same
        experiment's run with the same config (the committed figures) is replaced; anything
        else there needs ``force``.
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
    from .outputs import check_out_path

    out_root = check_out_path(out_root) if out_root is not None else DEFAULT_FIGURES_DIR
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
            rec = run_experiment(name, out_dir=out_root / name, workers=workers, quiet=quiet,
                                 yes=yes, force=force)
        except interrupt.Interrupted:
            raise
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
