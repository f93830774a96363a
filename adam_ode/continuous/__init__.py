r"""The continuous-time layer: solver options, smooth and switched solves, solutions.

The only caller of ``solve_ivp`` in the package. A limit is solved by :func:`solve_limit` (its
term and start treatment come from the :class:`~adam_ode.optimizers.base.ContinuousLimit`), a
generic system by :func:`solve_system`; :class:`SolverOptions` travel with every call and
:func:`solver_defaults` changes the defaults inside a block.
"""

from .options import (ATOL, DEFAULT, MAX_EVALUATIONS, METHOD, METHODS, RTOL, SolverOptions,
                      current_defaults, resolve, solver_defaults)
from .solution import AdamTrajectory, SolverBudgetError, Switch, Trajectory
from .solve import solve_limit, solve_system
from .solver import PiecewiseSolution, SwitchedTerm, checked_solve, switched_solve

__all__ = ["SolverOptions", "DEFAULT", "solver_defaults", "current_defaults", "resolve",
           "Trajectory", "AdamTrajectory", "Switch", "SolverBudgetError", "solve_limit",
           "solve_system", "checked_solve", "switched_solve", "SwitchedTerm",
           "PiecewiseSolution", "RTOL", "ATOL", "METHOD", "METHODS", "MAX_EVALUATIONS"]
