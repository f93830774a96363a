r"""Weak convergence of the interpolated Adam process to the ODE (Theorem 4.3).

For every T, δ > 0:  lim_{γ↓0} P( sup_{t∈[0,T]} ‖z^γ(t) − z(t)‖ > δ ) = 0,

with z^γ the piecewise-linear interpolation of the Adam iterates (α = 1 − aγ, β = 1 − bγ) through
(nγ, z_n) and z the solution of the ODE (3.3) (or (7.1) without bias correction). The sup is taken
over the grid nγ ≤ T, where z^γ equals z_n; between grid points the ODE departs from its chord by
O(γ²), far below the O(sqrt(γ)) fluctuations measured here.

The ODE is solved once per (problem, x0, a, b, ε, T) and evaluated on each γ grid; every γ gets
its own child of ``SeedSequence(seed)`` and every run its own stream below it, so the study is
reproducible and independent of the number of worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import ParameterError, check_int, check_positive, check_vector
from ..continuous import solve_limit
from ..montecarlo import monte_carlo, steps_for_horizon
from .statistics import loglog_slope, summarize_sample

__all__ = ["WeakConvergenceStudy", "limit_convergence_study", "check_gammas",
           "MIN_GAMMAS_FOR_SLOPE"]

MIN_GAMMAS_FOR_SLOPE = 2  # a log-log slope needs two distinct γ; its standard error needs three


@dataclass(frozen=True, eq=False)
class WeakConvergenceStudy:
    """Result of :func:`weak_convergence_study`.

    Attributes
    ----------
    records : list of dict
        Per γ (in the order given): ``gamma``, ``n_runs``, ``n_steps``, ``mean_sup``,
        ``median_sup``, ``q90_sup``, ``p_exceed`` = P(sup > δ), ``p_exceed_ci95`` (Wilson),
        ``n_diverged``, ``elapsed`` (s).
    sups : list of ndarray
        The R sup distances per γ.
    slope, slope_stderr : float
        Least-squares slope of log(mean sup) against log γ and its standard error (expected near
        ½: fluctuations of order sqrt(γ); measured, not assumed).
    delta, T : float
    config : dict
        Problem, x0, a, b, ε, T, δ, γ grid, runs, seed, debias.
    """

    records: list
    sups: list
    slope: float
    slope_stderr: float
    delta: float
    T: float
    config: dict = field(default_factory=dict)

    @property
    def gammas(self) -> np.ndarray:
        return np.array([r["gamma"] for r in self.records])

    def column(self, key: str) -> np.ndarray:
        """One per-γ quantity as an array, e.g. ``study.column("mean_sup")``."""
        return np.array([r[key] for r in self.records])


def check_gammas(gammas) -> list:
    gammas = [check_positive("gammas", g) for g in np.atleast_1d(np.asarray(gammas, float))]
    if len(set(gammas)) < MIN_GAMMAS_FOR_SLOPE:
        raise ParameterError(f"gammas must hold at least {MIN_GAMMAS_FOR_SLOPE} distinct step "
                             f"sizes, got {gammas}")
    return gammas


def limit_convergence_study(problem, optimizer, x0, T: float, gammas, n_runs: int,
                            delta: float, seed=0, *, workers: int | None = None,
                            progress=None) -> WeakConvergenceStudy:
    r"""Theorem 4.3's quantity for any optimizer record: sup_{t_k ≤ T} ‖z_k − z(t_k)‖ per step.

    ``optimizer`` gives every hyperparameter but the step; for each γ of ``gammas`` the record
    ``optimizer.replace(gamma=γ)`` runs ``n_runs`` times against its own continuous limit
    (``limit()``, solved once when it does not depend on γ) on its time map t_k =
    ``times(k)``, in the scheme's own state variables (``from_limit_state``); T is in the
    limit's time. For Adam in the paper's parameters see
    :func:`adam_ode.paper.weak_convergence_study`.
    """
    T = check_positive("T", T)
    delta = check_positive("delta", delta)
    n_runs = check_int("n_runs", n_runs, 1)
    x0 = check_vector("x0", x0, problem.dim)
    gammas = check_gammas(gammas)
    if not optimizer.uniform_steps:
        raise ParameterError(f"{type(optimizer).__name__} has no uniform time step: give a "
                             "constant-step optimizer")
    # fail before any work on a γ outside a hyperparameter's range (e.g. aγ < 1)
    schemes = [optimizer.replace(gamma=g) for g in gammas]

    streams = np.random.SeedSequence(check_int("seed", seed, 0)).spawn(len(gammas))
    records, sups = [], []
    limit = trajectory = None
    for gamma, scheme, stream in zip(gammas, schemes, streams):
        if scheme.limit() != limit:
            limit = scheme.limit()
            trajectory = solve_limit(problem, limit, x0, T)
        n_steps = steps_for_horizon(T, float(scheme.times(1)))
        times = np.minimum(scheme.times(np.arange(n_steps + 1)), T)
        reference = scheme.from_limit_state(trajectory(times))
        result = monte_carlo(problem, scheme, x0, n_steps, n_runs, stream, reference=reference,
                             track_grad_norm=False, workers=workers, progress=progress)
        sup = result.sup_distance
        record = {"gamma": gamma, "n_steps": n_steps, **summarize_sample(sup, delta),
                  "n_diverged": int(result.diverged.sum()), "elapsed": result.elapsed}
        records.append(record)
        sups.append(sup)

    means = np.array([r["mean_sup"] for r in records])
    if np.all(np.isfinite(means)) and np.all(means > 0):
        fit = loglog_slope(gammas, means)
        slope, stderr = fit.slope, fit.stderr
    else:  # a diverged run makes the mean infinite: no honest slope
        slope, stderr = float("nan"), float("nan")
    config = {"problem": problem.config(), "x0": x0.tolist(),
              "optimizer": {k: v for k, v in optimizer.config().items() if k != "gamma"},
              "T": T, "delta": delta, "gammas": gammas, "n_runs": n_runs, "seed": seed}
    return WeakConvergenceStudy(records, sups, slope, stderr, delta, T, config)
