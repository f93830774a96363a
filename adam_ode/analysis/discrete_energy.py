r"""The discrete analogue of the Lyapunov check: E V(nγ, z_n) along Adam iterates.

The energy V(t, z) of eq. (3.4) is evaluated at t = nγ on the iterates z_n of Algorithm 2.1
(α = 1 − aγ, β = 1 − bγ) and averaged over independent runs. For small γ the mean follows the ODE's
V(t, z(t)) up to O(γ) (the moments average O(1/γ) samples: Var m = O(γ), so E m²/U picks up an
O(γ) noise energy); whether the mean is monotone at finite γ is measured, not assumed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .._validation import LyapunovWarning, check_int, check_positive
from ..integrate import solve_ode
from ..iterates import Adam
from ..lyapunov import energy
from ..montecarlo import monte_carlo, steps_for_horizon
from ..state import unpack
from .lyapunov import max_energy_increase

__all__ = ["DiscreteEnergyRecord", "discrete_energy", "N_POINTS"]

N_POINTS = 400  # recorded iterates per run: enough to draw E V(nγ, z_n) against t


@dataclass(frozen=True, eq=False)
class DiscreteEnergyRecord:
    """Outcome of :func:`discrete_energy` for one (a, b, γ).

    ``t`` holds the recorded times nγ; ``mean_V``, ``q10_V``, ``q90_V`` the mean and 10 / 90 %
    quantiles over runs of V(nγ, z_n); ``mean_F`` the mean of F(x_n); ``ode_V`` the ODE's
    V(t, z(t)) on the same times. Scalars: ``max_mean_increase`` (largest rise of the mean above
    its running minimum), ``max_mean_F_minus_F0``, ``max_gap_to_ode`` = max_t |E V − V_ODE|.
    """

    a: float
    b: float
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
        return {"a": self.a, "b": self.b, "gamma": self.gamma, "n_runs": self.n_runs,
                "max_mean_energy_increase": self.max_mean_increase,
                "max_mean_F_minus_F0": self.max_mean_F_minus_F0,
                "max_gap_to_ode": self.max_gap_to_ode, "n_diverged": self.n_diverged}


def discrete_energy(problem, x0, a: float, b: float, eps: float, T: float, gamma: float,
                    n_runs: int, seed=0, *, n_points: int = N_POINTS,
                    workers: int | None = None) -> DiscreteEnergyRecord:
    """Monte Carlo mean of V(nγ, z_n) along bias-corrected Adam on [0, T], next to the ODE's V.

    Parameters
    ----------
    problem, x0 : Problem, array (d,)
    a, b, eps : float > 0
        α = 1 − aγ, β = 1 − bγ, ε.
    T : float > 0
        Horizon; N = floor(T/γ) iterations.
    gamma : float > 0
        Step size γ (aγ < 1, bγ < 1).
    n_runs : int >= 1
        Independent runs (one random stream each, from ``SeedSequence(seed)``).
    n_points : int >= 2
        About how many iterates per run are recorded.
    workers : int >= 1, optional
        Threads (default all cores); results do not depend on it.
    """
    T = check_positive("T", T)
    n_points = check_int("n_points", n_points, 2)
    with warnings.catch_warnings():  # b > 4a is part of what is studied
        warnings.simplefilter("ignore", LyapunovWarning)
        optimizer = Adam(gamma, a, b, eps)
        trajectory = solve_ode(problem, x0, a, b, eps, T)
    n_steps = steps_for_horizon(T, optimizer.gamma)
    every = max(1, n_steps // n_points)
    result = monte_carlo(problem, optimizer, x0, n_steps, n_runs, seed,
                         track_grad_norm=False, record_every=every, workers=workers)
    t = result.record_times
    ok = ~result.diverged
    z = result.record[ok]  # (R_ok, K, 3d)
    V = energy(t, z, problem, optimizer.a, optimizer.b, optimizer.eps)  # (R_ok, K)
    F = problem.F(unpack(z)[0])
    mean_V = V.mean(axis=0)
    ode_V = energy(t, trajectory(t), problem, optimizer.a, optimizer.b, optimizer.eps)
    return DiscreteEnergyRecord(
        a=optimizer.a, b=optimizer.b, gamma=optimizer.gamma, n_runs=int(result.n_runs),
        max_mean_increase=float(max_energy_increase(mean_V)),
        max_mean_F_minus_F0=float(np.max(F.mean(axis=0)) - problem.F(np.asarray(x0, float))),
        max_gap_to_ode=float(np.max(np.abs(mean_V - ode_V))),
        n_diverged=int(np.sum(~ok)), t=t, mean_V=mean_V,
        q10_V=np.quantile(V, 0.1, axis=0), q90_V=np.quantile(V, 0.9, axis=0),
        mean_F=F.mean(axis=0), ode_V=ode_V)
