"""Experiment runners, one module per experiment (``adam_ode/runners/<name>.py``).

Each module registers its runner on import::

    from ..experiments import ExperimentResult, RunContext, register

    @register("heavy-ball")
    def run(config: dict, ctx: RunContext) -> ExperimentResult:
        ...

A runner module may also define, beside ``run``:

- ``check(config)``: checks, before any work, what :mod:`adam_ode.config_checks`'s naming
  conventions cannot (choices, dimensions, a·γ < 1, ...), building every problem and record the
  run will build inside :func:`~adam_ode.config_checks.keyed`, so that each error names the key
  as the user wrote it;
- ``estimate(config) -> Cost``: the run's cost (:mod:`adam_ode.cost`), checked before it runs;
- ``redraw(arrays, summary) -> Figure``: the figure again from ``data.npz`` and
  ``summary.json`` alone (``adam-ode plot DIR``).

Every public module of this package is imported below, so adding a file is enough.
Shared plotting helpers live in :mod:`adam_ode.runners._plot`.
"""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f".{_info.name}", __name__)
