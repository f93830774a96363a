r"""Discrete iterates: numba kernels for Adam and the SGD family, with thin Python wrappers.

Algorithms (every update lives in one ``_*_update`` function below; coordinatewise)
-----------------------------------------------------------------------------------
With g_n = ∇f(x_{n−1}, ξ_n) a fresh stochastic gradient (or ∇F(x_{n−1}) when ``noise=False``):

- **Adam**, constant step (Algorithm 2.1 of Barakat & Bianchi), α = 1 − aγ, β = 1 − bγ::

      m_n = α m_{n−1} + (1−α) g_n,   v_n = β v_{n−1} + (1−β) g_n²
      x_n = x_{n−1} − γ [m_n / (1−αⁿ)] / (ε + sqrt(v_n / (1−βⁿ)))

  ε outside the square root. ``debias=False`` drops both bias corrections (the scheme whose
  small-step limit is the autonomous ODE 7.1).
- **Decreasing-step Adam** (Algorithm 5.1), γ_n = γ0 n^{−κ}, α_n = 1 − aγ_n, β_n = 1 − bγ_n,
  r_n = α_n r_{n−1} + (1−α_n), r̄_n = β_n r̄_{n−1} + (1−β_n), r_0 = r̄_0 = 0::

      x_n = x_{n−1} − γ_n (m_n / r_n) / (ε + sqrt(v_n / r̄_n))

  For the first few n, aγ_n (or bγ_n) may be ≥ 1; α_n (β_n) is then clipped to 0, i.e. the moment
  is replaced by the current gradient, which keeps α_n, β_n ∈ [0, 1) and r_n, r̄_n ∈ (0, 1].
- **SGD**: x_n = x_{n−1} − γ g_n.
- **Momentum SGD** (heavy ball), α = 1 − aγ: m_n = α m_{n−1} + (1−α) g_n, x_n = x_{n−1} − γ m_n.
- **RMSProp**: Adam without momentum. v_n as in Adam; x_n = x_{n−1} − γ g_n / (ε + sqrt(v̂_n)),
  v̂_n = v_n / (1−βⁿ) (or v_n when ``debias=False``). The state's m slot holds g_n, which is exactly
  Adam's m_n for α = 0, so RMSProp equals Adam with α = 0 state for state (tested).

State
-----
Paths and final states are the packed z = (x, m, v) of :mod:`adam_ode.state` (length 3d) for every
algorithm: SGD keeps m = v = 0, momentum SGD keeps v = 0. :func:`run_sgd` returns x only.

Kernels
-------
One kernel, :func:`simulate`, runs one path of any algorithm (selected by an integer code) and
streams the Monte Carlo statistics (sup distance to a reference path, time averages of ‖∇F(x_k)‖
and 1{d(x_k, 𝒮) > δ}, divergence) while optionally recording every k-th state. Its argument types
never change with the values (γ, x0, seed, …), so it compiles once and is cached on disk
(``cache=True``; no globals, closures or function arguments). It releases the GIL (``nogil``) so
:mod:`adam_ode.montecarlo` can run it in threads.

:func:`simulate_pair` advances two Adam runs on LinearRegression2D (the benchmarked hot case) in
one loop, bit for bit two :func:`simulate` calls: one step is a chain of dependent operations,
and two independent chains overlap in the core. Both kernels share the updates and the bias
corrections; the pair kernel's per-step statistics are helpers (regular jitted functions where
array arguments would otherwise cost reference counting in the loop), while :func:`simulate`
keeps them written out: routing it through the same helpers cost several seconds more cold
compilation (measured 17–30 s instead of 15–18 s).

Random streams: the wrappers take ``seed`` (int or ``np.random.SeedSequence``; or a ready
``np.random.Generator``, which is advanced) and draw with ``np.random.default_rng(seed)``; numba's
Generator methods give exactly NumPy's draws for the same state, so the plain-NumPy
implementation in :mod:`adam_ode.reference_numpy` reproduces these paths.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from . import sampling
from ._validation import (DivergenceWarning, ParameterError, check_int, check_positive,
                          check_vector, warn_if_lyapunov_fails)

__all__ = [
    "Optimizer",
    "Adam",
    "AdamDecreasing",
    "SGD",
    "MomentumSGD",
    "RMSProp",
    "run_optimizer",
    "run_adam",
    "run_adam_decreasing",
    "run_sgd",
    "run_momentum_sgd",
    "run_rmsprop",
    "simulate",
    "simulate_pair",
    "DIVERGENCE_BOUND",
]

# Algorithm codes understood by the kernel.
ALGO_ADAM = 0
ALGO_ADAM_DECREASING = 1
ALGO_SGD = 2
ALGO_MOMENTUM_SGD = 3
ALGO_RMSPROP = 4

# A run has diverged when an iterate is non-finite or some |x_i| exceeds this bound: far beyond any
# meaningful iterate, yet small enough that x² and the Adam moments (∝ g²) stay finite for a while.
DIVERGENCE_BOUND = 1e150

# Placeholders for disabled kernel features; fixed shapes/dtypes keep one compiled signature.
_NO_REFERENCE = np.zeros((0, 0))


def _empty_record(dim: int) -> np.ndarray:
    return np.zeros((1, 0, 3 * dim))


# The problem evaluations of adam_ode.sampling, compiled from the same Python source with numba's
# IR-level inlining. Called as separate functions (too large for LLVM to inline), they cost
# ~80 ns per call with a Generator argument instead of ~7 ns inlined (measured with numba 0.68 on
# LinearRegression2D; see adam_ode.bench). One definition of each sampler, no call overhead.
# cache=False here: inlined IR is cached as part of each calling kernel.
sample_grad = njit(inline="always", nogil=True)(sampling.sample_grad.py_func)
exact_grad = njit(inline="always", nogil=True)(sampling.exact_grad.py_func)
critical_distance = njit(inline="always", nogil=True)(sampling.critical_distance.py_func)

# ------------------------------------------------------------------------------------------------
# Updates: one function per algorithm, each the literal algorithm of the module docstring.
# They write x, m, v in place; g holds g_n.
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _adam_update(d, x, m, v, g, gamma, alpha, beta, eps, m_scale, v_scale):
    """Algorithm 2.1 (and 5.1 with γ_n, r_n, r̄_n): m_scale = 1/(1−αⁿ) or 1/r_n, same for v."""
    for i in range(d):
        m[i] = alpha * m[i] + (1.0 - alpha) * g[i]
        v[i] = beta * v[i] + (1.0 - beta) * (g[i] * g[i])
        # ε outside the square root (Algorithm 2.1); the denominators are > 0 since ε > 0.
        x[i] -= gamma * (m[i] * m_scale) / (eps + math.sqrt(v[i] * v_scale))


@njit(cache=True, nogil=True, error_model="numpy")
def _rmsprop_update(d, x, m, v, g, gamma, beta, eps, v_scale):
    """RMSProp: Adam's v, the raw gradient in the numerator; m stores g_n (Adam's m for α = 0)."""
    for i in range(d):
        m[i] = g[i]
        v[i] = beta * v[i] + (1.0 - beta) * (g[i] * g[i])
        x[i] -= gamma * g[i] / (eps + math.sqrt(v[i] * v_scale))


@njit(cache=True, nogil=True, error_model="numpy")
def _sgd_update(d, x, g, gamma):
    """SGD: x_n = x_{n−1} − γ g_n."""
    for i in range(d):
        x[i] -= gamma * g[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _momentum_update(d, x, m, g, gamma, alpha):
    """Heavy ball: m_n = α m_{n−1} + (1−α) g_n, x_n = x_{n−1} − γ m_n."""
    for i in range(d):
        m[i] = alpha * m[i] + (1.0 - alpha) * g[i]
        x[i] -= gamma * m[i]


# ------------------------------------------------------------------------------------------------
# The kernel.
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def simulate(algo, kind, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa, debias, noise,
             n_steps, rng, reference, delta, track_grad, burn_in, record_every, record, final,
             run, bound):
    r"""Run one path of algorithm ``algo`` for ``n_steps`` steps and stream its statistics.

    Parameters
    ----------
    algo : int
        ``ALGO_ADAM`` (0), ``ALGO_ADAM_DECREASING`` (1), ``ALGO_SGD`` (2),
        ``ALGO_MOMENTUM_SGD`` (3) or ``ALGO_RMSPROP`` (4).
    kind, params, A, y : int, float64[:], float64[:, :], float64[:]
        The problem, :attr:`adam_ode.problems.Problem.kernel_args`.
    x0 : float64[:]
        x_0 (d,); z_0 = (x0, 0, 0).
    gamma : float
        γ, the constant step; γ0 for ``ALGO_ADAM_DECREASING`` (γ_n = γ0 n^{−κ}).
    alpha, beta : float
        α = 1 − aγ and β = 1 − bγ of the constant-step algorithms, given directly so that kernel
        callers can set any value in [0, 1) (e.g. α = 0: Adam without momentum).
    eps : float
        ε > 0, added outside the square root.
    a, b, kappa : float
        Moment rates and step exponent κ of ``ALGO_ADAM_DECREASING`` (ignored otherwise).
    debias : bool
        Bias corrections 1/(1−αⁿ), 1/(1−βⁿ) on (Adam, RMSProp) or not.
    noise : bool
        Stochastic gradients (``sample_grad``) or exact ones (``exact_grad``, no draws).
    n_steps : int
        Number of iterations n.
    rng : np.random.Generator
        This run's random stream (never shared between threads).
    reference : float64[:, :]
        Reference path on the grid, row k at time kγ (k = 0..N), of width d (compare x) or 3d
        (compare z); shape (0, 0) for none. sup_{k ≤ min(N, n_steps)} ‖·_k − reference_k‖.
    delta : float
        δ of 1{d(x_k, 𝒮) > δ}; negative: not computed.
    track_grad : bool
        Accumulate ‖∇F(x_k)‖ (one exact gradient per step).
    burn_in : int
        Time averages run over k = burn_in+1 … n_steps.
    record_every : int
        Write z_k into ``record[run, k // record_every]`` for k multiple of ``record_every``
        (0: no recording; ``record`` is then (1, 0, 3d)).
    record : float64[:, :, :]
        Output (R, n_steps // record_every + 1, 3d). Rows after a divergence are NaN.
    final : float64[:, :]
        Output (R, 3d): ``final[run]`` receives z at the last step (at the divergence step if the
        run diverged).
    run : int
        Row of ``record`` and ``final`` to write.
    bound : float
        Divergence threshold on |x_i| (non-finite values always count as divergence).

    Returns
    -------
    sup_dist : float
        Sup distance to the reference (``inf`` if the run diverged within the reference horizon,
        ``nan`` if there is no reference).
    grad_avg : float
        Time average of ‖∇F(x_k)‖ (``inf`` after a divergence, ``nan`` if not tracked).
    outside_frac : float
        Time average of 1{d(x_k, 𝒮) > δ}; the steps after a divergence count as outside
        (``nan`` if δ < 0).
    div_step : int
        First step k with a diverged x_k, or −1.
    """
    # The problem kind is passed as a literal to an inlined copy of the loop: with `kind` a
    # runtime value, LLVM fails to optimise the loop around the four inlined samplers and a
    # LinearRegression2D step costs ~80 ns instead of ~6 ns (numba 0.68, measured).
    if kind == 0:
        return _simulate_body(algo, 0, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa,
                              debias, noise, n_steps, rng, reference, delta, track_grad, burn_in,
                              record_every, record, final, run, bound)
    elif kind == 1:
        return _simulate_body(algo, 1, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa,
                              debias, noise, n_steps, rng, reference, delta, track_grad, burn_in,
                              record_every, record, final, run, bound)
    elif kind == 2:
        return _simulate_body(algo, 2, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa,
                              debias, noise, n_steps, rng, reference, delta, track_grad, burn_in,
                              record_every, record, final, run, bound)
    return _simulate_body(algo, 3, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa,
                          debias, noise, n_steps, rng, reference, delta, track_grad, burn_in,
                          record_every, record, final, run, bound)


@njit(nogil=True, error_model="numpy", inline="always")
def _simulate_body(algo, kind, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa, debias,
                   noise, n_steps, rng, reference, delta, track_grad, burn_in, record_every,
                   record, final, run, bound):
    """The body of :func:`simulate` (same arguments), inlined once per problem kind."""
    # LinearRegression2D is 2-D: a literal d lets LLVM unroll every coordinate loop.
    d = 2 if kind == 0 else x0.shape[0]
    # x, m, v, g_n and ∇F(x) as slices of one buffer: LLVM can then prove that they do not
    # overlap and forward each step's stores to its loads instead of re-reading memory after
    # every store (separate arrays: ~15 ns more per LinearRegression2D step, numba 0.68).
    state = np.zeros(5 * d)
    x = state[0:d]
    m = state[d:2 * d]
    v = state[2 * d:3 * d]
    g = state[3 * d:4 * d]
    grad = state[4 * d:5 * d]
    for i in range(d):
        x[i] = x0[i]
    n_ref = reference.shape[0]
    ref_width = reference.shape[1]
    has_ref = n_ref > 0
    has_record = record_every > 0
    track_outside = delta >= 0.0

    sup_sq = 0.0  # max of squared distances; one sqrt at the end
    if has_ref:
        sup_sq = _squared_distance(d, x, m, v, reference, 0, ref_width)
    if has_record:
        _write_state(record, run, 0, x, m, v)

    grad_sum = 0.0
    outside_count = 0
    alpha_pow = 1.0  # αⁿ and βⁿ as running products (Algorithm 2.1's bias corrections)
    beta_pow = 1.0
    # m_scale = 1/(1−αⁿ), v_scale = 1/(1−βⁿ), see _bias_step.
    m_scale = 1.0
    v_scale = 1.0
    m_settled = not debias
    v_settled = not debias
    r_m = 0.0  # r_n and r̄_n of Algorithm 5.1
    r_v = 0.0
    div_step = -1

    for n in range(1, n_steps + 1):
        # g_n at x_{n−1} with a fresh sample ξ_n.
        if noise:
            sample_grad(kind, params, A, y, x, rng, g)
        else:
            exact_grad(kind, params, A, y, x, g)

        if algo == 0:  # Adam, Algorithm 2.1
            alpha_pow, m_scale, m_settled = _bias_step(alpha, alpha_pow, m_scale, m_settled)
            beta_pow, v_scale, v_settled = _bias_step(beta, beta_pow, v_scale, v_settled)
            _adam_update(d, x, m, v, g, gamma, alpha, beta, eps, m_scale, v_scale)
        elif algo == 1:  # decreasing-step Adam, Algorithm 5.1
            gamma_n = gamma * n ** (-kappa)
            alpha_n = max(0.0, 1.0 - a * gamma_n)  # clipped to [0, 1) while aγ_n ≥ 1
            beta_n = max(0.0, 1.0 - b * gamma_n)
            r_m = alpha_n * r_m + (1.0 - alpha_n)
            r_v = beta_n * r_v + (1.0 - beta_n)
            _adam_update(d, x, m, v, g, gamma_n, alpha_n, beta_n, eps, 1.0 / r_m, 1.0 / r_v)
        elif algo == 2:  # SGD
            _sgd_update(d, x, g, gamma)
        elif algo == 3:  # momentum SGD
            _momentum_update(d, x, m, g, gamma, alpha)
        else:  # RMSProp
            beta_pow, v_scale, v_settled = _bias_step(beta, beta_pow, v_scale, v_settled)
            _rmsprop_update(d, x, m, v, g, gamma, beta, eps, v_scale)

        # Divergence: a non-finite iterate or one beyond the bound (`not <=` also catches NaN).
        diverged = False
        for i in range(d):
            if not abs(x[i]) <= bound:
                diverged = True
        if diverged:
            div_step = n
            break

        if has_ref and n < n_ref:
            dist_sq = _squared_distance(d, x, m, v, reference, n, ref_width)
            if dist_sq > sup_sq:
                sup_sq = dist_sq
        if n > burn_in:
            if track_grad:
                exact_grad(kind, params, A, y, x, grad)
                s = 0.0
                for i in range(d):
                    s += grad[i] * grad[i]
                grad_sum += math.sqrt(s)
            if track_outside:
                if critical_distance(kind, params, A, y, x) > delta:
                    outside_count += 1
        if has_record and n % record_every == 0:
            _write_state(record, run, n // record_every, x, m, v)

    return _finish(d, x, m, v, reference, delta, track_grad, n_steps, burn_in, record_every,
                   record, final, run, sup_sq, grad_sum, outside_count, div_step)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_pair(params, A, y, x0, gamma, alpha, beta, eps, debias, noise, n_steps, rng_a, rng_b,
                  reference, delta, track_grad, burn_in, record_every, record, final, run, bound):
    r"""Adam (Algorithm 2.1) on LinearRegression2D: runs ``run`` and ``run + 1`` advanced together.

    Same arguments as :func:`simulate` for ``algo = ALGO_ADAM`` and ``kind = 0``
    (:class:`~adam_ode.problems.LinearRegression2D`; a, b, κ dropped), with ``rng_a``, ``rng_b``
    the random streams of runs ``run`` and ``run + 1``. Returns the two result tuples of
    :func:`simulate`, bit for bit those of two :func:`simulate` calls: each run draws from its own
    Generator in the same order and stops at its own divergence (the other then goes on alone).

    Why: one step is a chain of dependent operations (gradient → m, v → sqrt → division → x →
    next gradient) whose latency, not the core's throughput, sets the time per step; the two
    independent chains of a pair overlap in the out-of-order core (~28 → ~18–21 ns per
    run·step, numba 0.68; see :mod:`adam_ode.bench`). The bias corrections 1/(1−αⁿ), 1/(1−βⁿ) are the same
    for both runs and computed once. Only the hot case has a pair kernel: it adds ~6 s of cold
    compilation, and each further problem kind would add as much or more.
    """
    return _simulate_pair_body(0, params, A, y, x0, gamma, alpha, beta, eps, debias, noise,
                               n_steps, rng_a, rng_b, reference, delta, track_grad, burn_in,
                               record_every, record, final, run, bound)


@njit(nogil=True, error_model="numpy", inline="always")
def _simulate_pair_body(kind, params, A, y, x0, gamma, alpha, beta, eps, debias, noise, n_steps,
                        rng_a, rng_b, reference, delta, track_grad, burn_in, record_every, record,
                        final, run, bound):
    """The body of :func:`simulate_pair` for the literal problem ``kind``."""
    d = 2 if kind == 0 else x0.shape[0]
    # Both runs' x, m, v, g_n, ∇F(x) in one buffer (see _simulate_body).
    state = np.zeros(10 * d)
    xa = state[0:d]
    ma = state[d:2 * d]
    va = state[2 * d:3 * d]
    ga = state[3 * d:4 * d]
    grad_a = state[4 * d:5 * d]
    xb = state[5 * d:6 * d]
    mb = state[6 * d:7 * d]
    vb = state[7 * d:8 * d]
    gb = state[8 * d:9 * d]
    grad_b = state[9 * d:10 * d]
    run_b = run + 1
    sup_a = _start(d, x0, xa, ma, va, reference, record_every, record, run)
    sup_b = _start(d, x0, xb, mb, vb, reference, record_every, record, run_b)
    grad_sum_a = 0.0
    grad_sum_b = 0.0
    outside_a = 0
    outside_b = 0
    alpha_pow = 1.0
    beta_pow = 1.0
    m_scale = 1.0
    v_scale = 1.0
    m_settled = not debias
    v_settled = not debias
    div_a = -1
    div_b = -1
    n_ref = reference.shape[0]
    averages = track_grad or delta >= 0.0

    for n in range(1, n_steps + 1):
        # A diverged run stops (as in `simulate`); the other one goes on alone.
        if div_a < 0:
            if noise:
                sample_grad(kind, params, A, y, xa, rng_a, ga)
            else:
                exact_grad(kind, params, A, y, xa, ga)
        if div_b < 0:
            if noise:
                sample_grad(kind, params, A, y, xb, rng_b, gb)
            else:
                exact_grad(kind, params, A, y, xb, gb)
        alpha_pow, m_scale, m_settled = _bias_step(alpha, alpha_pow, m_scale, m_settled)
        beta_pow, v_scale, v_settled = _bias_step(beta, beta_pow, v_scale, v_settled)
        if div_a < 0:
            _adam_update(d, xa, ma, va, ga, gamma, alpha, beta, eps, m_scale, v_scale)
            if _diverged(d, xa, bound):
                div_a = n
            else:
                if n < n_ref:
                    sup_a = _max_squared_distance(d, xa, ma, va, reference, n, sup_a)
                if n > burn_in and averages:
                    grad_sum_a, outside_a = _time_averages(
                        kind, params, A, y, d, xa, grad_a, delta, track_grad, grad_sum_a,
                        outside_a)
                if record_every > 0 and n % record_every == 0:
                    _write_state(record, run, n // record_every, xa, ma, va)
        if div_b < 0:
            _adam_update(d, xb, mb, vb, gb, gamma, alpha, beta, eps, m_scale, v_scale)
            if _diverged(d, xb, bound):
                div_b = n
            else:
                if n < n_ref:
                    sup_b = _max_squared_distance(d, xb, mb, vb, reference, n, sup_b)
                if n > burn_in and averages:
                    grad_sum_b, outside_b = _time_averages(
                        kind, params, A, y, d, xb, grad_b, delta, track_grad, grad_sum_b,
                        outside_b)
                if record_every > 0 and n % record_every == 0:
                    _write_state(record, run_b, n // record_every, xb, mb, vb)
        if div_a >= 0 and div_b >= 0:
            break

    result_a = _finish(d, xa, ma, va, reference, delta, track_grad, n_steps, burn_in,
                       record_every, record, final, run, sup_a, grad_sum_a, outside_a, div_a)
    result_b = _finish(d, xb, mb, vb, reference, delta, track_grad, n_steps, burn_in,
                       record_every, record, final, run_b, sup_b, grad_sum_b, outside_b, div_b)
    return result_a, result_b


@njit(nogil=True, error_model="numpy", inline="always")
def _bias_step(rate, power, scale, settled):
    """Next bias correction 1/(1 − rateⁿ) from rateⁿ⁻¹: returns (rateⁿ, scale, settled).

    rateⁿ (a running product, rounded) is nonincreasing, so once a correction rounds to 1 it
    stays 1 for every later n: it is then no longer recomputed. Same values, and the divider
    (shared with the square roots) is the step's bottleneck: skipping settled divisions saves
    ~10 ns per LinearRegression2D step.
    """
    if not settled:
        power *= rate
        scale = _reciprocal_bias(power)
        settled = scale == 1.0
    return power, scale, settled


@njit(cache=True, nogil=True, error_model="numpy")
def _diverged(d, x, bound):
    """A non-finite iterate or one beyond the bound (`not <=` also catches NaN)."""
    diverged = False
    for i in range(d):
        if not abs(x[i]) <= bound:
            diverged = True
    return diverged


@njit(cache=True, nogil=True, error_model="numpy")
def _start(d, x0, x, m, v, reference, record_every, record, run):
    """z_0 = (x0, 0, 0) into the (zeroed) x; records it; returns ‖z_0 − ref_0‖² (or 0)."""
    for i in range(d):
        x[i] = x0[i]
    sup_sq = 0.0  # max of squared distances; one sqrt at the end
    if reference.shape[0] > 0:
        sup_sq = _squared_distance(d, x, m, v, reference, 0, reference.shape[1])
    if record_every > 0:
        _write_state(record, run, 0, x, m, v)
    return sup_sq


@njit(cache=True, nogil=True, error_model="numpy")
def _max_squared_distance(d, x, m, v, reference, n, sup_sq):
    """max(sup_sq, ‖z_n − ref_n‖²)."""
    dist_sq = _squared_distance(d, x, m, v, reference, n, reference.shape[1])
    return dist_sq if dist_sq > sup_sq else sup_sq


@njit(nogil=True, error_model="numpy", inline="always")
def _time_averages(kind, params, A, y, d, x, grad, delta, track_grad, grad_sum, outside_count):
    """Adds ‖∇F(x_n)‖ and 1{d(x_n, 𝒮) > δ} to the running sums (as asked for).

    IR-inlined for the literal ``kind``, and called only when time averages are asked for:
    the array arguments of an inlined call cost reference-count operations (numba 0.68).
    """
    if track_grad:
        exact_grad(kind, params, A, y, x, grad)
        s = 0.0
        for i in range(d):
            s += grad[i] * grad[i]
        grad_sum += math.sqrt(s)
    if delta >= 0.0:
        if critical_distance(kind, params, A, y, x) > delta:
            outside_count += 1
    return grad_sum, outside_count


@njit(cache=True, nogil=True, error_model="numpy")
def _finish(d, x, m, v, reference, delta, track_grad, n_steps, burn_in, record_every, record,
            final, run, sup_sq, grad_sum, outside_count, div_step):
    """Final state and the returned statistics of :func:`simulate` (see its Returns)."""
    n_ref = reference.shape[0]
    has_ref = n_ref > 0
    has_record = record_every > 0
    track_outside = delta >= 0.0
    n_avg = n_steps - burn_in
    for i in range(d):
        final[run, i] = x[i]
        final[run, d + i] = m[i]
        final[run, 2 * d + i] = v[i]

    nan = math.nan
    sup_dist = math.sqrt(sup_sq)
    if div_step >= 0:
        if has_ref and div_step < n_ref:
            sup_dist = math.inf
        if has_record:
            for k in range((div_step + record_every - 1) // record_every, record.shape[1]):
                for i in range(3 * d):
                    record[run, k, i] = nan
        # Steps from the divergence on are outside every bounded set and have ‖∇F‖ = ∞.
        grad_avg = math.inf if track_grad else nan
        if track_outside:
            outside_count += n_steps - max(div_step, burn_in + 1) + 1
            outside_frac = outside_count / n_avg
        else:
            outside_frac = nan
    else:
        grad_avg = grad_sum / n_avg if (track_grad and n_avg > 0) else nan
        outside_frac = outside_count / n_avg if (track_outside and n_avg > 0) else nan
    if not has_ref:
        sup_dist = nan
    return sup_dist, grad_avg, outside_frac, div_step


@njit(cache=True, nogil=True, error_model="numpy")
def _squared_distance(d, x, m, v, reference, k, width):
    """‖x − ref_k‖² (width d) or ‖(x, m, v) − ref_k‖² (width 3d), Euclidean."""
    acc = 0.0
    for i in range(d):
        e = x[i] - reference[k, i]
        acc += e * e
    if width > d:
        for i in range(d):
            e = m[i] - reference[k, d + i]
            acc += e * e
            e = v[i] - reference[k, 2 * d + i]
            acc += e * e
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def _reciprocal_bias(power):
    """1/(1 − αⁿ) given αⁿ (1 once 1 − αⁿ rounds to 1; the kernel then stops calling it)."""
    c = 1.0 - power
    return 1.0 / c if c != 1.0 else 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def _write_state(record, run, k, x, m, v):
    d = x.shape[0]
    for i in range(d):
        record[run, k, i] = x[i]
        record[run, k, d + i] = m[i]
        record[run, k, 2 * d + i] = v[i]


@njit(cache=True, nogil=True)
def sampling_only(kind, params, A, y, x, rng, n_steps):
    """Draw ``n_steps`` stochastic gradients at a fixed x (benchmark: cost of the sampling alone)."""
    if kind == 0:  # literal kinds, as in `simulate`
        return _sampling_loop(0, params, A, y, x, rng, n_steps)
    elif kind == 1:
        return _sampling_loop(1, params, A, y, x, rng, n_steps)
    elif kind == 2:
        return _sampling_loop(2, params, A, y, x, rng, n_steps)
    return _sampling_loop(3, params, A, y, x, rng, n_steps)


@njit(cache=True, nogil=True)
def ceiling_loop(n_steps, seed):
    """A CPU-bound loop without memory traffic (an LCG and a multiply-add chain): the benchmark
    runs it in 1 and 2 threads to measure how far the machine's cores scale at best."""
    state = seed
    acc = 1.0
    for _ in range(n_steps):
        state = state * 6364136223846793005 + 1442695040888963407
        acc = acc * 0.999999 + 1e-9
    return acc + (state & 1)


@njit(nogil=True, inline="always")
def _sampling_loop(kind, params, A, y, x, rng, n_steps):
    g = np.zeros(x.shape[0])
    acc = 0.0
    for _ in range(n_steps):
        sample_grad(kind, params, A, y, x, rng, g)
        acc += g[0]
    return acc


# ------------------------------------------------------------------------------------------------
# Hyperparameters: frozen, validated, logged with every result.
# ------------------------------------------------------------------------------------------------

class Optimizer:
    """Base of the hyperparameter records. ``kernel_hyper()`` gives the kernel's scalar arguments
    ``(algo, gamma, alpha, beta, eps, a, b, kappa, debias)``; ``gamma`` is the time step that
    maps step n to time nγ (γ0 for the decreasing-step algorithm)."""

    name = "optimizer"
    gamma: float

    def kernel_hyper(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def config(self) -> dict:
        return {"name": self.name, **asdict(self)}

    def times(self, steps) -> np.ndarray:
        """ODE time t_n reached after n steps: nγ for a constant step."""
        return np.asarray(steps) * self.gamma


def _check_rate(name: str, rate, gamma: float, symbol: str) -> float:
    """A moment rate r > 0 with rγ < 1, so that 1 − rγ ∈ (0, 1)."""
    rate = check_positive(name, rate)
    if 1.0 - rate * gamma == 1.0:
        # α = 1 − rγ would round to exactly 1: the bias correction 1 − αⁿ is then 0 (0/0 steps).
        raise ParameterError(f"{name}*gamma = {rate * gamma:g} is below float64 resolution: "
                             f"{symbol} = 1 - {name}*gamma rounds to 1 (allowed range: {name}*gamma "
                             f"in [{np.finfo(float).epsneg:.3g}, 1))")
    if not rate * gamma < 1.0:
        raise ParameterError(f"{name}*gamma must be < 1 so that {symbol} = 1 - {name}*gamma lies in "
                         f"(0, 1) (allowed range: {name} in (0, 1/gamma) = (0, {1.0 / gamma:g})), "
                         f"got {name} = {rate!r}, gamma = {gamma!r}")
    return rate


@dataclass(frozen=True)
class Adam(Optimizer):
    r"""Adam with constant step (Algorithm 2.1).

    Parameters
    ----------
    gamma : float > 0
        γ, the step size.
    a : float in (0, 1/γ)
        Momentum rate; α = 1 − aγ (torch's β1). Kingma–Ba defaults: a = 100 at γ = 1e-3.
    b : float in (0, 1/γ)
        Second-moment rate; β = 1 − bγ (torch's β2). Kingma–Ba: b = 1 at γ = 1e-3. b ≤ 4a for
        the Lyapunov guarantee (a :class:`~adam_ode.LyapunovWarning` otherwise).
    eps : float > 0
        ε, added outside the square root.
    debias : bool
        Bias corrections (1 − αⁿ), (1 − βⁿ) (True, Algorithm 2.1) or none (False).
    """

    gamma: float
    a: float
    b: float
    eps: float
    debias: bool = True
    name = "adam"

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "a", _check_rate("a", self.a, gamma, "alpha"))
        object.__setattr__(self, "b", _check_rate("b", self.b, gamma, "beta"))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        object.__setattr__(self, "debias", bool(self.debias))
        warn_if_lyapunov_fails(self.a, self.b, stacklevel=4)

    @property
    def alpha(self) -> float:
        return 1.0 - self.a * self.gamma

    @property
    def beta(self) -> float:
        return 1.0 - self.b * self.gamma

    def kernel_hyper(self):
        return (ALGO_ADAM, self.gamma, self.alpha, self.beta, self.eps, self.a, self.b, 1.0,
                self.debias)


@dataclass(frozen=True)
class AdamDecreasing(Optimizer):
    r"""Adam with decreasing steps (Algorithm 5.1): γ_n = γ0 n^{−κ}, α_n = 1 − aγ_n, β_n = 1 − bγ_n.

    α_n and β_n are clipped to [0, 1) for the first n where aγ_n ≥ 1 or bγ_n ≥ 1 (the moment is
    then the current gradient). Bias corrections use r_n, r̄_n of Algorithm 5.1.

    Parameters
    ----------
    gamma0 : float > 0
        γ0, the first step.
    kappa : float in (1/2, 1]
        κ, the decay exponent (Σγ_n = ∞, Σγ_n² < ∞).
    a, b : float > 0
        Moment rates, (1 − α_n)/γ_n → a, (1 − β_n)/γ_n → b; 0 < b < 4a in Theorem 5.2.
    eps : float > 0
        ε, outside the square root.
    """

    gamma0: float
    kappa: float
    a: float
    b: float
    eps: float
    name = "adam-decreasing"

    def __post_init__(self):
        object.__setattr__(self, "gamma0", check_positive("gamma0", self.gamma0))
        kappa = check_positive("kappa", self.kappa)
        if not 0.5 < kappa <= 1.0:
            raise ParameterError(f"kappa must lie in (0.5, 1] (allowed range (1/2, 1]), got "
                             f"{self.kappa!r}")
        object.__setattr__(self, "kappa", kappa)
        object.__setattr__(self, "a", check_positive("a", self.a))
        object.__setattr__(self, "b", check_positive("b", self.b))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        warn_if_lyapunov_fails(self.a, self.b, stacklevel=4, strict=True)

    @property
    def gamma(self) -> float:
        return self.gamma0

    def times(self, steps) -> np.ndarray:
        """ODE time t_n = Σ_{k≤n} γ_k reached after n steps (γ_k = γ0 k^{−κ})."""
        steps = np.asarray(steps, dtype=np.int64)
        if steps.size == 0:
            return np.zeros(steps.shape)
        partial = np.concatenate([[0.0], np.cumsum(
            self.gamma0 * np.arange(1, int(steps.max()) + 1, dtype=float) ** -self.kappa)])
        return partial[steps]

    def kernel_hyper(self):
        return (ALGO_ADAM_DECREASING, self.gamma0, 0.0, 0.0, self.eps, self.a, self.b,
                self.kappa, True)


@dataclass(frozen=True)
class SGD(Optimizer):
    """Plain SGD, x_n = x_{n−1} − γ g_n. ``gamma``: γ > 0."""

    gamma: float
    name = "sgd"

    def __post_init__(self):
        object.__setattr__(self, "gamma", check_positive("gamma", self.gamma))

    def kernel_hyper(self):
        return (ALGO_SGD, self.gamma, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, False)


@dataclass(frozen=True)
class MomentumSGD(Optimizer):
    """Momentum SGD (heavy ball): m_n = α m_{n−1} + (1−α) g_n, x_n = x_{n−1} − γ m_n.

    ``gamma``: γ > 0; ``a``: rate in (0, 1/γ), α = 1 − aγ. Its small-step limit is the heavy ball
    ẍ + aẋ + a∇F(x) = 0 (:func:`adam_ode.integrate.solve_heavy_ball` with damping = scale = a).
    """

    gamma: float
    a: float
    name = "momentum-sgd"

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "a", _check_rate("a", self.a, gamma, "alpha"))

    @property
    def alpha(self) -> float:
        return 1.0 - self.a * self.gamma

    def kernel_hyper(self):
        return (ALGO_MOMENTUM_SGD, self.gamma, self.alpha, 0.0, 1.0, self.a, 0.0, 1.0, False)


@dataclass(frozen=True)
class RMSProp(Optimizer):
    """RMSProp: Adam without momentum (α = 0). ``gamma`` γ > 0; ``b`` in (0, 1/γ), β = 1 − bγ;
    ``eps`` ε > 0 outside the square root; ``debias``: bias correction 1/(1 − βⁿ) on v."""

    gamma: float
    b: float
    eps: float
    debias: bool = True
    name = "rmsprop"

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "b", _check_rate("b", self.b, gamma, "beta"))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        object.__setattr__(self, "debias", bool(self.debias))

    @property
    def beta(self) -> float:
        return 1.0 - self.b * self.gamma

    def kernel_hyper(self):
        return (ALGO_RMSPROP, self.gamma, 0.0, self.beta, self.eps, 0.0, self.b, 1.0,
                self.debias)


