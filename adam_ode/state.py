"""The packed Adam state z = (x, m, v) under its earlier module name.

Kept so that earlier imports keep working: the functions live in :mod:`adam_ode.optimizers.adam`
and, under these names, in :mod:`adam_ode.paper` (and at the top level of :mod:`adam_ode`).
"""

from .optimizers.adam import initial_state, pack, unpack

__all__ = ["pack", "unpack", "initial_state"]
