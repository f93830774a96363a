r"""Long-run behaviour of constant- and decreasing-step schemes (no plotting here).

Two studies of the theorems listed in paper_notes.md ("Theorems ↔ the function that checks them"):

- :func:`ergodic_study` — long run, constant step: for every δ > 0,
  lim_{γ↓0} limsup_n (1/n) Σ_{k≤n} P(d(x_k, 𝒮) > δ) = 0. For each γ it runs R independent
  paths of one optimizer record over the same limit-time horizon, so n = horizon/t_1 steps, and
  estimates the
  ergodic fraction (1/(n − n₀)) Σ_{n₀<k≤n} 1{d(x_k, 𝒮) > δ} by its mean over the runs, with the
  standard error of that mean (the runs are independent, the steps of one run are not, so the
  error bar is computed across runs). It also reports P(d(x_n, 𝒮) > δ) at the last step with a
  Wilson interval (one independent Bernoulli per run).
- :func:`compare_decreasing_constant` — a decreasing-step record (e.g. Algorithm 5.1,
  γ_n = γ0 n^{−κ}) against a constant-step one: d(x_n, 𝒮) on a log-spaced set of steps n for every
  run, so that the decreasing-step distance can be seen to go to 0 (Theorem 5.2) while the
  constant-step one plateaus at a level set by γ.

Random streams: run r of every study uses ``SeedSequence(seed).spawn(R)[r]``
(:func:`adam_ode.montecarlo.run_seed_sequence`); each γ gets its own child of ``seed``, so the
results do not depend on the number of workers.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from .._validation import ParameterError, check_int, check_nonnegative, check_positive, check_vector
from ..iterates import run_optimizer
from ..montecarlo import monte_carlo, run_seed_sequence, steps_for_horizon
from ..optimizers import Optimizer
from .statistics import Z_95, wilson_interval

__all__ = [
    "ErgodicRecord",
    "ergodic_study",
    "DistanceCurves",
    "compare_decreasing_constant",
    "log_spaced_steps",
]


@dataclass(frozen=True)
class ErgodicRecord:
    """Ergodic fraction of time outside the δ-neighbourhood of 𝒮 for one step size γ.

    Attributes
    ----------
    gamma : float
        Step size γ.
    n_steps, burn_in : int
        Steps per run and steps excluded from the time average (n₀).
    n_runs, n_diverged : int
        R and the number of runs that diverged (their later steps count as outside).
    fraction_outside : float
        Mean over runs of (1/(n − n₀)) Σ_{n₀<k≤n} 1{d(x_k, 𝒮) > δ}.
    stderr : float
        Standard error of that mean across the independent runs.
    ci95 : (float, float)
        Normal 95 % interval, mean ± 1.96 stderr, clipped to [0, 1].
    final_outside : float
        Fraction of runs with d(x_n, 𝒮) > δ at the last step.
    final_outside_ci95 : (float, float)
        Wilson 95 % interval of that binomial proportion.
    final_distance_median : float
        Median over runs of d(x_n, 𝒮).
    """

    gamma: float
    n_steps: int
    burn_in: int
    n_runs: int
    n_diverged: int
    fraction_outside: float
    stderr: float
    ci95: tuple
    final_outside: float
    final_outside_ci95: tuple
    final_distance_median: float

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        out["final_outside_ci95"] = list(self.final_outside_ci95)
        return out


def ergodic_study(problem, optimizer: Optimizer, x0, gammas, horizon: float, n_runs: int,
                  delta: float, seed, workers: int | None = None, burn_in: float = 0.0,
                  callback=None) -> list:
    r"""Ergodic fraction outside the δ-neighbourhood of 𝒮 for a constant-step optimizer, per γ.

    Parameters
    ----------
    problem : Problem
        Must implement ``critical_distance`` (all problems of :mod:`adam_ode.problems` do).
    optimizer : Optimizer
        A constant-step record: ``optimizer.replace(gamma=γ)`` runs for each γ (its other
        hyperparameters as given, e.g. Adam's a, b, ε, so that the limit is the same).
    x0 : array (d,)
        Common start x0 (the other slots start at 0).
    gammas : sequence of float > 0
        Step sizes γ.
    horizon : float > 0
        Limit time covered by every run: n = floor(horizon/t_1) steps (t_1 = ``times(1)``), so
        the time averages are over the same stretch of the dynamics for every γ.
    n_runs : int ≥ 2
        Independent runs R per γ.
    delta : float ≥ 0
        δ of 1{d(x_k, 𝒮) > δ}.
    seed : int or np.random.SeedSequence
        Root seed; γ number j uses its j-th child.
    workers : int, optional
        Threads (does not change the results).
    burn_in : float ≥ 0, < horizon
        ODE time excluded from the average (n₀ = floor(burn_in/γ) steps): removes the transient
        from x0, which only biases the finite-n average (the limit in n does not depend on it).
    callback : callable, optional
        Called with no argument after each γ.

    Returns
    -------
    list of ErgodicRecord
        One per γ, in the order given.
    """
    gammas = [check_positive("gammas[i]", g) for g in np.atleast_1d(gammas)]
    horizon = check_positive("horizon", horizon)
    burn_in = check_nonnegative("burn_in", burn_in)
    if burn_in >= horizon:
        raise ParameterError(f"burn_in must lie in [0, horizon) = [0, {horizon:g}), got {burn_in!r}")
    n_runs = check_int("n_runs", n_runs, 2)
    delta = check_nonnegative("delta", delta)
    x0 = check_vector("x0", x0, problem.dim)
    # Children built by spawn key, leaving a caller's SeedSequence untouched (spawn() would not).
    children = [run_seed_sequence(seed, i) for i in range(len(gammas))]

    schemes = [optimizer.replace(gamma=gamma) for gamma in gammas]

    records = []
    for gamma, scheme, child in zip(gammas, schemes, children):
        step = float(scheme.times(1))  # one step of limit time
        n_steps = steps_for_horizon(horizon, step)
        n_burn = min(int(math.floor(burn_in / step)), n_steps - 1)
        result = monte_carlo(problem, scheme, x0, n_steps, n_runs, child, delta=delta,
                             burn_in=n_burn, track_grad_norm=False, workers=workers)
        frac = result.fraction_outside
        mean = float(frac.mean())
        stderr = float(frac.std(ddof=1) / math.sqrt(n_runs))
        dist = problem.critical_distance(result.final_x)
        dist = np.where(result.diverged, np.inf, dist)
        outside = int(np.count_nonzero(dist > delta))
        records.append(ErgodicRecord(
            gamma=float(gamma), n_steps=n_steps, burn_in=n_burn, n_runs=n_runs,
            n_diverged=int(result.diverged.sum()), fraction_outside=mean, stderr=stderr,
            ci95=(max(0.0, mean - Z_95 * stderr), min(1.0, mean + Z_95 * stderr)),
            final_outside=outside / n_runs, final_outside_ci95=wilson_interval(outside, n_runs),
            final_distance_median=float(np.median(dist))))
        if callback is not None:
            callback()
    return records


def log_spaced_steps(n_steps: int, n_points: int) -> np.ndarray:
    """About ``n_points`` distinct integer steps from 1 to ``n_steps``, log-spaced (0 prepended)."""
    n_steps = check_int("n_steps", n_steps, 1)
    n_points = check_int("n_points", n_points, 2)
    steps = np.unique(np.round(np.geomspace(1, n_steps, n_points)).astype(np.int64))
    return np.concatenate([[0], steps])


@dataclass(frozen=True)
class DistanceCurves:
    """d(x_n, 𝒮) at log-spaced steps for a constant- and a decreasing-step scheme.

    Attributes
    ----------
    steps : ndarray (K,)
        Steps n (0 first).
    constant, decreasing : ndarray (R, K)
        d(x_n, 𝒮) per run (NaN after a divergence).
    constant_times, decreasing_times : ndarray (K,)
        Limit times reached: nγ and Σ_{k≤n} γ_k (each record's ``times``).
    constant_optimizer, decreasing_optimizer : Optimizer
        The hyperparameters.
    """

    steps: np.ndarray
    constant: np.ndarray
    decreasing: np.ndarray
    constant_times: np.ndarray
    decreasing_times: np.ndarray
    constant_optimizer: Optimizer
    decreasing_optimizer: Optimizer

    def final_distances(self, which: str) -> np.ndarray:
        """d(x_n, 𝒮) at the last step for ``"constant"`` or ``"decreasing"`` (R,)."""
        return getattr(self, which)[:, -1]

    def tail_median(self, which: str, fraction: float = 0.1) -> float:
        """Median over runs and over the last ``fraction`` of the log-spaced steps (by count)."""
        curves = getattr(self, which)
        k = max(1, int(round(fraction * curves.shape[1])))
        return float(np.nanmedian(curves[:, -k:]))


def compare_decreasing_constant(problem, x0, constant: Optimizer, decreasing: Optimizer,
                                n_steps: int, n_runs: int, seed, workers: int | None = None,
                                n_points: int = 200, callback=None) -> DistanceCurves:
    r"""d(x_n, 𝒮) against n for a constant-step record and a decreasing-step one (e.g. Adam and
    Algorithm 5.1's γ_n = γ0 n^{−κ}).

    Each run computes its whole path (one kernel call, GIL released) and keeps d(x_n, 𝒮) at
    :func:`log_spaced_steps`; memory is one path per worker. Run r of both schemes uses
    ``SeedSequence(seed).spawn(2)[i].spawn(R)[r]`` (i = 0 constant, 1 decreasing).

    Parameters
    ----------
    problem, x0
        Problem and common start x0 (the other slots start at 0).
    constant, decreasing : Optimizer
        The two records.
    n_steps, n_runs : int
        Steps per run and independent runs R.
    seed : int or SeedSequence
    workers : int, optional
        Threads (does not change the results).
    n_points : int
        Number of log-spaced steps kept.
    callback : callable, optional
        Called with no argument after each finished run (2R calls).
    """
    x0 = check_vector("x0", x0, problem.dim)
    n_steps = check_int("n_steps", n_steps, 1)
    n_runs = check_int("n_runs", n_runs, 1)
    workers = check_int("workers", workers, 1) if workers is not None else 1
    steps = log_spaced_steps(n_steps, n_points)
    roots = [run_seed_sequence(seed, i) for i in range(2)]  # caller's SeedSequence untouched
    out = {0: np.empty((n_runs, steps.size)), 1: np.empty((n_runs, steps.size))}
    optimizers = (constant, decreasing)

    def one_run(task):
        which, r = task
        path = run_optimizer(problem, optimizers[which], x0, n_steps,
                             run_seed_sequence(roots[which], r))
        x = path[steps][:, :problem.dim]
        out[which][r] = problem.critical_distance(x)  # NaN after a divergence (NaN iterates)
        return task

    tasks = [(which, r) for which in (0, 1) for r in range(n_runs)]
    if workers == 1:
        for task in tasks:
            one_run(task)
            if callback is not None:
                callback()
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(one_run, tasks):
                if callback is not None:
                    callback()
    return DistanceCurves(steps=steps, constant=out[0], decreasing=out[1],
                          constant_times=constant.times(steps),
                          decreasing_times=decreasing.times(steps),
                          constant_optimizer=constant, decreasing_optimizer=decreasing)
