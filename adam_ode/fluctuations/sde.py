r"""SDE paths of Adam: the first-order SDE and the second-order modified equation (numba).

First order (the diffusion limit behind the LNA):

    dZ = h(t, Z) dt + √γ Σ(t, Z) dW,   ΣΣᵀ = Q (Adam's Q of :mod:`.noise`: noise in (m, v) only).

Second order (the modified equation, derived in paper_notes.md "Fluctuations"): the drift is
h + γh₁ with h₁ chosen so that one SDE step of length γ matches the first two moments of one
discrete step to O(γ³). By Itô–Taylor, an SDE step has mean increment γ(h + γh₁) + (γ²/2)Lh +
O(γ³), Lh = ∂_t h + (∂h/∂z)h (the diffusion part of the generator is O(γ³) here), and second
moment γ²(hhᵀ + Q) + O(γ³). The discrete step has second moment γ²(hhᵀ + Q) + O(γ³) and mean
Φ_γ(z) − z + O(γ³), where Φ_γ is the *noise-free* step with ∇F, S in place of g, g² (the noise
enters x only through m_n, v_n, at order γ·γ² after averaging). Hence

    h + γh₁ = (Φ_γ(t, z) − z)/γ − (γ/2) Lh(t, z),

evaluated as written: Φ_γ exactly, Lh by a central difference of h along (1, h) with step
:data:`LIE_STEP` (error O(LIE_STEP²)·γ). Only the autonomous limit (``debias=False``) has a
regular h₁ at t = 0 (with debiasing, Lh has 1/t² terms); order 2 requires ``debias=False``.

Schemes (dt = γ by default):

- order 1: Euler–Maruyama, with (m, v) advanced first and x with the new (m, v) at t + dt
  (the discrete algorithm's own ordering; regular at the singular t = 0 of eq. 3.3);
- order 2: Heun's predictor–corrector on the drift with the Euler noise increment in both stages.
  With noise of size √γ, its weak error is O(dt² + γ dt) (the Heun mean increment reproduces
  (dt²/2)(∂_t b + Jb + (γ/2)Q:∇²b)), so O(γ²) at dt = γ.

v ≥ 0: after every step v is projected onto [0, ∞) (v ← max(v, 0)). The Gaussian noise of v can
only cross 0 in the first O(1) steps, when v = O(γ); x then barely moves (m = O(nγ)).

Kernels: :func:`sde_path` (any problem with numba moments: dense Cov(g), Cov(g, g²), Var g² and a
2d×2d Cholesky of Q every step) and, at order 1 on a separable problem
(:func:`~.moments.has_diagonal_moments`: StochasticQuadratic, DoubleWell), :func:`sde_path_separable`
(d closed-form 2×2 factors fused with the update, no arrays but the normals; the same arithmetic,
bit-identical results). LinearRegression2D is not separable (Cov(g₁, g₂) = −w₁w₂e₁e₂ ≠ 0), nor is
CorrelatedQuadratic.

Randomness: path r uses ``default_rng(SeedSequence(seed).spawn(R)[r])`` (generated inside the
kernel by :mod:`adam_ode.streams`, bit for bit) (2d standard normals per
step, order 1; the same per Heun step, order 2); paths are split in chunks over a thread pool, so
results are bit-identical for any number of workers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._validation import ParameterError
from ..problems.base import kernel_data_of
from ..streams import STATE_SIZE, child_state, normal, seed_words
from .moments import diagonal_moments, has_diagonal_moments, has_kernel_moments, noise_moments
from .paths import (PIVOT_FLOOR, PathRun, SDEResult, _noise_factor, correlate, store_row,
                    warn_divergences)
from .sde_family import VARIANTS, check_variant, simulate_family_sde, simulate_staged_sde

__all__ = ["SDEResult", "simulate_sde", "sde_path", "sde_path_separable", "has_specialised_sde",
           "LIE_STEP", "PIVOT_FLOOR", "VARIANTS"]

LIE_STEP = 1e-5  # step of the central difference of h along (1, h) in the modified drift



@njit(cache=True, nogil=True, error_model="numpy")
def _bias(rate, t, debias):
    if not debias:
        return 1.0
    return -math.expm1(-rate * t)


@njit(cache=True, nogil=True, error_model="numpy")
def _field(t, z, out, mu, s, a, b, eps, debias, d):
    """h(t, z) of eq. (3.3) / (7.1) into ``out``, given μ = ∇F(x) and S(x)."""
    c_a = _bias(a, t, debias)
    c_b = _bias(b, t, debias)
    for i in range(d):
        v = max(z[2 * d + i], 0.0)
        out[i] = -(z[d + i] / c_a) / (eps + math.sqrt(v / c_b))
        out[d + i] = a * (mu[i] - z[d + i])
        out[2 * d + i] = b * (s[i] - z[2 * d + i])


@njit(cache=True, nogil=True, error_model="numpy")
def _modified_drift(data, t, z, out, work, mu, s, cov, k3, k4, a, b, eps, gamma, d):
    """(Φ_γ(z) − z)/γ − (γ/2)·Lh (module docstring), autonomous Adam (t unused)."""
    h = work[0]
    zp = work[1]
    hp = work[2]
    hm = work[3]
    noise_moments(data, z[:d], mu, s, cov, k3, k4)
    _field(t, z, h, mu, s, a, b, eps, False, d)
    # Noise-free discrete step: m, v first, then x with the new m, v (Algorithm 2.1).
    for i in range(d):
        m_new = z[d + i] + gamma * h[d + i]
        v_new = max(z[2 * d + i] + gamma * h[2 * d + i], 0.0)
        out[i] = -m_new / (eps + math.sqrt(v_new))
        out[d + i] = h[d + i]
        out[2 * d + i] = h[2 * d + i]
    # Lh by a central difference of h along (1, h).
    scale = 0.0
    for j in range(3 * d):
        scale = max(scale, abs(h[j]))
    delta = LIE_STEP / max(1.0, scale)
    for j in range(3 * d):
        zp[j] = z[j] + delta * h[j]
    noise_moments(data, zp[:d], mu, s, cov, k3, k4)
    _field(t, zp, hp, mu, s, a, b, eps, False, d)
    for j in range(3 * d):
        zp[j] = z[j] - delta * h[j]
    noise_moments(data, zp[:d], mu, s, cov, k3, k4)
    _field(t, zp, hm, mu, s, a, b, eps, False, d)
    for j in range(3 * d):
        out[j] -= 0.5 * gamma * (hp[j] - hm[j]) / (2.0 * delta)
    # leave the moments at z for the caller
    noise_moments(data, z[:d], mu, s, cov, k3, k4)


@njit(cache=True, nogil=True, error_model="numpy")
def sde_path(data, a, b, eps, gamma, debias, order, x0, n_steps, dt, rng, record_every,
             record, final, r):
    """One SDE path from (x0, 0, 0); writes z(n_steps·dt) into ``final[r]``."""
    d = x0.shape[0]
    k = 3 * d
    z = np.zeros(k)
    for i in range(d):
        z[i] = x0[i]
    mu = np.empty(d)
    s = np.empty(d)
    cov = np.empty((d, d))
    k3 = np.empty((d, d))
    k4 = np.empty((d, d))
    L = np.empty((2 * d, 2 * d))
    normals = np.empty(2 * d)
    xi = np.empty(2 * d)
    h = np.empty(k)
    h2 = np.empty(k)
    zt = np.empty(k)
    work = np.empty((4, k))
    root = math.sqrt(gamma * dt)
    if record_every > 0:
        store_row(record, r, 0, z)
    for n in range(n_steps):
        t = n * dt
        for j in range(2 * d):
            normals[j] = normal(rng)
        if order == 1:
            noise_moments(data, z[:d], mu, s, cov, k3, k4)
            _noise_factor(cov, k3, k4, a, b, d, L)
            correlate(L, normals, root, 2 * d, xi)
            for i in range(d):
                z[d + i] += dt * a * (mu[i] - z[d + i]) + xi[i]
                z[2 * d + i] = max(z[2 * d + i] + dt * b * (s[i] - z[2 * d + i]) + xi[d + i],
                                   0.0)
            c_a = _bias(a, t + dt, debias)
            c_b = _bias(b, t + dt, debias)
            for i in range(d):
                z[i] -= dt * (z[d + i] / c_a) / (eps + math.sqrt(z[2 * d + i] / c_b))
        else:
            _modified_drift(data, t, z, h, work, mu, s, cov, k3, k4, a, b, eps, gamma, d)
            _noise_factor(cov, k3, k4, a, b, d, L)
            correlate(L, normals, root, 2 * d, xi)
            for j in range(k):
                zt[j] = z[j] + dt * h[j] + (xi[j - d] if j >= d else 0.0)
            for i in range(d):
                zt[2 * d + i] = max(zt[2 * d + i], 0.0)
            _modified_drift(data, t + dt, zt, h2, work, mu, s, cov, k3, k4, a, b, eps, gamma,
                            d)
            for j in range(k):
                z[j] += 0.5 * dt * (h[j] + h2[j]) + (xi[j - d] if j >= d else 0.0)
            for i in range(d):
                if z[2 * d + i] < 0.0:
                    z[2 * d + i] = 0.0
        if record_every > 0 and (n + 1) % record_every == 0:
            store_row(record, r, (n + 1) // record_every, z)
    for j in range(k):
        final[r, j] = z[j]


@njit(cache=True, nogil=True, error_model="numpy")
def sde_path_separable(data, a, b, eps, gamma, debias, x0, n_steps, dt, rng, record_every,
                       record, final, r):
    """:func:`sde_path` at order 1 for a separable problem (:func:`.moments.has_diagonal_moments`).

    Q is block-diagonal over the coordinates (the (m_i, v_i) pairs), so its Cholesky factor is d
    closed-form 2×2 factors; moments, factor and update are fused per coordinate, with no array
    but the 2d normals. Same draws and the same floating-point operations as :func:`sde_path`
    (the generic factor only adds exact zeros), hence bit-identical results.
    """
    d = x0.shape[0]
    k = 3 * d
    z = np.zeros(k)
    for i in range(d):
        z[i] = x0[i]
    normals = np.empty(2 * d)
    root = math.sqrt(gamma * dt)
    aa, ba, bb, dta, dtb = a * a, b * a, b * b, dt * a, dt * b
    if record_every > 0:
        store_row(record, r, 0, z)
    for n in range(n_steps):
        for j in range(2 * d):
            normals[j] = normal(rng)
        t = n * dt
        c_a = _bias(a, t + dt, debias)  # as sde_path (not (n + 1)·dt: other rounding)
        c_b = _bias(b, t + dt, debias)
        for i in range(d):
            mu, s, c, k3, k4 = diagonal_moments(data, i, z[i])
            acc = aa * c
            l00 = math.sqrt(acc) if acc > PIVOT_FLOOR else 0.0
            l10 = ba * k3 / l00 if l00 > 0.0 else 0.0
            acc = bb * k4 - l10 * l10
            l11 = math.sqrt(acc) if acc > PIVOT_FLOOR else 0.0
            m = z[d + i]
            v = z[2 * d + i]
            m += dta * (mu - m) + root * (l00 * normals[i])
            v = max(v + dtb * (s - v) + root * (l10 * normals[i] + l11 * normals[d + i]), 0.0)
            z[d + i] = m
            z[2 * d + i] = v
            if debias:
                z[i] -= dt * (m / c_a) / (eps + math.sqrt(v / c_b))
            else:  # c_a = c_b = 1: m/1 = m exactly, so the same result without two divisions
                z[i] -= dt * m / (eps + math.sqrt(v))
        if record_every > 0 and (n + 1) % record_every == 0:
            store_row(record, r, (n + 1) // record_every, z)
    for j in range(k):
        final[r, j] = z[j]


@njit(cache=True, nogil=True, error_model="numpy")
def sde_chunk(data, a, b, eps, gamma, debias, order, x0, n_steps, dt, entropy_words,
              spawn_words, lo, hi, record_every, record, final):
    """Paths lo … hi − 1 of :func:`sde_path` in one call, each path's NumPy stream generated
    in the kernel (:mod:`adam_ode.streams`, the same bits as a Generator made in Python)."""
    stream = np.zeros(STATE_SIZE, dtype=np.uint64)
    for r in range(lo, hi):
        child_state(entropy_words, spawn_words, r, stream)
        sde_path(data, a, b, eps, gamma, debias, order, x0, n_steps, dt, stream, record_every,
                 record, final, r)


@njit(cache=True, nogil=True, error_model="numpy")
def sde_chunk_separable(data, a, b, eps, gamma, debias, x0, n_steps, dt, entropy_words,
                        spawn_words, lo, hi, record_every, record, final):
    """:func:`sde_chunk` with :func:`sde_path_separable`."""
    stream = np.zeros(STATE_SIZE, dtype=np.uint64)
    for r in range(lo, hi):
        child_state(entropy_words, spawn_words, r, stream)
        sde_path_separable(data, a, b, eps, gamma, debias, x0, n_steps, dt, stream,
                           record_every, record, final, r)


SPECIALISED_KERNEL = "xmv-moments"  # the limits on (x, m, v) of eq. (3.3) / (7.1) run here


def has_specialised_sde(limit) -> bool:
    """Whether ``limit`` runs on this module's (x, m, v) kernels (``limit.sde_kernel``)."""
    return getattr(limit, "sde_kernel", None) == SPECIALISED_KERNEL