# ------------------------------------------------------------------------------------------------
# Path wrappers.
# ------------------------------------------------------------------------------------------------

def _as_generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    seed = check_int("seed", seed, 0)
    return np.random.default_rng(seed)


def run_optimizer(problem, optimizer: Optimizer, x0, n_steps: int, seed, *,
                  noise: bool = True) -> np.ndarray:
    """Path z_0 … z_n (shape (n_steps+1, 3d), packed (x, m, v)) of any :class:`Optimizer`.

    ``seed``: int ≥ 0, ``np.random.SeedSequence`` or ``np.random.Generator``; the draws are
    those of ``np.random.default_rng(seed)``. ``noise=False``: exact gradients ∇F (no draws).
    """
    if not isinstance(optimizer, Optimizer):
        raise ParameterError(f"optimizer must be an adam_ode Optimizer, got {optimizer!r}")
    x0 = check_vector("x0", x0, problem.dim)
    n_steps = check_int("n_steps", n_steps, 0)
    rng = _as_generator(seed)
    kind, params, A, y = problem.kernel_args
    algo, gamma, alpha, beta, eps, a, b, kappa, debias = optimizer.kernel_hyper()
    path = np.empty((1, n_steps + 1, 3 * problem.dim))
    final = np.empty((1, 3 * problem.dim))
    *_, div_step = simulate(algo, kind, params, A, y, x0, gamma, alpha, beta, eps, a, b, kappa,
                            debias, bool(noise), n_steps, rng, _NO_REFERENCE, -1.0, False, 0, 1,
                            path, final, 0, DIVERGENCE_BOUND)
    if div_step >= 0:
        warnings.warn(f"{optimizer.name} diverged at step {div_step} (an iterate is not finite "
                      f"or exceeds {DIVERGENCE_BOUND:g}); the path is NaN from that step on",
                      DivergenceWarning, stacklevel=2)
    return path[0]


