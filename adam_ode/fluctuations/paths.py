r"""What every SDE front end shares: the result, the validated run with its buffers, and the
numba pieces that turn the gradient-noise moments into correlated Gaussian increments.

:func:`_noise_factor` is the lower Cholesky factor of the noise covariance of (m, v)-type slots
(the moments of (g, g²) scaled by the slots' rates), :func:`correlate` applies it to standard
normals, :func:`store_row` records a state; :class:`PathRun` checks the arguments (errors name
them), allocates the outputs and runs chunks of paths on a thread pool (path r draws from
SeedSequence child r, so the split does not change the results).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .._validation import DivergenceWarning, check_int, check_positive, check_vector
from ..kernels.simulate import DIVERGENCE_BOUND

__all__ = ["SDEResult", "PathRun", "warn_divergences", "correlate", "store_row",
           "PIVOT_FLOOR", "TASKS_PER_WORKER"]

PIVOT_FLOOR = 1e-300  # Cholesky pivots below this are treated as 0 (rank-deficient Q)
TASKS_PER_WORKER = 4


@dataclass(frozen=True, eq=False)
class SDEResult:
    """Paths of the SDE: ``final_state`` (n_paths, n_slots·d) in the optimizer's state variables,
    x first ((x, m, v) for Adam), like ``MonteCarloResult``'s; ``record`` (n_paths, n_rec,
    n_slots·d) at ``record_times`` when recording."""

    final_state: np.ndarray
    record: np.ndarray | None
    record_times: np.ndarray | None
    dt: float
    n_steps: int
    order: int
    elapsed: float
    workers: int
    config: dict = field(default_factory=dict)
    dim: int | None = None

    @property
    def final_x(self) -> np.ndarray:
        d = self.final_state.shape[1] // 3 if self.dim is None else self.dim
        return self.final_state[:, :d]

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask (n_paths,) of the paths whose state is not finite at the end (or at a
        recorded time) or whose x left the box |x_i| ≤ ``DIVERGENCE_BOUND`` (the Monte Carlo's
        bound). Their rows are kept as computed; statistics should use ``~diverged``."""
        d = self.final_state.shape[1] // 3 if self.dim is None else self.dim
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(self.final_state).all(axis=1) | \
                (np.abs(self.final_state[:, :d]) > DIVERGENCE_BOUND).any(axis=1)
        if self.record is not None:
            bad |= ~np.isfinite(self.record).all(axis=(1, 2))
        return bad


def warn_divergences(result: SDEResult, name: str) -> SDEResult:
    """A :class:`~adam_ode.DivergenceWarning` naming how many paths diverged (and which)."""
    bad = np.flatnonzero(result.diverged)
    if bad.size:
        shown = ", ".join(str(int(r)) for r in bad[:5])
        more = "" if bad.size <= 5 else f" (and {bad.size - 5} more)"
        warnings.warn(DivergenceWarning(
            f"{bad.size} of {result.final_state.shape[0]} SDE paths of {name} diverged (not "
            f"finite or |x| > {DIVERGENCE_BOUND:g}): paths {shown}{more}", count=int(bad.size),
            total=int(result.final_state.shape[0])), stacklevel=3)
    return result
@njit(cache=True, nogil=True, error_model="numpy")
def _noise_factor(cov, cov_g_g2, cov_g2, a, b, d, L):
    """Lower Cholesky factor L (2d, 2d) of diag(s)·M·diag(s), M = Cov((g, g²)) = [[C, K], [Kᵀ, V]]
    and s = (a, …, a, b, …, b): Adam's Q restricted to (m, v); with a = b = 1 the factor of M
    itself (:mod:`.sde_family`). Pivots below :data:`PIVOT_FLOOR` are set to 0."""
    n = 2 * d
    for i in range(n):
        for j in range(n):
            L[i, j] = 0.0
    for i in range(n):
        for j in range(i + 1):
            si = a if i < d else b
            sj = a if j < d else b
            ii = i if i < d else i - d
            jj = j if j < d else j - d
            if i < d and j < d:
                q = cov[ii, jj]
            elif i >= d and j >= d:
                q = cov_g2[ii, jj]
            else:
                q = cov_g_g2[jj, ii] if i >= d else cov_g_g2[ii, jj]
            acc = si * sj * q
            for k in range(j):
                acc -= L[i, k] * L[j, k]
            if i == j:
                L[i, i] = math.sqrt(acc) if acc > PIVOT_FLOOR else 0.0
            else:
                L[i, j] = acc / L[j, j] if L[j, j] > 0.0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def correlate(L, normals, scale, n, out):
    """out[j] = scale·Σ_{l≤j} L[j, l]·normals[l] for j < n: the Gaussian vector of factor L."""
    for j in range(n):
        acc = 0.0
        for l in range(j + 1):
            acc += L[j, l] * normals[l]
        out[j] = scale * acc


@njit(cache=True, nogil=True, error_model="numpy")
def store_row(record, r, row, z):
    """record[r, row] = z (a recorded state of path r)."""
    for j in range(z.shape[0]):
        record[r, row, j] = z[j]



@dataclass(frozen=True)
class PathRun:
    """The validated arguments shared by the SDE front ends, with the output buffers."""

    x0: np.ndarray
    T: float
    n_paths: int
    dt: float
    n_steps: int
    record_every: int
    workers: int
    root: np.random.SeedSequence
    final: np.ndarray
    record: np.ndarray

    @classmethod
    def check(cls, problem, x0, T, n_paths, seed, dt, default_dt, record_every, workers, k):
        """Validate (errors name the parameter) and allocate the (n_paths, k) outputs."""
        x0 = check_vector("x0", x0, problem.dim)
        T = check_positive("T", T)
        n_paths = check_int("n_paths", n_paths, 1)
        dt = default_dt if dt is None else check_positive("dt", dt)
        n_steps = int(round(T / dt))
        record_every = check_int("record_every", record_every, 0)
        workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers, 1)
        root = seed if isinstance(seed, np.random.SeedSequence) else \
            np.random.SeedSequence(check_int("seed", seed, 0))
        n_rec = n_steps // record_every + 1 if record_every > 0 else 0
        record = np.empty((n_paths, n_rec, k)) if record_every > 0 else np.zeros((1, 0, k))
        return cls(x0, T, n_paths, float(dt), n_steps, record_every, workers, root,
                   np.empty((n_paths, k)), record)

    @property
    def record_times(self):
        if self.record_every == 0:
            return None
        return np.arange(self.record.shape[1]) * self.record_every * self.dt

    def run(self, run_chunk) -> float:
        """``run_chunk(lo, hi)`` over chunks of paths on ``workers`` threads; the seconds taken.
        Path r's stream is SeedSequence child r, so the split does not change the results."""
        start = time.perf_counter()
        n_chunks = min(self.n_paths, self.workers * TASKS_PER_WORKER)
        edges = np.linspace(0, self.n_paths, n_chunks + 1).astype(int)
        if self.workers == 1:
            for lo, hi in zip(edges[:-1], edges[1:]):
                run_chunk(lo, hi)
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for f in [pool.submit(run_chunk, lo, hi)
                          for lo, hi in zip(edges[:-1], edges[1:])]:
                    f.result()
        return time.perf_counter() - start

    def config(self, problem, optimizer, order, **extra) -> dict:
        return {"problem": problem.config(), "optimizer": optimizer.config(),
                "x0": self.x0.tolist(), "T": self.T, "n_paths": self.n_paths, "order": order,
                "dt": self.dt, "n_steps": self.n_steps,
                "seed": {"entropy": self.root.entropy, "spawn_key": list(self.root.spawn_key)},
                **extra}
