"""Analysis layer: numerical studies of the paper's claims (no plotting here).

- :mod:`adam_ode.analysis.weak_convergence`: Theorem 4.3, the law of sup_{[0,T]} ‖z^γ − z‖ as γ → 0.
- :mod:`adam_ode.analysis.lyapunov`: monotonicity of a limit's energy along its solution (for
  Adam: V(t, z(t)), its violation when b > 4a) and phase diagrams over a family of limits.
- :mod:`adam_ode.analysis.discrete_energy`: the discrete analogue, E V(t_n, z_n) along iterates.
- :mod:`adam_ode.analysis.long_run`: the long-run constant-step claim (ergodic fraction of time
  outside a δ-neighbourhood of 𝒮 vs γ) and decreasing-step vs constant-step schemes.
- :mod:`adam_ode.analysis.statistics`: Wilson intervals, log-log slopes.
"""

from .discrete_energy import DiscreteEnergyRecord, discrete_energy
from .long_run import (DistanceCurves, ErgodicRecord, compare_decreasing_constant, ergodic_study,
                       log_spaced_steps)
from .lyapunov import (LyapunovPhaseDiagram, LyapunovRecord, energy_phase_diagram,
                       max_energy_increase, monotone_tolerance, verify_energy)
from .statistics import SlopeFit, loglog_slope, summarize_sample, wilson_interval
from .weak_convergence import WeakConvergenceStudy, limit_convergence_study

__all__ = [
    "limit_convergence_study",
    "WeakConvergenceStudy",
    "max_energy_increase",
    "monotone_tolerance",
    "verify_energy",
    "energy_phase_diagram",
    "LyapunovRecord",
    "LyapunovPhaseDiagram",
    "discrete_energy",
    "DiscreteEnergyRecord",
    "ergodic_study",
    "ErgodicRecord",
    "compare_decreasing_constant",
    "DistanceCurves",
    "log_spaced_steps",
    "wilson_interval",
    "loglog_slope",
    "SlopeFit",
    "summarize_sample",
]
