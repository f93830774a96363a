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

The package is split by responsibility: :mod:`.configs` (TOML files, overrides, type checks),
:mod:`.registry` (the runners, their context, result and hooks), :mod:`.running` (one run with
the output guard) and :mod:`.reproduce` (every experiment).
"""

from .._validation import ExperimentError
from .configs import (DEFAULT_SEED, ENV_EXPERIMENTS_DIR, EXPERIMENT_KEY, ExperimentSpec,  # noqa: F401
                      _check_value,
                      _check_workers, config_text, experiments_dir, find_experiment,
                      list_experiments, load_config, parse_override, resolve_config)
from .registry import (_RUNNERS, ExperimentResult, RunContext, estimate, get_runner,  # noqa: F401
                       register, registered_runners, runner_hook)
from .reproduce import DEFAULT_FIGURES_DIR, ReproduceError, reproduce
from .running import (DEFAULT_RUNS_DIR, RESERVED_SUMMARY_KEYS, RunRecord, _diverged_runs,  # noqa: F401
                      run_experiment)

__all__ = [
    "ExperimentError",
    "ReproduceError",
    "ExperimentResult",
    "RunContext",
    "RunRecord",
    "register",
    "registered_runners",
    "get_runner",
    "runner_hook",
    "estimate",
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
