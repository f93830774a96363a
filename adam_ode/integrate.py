r"""The continuous-time solves under their historical names (re-exported from
:mod:`adam_ode.continuous`, the one caller of ``solve_ivp``).

:func:`solve_ode`, :func:`solve_heavy_ball` and :func:`solve_gradient_flow` are the paper's
named wrappers of :mod:`adam_ode.paper` (the same arrays as before; loaded on first use, since
that module imports this one).
"""

from __future__ import annotations

from .continuous import (ATOL, MAX_EVALUATIONS, METHOD, RTOL, AdamTrajectory,  # noqa: F401
                         SolverBudgetError, SolverOptions, Trajectory, solve_limit, solve_system,
                         solver_defaults)

__all__ = ["Trajectory", "AdamTrajectory", "SolverBudgetError", "solve_limit", "solve_system",
           "solve_ode",
           "solve_heavy_ball",
           "solve_gradient_flow"]

_PAPER_NAMES = ("solve_ode", "solve_heavy_ball", "solve_gradient_flow")


def __getattr__(name):
    if name in _PAPER_NAMES:
        from . import paper

        return getattr(paper, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
