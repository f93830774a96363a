"""adam-ode: continuous-time dynamics of Adam and stochastic optimizers.

Layers follow the mathematics of Barakat & Bianchi (SIAM J. Optim. 2021):

- :mod:`adam_ode.problems`: stochastic problems, one module each (exact F, ∇F, S, samplers, and
  their numba evaluators side by side);
- :mod:`adam_ode.optimizers`: the optimizer family, one module each (record, scaling with γ,
  numba step, NumPy transcription, continuous limit);
- :mod:`adam_ode.dynamics`, :mod:`adam_ode.lyapunov`, :mod:`adam_ode.heavy_ball`: vector fields,
  Lyapunov energy, heavy-ball-with-friction form;
- :mod:`adam_ode.integrate`: reference trajectories (the only caller of ``solve_ivp``);
- :mod:`adam_ode.kernels`: the generic numba loop over any (problem, optimizer);
- :mod:`adam_ode.iterates`, :mod:`adam_ode.montecarlo`: paths of any optimizer, reproducible
  parallel Monte Carlo with streaming statistics;
- :mod:`adam_ode.analysis`: weak convergence (Thm 4.3), Lyapunov verification, long-run studies;
- :mod:`adam_ode.experiments`, :mod:`adam_ode.cli`, :mod:`adam_ode.runners`: experiments, figures
  and the ``adam-ode`` command.
"""

# Before any kernel is defined: this package's compiled kernels are cached in the user's cache
# directory, never inside the installed package; then drop cache indexes an older version left
# that name classes since moved (numba would raise ModuleNotFoundError from the first call).
from ._cache import install_locator as _install_locator, purge_stale_indexes as _purge

_install_locator()
_purge()

from ._validation import LyapunovWarning, ParameterError  # noqa: E402
from .dynamics import (adam_vector_field, autonomous_vector_field, debiased_moments,
                       debiased_vector_field, initial_velocity)
from .heavy_ball import (friction, gradient_flow_vector_field, hbf_residual,
                         heavy_ball_vector_field, mass, mass_rate)
from .integrate import (AdamTrajectory, Trajectory, solve_gradient_flow, solve_heavy_ball,
                        solve_limit, solve_ode)
from .iterates import (run_adam, run_adam_decreasing, run_momentum_sgd, run_optimizer,
                       run_rmsprop, run_sgd)
from .optimizers import (OPTIMIZERS, SGD, AdaGrad, Adam, AdamDecreasing, Adamax, AdamW, AMSGrad,
                         ContinuousLimit, MomentumSGD, Nesterov, Optimizer, RMSProp,
                         make_optimizer)
from .lyapunov import U, energy, energy_rate, energy_rate_bound
from .montecarlo import (DivergenceWarning, MonteCarloResult, limit_reference, monte_carlo,
                         monte_carlo_adam, reference_path, sup_distance)
from .problems import (PROBLEMS, CorrelatedQuadratic, DoubleWell, LeastSquares,
                       LinearRegression2D, Problem, StochasticQuadratic, make_problem)
from .state import initial_state, pack, unpack
from .fluctuations import linear_noise, scale_hyperparameters, simulate_sde
from .datasets import load_dataset
from .problems.custom import CustomProblem
from .problems.logistic_regression import LogisticRegression
from .sweep import SweepTable, sweep

__version__ = "0.1.0"

__all__ = [
    "ParameterError",
    "LyapunovWarning",
    "Problem",
    "PROBLEMS",
    "make_problem",
    "LinearRegression2D",
    "StochasticQuadratic",
    "DoubleWell",
    "LeastSquares",
    "pack",
    "unpack",
    "initial_state",
    "adam_vector_field",
    "autonomous_vector_field",
    "debiased_vector_field",
    "debiased_moments",
    "initial_velocity",
    "U",
    "energy",
    "energy_rate",
    "energy_rate_bound",
    "mass",
    "mass_rate",
    "friction",
    "hbf_residual",
    "heavy_ball_vector_field",
    "gradient_flow_vector_field",
    "Trajectory",
    "AdamTrajectory",
    "solve_limit",
    "solve_ode",
    "solve_heavy_ball",
    "solve_gradient_flow",
    "Optimizer",
    "OPTIMIZERS",
    "ContinuousLimit",
    "make_optimizer",
    "Adam",
    "AdamDecreasing",
    "SGD",
    "MomentumSGD",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "AMSGrad",
    "AdamW",
    "Adamax",
    "run_adam",
    "run_adam_decreasing",
    "run_sgd",
    "run_momentum_sgd",
    "run_rmsprop",
    "run_optimizer",
    "DivergenceWarning",
    "MonteCarloResult",
    "monte_carlo",
    "monte_carlo_adam",
    "reference_path",
    "limit_reference",
    "sup_distance",
    "LogisticRegression",
    "CustomProblem",
    "CorrelatedQuadratic",
    "load_dataset",
    "sweep",
    "SweepTable",
    "linear_noise",
    "simulate_sde",
    "scale_hyperparameters",
]
