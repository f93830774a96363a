r"""First-order SDE paths for every optimizer with a fluctuation model (numba, generic).

In the limit's variables (:mod:`.noise`), one step of the scheme is Δt·(h + η) with η of
covariance Q = B M Bᵀ (B the limit's noise map, M the joint covariance of (g, g²)). The
first-order SDE (the diffusion behind the LNA) is

    dZ = h(t, Z) dt + √Δt · B(t, Z) M(Z)^{1/2} dW,   W a 2d-dimensional Brownian motion,

with M^{1/2} the lower Cholesky factor of M (:func:`~.sde._noise_factor` with unit scales; pivots
below :data:`~.sde.PIVOT_FLOOR` set to 0: M is singular where the noise of g or g² is
degenerate). It is integrated by Euler–Maruyama,

    Z ← Z + dt·h(t, Z) + √(Δt·dt) · B L ξ,   ξ ~ N(0, I_2d),

followed by the limit's projection onto its domain (``limit_project``: v ← max(v, 0) for RMSProp
and Adam, nothing for the others). Weak order 1 in dt; with dt = Δt, one SDE step per iteration.

Every piece comes from the spec: the drift and noise map are the numba ``limit_field``,
``limit_noise`` and ``limit_project`` registered by each optimizer module for the
``NamedTuple`` of its limit's ``kernel_args()``, and the moments are the problem's numba
``noise_moments``; one compiled kernel per (problem, limit) pair, cached on disk. Adam keeps its
own kernels in :mod:`.sde` (also second order); :func:`~.sde.simulate_sde` dispatches.

Randomness: path r uses ``default_rng(SeedSequence(seed).spawn(R)[r])`` (2d normals per step),
generated in the kernel (:mod:`adam_ode.streams`); paths are split in chunks over threads, so
the results do not depend on the number of workers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._overloads import has_overload
from .._validation import ParameterError
from ..optimizers.base import limit_field, limit_noise, limit_project
from ..problems.base import kernel_data_of, sample_grad
from ..streams import STATE_SIZE, child_state, normal, seed_words
from .moments import noise_moments
from .noise import NoiseModel
from .paths import PathRun, SDEResult, _noise_factor, correlate, store_row, warn_divergences

__all__ = ["family_sde_path", "family_sde_chunk", "simulate_family_sde", "staged_sde_path",
           "simulate_staged_sde", "check_variant", "is_adaptive", "VARIANTS", "RHO_SWITCH"]

@njit(cache=True, nogil=True, error_model="numpy")
def family_sde_path(data, la, n_slots, z0, n_steps, dt, scale, rng, record_every, record,
                    final, r):
    """One Euler–Maruyama path from z0 (the limit's initial state); z(n_steps·dt) → final[r]."""
    k = z0.shape[0]
    d = k // n_slots
    z = z0.copy()
    mu = np.empty(d)
    s = np.empty(d)
    cov = np.empty((d, d))
    k3 = np.empty((d, d))
    k4 = np.empty((d, d))
    L = np.empty((2 * d, 2 * d))
    B = np.zeros((n_slots, 2, d))
    h = np.empty(k)
    xi = np.empty(2 * d)
    w = np.empty(2 * d)
    root = math.sqrt(scale * dt)
    if record_every > 0:
        store_row(record, r, 0, z)
    for n in range(n_steps):
        t = n * dt
        for j in range(2 * d):
            xi[j] = normal(rng)
        noise_moments(data, z[:d], mu, s, cov, k3, k4)
        limit_field(la, t, z, mu, s, h, d)
        B[:, :, :] = 0.0
        limit_noise(la, t, z, mu, s, B, d)
        _noise_factor(cov, k3, k4, 1.0, 1.0, d, L)  # the Cholesky factor of M itself
        correlate(L, xi, root, 2 * d, w)
        for q in range(n_slots):
            for i in range(d):
                z[q * d + i] += dt * h[q * d + i] + B[q, 0, i] * w[i] + B[q, 1, i] * w[d + i]
        limit_project(la, z, d)
        if record_every > 0 and (n + 1) % record_every == 0:
            store_row(record, r, (n + 1) // record_every, z)
    for j in range(k):
        final[r, j] = z[j]


@njit(cache=True, nogil=True, error_model="numpy")
def family_sde_chunk(data, la, n_slots, z0, n_steps, dt, scale, entropy_words, spawn_words, lo,
                     hi, record_every, record, final):
    """Paths lo … hi − 1 of :func:`family_sde_path`, each with its own SeedSequence child."""
    stream = np.zeros(STATE_SIZE, dtype=np.uint64)
    for r in range(lo, hi):
        child_state(entropy_words, spawn_words, r, stream)
        family_sde_path(data, la, n_slots, z0, n_steps, dt, scale, stream, record_every,
                        record, final, r)


def simulate_family_sde(problem, optimizer, x0, T: float, n_paths: int, seed, order: int = 1,
                        dt: float | None = None, *, record_every: int = 0,
                        workers: int | None = None):
    """:func:`~.sde.simulate_sde` for a record other than Adam (see the module docstring;
    ``simulate_sde`` has checked the problem's moments and ``kernel``)."""
    if order != 1:
        raise ParameterError(f"order must be 1 for {type(optimizer).__name__} (the second-order "
                             f"modified equation is derived for autonomous Adam), got {order!r}")
    model = NoiseModel(problem, optimizer)  # raises, naming why, without a fluctuation model
    try:
        la = model.limit.kernel_args()
    except NotImplementedError as exc:
        raise ParameterError(f"simulate_sde: {exc}") from None
    missing = [f.__name__ for f in (limit_field, limit_noise, limit_project)
               if not has_overload(f, type(la))]
    if missing:
        raise ParameterError(f"simulate_sde: {type(model.limit).__name__} registers no numba "
                             f"{', '.join(missing)} for {type(la).__name__}")
    data = kernel_data_of(problem)
    run = PathRun.check(problem, x0, T, n_paths, seed, dt, model.step, record_every, workers,
                        model.k)
    z0 = np.ascontiguousarray(model.limit.initial_state(problem, run.x0), dtype=float)
    args = (data, la, model.n_slots, z0, run.n_steps, run.dt, model.step, *seed_words(run.root))

    def run_chunk(lo, hi):
        family_sde_chunk(*args, lo, hi, run.record_every, run.record, run.final)

    elapsed = run.run(run_chunk)
    config = run.config(problem, optimizer, 1, noise_scale=model.step, kernel="family")
    return warn_divergences(
        SDEResult(model.to_state_mean(run.final),
                  model.to_state_mean(run.record) if run.record_every > 0 else None,
                  run.record_times, run.dt, run.n_steps, 1, elapsed, run.workers, config,
                  problem.dim), optimizer.name)


# ------------------------------------------------------------------------------------------------
# Variants valid from the first step (paper_notes.md "SDE from the first step"): one kernel for
# every limit with an adaptive denominator (Adam, RMSProp, AdamW), on the discrete algorithm's
# ordering (the moment slots first, then x with the new moments at t + dt).
# ------------------------------------------------------------------------------------------------

VARIANTS = ("hybrid", "gaussian", "ode-v")  # the first is the default of adaptive limits
RHO_SWITCH = 0.2  # hybrid: discrete steps until the v-noise's OU scale is below RHO_SWITCH·v
_HYBRID, _ODE_V = 0, 1


@njit(cache=True, nogil=True, error_model="numpy")
def _rho(z, cov_g2, B, n_slots, scale, d):
    """max over the g²-fed slots q, coordinates i of sqrt(Δt·b·Var g_i²/2)/z_{q,i} (∞ at z ≤ 0):
    the stationary OU standard deviation of the slot's Gaussian noise relative to the slot."""
    rho = 0.0
    for q in range(1, n_slots):
        for i in range(d):
            b = B[q, 1, i]
            if b == 0.0:
                continue
            v = z[q * d + i]
            if v <= 0.0:
                return np.inf
            rho = max(rho, math.sqrt(scale * abs(b) * max(cov_g2[i, i], 0.0) / 2.0) / v)
    return rho


@njit(cache=True, nogil=True, error_model="numpy")
def staged_sde_path(data, la, n_slots, z0, n_steps, dt, scale, variant, rho_switch, rng,
                    record_every, record, final, r, switched):
    """One path of the ``hybrid`` or ``ode-v`` variant from z0; z(n_steps·dt) → final[r] and the
    step of the hand-over to the Gaussian SDE into ``switched[r]`` (n_steps if never; 0 for
    ``ode-v``).

    Each step: moments at (t, z); noise w = (g − ∇F, g² − S) of one sampled gradient (hybrid,
    before the hand-over) or the Gaussian L ξ (after; L Lᵀ = M), with the g²-column dropped for
    ``ode-v``; the moment slots (q ≥ 1) advance by dt·h + √(Δt·dt)·B w, then x by the field and
    noise map at (t + dt, the new moments) — at dt = Δt, before the hand-over, the discrete
    recursion itself in the limit's variables.
    """
    k = z0.shape[0]
    d = k // n_slots
    z = z0.copy()
    mu = np.empty(d)
    s = np.empty(d)
    cov = np.empty((d, d))
    k3 = np.empty((d, d))
    k4 = np.empty((d, d))
    L = np.empty((2 * d, 2 * d))
    B = np.zeros((n_slots, 2, d))
    h = np.empty(k)
    xi = np.empty(2 * d)
    w = np.empty(2 * d)
    g = np.empty(d)
    root = math.sqrt(scale * dt)
    discrete = variant == _HYBRID
    hand_over = n_steps if discrete else 0
    if record_every > 0:
        store_row(record, r, 0, z)
    for n in range(n_steps):
        t = n * dt
        noise_moments(data, z[:d], mu, s, cov, k3, k4)
        B[:, :, :] = 0.0
        limit_noise(la, t, z, mu, s, B, d)
        if discrete and _rho(z, k4, B, n_slots, scale, d) <= rho_switch:
            discrete = False
            hand_over = n
        if discrete:
            sample_grad(data, z[:d], rng, g)
            for i in range(d):
                w[i] = root * (g[i] - mu[i])
                w[d + i] = root * (g[i] * g[i] - s[i])
        else:
            for j in range(2 * d):
                xi[j] = normal(rng)
            _noise_factor(cov, k3, k4, 1.0, 1.0, d, L)
            correlate(L, xi, root, 2 * d, w)
        if variant == _ODE_V:
            for i in range(d):
                w[d + i] = 0.0
        limit_field(la, t, z, mu, s, h, d)
        for q in range(1, n_slots):
            for i in range(d):
                z[q * d + i] += dt * h[q * d + i] + B[q, 0, i] * w[i] + B[q, 1, i] * w[d + i]
        limit_project(la, z, d)
        B[:, :, :] = 0.0
        limit_noise(la, t + dt, z, mu, s, B, d)
        limit_field(la, t + dt, z, mu, s, h, d)
        for i in range(d):
            z[i] += dt * h[i] + B[0, 0, i] * w[i] + B[0, 1, i] * w[d + i]
        if record_every > 0 and (n + 1) % record_every == 0:
            store_row(record, r, (n + 1) // record_every, z)
    for j in range(k):
        final[r, j] = z[j]
    switched[r] = hand_over


@njit(cache=True, nogil=True, error_model="numpy")
def staged_sde_chunk(data, la, n_slots, z0, n_steps, dt, scale, variant, rho_switch,
                     entropy_words, spawn_words, lo, hi, record_every, record, final, switched):
    """Paths lo … hi − 1 of :func:`staged_sde_path`, each with its own SeedSequence child."""
    stream = np.zeros(STATE_SIZE, dtype=np.uint64)
    for r in range(lo, hi):
        child_state(entropy_words, spawn_words, r, stream)
        staged_sde_path(data, la, n_slots, z0, n_steps, dt, scale, variant, rho_switch, stream,
                        record_every, record, final, r, switched)


def is_adaptive(limit) -> bool:
    """Whether ``limit`` has a g²-fed slot v (Adam, RMSProp, AdamW): the limits whose Gaussian
    SDE is invalid near v = 0 and which the ``hybrid`` and ``ode-v`` variants serve."""
    return "v" in getattr(limit, "slots", ())


def check_variant(variant, limit, name, order):
    """The variant to run (``"auto"`` → ``hybrid`` for an adaptive limit at order 1, else
    ``gaussian``); a one-line :class:`ParameterError` naming the supported ones."""
    allowed = ("auto",) + VARIANTS
    if variant not in allowed:
        raise ParameterError(f"variant must be one of {', '.join(map(repr, allowed))}, "
                             f"got {variant!r}")
    adaptive = is_adaptive(limit)
    if variant == "auto":
        return VARIANTS[0] if adaptive and order == 1 else "gaussian"
    if variant != "gaussian":
        if not adaptive:
            raise ParameterError(f"variant {variant!r} is for the limits with a v slot (Adam, "
                                 f"RMSProp, AdamW), not {name}'s; use 'gaussian' or 'auto'")
        if order != 1:
            raise ParameterError(f"variant {variant!r} is first order: order must be 1, got "
                                 f"{order!r} (order 2 runs variant='gaussian')")
    return variant


def simulate_staged_sde(problem, optimizer, x0, T, n_paths, seed, variant, dt=None, *,
                        record_every=0, workers=None, rho_switch=RHO_SWITCH):
    """The ``hybrid`` / ``ode-v`` variant of :func:`~.sde.simulate_sde` (checked there): the
    steps of the hand-over are in ``config["hand_over_steps"]`` (per path, hybrid)."""
    model = NoiseModel(problem, optimizer)
    la = model.limit.kernel_args()
    data = kernel_data_of(problem)
    if not has_overload(sample_grad, type(data)):
        raise ParameterError(f"variant {variant!r} samples gradients: {type(problem).__name__} "
                             f"has no numba sample_grad")
    rho_switch = float(rho_switch)
    if not rho_switch >= 0.0:
        raise ParameterError(f"rho_switch must be >= 0, got {rho_switch!r}")
    run = PathRun.check(problem, x0, T, n_paths, seed, dt, model.step, record_every, workers,
                        model.k)
    z0 = np.ascontiguousarray(model.limit.initial_state(problem, run.x0), dtype=float)
    code = _HYBRID if variant == "hybrid" else _ODE_V
    switched = np.zeros(run.n_paths, dtype=np.int64)
    args = (data, la, model.n_slots, z0, run.n_steps, run.dt, model.step, code, rho_switch,
            *seed_words(run.root))

    def run_chunk(lo, hi):
        staged_sde_chunk(*args, lo, hi, run.record_every, run.record, run.final, switched)

    elapsed = run.run(run_chunk)
    config = run.config(problem, optimizer, 1, noise_scale=model.step, kernel="staged",
                        variant=variant, rho_switch=rho_switch,
                        hand_over_steps=switched.tolist())
    return warn_divergences(
        SDEResult(model.to_state_mean(run.final),
                  model.to_state_mean(run.record) if run.record_every > 0 else None,
                  run.record_times, run.dt, run.n_steps, 1, elapsed, run.workers, config,
                  problem.dim), optimizer.name)
