"""adam-ode: continuous-time dynamics of Adam and stochastic optimizers.

Layers follow the mathematics of Barakat & Bianchi (SIAM J. Optim. 2021):

- :mod:`adam_ode.problems`: stochastic problems, one module each (exact F, ∇F, S, samplers, and
  their numba evaluators side by side);
- :mod:`adam_ode.optimizers`: the optimizer family, one module each (record, scaling with γ,
  numba step, NumPy transcription, continuous limit with its energy and fluctuation model);
- :mod:`adam_ode.kernels`: the generic numba loop over any (problem, optimizer);
- :mod:`adam_ode.continuous`: solving the continuous limits (solver options, switching fields and
  sliding modes; the only caller of ``solve_ivp``), re-exported by :mod:`adam_ode.integrate`;
- :mod:`adam_ode.iterates`, :mod:`adam_ode.montecarlo`: paths of any optimizer, reproducible
  parallel Monte Carlo with streaming statistics;
- :mod:`adam_ode.fluctuations`: linear-noise approximation and SDEs of the limits;
- :mod:`adam_ode.analysis`: weak convergence (Thm 4.3), energy verification, long-run studies;
- :mod:`adam_ode.paper`: the paper's named functions (``solve_ode``, ``energy``,
  ``sup_distance``, ``run_adam``, …) as thin wrappers over the generic API;
- :mod:`adam_ode.experiments`, :mod:`adam_ode.cli`, :mod:`adam_ode.runners`: experiments, figures
  and the ``adam-ode`` command.
"""

# Before any kernel is defined: this package's compiled kernels are cached in the user's cache
# directory, never inside the installed package; then drop cache indexes an older version left
# that name classes since moved (numba would raise ModuleNotFoundError from the first call).
from ._cache import install_locator as _install_locator, purge_stale_indexes as _purge

_install_locator()
_purge()

# The generic API: problems, optimizer records and their limits, iterates, Monte Carlo, solving.
from ._validation import DivergenceWarning, LyapunovWarning, ParameterError  # noqa: E402
from .problems import (PROBLEMS, CorrelatedQuadratic, DoubleWell, LeastSquares,  # noqa: E402
                       LinearRegression2D, Problem, StochasticQuadratic, make_problem)
from .problems.custom import CustomProblem  # noqa: E402
from .problems.logistic_regression import LogisticRegression  # noqa: E402
from .optimizers import (OPTIMIZERS, SGD, AdaGrad, Adam, AdamDecreasing, Adamax,  # noqa: E402
                         AdamW, AMSGrad, ContinuousLimit, MomentumSGD, Nesterov, Optimizer,
                         RMSProp, make_optimizer)
from .continuous import SolverBudgetError, SolverOptions, solver_defaults  # noqa: E402
from .continuous import AdamTrajectory, Trajectory, solve_limit  # noqa: E402
from .iterates import run_optimizer  # noqa: E402
from .montecarlo import MonteCarloResult, limit_reference, monte_carlo  # noqa: E402
from .fluctuations import linear_noise, scale_hyperparameters, simulate_sde  # noqa: E402
from .datasets import load_dataset  # noqa: E402
from .sweep import SweepTable, sweep  # noqa: E402
# The paper's named functions (thin wrappers over the above).
from .paper import (U, adam_vector_field, autonomous_vector_field,  # noqa: E402
                    debiased_moments, debiased_vector_field, energy, energy_rate,
                    energy_rate_bound, friction, gradient_flow_vector_field, hbf_residual,
                    heavy_ball_vector_field, initial_state, initial_velocity, mass, mass_rate,
                    monte_carlo_adam, pack, reference_path, run_adam, run_adam_decreasing,
                    run_momentum_sgd, run_rmsprop, run_sgd, solve_gradient_flow,
                    solve_heavy_ball, solve_ode, sup_distance, unpack)

from ._version import __version__  # noqa: E402, F401

# Optimizers and problems of other installed packages (entry points), last: they may import
# anything above. A broken one is left out and named in plugins.PLUGIN_ERRORS.
from .plugins import load_plugins as _load_plugins  # noqa: E402

_load_plugins()

__all__ = [
    # generic API
    "Problem", "PROBLEMS", "make_problem", "LinearRegression2D", "StochasticQuadratic",
    "DoubleWell", "LeastSquares", "CorrelatedQuadratic", "LogisticRegression", "CustomProblem",
    "load_dataset",
    "Optimizer", "OPTIMIZERS", "make_optimizer", "ContinuousLimit", "SGD", "MomentumSGD",
    "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamDecreasing", "AMSGrad", "AdamW", "Adamax",
    "solve_limit", "Trajectory", "AdamTrajectory", "SolverOptions", "solver_defaults",
    "SolverBudgetError",
    "run_optimizer", "monte_carlo", "MonteCarloResult", "limit_reference",
    "linear_noise", "simulate_sde", "scale_hyperparameters",
    "sweep", "SweepTable",
    "ParameterError", "LyapunovWarning", "DivergenceWarning",
    # the paper's named functions
    "solve_ode", "solve_heavy_ball", "solve_gradient_flow", "energy", "energy_rate",
    "energy_rate_bound", "U", "adam_vector_field", "autonomous_vector_field",
    "debiased_vector_field", "debiased_moments", "initial_velocity", "mass", "mass_rate",
    "friction", "hbf_residual", "heavy_ball_vector_field", "gradient_flow_vector_field",
    "pack", "unpack", "initial_state", "run_adam", "run_adam_decreasing", "run_sgd",
    "run_momentum_sgd", "run_rmsprop", "monte_carlo_adam", "reference_path", "sup_distance",
]
