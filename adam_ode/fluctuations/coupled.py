r"""Discrete Adam and its SDEs driven by the same Gaussian draws (common random numbers).

On a problem with Gaussian gradient noise g = ∇F(x) + Lξ, ξ ~ N(0, I_d)
(:class:`~adam_ode.fluctuations.CorrelatedQuadratic`), one step of autonomous Adam
(``debias=False``) is

    m ← m + aγ(g − m),   v ← v + bγ(g² − v),   x ← x − γ m/(ε + √v),

and the (m, v) noise of the SDE, covariance γ·Q with Q = [[a²C, abK], [abKᵀ, b²V]], has the
factor (Gaussian moments: K = Σ·diag(2μ), V − KᵀC⁻¹K = 2Σ∘Σ, constant)

    Q^{1/2} = [[a L, 0], [b diag(2μ) L, b R]],   R Rᵀ = 2 Σ∘Σ  (∘: entrywise).

So the SDE's m-noise is *the same* a·L·ξ as the discrete gradient noise, its v-noise shares the
part 2μ∘(Lξ) that is linear in ξ, and only the remainder R ξ' (the Gaussian stand-in for the
discrete (Lξ)² − diag Σ) uses its own draws ξ'. Each discrete step of length γ is split into k SDE
sub-steps dt = γ/k with Brownian increments √dt η_j (2d normals each); the discrete step uses
ξ = Σ_j η_j[:d] / √k, i.e. the Brownian motion of the SDE sampled at the discrete times.

Paths (one kernel call per path, all from the same draws):

- ``discrete``: the algorithm above (exact, with α = 1 − aγ, β = 1 − bγ);
- ``sde1``: dZ = h dt + √γ Q^{1/2} dW (the first-order SDE);
- ``sde2``: the same noise, drift h + γh₁ of the modified equation (:mod:`.sde`);

both SDEs by Heun's predictor–corrector on the drift with the Euler noise increment, whose weak
error against the exact SDE is O(dt² + γ dt) = O(γ²/k) (:mod:`.sde`). ``antithetic``: every path
is also run with all draws negated (−η), giving a pair.

Control variates (``time_weights``, rows w_q(t_n), one per discrete step): for each path the
kernel also returns the exactly zero-mean sums, per coordinate i,

    Σ_n w_q(t_n) (Lξ_n)_i,   Σ_n w_q(t_n) ((Lξ_n)_i² − Σ_ii),   Σ_n w_q(t_n) (R η̄_n)_i,

with η̄_n = Σ_j η_j[d:]/√k the v-remainder draws of step n: the common m-noise, the discrete
quadratic v-noise and the SDE's own v-noise. The last two are independent of each other, which is
why common draws alone cannot cancel the v-noise (:mod:`adam_ode.analysis.weak_error` regresses
the per-path differences on these sums).

Randomness: path r uses ``default_rng(SeedSequence(seed).spawn(R)[r])`` (n·k·2d standard
normals); paths are split in chunks over threads, so results do not depend on the worker count.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from .._validation import ParameterError
from ..problems import kernel_data_of
from .sde import _field, _modified_drift

__all__ = ["N_CONTROL_KINDS", "SCHEMES", "coupled_paths"]

SCHEMES = ("discrete", "sde1", "sde2")
N_CONTROL_KINDS = 3  # m-noise Lξ, discrete (Lξ)² − diag Σ, SDE remainder Rη̄ (module docstring)
TASKS_PER_WORKER = 4


@njit(cache=True, nogil=True, error_model="numpy")
def _sde_drift(order, data, z, out, work, mu, s, cov, k3, k4, a, b, eps, gamma, d):
    """h (order 1) or h + γh₁ (order 2) at z; leaves μ = Ax in ``mu``."""
    if order == 2:
        _modified_drift(data, 0.0, z, out, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
    else:
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += data.A[i, j] * z[j]
            mu[i] = acc
            c = 0.0
            for j in range(d):
                c += data.L[i, j] * data.L[i, j]
            s[i] = acc * acc + c
        _field(0.0, z, out, mu, s, a, b, eps, False, d)


@njit(cache=True, nogil=True, error_model="numpy")
def _sde_noise(data, R, mu, eta, scale, a, b, d, xi):
    """√(γ dt)·Q^{1/2}·η into xi (2d): m part a·Lη_m, v part b(2μ∘Lη_m + Rη_v)."""
    for i in range(d):
        lm = 0.0
        rv = 0.0
        for j in range(d):
            lm += data.L[i, j] * eta[j]
            rv += R[i, j] * eta[d + j]
        xi[i] = scale * a * lm
        xi[d + i] = scale * b * (2.0 * mu[i] * lm + rv)


@njit(cache=True, nogil=True, error_model="numpy")
def _run_sde(order, data, R, a, b, eps, gamma, z0, n_steps, k, normals, sign, out):
    n3 = z0.shape[0]
    d = n3 // 3
    z = z0.copy()
    zt = np.empty(n3)
    h = np.empty(n3)
    h2 = np.empty(n3)
    work = np.empty((4, n3))
    mu = np.empty(d)
    s = np.empty(d)
    cov = np.empty((d, d))
    k3 = np.empty((d, d))
    k4 = np.empty((d, d))
    xi = np.empty(2 * d)
    eta = np.empty(2 * d)
    dt = gamma / k
    scale = math.sqrt(gamma * dt)
    row = 0
    for n in range(n_steps):
        for j in range(k):
            for c in range(2 * d):
                eta[c] = sign * normals[row, c]
            row += 1
            _sde_drift(order, data, z, h, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
            _sde_noise(data, R, mu, eta, scale, a, b, d, xi)
            for c in range(n3):
                zt[c] = z[c] + dt * h[c] + (xi[c - d] if c >= d else 0.0)
            for i in range(d):
                zt[2 * d + i] = max(zt[2 * d + i], 0.0)
            _sde_drift(order, data, zt, h2, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
            for c in range(n3):
                z[c] += 0.5 * dt * (h[c] + h2[c]) + (xi[c - d] if c >= d else 0.0)
            for i in range(d):
                z[2 * d + i] = max(z[2 * d + i], 0.0)
    for c in range(n3):
        out[c] = z[c]


@njit(cache=True, nogil=True, error_model="numpy")
def _run_discrete(data, a, b, eps, gamma, z0, n_steps, k, normals, sign, out):
    d = z0.shape[0] // 3
    x = z0[:d].copy()
    m = z0[d:2 * d].copy()
    v = z0[2 * d:].copy()
    xi = np.empty(d)
    g = np.empty(d)
    alpha = 1.0 - a * gamma
    beta = 1.0 - b * gamma
    root_k = math.sqrt(k)
    row = 0
    for n in range(n_steps):
        for c in range(d):
            xi[c] = 0.0
        for j in range(k):
            for c in range(d):
                xi[c] += normals[row, c]
            row += 1
        for c in range(d):
            xi[c] *= sign / root_k
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += data.A[i, j] * x[j] + data.L[i, j] * xi[j]
            g[i] = acc
        for i in range(d):
            m[i] = alpha * m[i] + (1.0 - alpha) * g[i]
            v[i] = beta * v[i] + (1.0 - beta) * g[i] * g[i]
            x[i] -= gamma * m[i] / (eps + math.sqrt(v[i]))
    for i in range(d):
        out[i] = x[i]
        out[d + i] = m[i]
        out[2 * d + i] = v[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _noise_controls(data, R, n_steps, k, weights, normals, sign, out):
    """The zero-mean noise sums of the module docstring into ``out`` (3·n_basis·d,)."""
    d = R.shape[0]
    n_basis = weights.shape[0]
    root_k = math.sqrt(k)
    xi = np.empty(d)
    ev = np.empty(d)
    for j in range(out.shape[0]):
        out[j] = 0.0
    row = 0
    for n in range(n_steps):
        for c in range(d):
            xi[c] = 0.0
            ev[c] = 0.0
        for j in range(k):
            for c in range(d):
                xi[c] += normals[row, c]
                ev[c] += normals[row, d + c]
            row += 1
        for c in range(d):
            xi[c] *= sign / root_k
            ev[c] *= sign / root_k
        for i in range(d):
            u = 0.0
            w = 0.0
            var = 0.0
            for j in range(d):
                u += data.L[i, j] * xi[j]
                w += R[i, j] * ev[j]
                var += data.L[i, j] * data.L[i, j]
            for q in range(n_basis):
                wq = weights[q, n]
                out[q * d + i] += wq * u
                out[(n_basis + q) * d + i] += wq * (u * u - var)
                out[(2 * n_basis + q) * d + i] += wq * w


@njit(cache=True, nogil=True, error_model="numpy")
def coupled_path(data, R, a, b, eps, gamma, z0, n_steps, k, n_pairs, rng, normals, out, r,
                 weights, controls):
    """Path r (and its antithetic twin when n_pairs = 2): out[r, pair, scheme, :] = z at T,
    controls[r, pair, :] its noise sums for the rows of ``weights`` (none if it has 0 rows)."""
    d = z0.shape[0] // 3
    for row in range(n_steps * k):
        for c in range(2 * d):
            normals[row, c] = rng.standard_normal()
    for p in range(n_pairs):
        sign = 1.0 if p == 0 else -1.0
        _run_discrete(data, a, b, eps, gamma, z0, n_steps, k, normals, sign, out[r, p, 0])
        _run_sde(1, data, R, a, b, eps, gamma, z0, n_steps, k, normals, sign, out[r, p, 1])
        _run_sde(2, data, R, a, b, eps, gamma, z0, n_steps, k, normals, sign, out[r, p, 2])
        if weights.shape[0] > 0:
            _noise_controls(data, R, n_steps, k, weights, normals, sign, controls[r, p])


def coupled_paths(problem, optimizer, z0, T: float, n_paths: int, seed, *, substeps: int = 4,
                  antithetic: bool = True, workers: int | None = None,
                  time_weights=None) -> tuple[np.ndarray, np.ndarray]:
    """``(final, controls)``: final states (n_paths, 1 or 2, 3, 3d) of (discrete, sde1, sde2)
    from common draws, and their noise sums (n_paths, 1 or 2, 3·n_basis·d), ordered (kind,
    basis row, coordinate).

    ``z0`` (3d,) is the common start (x, m, v); ``problem`` must be a :class:`CorrelatedQuadratic`,
    ``optimizer`` an autonomous Adam record (``debias=False``); n = round(T/γ) discrete steps,
    ``substeps`` SDE steps per discrete step. Axis 1 holds the path and, with ``antithetic``, its
    twin with negated draws. ``time_weights`` (n_basis, n): the w_q(t_n) of the control sums
    (e.g. :func:`adam_ode.analysis.weak_error.time_basis`); None: no controls (0 columns).
    """
    if not type(problem).linear_gaussian:
        raise ParameterError(f"coupled_paths needs linear Gaussian gradient noise g = Ax + Lξ "
                             f"(a problem with linear_gaussian = True, e.g. CorrelatedQuadratic); "
                             f"{type(problem).__name__} is not")
    if 2 not in optimizer.limit().sde_orders:
        raise ParameterError("coupled_paths compares a scheme with its SDEs of order 1 and 2: "
                             f"{optimizer.name}'s limit has orders {optimizer.limit().sde_orders}"
                             " (Adam needs debias=False)")
    data = kernel_data_of(problem)
    sigma = problem.noise_cov
    R = np.linalg.cholesky(2.0 * sigma * sigma)
    z0 = np.asarray(z0, dtype=float)
    if z0.shape != (3 * problem.dim,):
        raise ParameterError(f"z0 must have 3d = {3 * problem.dim} entries, got {z0.shape}")
    gamma = float(optimizer.gamma)
    n_steps = int(round(T / gamma))
    k = int(substeps)
    n_pairs = 2 if antithetic else 1
    d = problem.dim
    out = np.empty((n_paths, n_pairs, 3, 3 * d))
    weights = np.zeros((0, n_steps)) if time_weights is None else \
        np.ascontiguousarray(time_weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != n_steps:
        raise ParameterError(f"time_weights must have shape (n_basis, {n_steps}), got "
                             f"{weights.shape}")
    controls = np.zeros((n_paths, n_pairs, N_CONTROL_KINDS * weights.shape[0] * d))
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    workers = workers or os.cpu_count() or 1
    args = (data, R, float(optimizer.a), float(optimizer.b), float(optimizer.eps), gamma, z0,
            n_steps, k, n_pairs)

    def run_chunk(lo, hi):
        normals = np.empty((n_steps * k, 2 * d))
        for r in range(lo, hi):
            rng = np.random.default_rng(np.random.SeedSequence(
                root.entropy, spawn_key=root.spawn_key + (r,), pool_size=root.pool_size))
            coupled_path(*args, rng, normals, out, r, weights, controls)

    n_chunks = min(n_paths, workers * TASKS_PER_WORKER)
    edges = np.linspace(0, n_paths, n_chunks + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(run_chunk, lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]:
            f.result()
    return out, controls
