"""Experiment configs: the shipped TOML files, users' own files, ``--set`` overrides and their
type checks against the defaults (:func:`resolve_config`)."""

from __future__ import annotations

import copy
import importlib.resources
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import ExperimentError

__all__ = ["experiments_dir", "list_experiments", "load_config", "config_text", "ExperimentSpec",
           "find_experiment", "parse_override", "resolve_config", "solver_options",
           "ENV_EXPERIMENTS_DIR", "DEFAULT_SEED", "SOLVER_KEY"]

ENV_EXPERIMENTS_DIR = "ADAM_ODE_EXPERIMENTS"  # overrides where the TOML configs are looked up
PACKAGE_CONFIGS = "configs"  # the configs inside the installed package: adam_ode/configs/*.toml
DEFAULT_SEED = 0
# Keys of a TOML file that are not parameters of the experiment: its one-line description and, in
# a user's own file, the experiment (runner) it configures.
META_KEYS = ("description", "experiment")
EXPERIMENT_KEY = "experiment"
# The optional table of solver options (adam_ode.continuous.SolverOptions) every experiment
# accepts: absent, the runner's solves use the defaults, and the config is left as it was.
SOLVER_KEY = "solver"
# A --set value that is not valid TOML is taken as a string when it looks like a bare name.
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")


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
    packaged = importlib.resources.files("adam_ode") / PACKAGE_CONFIGS
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[2] / "experiments"  # adam_ode/experiments/ -> root
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
        if key not in base and key != SOLVER_KEY:
            raise ExperimentError(f"{path}: unknown key {key!r}; keys of experiment {runner!r}: "
                                  f"{', '.join(sorted(base))}")
    config = dict(base)
    for key, value in params.items():
        try:
            config[key] = _check_value(key, value, base.get(key, {}))
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
        if key.partition(".")[0] == SOLVER_KEY:
            config.setdefault(SOLVER_KEY, {})  # the optional table: created by its first key
        try:
            _set_dotted(config, key, value)
        except ExperimentError as err:
            raise ExperimentError(f"experiment {spec.name!r}: {err}") from None
    if seed is not None:
        config["seed"] = seed
    config["seed"] = _check_seed("seed", config["seed"])
    if SOLVER_KEY in config:
        solver_options(config)  # checked now: errors name solver.<key>
    if "problem" in config:
        _check_problem(config["problem"])
    return config


def _check_problem(spec) -> None:
    from ..problems import make_problem

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


def solver_options(config: dict):
    """The :class:`~adam_ode.continuous.SolverOptions` of the config's ``[solver]`` table (None
    when it has none); :class:`ExperimentError` naming ``solver.<key>`` for a bad entry."""
    table = config.get(SOLVER_KEY)
    if table is None:
        return None
    from ..continuous import SolverOptions

    try:
        return SolverOptions.from_mapping(table, prefix=SOLVER_KEY)
    except ValueError as err:
        raise ExperimentError(str(err)) from None


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
