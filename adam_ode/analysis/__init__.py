"""Analysis layer: numerical studies built on the reference integrator (no plotting here).

- :mod:`adam_ode.analysis.lyapunov`: monotonicity of the Lyapunov energy V(t, z(t)) along the Adam
  ODE, its violation when b > 4a, and the (a, b) phase diagram.
"""

from .lyapunov import (LyapunovPhaseDiagram, LyapunovRecord, lyapunov_phase_diagram,
                       max_energy_increase, monotone_tolerance, verify_lyapunov)

__all__ = [
    "max_energy_increase",
    "monotone_tolerance",
    "verify_lyapunov",
    "lyapunov_phase_diagram",
    "LyapunovRecord",
    "LyapunovPhaseDiagram",
]