def simulate_sde(problem, optimizer, x0, T: float, n_paths: int, seed, order: int = 1,
                 dt: float | None = None, *, record_every: int = 0,
                 workers: int | None = None, kernel: str = "auto",
                 variant: str = "auto") -> SDEResult:
    r"""Paths of an optimizer's first-order SDE, or of Adam's second-order modified equation.

    Parameters
    ----------
    problem : Problem
        A problem with numba noise moments (LinearRegression2D, StochasticQuadratic,
        DoubleWell, CorrelatedQuadratic).
    optimizer : optimizer record
        Adam (γ, a, b, ε, debias; order 2 needs ``debias=False``) runs the kernels of this
        module; every other record with a fluctuation model (SGD, MomentumSGD, Nesterov,
        RMSProp, AdamW) runs the generic Euler–Maruyama kernel of :mod:`.sde_family` (order 1).
        Its time step Δt = ``optimizer.times(1)`` sets the noise scale √Δt. The SDEs are
        Gaussian diffusions: where the noise of g² is large against v (heavy tails, v near
        its start at 0, small ε) their v-noise crosses 0 (projected back: v ← max(v, 0)) and
        the x-steps of size 1/ε that follow are not those of the discrete scheme; e.g. RMSProp
        and AdamW on LinearRegression2D with ε = 0.01 from v = 0 overshoot the LNA's variance
        by factors up to 50 at γ = 2e-3, where on the correlated quadratic they match it to
        ~3 % at t = 3. With bias correction the first steps have the same problem on Gaussian
        noise: v̂ = v/(1 − e^{−bt}) carries noise of relative size sqrt(Var g²)/S = O(1), and
        the clipped v̂ = 0 lets x step by m̂/ε. Correlated quadratic, ε = 0.1, γ = 2e-3, t = 0.3,
        4 000 paths: the SDE's x-variance is 1.4–2.0 times the LNA's (the discrete iterates':
        0.96–1.00) for RMSProp and Adam, 1.05–1.08 for Adam without bias correction.
    x0 : array (d,)
    T : float > 0
        Horizon in the limit's time (t = nγ; t = n·sqrt(γ) for Nesterov); the number of steps
        is round(T/dt).
    n_paths : int ≥ 1
    seed : int ≥ 0 or SeedSequence
        Path r draws from ``default_rng(SeedSequence(seed).spawn(n_paths)[r])``.
    order : 1 or 2
    dt : float, optional
        Time step (default Δt: one SDE step per iteration).
    record_every : int ≥ 0
        Store Z every ``record_every`` steps.
    workers : int, optional
        Threads (default ``os.cpu_count()``); the results do not depend on it.
    kernel : "auto" or "generic"
        "auto": order 1 on a separable problem (StochasticQuadratic, DoubleWell) runs
        :func:`sde_path_separable` (per-coordinate 2×2 factors); "generic" forces
        :func:`sde_path` (dense moments and Cholesky every step). Both give bit-identical
        results; "generic" is there for benchmarks and checks (variant ``gaussian``).
    variant : "auto", "hybrid", "gaussian" or "ode-v"
        How v is kept valid from v = 0 (paper_notes.md "SDE from the first step").
        "hybrid" (the default, "auto", of Adam, RMSProp and AdamW at order 1): each path runs the
        discrete recursion (sampled gradients, in the limit's variables) until
        ρ = max_i sqrt(Δt·b·Var g_i²/2)/v_i ≤ :data:`~.sde_family.RHO_SWITCH`, then the
        Gaussian SDE (the step of the hand-over per path: ``config["hand_over_steps"]``).
        "gaussian": the Gaussian SDE from the first step (v ← max(v, 0)), today's paths bit
        for bit; the default of the other optimizers and of order 2. "ode-v": the Gaussian
        SDE with v's noise dropped (v follows its ODE given x, as in Malladi et al. 2022).
        Both non-Gaussian variants are weak order 1 and advance (m, v) before x, as the
        discrete scheme; :func:`~.sde_family.simulate_staged_sde` runs them.
    """
    if not has_kernel_moments(problem):
        raise ParameterError(f"simulate_sde has no numba noise moments for "
                             f"{type(problem).__name__}")
    if kernel not in ("auto", "generic"):
        raise ParameterError(f"kernel must be 'auto' or 'generic', got {kernel!r}")
    limit = optimizer.limit()
    variant = check_variant(variant, limit, optimizer.name, order)
    if variant != "gaussian":
        return simulate_staged_sde(problem, optimizer, x0, T, n_paths, seed, variant, dt,
                                   record_every=record_every, workers=workers)
    if not has_specialised_sde(limit):
        return simulate_family_sde(problem, optimizer, x0, T, n_paths, seed, order, dt,
                                   record_every=record_every, workers=workers)
    if order not in limit.sde_orders:
        raise ParameterError(f"order must be one of {limit.sde_orders} for {optimizer.name}'s "
                             f"limit, got {order!r}"
                             + (" (order 2, the modified equation, is derived for the "
                                "autonomous limit: debias=False)" if order == 2 else ""))
    data = kernel_data_of(problem)
    gamma = float(optimizer.gamma)
    run = PathRun.check(problem, x0, T, n_paths, seed, dt, gamma, record_every, workers,
                        3 * problem.dim)
    args = (data, float(optimizer.a), float(optimizer.b), float(optimizer.eps), gamma,
            bool(optimizer.debias), int(order), run.x0, run.n_steps, run.dt)

    separable = kernel == "auto" and order == 1 and has_diagonal_moments(problem)
    sep_args = args[:6] + args[7:]  # no order
    words = seed_words(run.root)

    def run_chunk(lo, hi):
        # one call per chunk; path r's stream is SeedSequence child r, made in the kernel
        if separable:
            sde_chunk_separable(*sep_args, *words, lo, hi, run.record_every, run.record,
                                run.final)
        else:
            sde_chunk(*args, *words, lo, hi, run.record_every, run.record, run.final)

    elapsed = run.run(run_chunk)
    config = run.config(problem, optimizer, order,
                        kernel="separable" if separable else "generic")
    return warn_divergences(
        SDEResult(run.final, run.record if run.record_every > 0 else None, run.record_times,
                  run.dt, run.n_steps, order, elapsed, run.workers, config, problem.dim),
        optimizer.name)
