"""Experiment runners, one module per experiment (``adam_ode/runners/<name>.py``).

Each module registers its runner on import::

    from ..experiments import ExperimentResult, RunContext, register

    @register("heavy-ball")
    def run(config: dict, ctx: RunContext) -> ExperimentResult:
        ...

Every public module of this package is imported below, so adding a file is enough; an explicit
``from . import <module>`` line may be added to the list as well (importing twice is harmless).
Shared plotting helpers live in :mod:`adam_ode.runners._plot`.
"""

import importlib
import pkgutil

from . import lyapunov  # noqa: F401

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f".{_info.name}", __name__)
