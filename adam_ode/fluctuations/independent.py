r"""Discrete Adam and its two SDEs from a common start z₀ on independent draws, with control sums.

For gradient noise that is not Gaussian (LinearRegression2D: Bernoulli-selected coordinates,
heavy-tailed g²) the discrete iterates cannot share draws with a Gaussian SDE as in
:mod:`.coupled`; the weak error is then a difference of two independent Monte Carlo means. Per path
r, from z₀ = (x₀, m₀, v₀) (v₀ > 0: the modified drift has ∂ẋ/∂v ∝ 1/√v, singular at v = 0):

- ``discrete``: autonomous Adam (Algorithm 2.1 without bias corrections, ``debias=False``),
  m ← αm + (1−α)g, v ← βv + (1−β)g², x ← x − γm/(ε + √v), g drawn at the old x by the
  problem's numba sampler from the path's discrete stream — the arithmetic of
  :func:`adam_ode.optimizers.adam.adam_update`, so from z₀ = (x₀, 0, 0) the path is the
  Monte Carlo's (tested);
- ``sde1`` and ``sde2``: the first-order SDE and the modified equation (:mod:`.sde`), both by
  Heun's predictor–corrector on the drift with the Euler noise increment √(γ dt) Q^{1/2}(Z) η,
  dt = γ/k, Q^{1/2} the Cholesky factor of :func:`.sde._noise_factor` at the start of the
  sub-step — at order 2 and k = 1 the scheme of :func:`.sde.sde_path` (bit for bit from
  (x₀, 0, 0), tested). The two SDEs use the same normals (the path's SDE stream, 2d per
  sub-step) and the same projection v ← max(v, 0), whose uses are counted.

Control sums (``time_weights``, rows w_q(t_n)): per path the exactly zero-mean martingale
transforms

    discrete:  Σ_n w_q(t_n) (g_n − ∇F(x_{n−1}))_i,   Σ_n w_q(t_n) (g_n² − S(x_{n−1}))_i,
    each SDE:  Σ_sub-steps w_q(t_n) (Q^{1/2}(Z) η)_c,  c < 2d,

(E[g_n − ∇F(x_{n−1}) | past] = 0, and η is independent of the Z it multiplies), for
:func:`adam_ode.analysis.weak_error.control_variate_mean`.

Randomness: ``seed`` spawns two children, the discrete and the SDE root; path r draws from child
r of each (``default_rng(SeedSequence(root_i.entropy, spawn_key=root_i.spawn_key + (r,)))``,
generated in the kernel by :mod:`adam_ode.streams`). Chunks of paths run on a thread pool; the
results do not depend on the number of workers.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from .._validation import ParameterError, check_int, check_positive
from ..problems.base import kernel_data_of, noise_moments, sample_grad
from ..streams import STATE_SIZE, child_state, normal, seed_words
from .moments import has_kernel_moments
from .paths import _noise_factor, correlate
from .sde import _field, _modified_drift, has_specialised_sde

__all__ = ["IndependentPaths", "independent_paths"]

TASKS_PER_WORKER = 4


@dataclass(frozen=True, eq=False)
class IndependentPaths:
    """``final`` (n_paths, 3, 3d): z at T of (discrete, sde1, sde2); ``controls_discrete``
    (n_paths, 2·n_basis·d), ``controls_sde`` (n_paths, 2, n_basis·2d) for sde1, sde2 (module
    docstring; ordered (kind, basis row, coordinate)); ``projections`` (n_paths, 2): how many
    times v was projected onto [0, ∞) in sde1, sde2."""

    final: np.ndarray
    controls_discrete: np.ndarray
    controls_sde: np.ndarray
    projections: np.ndarray
    n_steps: int
    substeps: int


@njit(cache=True, nogil=True, error_model="numpy")
def _discrete_path(data, alpha, beta, gamma, eps, z0, n_steps, weights, stream, out, ctl):
    d = z0.shape[0] // 3
    n_basis = weights.shape[0]
    state = z0.copy()
    g = np.empty(d)
    mu = np.empty(d)
    s = np.empty(d)
    cov = np.empty((d, d))
    k3 = np.empty((d, d))
    k4 = np.empty((d, d))
    for j in range(ctl.shape[0]):
        ctl[j] = 0.0
    for n in range(n_steps):
        x = state[:d]
        if n_basis > 0:
            noise_moments(data, x, mu, s, cov, k3, k4)
        sample_grad(data, x, stream, g)
        for q in range(n_basis):
            wq = weights[q, n]
            for i in range(d):
                ctl[q * d + i] += wq * (g[i] - mu[i])
                ctl[(n_basis + q) * d + i] += wq * (g[i] * g[i] - s[i])
        for i in range(d):  # adam_update with m_scale = v_scale = 1 (debias=False)
            m = alpha * state[d + i] + (1.0 - alpha) * g[i]
            v = beta * state[2 * d + i] + (1.0 - beta) * (g[i] * g[i])
            state[d + i] = m
            state[2 * d + i] = v
            state[i] -= gamma * m / (eps + math.sqrt(v))
    for j in range(3 * d):
        out[j] = state[j]


@njit(cache=True, nogil=True, error_model="numpy")
def _drift(order, data, z, out, work, mu, s, cov, k3, k4, a, b, eps, gamma, d):
    """h (order 1) or h + γh₁ (order 2) at z, leaving the noise moments at z."""
    if order == 2:
        _modified_drift(data, 0.0, z, out, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
    else:
        noise_moments(data, z[:d], mu, s, cov, k3, k4)
        _field(0.0, z, out, mu, s, a, b, eps, False, d)


@njit(cache=True, nogil=True, error_model="numpy")
def _heun_step(order, data, z, normals, a, b, eps, gamma, dt, root, buf, work, L, xi, mu, s,
               cov, k3, k4):
    """One Heun sub-step of sde_path's order-2 form; returns the number of v projections and
    leaves Q^{1/2}η (unscaled) in ``xi``."""
    d = z.shape[0] // 3
    h = buf[0]
    h2 = buf[1]
    zt = buf[2]
    _drift(order, data, z, h, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
    _noise_factor(cov, k3, k4, a, b, d, L)
    correlate(L, normals, 1.0, 2 * d, xi)  # unscaled: 1.0·acc is acc exactly
    for j in range(3 * d):
        zt[j] = z[j] + dt * h[j] + (root * xi[j - d] if j >= d else 0.0)
    for i in range(d):
        zt[2 * d + i] = max(zt[2 * d + i], 0.0)
    _drift(order, data, zt, h2, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
    for j in range(3 * d):
        z[j] += 0.5 * dt * (h[j] + h2[j]) + (root * xi[j - d] if j >= d else 0.0)
    hits = 0
    for i in range(d):
        if z[2 * d + i] < 0.0:
            z[2 * d + i] = 0.0
            hits += 1
    return hits


@njit(cache=True, nogil=True, error_model="numpy")
def _sde_paths(data, a, b, eps, gamma, z0, n_steps, k, weights, stream, out1, out2, ctl, hits):
    """sde1 and sde2 from z0 on the same normals (2d per sub-step)."""
    d = z0.shape[0] // 3
    n_basis = weights.shape[0]
    z1 = z0.copy()
    z2 = z0.copy()
    normals = np.empty(2 * d)
    buf = np.empty((3, 3 * d))
    work = np.empty((4, 3 * d))
    L = np.empty((2 * d, 2 * d))
    xi = np.empty(2 * d)
    mu = np.empty(d)
    s = np.empty(d)
    cov = np.empty((d, d))
    k3 = np.empty((d, d))
    k4 = np.empty((d, d))
    dt = gamma / k
    root = math.sqrt(gamma * dt)
    for p in range(2):
        hits[p] = 0
        for j in range(ctl.shape[1]):
            ctl[p, j] = 0.0
    for n in range(n_steps):
        for _ in range(k):
            for j in range(2 * d):
                normals[j] = normal(stream)
            for p in range(2):
                z = z1 if p == 0 else z2
                hits[p] += _heun_step(p + 1, data, z, normals, a, b, eps, gamma, dt, root, buf,
                                      work, L, xi, mu, s, cov, k3, k4)
                for q in range(n_basis):
                    wq = weights[q, n]
                    for j in range(2 * d):
                        ctl[p, q * 2 * d + j] += wq * xi[j]
    for j in range(3 * d):
        out1[j] = z1[j]
        out2[j] = z2[j]


@njit(cache=True, nogil=True, error_model="numpy")
def _chunk(data, a, b, eps, gamma, alpha, beta, z0, n_steps, k, weights, disc_words, sde_words,
           lo, hi, final, ctl_disc, ctl_sde, hits):
    stream = np.zeros(STATE_SIZE, dtype=np.uint64)
    for r in range(lo, hi):
        child_state(disc_words[0], disc_words[1], r, stream)
        _discrete_path(data, alpha, beta, gamma, eps, z0, n_steps, weights, stream, final[r, 0],
                       ctl_disc[r])
        child_state(sde_words[0], sde_words[1], r, stream)
        _sde_paths(data, a, b, eps, gamma, z0, n_steps, k, weights, stream, final[r, 1],
                   final[r, 2], ctl_sde[r], hits[r])


def independent_paths(problem, optimizer, z0, T: float, n_paths: int, seed, *,
                      substeps: int = 2, time_weights=None,
                      workers: int | None = None) -> IndependentPaths:
    """Discrete autonomous Adam and its SDEs of order 1 and 2 from ``z0`` (module docstring).

    Parameters
    ----------
    problem : Problem
        Any problem with a numba sampler and numba noise moments.
    optimizer : Adam
        γ, a, b, ε with ``debias=False``.
    z0 : array (3d,)
        The common start (x, m, v).
    T : float > 0
        Horizon; n = round(T/γ) discrete steps, ``substeps`` SDE sub-steps per step.
    n_paths : int ≥ 1
    seed : int ≥ 0 or SeedSequence
    time_weights : array (n_basis, n), optional
        The w_q(t_n) of the control sums (:func:`adam_ode.analysis.weak_error.time_basis`).
    workers : int, optional
        Threads (default ``os.cpu_count()``); the results do not depend on it.
    """
    if 2 not in optimizer.limit().sde_orders or not has_specialised_sde(optimizer.limit()):
        raise ParameterError("independent_paths compares a scheme with its SDEs of order 1 and "
                             f"2: {optimizer.name}'s limit has no second-order SDE kernel (Adam "
                             "needs debias=False)")
    if not has_kernel_moments(problem):
        raise ParameterError(f"no numba noise moments for {type(problem).__name__}")
    d = problem.dim
    z0 = np.asarray(z0, dtype=float)
    if z0.shape != (3 * d,) or not np.all(np.isfinite(z0)):
        raise ParameterError(f"z0 must hold 3d = {3 * d} finite entries, got {z0.shape}")
    T = check_positive("T", T)
    n_paths = check_int("n_paths", n_paths, 1)
    k = check_int("substeps", substeps, 1)
    workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers, 1)
    gamma = float(optimizer.gamma)
    n_steps = round(T / gamma)
    weights = np.zeros((0, n_steps)) if time_weights is None else \
        np.ascontiguousarray(time_weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != n_steps:
        raise ParameterError(f"time_weights must have shape (n_basis, {n_steps}), got "
                             f"{weights.shape}")
    n_basis = weights.shape[0]
    root = seed if isinstance(seed, np.random.SeedSequence) else \
        np.random.SeedSequence(check_int("seed", seed, 0))
    disc_root, sde_root = root.spawn(2)
    final = np.empty((n_paths, 3, 3 * d))
    ctl_disc = np.zeros((n_paths, 2 * n_basis * d))
    ctl_sde = np.zeros((n_paths, 2, n_basis * 2 * d))
    hits = np.zeros((n_paths, 2), dtype=np.int64)
    args = (kernel_data_of(problem), float(optimizer.a), float(optimizer.b),
            float(optimizer.eps), gamma, float(optimizer.alpha), float(optimizer.beta), z0,
            n_steps, k, weights, seed_words(disc_root), seed_words(sde_root))

    def run_chunk(lo, hi):
        _chunk(*args, lo, hi, final, ctl_disc, ctl_sde, hits)

    n_chunks = min(n_paths, workers * TASKS_PER_WORKER)
    edges = np.linspace(0, n_paths, n_chunks + 1).astype(int)
    if workers == 1:
        for lo, hi in itertools.pairwise(edges):
            run_chunk(lo, hi)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for f in [pool.submit(run_chunk, lo, hi) for lo, hi in itertools.pairwise(edges)]:
                f.result()
    return IndependentPaths(final, ctl_disc, ctl_sde, hits, n_steps, k)
