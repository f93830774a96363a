r"""The explorer's model, no web framework: choices, widgets as data, validation, the saved file.

Everything the browser app (:mod:`adam_ode.explore.app`) shows is decided here, from the
registries alone (no per-optimizer or per-problem code):

- :func:`problem_choices`: every registered problem that has a 2-D instance whose config
  rebuilds it (its ``example()``, else the same config with ``d = 2``, else ``{name, d = 2}``),
  with its ``example_start()``, and every problem that takes a bundled data set on that data
  set's two features most correlated with the target;
- :func:`hyper_fields`: a record class's hyperparameters as :class:`Field` (name, kind, default
  from ``example()``, whether it is the step field drawn as a log slider);
- :func:`build_record`: a record from the widgets' texts, or the record's own one-line error and
  the field it names;
- :func:`view_config` / :func:`config_toml`: the current view as the config of experiment
  ``explore`` (:mod:`adam_ode.runners.explore`) and as the TOML file that ``adam-ode run
  FILE.toml`` reproduces exactly (same :func:`~adam_ode.runners.explore.compute_view`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import LyapunovWarning, ParameterError
from ..optimizers import OPTIMIZERS
from ..problems import PROBLEMS, make_problem

__all__ = ["Field", "problem_choices", "optimizer_choices", "hyper_fields", "parse_value",
           "build_record", "view_config", "config_toml", "toml_value", "DEFAULTS",
           "STEP_RANGE", "study_gammas"]

# The view's other controls, the defaults of experiments/explore.toml (20 runs x 2000 steps).
DEFAULTS = {"problem": "linear-regression-2d", "optimizer": "adam", "T": 10.0, "n_runs": 20,
            "n_shown": 3, "seed": 0, "lna": True, "sde": 0}
STEP_RANGE = (1e-5, 1.0)  # the log slider's range of γ (any positive γ can be typed)
STUDY_FACTORS = (4.0, 2.0, 1.0, 0.5)  # the convergence study's γ's: these multiples of γ
_NAMED = re.compile(r"^\s*([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Field:
    """One hyperparameter of a record class as a widget: ``kind`` is ``"step"`` (the step
    field: a log slider), ``"bool"`` (a checkbox) or ``"text"`` (a value typed as in TOML)."""

    name: str
    kind: str
    default: object


def problem_choices() -> dict:
    """Label -> (problem config, x0) for every registered problem with a rebuildable 2-D
    instance (module docstring)."""
    out = {}
    for name, cls in PROBLEMS.items():
        try:
            example = cls.example()
        except Exception:  # a plug-in without a working example is not offered
            continue
        config = example.config()
        for candidate in (config, {**config, "d": 2}, {"name": name, "d": 2}):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    problem = make_problem(candidate)
            except (ParameterError, TypeError, ValueError):
                continue
            if problem.dim == 2:
                x0 = problem.example_start() if candidate is config else np.ones(2)
                out[name] = (problem.config(), [float(v) for v in x0])
                break
    out.update(_dataset_choices())
    return out


def _dataset_choices() -> dict:
    """Label -> (config, x0) of every registered problem that takes a bundled data set
    (``dataset``, ``columns``), on each data set's two features most correlated with its
    target: a 2-D view of real data."""
    from ..datasets import DATASETS, load_dataset

    out = {}
    for dataset in DATASETS:
        A, y = load_dataset(dataset)
        correlation = np.abs((A - A.mean(0)).T @ (y - y.mean())) / len(y)  # columns standardised
        columns = sorted(int(j) for j in np.argsort(-correlation)[:2])
        for name in PROBLEMS:
            candidate = {"name": name, "dataset": dataset, "columns": columns}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    problem = make_problem(candidate)
            except (ParameterError, TypeError, ValueError):
                continue  # takes no data set, or not this one (labels of another kind)
            out[f"{name} · {dataset} (columns {columns[0]}, {columns[1]})"] = (
                problem.config(), [float(v) for v in problem.example_start()])
    return out


def optimizer_choices() -> list:
    """The registered optimizers (names of :data:`adam_ode.OPTIMIZERS`) with a limit."""
    out = []
    for name, cls in OPTIMIZERS.items():
        try:
            cls.example().limit()
        except Exception:
            continue
        out.append(name)
    return out


def hyper_fields(cls) -> list:
    """The record class's dataclass fields as :class:`Field`, defaults from ``example()``."""
    example = cls.example()
    out = []
    for f in dataclasses.fields(cls):
        value = getattr(example, f.name)
        if f.name == cls.step_field:
            kind = "step"
        elif isinstance(value, bool):
            kind = "bool"
        else:
            kind = "text"
        out.append(Field(f.name, kind, value))
    return out


