"""Experiment runners, one module per experiment (``adam_ode/runners/<name>.py``).

Each module registers its runner on import::

    from ..experiments import ExperimentResult, RunContext, register

    @register("heavy-ball")
    def run(config: dict, ctx: RunContext) -> ExperimentResult:
        ...

Every public module of this package is imported below, so adding a file is enough.
Shared plotting helpers live in :mod:`adam_ode.runners._plot`.
"""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f".{_info.name}", __name__)
