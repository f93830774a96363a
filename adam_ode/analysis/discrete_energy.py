r"""The discrete analogue of the energy check: E V(t_n, z_n) along the iterates of a record.

The energy V(t, z) of the record's continuous limit (Adam: eq. 3.4) is evaluated at t_n =
``optimizer.times(n)`` on the iterates z_n (in the limit's variables) and averaged over
independent runs. For small γ the mean follows the limit's V(t, z(t)) up to O(γ) (for Adam the
moments average O(1/γ) samples: Var m = O(γ), so E m²/U picks up an O(γ) noise energy); whether
the mean is monotone at finite γ is measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import ParameterError, check_int, check_positive
from ..continuous import solve_limit
from ..montecarlo import monte_carlo, steps_for_horizon
from .lyapunov import ParameterAttributes, max_energy_increase

__all__ = ["DiscreteEnergyRecord", "discrete_energy", "N_POINTS"]

N_POINTS = 400  # recorded iterates per run: enough to draw E V(t_n, z_n) against t


@dataclass(frozen=True, eq=False)
class DiscreteEnergyRecord(ParameterAttributes):
    """Outcome of :func:`discrete_energy` for one record.

    ``parameters`` labels it (the limit's ``energy_parameters()``; Adam: a, b; readable as
    attributes); ``t`` holds the recorded times t_n; ``mean_V``, ``q10_V``, ``q90_V`` the mean
    and 10 / 90 % quantiles over runs of V(t_n, z_n); ``mean_F`` the mean of F(x_n); ``ode_V``
    the limit's V(t, z(t)) on the same times. Scalars: ``max_mean_increase`` (largest rise of the
    mean above its running minimum), ``max_mean_F_minus_F0``, ``max_gap_to_ode`` =
    max_t |E V − V_limit|.
    """

    parameters: dict
    gamma: float
    n_runs: int
    max_mean_increase: float
    max_mean_F_minus_F0: float
    max_gap_to_ode: float
    n_diverged: int
    t: np.ndarray = field(repr=False)
    mean_V: np.ndarray = field(repr=False)
    q10_V: np.ndarray = field(repr=False)
    q90_V: np.ndarray = field(repr=False)
    mean_F: np.ndarray = field(repr=False)
    ode_V: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        """The scalar fields (JSON-able)."""
        return {**self.parameters, "gamma": self.gamma, "n_runs": self.n_runs,
                "max_mean_energy_increase": self.max_mean_increase,
                "max_mean_F_minus_F0": self.max_mean_F_minus_F0,
                "max_gap_to_ode": self.max_gap_to_ode, "n_diverged": self.n_diverged}


def discrete_energy(problem, optimizer, x0, T: float, n_runs: int, seed=0, *,
                    n_points: int = N_POINTS, workers: int | None = None) -> DiscreteEnergyRecord:
    """Monte Carlo mean of the limit's energy V(t_n, z_n) along ``optimizer`` on [0, T], next to
    V along the limit itself.

    Parameters
    ----------
    problem, x0 : Problem, array (d,)
    optimizer : Optimizer
        A constant-step record whose limit has an energy (e.g. ``Adam(gamma, a, b, eps)``).
    T : float > 0
        Horizon in the limit's time; N = floor(T / t_1) iterations.
    n_runs : int >= 1
        Independent runs (one random stream each, from ``SeedSequence(seed)``).
    n_points : int >= 2
        About how many iterates per run are recorded.
    workers : int >= 1, optional
        Threads (default all cores); results do not depend on it.
    """
    T = check_positive("T", T)
    n_points = check_int("n_points", n_points, 2)
    limit = optimizer.limit()
    if not limit.has_energy:
        raise ParameterError(f"{type(limit).__name__} has no known energy")
    trajectory = solve_limit(problem, limit, x0, T)
    n_steps = steps_for_horizon(T, float(optimizer.times(1)))
    every = max(1, n_steps // n_points)
    result = monte_carlo(problem, optimizer, x0, n_steps, n_runs, seed,
                         track_grad_norm=False, record_every=every, workers=workers)
    t = result.record_times
    ok = ~result.diverged
    z = optimizer.to_limit_state(result.record[ok])  # (R_ok, K, width)
    V = limit.energy(t, z, problem)  # (R_ok, K)
    F = problem.F(z[..., :problem.dim])
    mean_V = V.mean(axis=0)
    ode_V = limit.energy(t, trajectory(t), problem)
    return DiscreteEnergyRecord(
        parameters=limit.energy_parameters(), gamma=optimizer.gamma,
        n_runs=int(result.n_runs),
        max_mean_increase=float(max_energy_increase(mean_V)),
        max_mean_F_minus_F0=float(np.max(F.mean(axis=0)) - problem.F(np.asarray(x0, float))),
        max_gap_to_ode=float(np.max(np.abs(mean_V - ode_V))),
        n_diverged=int(np.sum(~ok)), t=t, mean_V=mean_V,
        q10_V=np.quantile(V, 0.1, axis=0), q90_V=np.quantile(V, 0.9, axis=0),
        mean_F=F.mean(axis=0), ode_V=ode_V)