def run_adam(problem, x0, gamma, a, b, eps, n_steps, seed, debias=True, *,
             noise: bool = True) -> np.ndarray:
    r"""Adam (Algorithm 2.1), α = 1 − aγ, β = 1 − bγ, ε outside the square root.

    Parameters
    ----------
    problem : Problem
    x0 : array (d,)
        x_0; z_0 = (x0, 0, 0).
    gamma : float > 0
        γ.
    a, b : float in (0, 1/γ)
        Moment rates: α = 1 − aγ, β = 1 − bγ.
    eps : float > 0
        ε.
    n_steps : int ≥ 0
        n.
    seed : int, SeedSequence or Generator
        Random stream, ``np.random.default_rng(seed)``.
    debias : bool
        Bias corrections 1/(1 − αⁿ), 1/(1 − βⁿ).
    noise : bool, keyword-only
        False: exact gradients ∇F(x_{n−1}) (the deterministic scheme).

    Returns
    -------
    ndarray (n_steps+1, 3d)
        z_0 … z_n, packed (x, m, v) (:func:`adam_ode.state.unpack`).
    """
    return run_optimizer(problem, Adam(gamma, a, b, eps, debias), x0, n_steps, seed, noise=noise)


def run_adam_decreasing(problem, x0, gamma0, kappa, a, b, eps, n_steps, seed, *,
                        noise: bool = True) -> np.ndarray:
    """Decreasing-step Adam (Algorithm 5.1), γ_n = γ0 n^{−κ}; see :class:`AdamDecreasing`.

    Returns z_0 … z_n, shape (n_steps+1, 3d).
    """
    return run_optimizer(problem, AdamDecreasing(gamma0, kappa, a, b, eps), x0, n_steps, seed,
                         noise=noise)


