r"""The optimizer family, one module each, every optimizer described once on one spec.

See :mod:`adam_ode.optimizers.base` for the spec (record, kernel step, NumPy transcription,
continuous limit). Adding an optimizer is adding a module here: it is imported below and
registered in :data:`OPTIMIZERS` under its ``name``.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import OPTIMIZERS, ContinuousLimit, Optimizer, register_optimizer

for _info in pkgutil.iter_modules(__path__):
    if _info.name != "base" and not _info.name.startswith("_"):
        importlib.import_module(f".{_info.name}", __name__)

from .adagrad import AdaGrad, AdaGradLimit  # noqa: E402
from .adam import Adam, AdamLimit  # noqa: E402
from .adam_decreasing import AdamDecreasing  # noqa: E402
from .adamax import Adamax, AdamaxLimit  # noqa: E402
from .adamw import AdamW, AdamWLimit  # noqa: E402
from .amsgrad import AMSGrad, AMSGradLimit  # noqa: E402
from .momentum import HeavyBallLimit, MomentumSGD  # noqa: E402
from .nesterov import FrictionLimit, Nesterov, SBCLimit  # noqa: E402
from .rmsprop import RMSProp, RMSPropLimit  # noqa: E402
from .sgd import SGD, GradientFlow  # noqa: E402

__all__ = ["OPTIMIZERS", "Optimizer", "ContinuousLimit", "register_optimizer", "make_optimizer",
           "SGD", "MomentumSGD", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamDecreasing",
           "AMSGrad", "AdamW", "Adamax",
           "GradientFlow", "HeavyBallLimit", "SBCLimit", "FrictionLimit", "AdaGradLimit",
           "RMSPropLimit", "AdamLimit", "AMSGradLimit", "AdamWLimit", "AdamaxLimit"]


def make_optimizer(spec) -> Optimizer:
    """An optimizer record from a config value: a record, or a table ``{name = ..., **hyper}``."""
    from .._validation import ParameterError

    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise ParameterError(f"optimizer must be a name or a table with a 'name' key, "
                             f"got {spec!r}")
    params = dict(spec)
    name = params.pop("name")
    if name not in OPTIMIZERS:
        raise ParameterError(f"unknown optimizer {name!r}; known optimizers: "
                             f"{', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[name](**params)
    except TypeError as err:
        raise ParameterError(f"bad parameters for optimizer {name!r}: {err}") from None
