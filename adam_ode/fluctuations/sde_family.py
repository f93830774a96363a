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
from ..problems.base import kernel_data_of
from ..streams import STATE_SIZE, child_state, normal, seed_words
from .moments import noise_moments
from .noise import NoiseModel
from .paths import PathRun, SDEResult, _noise_factor, correlate, store_row, warn_divergences

__all__ = ["family_sde_path", "family_sde_chunk", "simulate_family_sde"]

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