def run_sgd(problem, x0, gamma, n_steps, seed, *, noise: bool = True) -> np.ndarray:
    """SGD x_n = x_{n−1} − γ g_n. Returns x_0 … x_n, shape (n_steps+1, d)."""
    path = run_optimizer(problem, SGD(gamma), x0, n_steps, seed, noise=noise)
    return np.ascontiguousarray(path[:, :problem.dim])


def run_momentum_sgd(problem, x0, gamma, a, n_steps, seed, *, noise: bool = True) -> np.ndarray:
    """Momentum SGD, α = 1 − aγ (see :class:`MomentumSGD`).

    Returns z_0 … z_n, shape (n_steps+1, 3d), packed (x, m, v) with v = 0.
    """
    return run_optimizer(problem, MomentumSGD(gamma, a), x0, n_steps, seed, noise=noise)


def run_rmsprop(problem, x0, gamma, b, eps, n_steps, seed, debias=True, *,
                noise: bool = True) -> np.ndarray:
    """RMSProp, β = 1 − bγ (see :class:`RMSProp`).

    Returns z_0 … z_n, shape (n_steps+1, 3d), packed (x, m, v) with m_n = g_n.
    """
    return run_optimizer(problem, RMSProp(gamma, b, eps, debias), x0, n_steps, seed, noise=noise)