def toml_value(value) -> str:
    """A config value as TOML (inline tables, arrays, numbers, booleans, strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"cannot save a non-finite number {value!r}")
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }" \
            if value else "{}"
    raise ParameterError(f"cannot save {value!r} ({type(value).__name__}) in TOML")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def parse_value(text):
    """A widget's text as a TOML value (``0.1``, ``true``, ``[1, 2]``, ``"sbc"``); a bare word
    is a string and an empty text is None (the record's own default)."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if not text:
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def build_record(name: str, values: dict):
    """(record, None, notes) from ``values`` (field -> value or text), or (None, (field,
    message), notes) with the record's own one-line error and the field that message names
    (None when it names none). ``notes`` holds the record's warnings (e.g. b > 4a)."""
    cls = OPTIMIZERS[name]
    names = [f.name for f in dataclasses.fields(cls)]
    params = {}
    for key, value in values.items():
        value = parse_value(value)
        if value is not None:
            params[key] = value
    notes = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LyapunovWarning)
            record = cls(**params)
    except ParameterError as err:
        message = " ".join(str(err).split())
        match = _NAMED.match(message)
        field = match.group(1) if match and match.group(1) in names else None
        return None, (field, message), notes
    except TypeError as err:
        return None, (None, f"bad parameters for optimizer {name!r}: {err}"), notes
    notes += [" ".join(str(w.message).split()) for w in caught]
    return record, None, notes


def study_gammas(record) -> list:
    """The step sizes of the convergence study: :data:`STUDY_FACTORS` × γ, those the record
    accepts (e.g. a·γ < 1)."""
    gamma = getattr(record, record.step_field)
    out = []
    for factor in STUDY_FACTORS:
        g = float(f"{factor * gamma:.12g}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                record.replace(**{record.step_field: g})
        except ParameterError:
            continue
        out.append(g)
    return out


def view_config(problem: dict, record, x0, T: float, n_runs: int, n_shown: int, seed: int, *,
                compare=None, lna: bool = True, sde: int = 0, gammas=()) -> dict:
    """The config of experiment ``explore`` for the current view (records given as records)."""
    return {"problem": dict(problem),
            "optimizer": record.config(),
            "compare": {} if compare is None else compare.config(),
            "x0": [float(v) for v in x0], "T": float(T), "n_runs": int(n_runs),
            "n_shown": int(n_shown), "lna": bool(lna), "sde": int(sde),
            "study_gammas": [float(g) for g in gammas], "seed": int(seed)}


def config_toml(config: dict, description: str | None = None) -> str:
    """The TOML file of ``config`` that ``adam-ode run FILE.toml`` runs (experiment explore)."""
    from ..runners.explore import EXPERIMENT

    lines = ["# Saved by adam-ode explore: adam-ode run THIS_FILE.toml reproduces the view.",
             f"experiment = {toml_value(EXPERIMENT)}"]
    if description:
        lines.append(f"description = {toml_value(description)}")
    lines += [f"{_key(k)} = {toml_value(v)}" for k, v in config.items()]
    return "\n".join(lines) + "\n"
