"""The Adam ODE's Lyapunov energy under its earlier module name.

Kept so that earlier imports keep working: the functions live in :mod:`adam_ode.optimizers.adam`
and, under these names, in :mod:`adam_ode.paper` (and at the top level of :mod:`adam_ode`).
"""

from .paper import U, U_rate, energy, energy_rate, energy_rate_bound

__all__ = ["U", "U_rate", "energy", "energy_rate", "energy_rate_bound"]
