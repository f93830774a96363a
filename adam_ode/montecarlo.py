r"""Parallel Monte Carlo over independent runs of the iterates, with streaming statistics.

Generic over the optimizer records of :mod:`adam_ode.optimizers`: any record runs, and
``reference="limit"`` compares the runs with the record's own continuous limit on its time map.

Each of the R runs draws from its own stream: run i uses the i-th child of
``np.random.SeedSequence(seed)``, i.e. the draws of
``np.random.default_rng(SeedSequence(seed).spawn(R)[i])``, generated inside the chunk kernels
(:func:`adam_ode.kernels.simulate.simulate_chunk`, :mod:`adam_ode.streams`) so that a chunk of runs
is one kernel call. Chunks go to a ``ThreadPoolExecutor`` (the kernels release the GIL), so results
are bit-identical whatever the number of workers or chunks.

Memory is O(R + length of the reference path): each run streams its statistics (sup distance to
a reference path, time averages of ‖∇F(x_k)‖ and of 1{d(x_k, 𝒮) > δ}, final state, divergence
step) and a trajectory is stored only when ``record_every`` asks for it (every k-th state).

A run diverges when x becomes non-finite or leaves the box |x_i| ≤ ``divergence_bound``
(default ``problem.divergence_bound(x0)``, a million times the scale of x0 and x*), or when another state slot (a moment)
becomes non-finite; it then stops, its run index and step are
reported in :attr:`MonteCarloResult.divergence_step` and by a :class:`DivergenceWarning`, and its
statistics are set to their honest limits (sup distance ``inf`` if the divergence happened within
the reference horizon, mean ‖∇F‖ ``inf``, later steps counted as outside every δ-neighbourhood).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np

from . import interrupt
from ._validation import (DivergenceWarning, ParameterError, check_int, check_nonnegative,
                          check_positive, check_vector)
from .continuous import solve_limit
from .kernels.simulate import (kernel_inputs, kernels_for, simulate_chunk,
                               simulate_chunk_pairs)
from .streams import seed_words
from .optimizers import Optimizer

__all__ = [
    "MonteCarloResult",
    "DivergenceWarning",
    "monte_carlo",
    "limit_reference",
    "steps_for_horizon",
    "run_seed_sequence",
]

# Chunks per worker at least. One: the runs of a Monte Carlo cost the same, and every extra chunk
# costs a dispatch and a thread hand-off (measured, 64 Adam runs x 20 000 steps on 2 workers:
# speed-up 1.86x with 1 chunk per worker, 1.64-1.69x with 2-4, 1.61x with 8). Large Monte
# Carlos are split further by CHUNK_RUN_STEPS, which also balances the load.
TASKS_PER_WORKER = 1
# At most this many run·steps per chunk (~0.1 s of kernel time): the progress bar advances and
# Ctrl-C is seen (adam_ode.interrupt) between chunks, whatever the size of the Monte Carlo.
CHUNK_RUN_STEPS = 4_000_000
MAX_RECORD_BYTES = 2**31  # refuse recordings above 2 GiB (ask for a larger record_every)
HORIZON_SLACK = 1e-12  # relative slack in N = floor(T/γ): T = Nγ must not lose its last step


def steps_for_horizon(T: float, gamma: float) -> int:
    """N = floor(T/γ), the number of steps covering [0, T] (robust to T/γ = 9.999…)."""
    T = check_positive("T", T)
    gamma = check_positive("gamma", gamma)
    return int(math.floor(T / gamma * (1.0 + HORIZON_SLACK)))


def run_seed_sequence(seed, run: int) -> np.random.SeedSequence:
    """The seed of run ``run``: ``SeedSequence(seed).spawn(R)[run]``, built without the R − 1 others.

    ``seed``: int ≥ 0 or an (unspawned) ``np.random.SeedSequence``; the children depend only on
    its entropy and spawn key, so repeated calls give the same streams.
    """
    root = _root_seed(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key + (run,),
                                  pool_size=root.pool_size)


def _root_seed(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(check_int("seed", seed, 0))


def limit_reference(problem, optimizer: Optimizer, x0, n_steps: int, *,
                    x_only: bool = False, solver=None) -> np.ndarray:
    """The optimizer's continuous limit at its times t_k = ``optimizer.times(k)``, k = 0 … n.

    Rows are in the optimizer's own state variables (:meth:`Optimizer.from_limit_state`), so
    that row k compares with z_k; ``x_only`` keeps the first d columns. Shape (n+1, width).
    ``solver``: :class:`~adam_ode.SolverOptions` of the solve (default: the current defaults).
    """
    n_steps = check_int("n_steps", n_steps, 0)
    times = optimizer.times(np.arange(n_steps + 1))
    T = float(times[-1]) if n_steps > 0 else 0.0
    if not T > 0.0:
        raise ParameterError(f"the horizon t_n = {T:g} of n_steps = {n_steps} must be > 0")
    traj = solve_limit(problem, optimizer.limit(), x0, T, solver=solver)
    z = optimizer.from_limit_state(traj(np.minimum(times, T)))
    if x_only:
        z = z[:, :problem.dim]
    return np.ascontiguousarray(z, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Per-run statistics of R independent runs (arrays indexed by run).

    Attributes
    ----------
    sup_distance : ndarray (R,) or None
        sup_{k ≤ min(N, n_steps)} ‖z_k − reference_k‖ (x only when the reference has width d);
        ``inf`` for a run that diverged within the reference horizon. None without reference.
    final_state : ndarray (R, n_slots·d)
        z at the last step, the optimizer's slots side by side, x first (at the divergence step
        for diverged runs).
    mean_grad_norm : ndarray (R,) or None
        (1/(n − burn_in)) Σ_{burn_in < k ≤ n} ‖∇F(x_k)‖; ``inf`` for diverged runs.
    fraction_outside : ndarray (R,) or None
        (1/(n − burn_in)) Σ_{burn_in < k ≤ n} 1{d(x_k, 𝒮) > δ}; None when ``delta`` is None.
    divergence_step : ndarray (R,) of int
        First step with a diverged iterate, −1 for runs that did not diverge.
    record : ndarray (R, K, n_slots·d) or None
        z_k for k = 0, record_every, 2·record_every, … (NaN after a divergence).
    record_steps : ndarray (K,) or None
        The recorded step indices k.
    optimizer : Optimizer
        The hyperparameters (frozen dataclass).
    config : dict
        Problem, optimizer, x0, seed, n_steps, options: everything needed to reproduce the result.
    elapsed : float
        Wall time in seconds (does not affect the results).
    workers : int
        Threads used (does not affect the results).
    """

    sup_distance: np.ndarray | None
    final_state: np.ndarray
    mean_grad_norm: np.ndarray | None
    fraction_outside: np.ndarray | None
    divergence_step: np.ndarray
    record: np.ndarray | None
    record_steps: np.ndarray | None
    optimizer: Optimizer | None = None
    config: dict = field(default_factory=dict)
    elapsed: float = 0.0
    workers: int = 1

    @property
    def n_runs(self) -> int:
        return self.divergence_step.shape[0]

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask (R,) of the runs that diverged."""
        return self.divergence_step >= 0

    @property
    def divergences(self) -> list[tuple[int, int]]:
        """(run index, step) of every diverged run."""
        runs = np.flatnonzero(self.diverged)
        return [(int(r), int(self.divergence_step[r])) for r in runs]

    @property
    def dim(self) -> int:
        return self.final_state.shape[1] // self.optimizer.n_slots

    @property
    def final_x(self) -> np.ndarray:
        """x at the last step, (R, d)."""
        return self.final_state[:, :self.dim]

    @property
    def record_x(self) -> np.ndarray | None:
        """The recorded x_k, (R, K, d), or None."""
        return None if self.record is None else self.record[..., :self.dim]

    @property
    def record_times(self) -> np.ndarray | None:
        """ODE times t_k of the recorded states (kγ, or Σ_{j≤k} γ_j for decreasing steps)."""
        if self.record_steps is None:
            return None
        return self.optimizer.times(self.record_steps)

    def summary(self) -> dict:
        """Means and standard errors over the runs that did not diverge, plus the divergences."""
        ok = ~self.diverged
        out = {"n_runs": self.n_runs, "n_diverged": int(self.diverged.sum()),
               "divergences": self.divergences[:10]}
        for name in ("sup_distance", "mean_grad_norm", "fraction_outside"):
            values = getattr(self, name)
            if values is None or not ok.any():
                continue
            kept = values[ok]
            out[name] = {"mean": float(kept.mean()),
                         "stderr": float(kept.std(ddof=1) / math.sqrt(kept.size))
                         if kept.size > 1 else math.nan}
        return out


def _check_reference(reference, dim: int, n_slots: int = 3) -> np.ndarray:
    ref = np.ascontiguousarray(reference, dtype=np.float64)
    if ref.ndim != 2 or ref.shape[0] < 1 or ref.shape[1] not in (dim, n_slots * dim):
        raise ParameterError(f"reference must have shape (N+1, {dim}) or (N+1, "
                             f"{n_slots * dim}) (x or the whole state at step k), "
                             f"got {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise ParameterError("reference must be finite")
    return ref


def _resolve_workers(workers) -> int:
    if workers is None:
        return os.cpu_count() or 1
    return check_int("workers", workers, 1)


def monte_carlo(problem, optimizer: Optimizer, x0, n_steps: int, n_runs: int, seed, *,
                noise: bool = True, reference=None, delta: float | None = None,
                track_grad_norm: bool = True, burn_in: int = 0, record_every: int = 0,
                workers: int | None = None, progress=None,
                divergence_bound: float | None = None,
                partial_reference: bool = False, solver=None) -> MonteCarloResult:
    r"""R independent runs of ``optimizer`` from x0, statistics streamed per run.

    Parameters
    ----------
    problem : Problem
    optimizer : Optimizer
        Any record of :data:`adam_ode.OPTIMIZERS` (frozen, validated hyperparameters).
    x0 : array (d,)
        Common starting point, z_0 = (x0, 0, 0).
    n_steps : int ≥ 0
        Iterations per run.
    n_runs : int ≥ 1
        R.
    seed : int ≥ 0 or np.random.SeedSequence
        Run i draws from ``default_rng(SeedSequence(seed).spawn(R)[i])``.
    noise : bool
        False: exact gradients (all runs then coincide).
    reference : array (N+1, d) or (N+1, n_slots·d), ``"limit"``, ``"limit-x"``, optional
        Path to compare with, row k against z_k (time t_k = ``optimizer.times(k)``), e.g.
        :func:`reference_path`. Width d compares x only. ``"limit"`` (``"limit-x"``) is the
        optimizer's own continuous limit on its time map (:func:`limit_reference`) over the
        whole state (over x).
    delta : float ≥ 0, optional
        δ of the time average of 1{d(x_k, 𝒮) > δ}; None: not computed.
    track_grad_norm : bool
        Compute the time average of ‖∇F(x_k)‖ (one exact gradient per step).
    burn_in : int in [0, n_steps)
        Steps excluded from the time averages.
    record_every : int ≥ 0
        Store z_k every ``record_every`` steps (0: no trajectories stored).
    workers : int ≥ 1, optional
        Threads; default ``os.cpu_count()``. Does not change the results.
    progress : callable, optional
        Called as ``progress(k)`` from the calling thread each time k more runs have finished
        (increments, as :class:`adam_ode.progress.Progress` counts them).
    divergence_bound : float > 0, optional
        A run diverges when some |x_i| exceeds it or x is not finite; default
        ``problem.divergence_bound(x0)`` (a million times the scale of x0 and of the minimizer).
    solver : SolverOptions, optional
        Options of the reference solve of ``reference="limit"`` (default: the current defaults,
        :func:`adam_ode.solver_defaults`).

    Returns
    -------
    MonteCarloResult
    """
    data, hyper = kernel_inputs(problem, optimizer)
    x0 = check_vector("x0", x0, problem.dim)
    n_steps = check_int("n_steps", n_steps, 0)
    n_runs = check_int("n_runs", n_runs, 1)
    workers = _resolve_workers(workers)
    root = _root_seed(seed)
    burn_in = check_int("burn_in", burn_in, 0)
    if n_steps > 0 and burn_in >= n_steps:
        raise ParameterError(f"burn_in must lie in [0, n_steps) = [0, {n_steps}), got {burn_in}")
    record_every = check_int("record_every", record_every, 0)
    delta_k = -1.0 if delta is None else check_nonnegative("delta", delta)
    bound = (problem.divergence_bound(x0) if divergence_bound is None
             else check_positive("divergence_bound", divergence_bound))
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be callable or None, got {progress!r}")
    dim = problem.dim
    n_slots = optimizer.n_slots
    width = n_slots * dim
    if isinstance(reference, str):
        if reference not in ("limit", "limit-x"):
            raise ParameterError(f"reference must be an array, 'limit' or 'limit-x', "
                                 f"got {reference!r}")
        reference = limit_reference(problem, optimizer, x0, n_steps,
                                    x_only=reference == "limit-x", solver=solver)
    elif reference is not None and not optimizer.uniform_steps:
        # An array reference is a path on the grid kγ; these iterates are at other times.
        raise ParameterError(f"an array reference cannot be used with {type(optimizer).__name__}"
                             ": its iterates are at times Σ γ_k, not on the grid kγ of a "
                             "reference path (use reference='limit')")
    ref = np.zeros((0, 0)) if reference is None else _check_reference(reference, dim, n_slots)
    if reference is not None and not (ref.shape[0] == n_steps + 1 or partial_reference
                                      and ref.shape[0] <= n_steps + 1):
        # A shorter path would silently restrict the sup distance to its first rows.
        raise ParameterError(f"reference must have n_steps + 1 = {n_steps + 1} rows (one per "
                             f"step k = 0 … n_steps), got {ref.shape[0]}"
                             + ("" if partial_reference else
                                " (partial_reference=True takes the sup over a shorter path)"))

    if record_every > 0:
        n_record = n_steps // record_every + 1
        if n_runs * n_record * width * 8 > MAX_RECORD_BYTES:
            raise ParameterError(f"record_every = {record_every} would store "
                                 f"{n_runs * n_record * width * 8 / 2**30:.1f} GiB "
                                 f"(limit {MAX_RECORD_BYTES / 2**30:g} GiB): increase "
                                 "record_every")
        record = np.empty((n_runs, n_record, width))
    else:
        record = np.zeros((1, 0, width))
    final = np.empty((n_runs, width))
    sup = np.empty(n_runs)
    grad_avg = np.empty(n_runs)
    outside = np.empty(n_runs)
    div_step = np.empty(n_runs, dtype=np.int64)

    noise = bool(noise)
    track_grad = bool(track_grad_norm)
    simulate, simulate_pair = kernels_for(problem)

    def generator(r: int) -> np.random.Generator:
        return np.random.default_rng(run_seed_sequence(root, r))

    # Where both the problem and the optimizer ask for it (Adam on LinearRegression2D, the hot
    # case) runs advance two at a time (simulate_pair: the same results, overlapping dependency
    # chains); everything else, and an odd run left over, one at a time.
    pairs = optimizer.kernel_pairs and problem.kernel_pairs

    cacheable = type(problem).kernel_cacheable
    if cacheable:
        # One kernel call per chunk; the runs' streams are generated inside it (adam_ode.streams).
        entropy_words, spawn_words = seed_words(root)
        chunk_kernel = simulate_chunk_pairs if pairs else simulate_chunk

    def run_chunk(lo: int, hi: int) -> int:
        if interrupt.requested():  # queued chunks after Ctrl-C: nothing more to compute
            return 0
        if cacheable:
            chunk_kernel(data, hyper, x0, noise, n_steps, entropy_words, spawn_words, lo, hi, ref,
                         delta_k, track_grad, burn_in, record_every, record, final, bound, sup,
                         grad_avg, outside, div_step)
            return hi - lo
        # Problems made of user numba functions: one Generator per run, uncached kernels.
        r = lo
        if pairs:
            while r + 1 < hi:
                (sup[r], grad_avg[r], outside[r], div_step[r]), \
                    (sup[r + 1], grad_avg[r + 1], outside[r + 1], div_step[r + 1]) = \
                    simulate_pair(data, hyper, x0, noise, n_steps, generator(r),
                                  generator(r + 1), ref, delta_k, track_grad, burn_in,
                                  record_every, record, final, r, bound)
                r += 2
        for r in range(r, hi):
            sup[r], grad_avg[r], outside[r], div_step[r] = simulate(
                data, hyper, x0, noise, n_steps, generator(r), ref, delta_k, track_grad,
                burn_in, record_every, record, final, r, bound)
        return hi - lo

    start = time.perf_counter()
    chunks = _chunks(n_runs, n_steps, workers)
    if workers == 1:
        for lo, hi in chunks:
            interrupt.check()
            done = run_chunk(lo, hi)
            if progress is not None:
                progress(done)
        interrupt.check()
    else:
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(run_chunk, lo, hi) for lo, hi in chunks]
            for fut in as_completed(futures):
                done = fut.result()
                interrupt.check()
                if progress is not None:
                    progress(done)
        except BaseException:
            # Ctrl-C (or an error): drop the queued chunks instead of waiting for them.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    elapsed = time.perf_counter() - start

    result = MonteCarloResult(
        sup_distance=sup if ref.shape[0] > 0 else None,
        final_state=final,
        mean_grad_norm=grad_avg if track_grad else None,
        fraction_outside=outside if delta is not None else None,
        divergence_step=div_step,
        record=record if record_every > 0 else None,
        record_steps=np.arange(record.shape[1]) * record_every if record_every > 0 else None,
        optimizer=optimizer,
        config={"problem": problem.config(), "optimizer": optimizer.config(),
                "x0": x0.tolist(), "n_steps": n_steps, "n_runs": n_runs,
                "seed": {"entropy": root.entropy, "spawn_key": list(root.spawn_key)},
                "noise": noise, "delta": delta, "burn_in": burn_in,
                "record_every": record_every, "divergence_bound": bound,
                "reference_steps": int(ref.shape[0]) - 1 if ref.shape[0] else None},
        elapsed=elapsed,
        workers=workers,
    )
    if result.diverged.any():
        shown = ", ".join(f"run {r} at step {k}" for r, k in result.divergences[:5])
        more = "" if result.diverged.sum() <= 5 else f" (and {result.diverged.sum() - 5} more)"
        warnings.warn(DivergenceWarning(
            f"{int(result.diverged.sum())} of {n_runs} runs of {optimizer.name} diverged: "
            f"{shown}{more}", count=int(result.diverged.sum()), total=n_runs,
            first_steps=[k for _, k in result.divergences[:5]]), stacklevel=2)
    return result


def _chunks(n_runs: int, n_steps: int, workers: int) -> list:
    """Contiguous run ranges: at least TASKS_PER_WORKER per worker and at most CHUNK_RUN_STEPS
    run·steps each; even edges, so that paired kernels (simulate_pair) find partners inside each
    chunk. The split never changes the results (one random stream per run)."""
    by_size = -(-n_runs * max(n_steps, 1) // CHUNK_RUN_STEPS)
    n_chunks = max(1, min(max(workers * TASKS_PER_WORKER, by_size), -(-n_runs // 2)))
    edges = (2 * np.round(np.linspace(0, n_runs, n_chunks + 1) / 2)).astype(int)
    edges[-1] = n_runs
    return [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
