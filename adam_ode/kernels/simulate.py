r"""The generic kernel: one path of any optimizer on any problem, with streaming statistics.

:func:`simulate` runs one path for ``n_steps`` steps and streams the Monte Carlo statistics (sup
distance to a reference path, time averages of ‖∇F(x_k)‖ and 1{d(x_k, 𝒮) > δ}, divergence)
while optionally recording every k-th state. The problem (``data``) and the optimizer
(``hyper``) arrive as ``NamedTuple`` values; their types select, at compile time, the problem's
evaluators (:mod:`adam_ode.problems.base`) and the optimizer's step
(:mod:`adam_ode.optimizers.base`), which numba inlines. Each (problem, optimizer) pair is
therefore its own compiled loop, cached on disk (``cache=True``; no globals, closures or
function arguments), and compiled only when first used. The kernels release the GIL
(``nogil``) so :mod:`adam_ode.montecarlo` runs them in threads.

State layout: slot k of the optimizer occupies ``state[k*d:(k+1)*d]`` of one buffer that also
holds g_n, ∇F(x) and the gradient point; keeping them in one buffer lets LLVM prove that they do
not overlap and forward each step's stores to its loads (separate arrays: ~15 ns more per
LinearRegression2D step, numba 0.68).

:func:`simulate_pair` advances two runs of the same (problem, optimizer) in one loop, bit for bit
two :func:`simulate` calls: one step is a chain of dependent operations (gradient → moments →
sqrt → division → x → next gradient) whose latency, not the core's throughput, sets the time per
step, and two independent chains overlap in the out-of-order core. Monte Carlo uses it where both
the problem and the optimizer ask for it (``kernel_pairs``): it costs a second compilation.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit
from numba.core.errors import NumbaIRAssumptionWarning

from .._validation import ParameterError
from ..optimizers.base import (OPTIMIZERS, Optimizer, coefficients_next, coefficients_start,
                               gradient_point, slot_count, update)
from ..problems.base import critical_distance, exact_grad, kernel_data_of, kernel_dim, sample_grad
from ..streams import STATE_SIZE, child_state

__all__ = ["simulate", "simulate_pair", "simulate_chunk", "simulate_chunk_pairs", "kernels_for", "kernel_inputs", "evaluate_problem",
           "sampling_only",
           "ceiling_loop",
           "DIVERGENCE_BOUND", "NO_REFERENCE"]

# numba's SSA pass emits this "internal pedantic check" for variables of IR-inlined evaluators
# (numba 0.68); the compiled code is unaffected (the golden cases are bit-identical).
warnings.filterwarnings("ignore", category=NumbaIRAssumptionWarning)

# A run has diverged when an iterate is non-finite or some |x_i| exceeds this bound: far beyond any
# meaningful iterate, yet small enough that x² and the Adam moments (∝ g²) stay finite for a while.
DIVERGENCE_BOUND = 1e150

# Placeholders for disabled kernel features; fixed shapes/dtypes keep one compiled signature.
NO_REFERENCE = np.zeros((0, 0))


def kernel_inputs(problem, optimizer):
    """``(data, hyper)``: the problem's kernel data and the optimizer's kernel arguments.

    Raises :class:`~adam_ode.ParameterError` for anything that is not a registered problem or
    optimizer record (no kernel exists for it).
    """
    data = kernel_data_of(problem)
    if not isinstance(optimizer, Optimizer) or OPTIMIZERS.get(type(optimizer).name) \
            is not type(optimizer):
        raise ParameterError(f"optimizer must be a registered optimizer record "
                             f"({', '.join(c.__name__ for c in OPTIMIZERS.values())}), "
                             f"got {optimizer!r}")
    from ..plugins import checked

    checked("problem", type(problem))  # a user's or a plug-in's class: every piece, one line
    checked("optimizer", type(optimizer))
    hyper = optimizer.kernel_args()
    if type(hyper) is not type(optimizer).args_class:
        raise ParameterError(f"{type(optimizer).__name__}.kernel_args() must return a "
                             f"{type(optimizer).args_class.__name__}")
    return data, hyper


@njit(cache=True, nogil=True, error_model="numpy")
def simulate(data, hyper, x0, noise, n_steps, rng, reference, delta, track_grad,
             burn_in, record_every, record, final, run, bound):
    r"""Run one path for ``n_steps`` steps and stream its statistics.

    Parameters
    ----------
    data, hyper : NamedTuple
        The problem's kernel data and the optimizer's kernel arguments (:func:`kernel_inputs`).
    x0 : float64[:]
        x_0 (d,); the other slots start at 0.
    noise : bool
        Stochastic gradients (``sample_grad``) or exact ones (``exact_grad``, no draws).
    n_steps : int
        Number of iterations n.
    rng : uint64[:] or np.random.Generator
        This run's random stream (never shared between threads): a state row of
        :mod:`adam_ode.streams` (the Monte Carlo chunks) or a numba Generator (same bits).
    reference : float64[:, :]
        Reference path, row k at step k (k = 0..N), of width d (compare x) or n_slots·d
        (compare the whole state); shape (0, 0) for none. sup_{k ≤ min(N, n_steps)}.
    delta : float
        δ of 1{d(x_k, 𝒮) > δ}; negative: not computed.
    track_grad : bool
        Accumulate ‖∇F(x_k)‖ (one exact gradient per step).
    burn_in : int
        Time averages run over k = burn_in+1 … n_steps.
    record_every : int
        Write z_k into ``record[run, k // record_every]`` for k multiple of ``record_every``
        (0: no recording; ``record`` is then (1, 0, width)).
    record : float64[:, :, :]
        Output (R, n_steps // record_every + 1, width). Rows after a divergence are NaN.
    final : float64[:, :]
        Output (R, width): ``final[run]`` receives z at the last step (at the divergence step if
        the run diverged).
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
    d = kernel_dim(data, x0)
    n_slots = slot_count(hyper)
    width = n_slots * d  # compile-time constants where d is one (LinearRegression2D)
    # The state slots, g_n, ∇F(x) and the gradient point in one buffer (module docstring).
    buf = np.zeros(width + 3 * d)
    state = buf[0:width]
    x = buf[0:d]
    g = buf[width:width + d]
    grad = buf[width + d:width + 2 * d]
    y = buf[width + 2 * d:width + 3 * d]
    for i in range(d):
        x[i] = x0[i]
    n_ref = reference.shape[0]
    ref_width = reference.shape[1]
    has_ref = n_ref > 0
    has_record = record_every > 0
    track_outside = delta >= 0.0

    sup_sq = 0.0  # max of squared distances; one sqrt at the end
    if has_ref:
        sup_sq = _squared_distance(d, n_slots, state, reference, 0, ref_width)
    if has_record:
        _write_state(record, run, 0, state)

    grad_sum = 0.0
    outside_count = 0
    c = coefficients_start(hyper)
    div_step = -1

    for n in range(1, n_steps + 1):
        c = coefficients_next(hyper, n, c)
        # g_n at x_{n−1} (or the optimizer's look-ahead point) with a fresh sample ξ_n.
        point = gradient_point(hyper, c, x, state, y, d)
        if noise:
            sample_grad(data, point, rng, g)
        else:
            exact_grad(data, point, g)
        update(hyper, c, state, g, d)

        if _diverged(d, width, state, bound):
            div_step = n
            break

        if has_ref and n < n_ref:
            dist_sq = _squared_distance(d, n_slots, state, reference, n, ref_width)
            if dist_sq > sup_sq:
                sup_sq = dist_sq
        if n > burn_in:
            if track_grad:
                exact_grad(data, x, grad)
                s = 0.0
                for i in range(d):
                    s += grad[i] * grad[i]
                grad_sum += math.sqrt(s)
            if track_outside:
                if critical_distance(data, x) > delta:
                    outside_count += 1
        if has_record and n % record_every == 0:
            _write_state(record, run, n // record_every, state)

    return _finish(state, reference, delta, track_grad, n_steps, burn_in, record_every, record,
                   final, run, sup_sq, grad_sum, outside_count, div_step)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_pair(data, hyper, x0, noise, n_steps, rng_a, rng_b, reference, delta,
                  track_grad, burn_in, record_every, record, final, run, bound):
    r"""Runs ``run`` and ``run + 1`` of the same (problem, optimizer) advanced together.

    Same arguments as :func:`simulate` with ``rng_a``, ``rng_b`` the random streams of the two
    runs. Returns the two result tuples of :func:`simulate`, bit for bit those of two
    :func:`simulate` calls: each run draws from its own Generator in the same order and stops at
    its own divergence (the other then goes on alone). The optimizer's coefficients (bias
    corrections, …) depend on n only and are computed once for both runs.
    """
    d = kernel_dim(data, x0)
    n_slots = slot_count(hyper)
    width = n_slots * d  # compile-time constants where d is one (LinearRegression2D)
    # Both runs' states, g_n and ∇F(x) in one buffer (see simulate).
    stride = width + 3 * d
    buf = np.zeros(2 * stride)
    state_a = buf[0:width]
    xa = buf[0:d]
    ga = buf[width:width + d]
    grad_a = buf[width + d:width + 2 * d]
    ya = buf[width + 2 * d:stride]
    state_b = buf[stride:stride + width]
    xb = buf[stride:stride + d]
    gb = buf[stride + width:stride + width + d]
    grad_b = buf[stride + width + d:stride + width + 2 * d]
    yb = buf[stride + width + 2 * d:2 * stride]
    run_b = run + 1
    sup_a = _start(d, n_slots, x0, xa, state_a, reference, record_every, record, run)
    sup_b = _start(d, n_slots, x0, xb, state_b, reference, record_every, record, run_b)
    grad_sum_a = 0.0
    grad_sum_b = 0.0
    outside_a = 0
    outside_b = 0
    c = coefficients_start(hyper)
    div_a = -1
    div_b = -1
    n_ref = reference.shape[0]
    averages = track_grad or delta >= 0.0

    for n in range(1, n_steps + 1):
        c = coefficients_next(hyper, n, c)
        # A diverged run stops (as in `simulate`); the other one goes on alone.
        if div_a < 0:
            point_a = gradient_point(hyper, c, xa, state_a, ya, d)
            if noise:
                sample_grad(data, point_a, rng_a, ga)
            else:
                exact_grad(data, point_a, ga)
        if div_b < 0:
            point_b = gradient_point(hyper, c, xb, state_b, yb, d)
            if noise:
                sample_grad(data, point_b, rng_b, gb)
            else:
                exact_grad(data, point_b, gb)
        if div_a < 0:
            update(hyper, c, state_a, ga, d)
            if _diverged(d, width, state_a, bound):
                div_a = n
            else:
                if n < n_ref:
                    sup_a = _max_squared_distance(d, n_slots, state_a, reference, n, sup_a)
                if n > burn_in and averages:
                    grad_sum_a, outside_a = _time_averages(data, d, xa, grad_a, delta,
                                                           track_grad, grad_sum_a, outside_a)
                if record_every > 0 and n % record_every == 0:
                    _write_state(record, run, n // record_every, state_a)
        if div_b < 0:
            update(hyper, c, state_b, gb, d)
            if _diverged(d, width, state_b, bound):
                div_b = n
            else:
                if n < n_ref:
                    sup_b = _max_squared_distance(d, n_slots, state_b, reference, n, sup_b)
                if n > burn_in and averages:
                    grad_sum_b, outside_b = _time_averages(data, d, xb, grad_b, delta,
                                                           track_grad, grad_sum_b, outside_b)
                if record_every > 0 and n % record_every == 0:
                    _write_state(record, run_b, n // record_every, state_b)
        if div_a >= 0 and div_b >= 0:
            break

    result_a = _finish(state_a, reference, delta, track_grad, n_steps, burn_in, record_every,
                       record, final, run, sup_a, grad_sum_a, outside_a, div_a)
    result_b = _finish(state_b, reference, delta, track_grad, n_steps, burn_in, record_every,
                       record, final, run_b, sup_b, grad_sum_b, outside_b, div_b)
    return result_a, result_b


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_chunk(data, hyper, x0, noise, n_steps, entropy_words, spawn_words, lo, hi,
                   reference, delta, track_grad, burn_in, record_every, record, final, bound,
                   sup, grad_avg, outside, div_step):
    """Runs ``lo … hi − 1`` of a Monte Carlo in one call, each with its own stream.

    Run r draws from the child r of the root SeedSequence given by its words
    (:func:`adam_ode.streams.seed_words`), generated here bit for bit as NumPy would
    (:func:`adam_ode.streams.child_state`): no Python object per run, so one call costs one
    dispatch whatever the number of runs. The other arguments are those of :func:`simulate`;
    run r's statistics go to ``sup[r]``, ``grad_avg[r]``, ``outside[r]``, ``div_step[r]``.
    """
    stream = np.zeros(STATE_SIZE, dtype=np.uint64)
    for r in range(lo, hi):
        child_state(entropy_words, spawn_words, r, stream)
        sup[r], grad_avg[r], outside[r], div_step[r] = simulate(
            data, hyper, x0, noise, n_steps, stream, reference, delta, track_grad, burn_in,
            record_every, record, final, r, bound)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_chunk_pairs(data, hyper, x0, noise, n_steps, entropy_words, spawn_words, lo, hi,
                         reference, delta, track_grad, burn_in, record_every, record, final,
                         bound, sup, grad_avg, outside, div_step):
    """:func:`simulate_chunk` with runs (r, r + 1) advanced together (:func:`simulate_pair`);
    an odd run left over runs alone. Same results, bit for bit."""
    stream_a = np.zeros(STATE_SIZE, dtype=np.uint64)
    stream_b = np.zeros(STATE_SIZE, dtype=np.uint64)
    r = lo
    while r + 1 < hi:
        child_state(entropy_words, spawn_words, r, stream_a)
        child_state(entropy_words, spawn_words, r + 1, stream_b)
        result_a, result_b = simulate_pair(data, hyper, x0, noise, n_steps, stream_a, stream_b,
                                           reference, delta, track_grad, burn_in, record_every,
                                           record, final, r, bound)
        sup[r], grad_avg[r], outside[r], div_step[r] = result_a
        sup[r + 1], grad_avg[r + 1], outside[r + 1], div_step[r + 1] = result_b
        r += 2
    if r < hi:
        child_state(entropy_words, spawn_words, r, stream_a)
        sup[r], grad_avg[r], outside[r], div_step[r] = simulate(
            data, hyper, x0, noise, n_steps, stream_a, reference, delta, track_grad, burn_in,
            record_every, record, final, r, bound)


_UNCACHED = {}


def kernels_for(problem):
    """``(simulate, simulate_pair)`` for this problem: the cached kernels, or for a problem with
    ``kernel_cacheable = False`` uncached copies compiled in this process (numba cannot write a
    kernel specialised on a type made at run time to its on-disk cache)."""
    if type(problem).kernel_cacheable:
        return simulate, simulate_pair
    if not _UNCACHED:
        _UNCACHED["simulate"] = njit(nogil=True, error_model="numpy")(simulate.py_func)
        _UNCACHED["simulate_pair"] = njit(nogil=True, error_model="numpy")(simulate_pair.py_func)
    return _UNCACHED["simulate"], _UNCACHED["simulate_pair"]


@njit(cache=True, nogil=True, error_model="numpy")
def _diverged(d, width, state, bound):
    """Divergence: x non-finite or beyond the bound (`not <=` also catches NaN), or another
    state slot non-finite (e.g. Adam's v overflowing to inf while x still looks finite)."""
    diverged = False
    for i in range(d):
        if not abs(state[i]) <= bound:
            diverged = True
    for i in range(d, width):
        if not abs(state[i]) < math.inf:
            diverged = True
    return diverged


@njit(cache=True, nogil=True, error_model="numpy")
def _start(d, n_slots, x0, x, state, reference, record_every, record, run):
    """z_0 = (x0, 0, …) into the (zeroed) state; records it; returns ‖z_0 − ref_0‖² (or 0)."""
    for i in range(d):
        x[i] = x0[i]
    sup_sq = 0.0  # max of squared distances; one sqrt at the end
    if reference.shape[0] > 0:
        sup_sq = _squared_distance(d, n_slots, state, reference, 0, reference.shape[1])
    if record_every > 0:
        _write_state(record, run, 0, state)
    return sup_sq


@njit(cache=True, nogil=True, error_model="numpy")
def _squared_distance(d, n_slots, state, reference, k, width):
    """‖x − ref_k‖² (width d) or ‖z − ref_k‖² (width n_slots·d), Euclidean.

    x first, then the other slots coordinate by coordinate (m_i, v_i, …), the order of the
    packed (x, m, v) state of Algorithm 2.1.
    """
    acc = 0.0
    for i in range(d):
        e = state[i] - reference[k, i]
        acc += e * e
    if width > d:
        for i in range(d):
            for s in range(1, n_slots):
                e = state[s * d + i] - reference[k, s * d + i]
                acc += e * e
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def _max_squared_distance(d, n_slots, state, reference, n, sup_sq):
    """max(sup_sq, ‖z_n − ref_n‖²)."""
    dist_sq = _squared_distance(d, n_slots, state, reference, n, reference.shape[1])
    return dist_sq if dist_sq > sup_sq else sup_sq


@njit(nogil=True, error_model="numpy", inline="always")
def _time_averages(data, d, x, grad, delta, track_grad, grad_sum, outside_count):
    """Adds ‖∇F(x_n)‖ and 1{d(x_n, 𝒮) > δ} to the running sums (as asked for).

    IR-inlined for the literal problem type, and called only when time averages are asked for:
    the array arguments of an inlined call cost reference-count operations (numba 0.68).
    """
    if track_grad:
        exact_grad(data, x, grad)
        s = 0.0
        for i in range(d):
            s += grad[i] * grad[i]
        grad_sum += math.sqrt(s)
    if delta >= 0.0:
        if critical_distance(data, x) > delta:
            outside_count += 1
    return grad_sum, outside_count


@njit(cache=True, nogil=True, error_model="numpy")
def _write_state(record, run, k, state):
    for i in range(state.shape[0]):
        record[run, k, i] = state[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _finish(state, reference, delta, track_grad, n_steps, burn_in, record_every, record, final,
            run, sup_sq, grad_sum, outside_count, div_step):
    """Final state and the returned statistics of :func:`simulate` (see its Returns)."""
    n_ref = reference.shape[0]
    has_ref = n_ref > 0
    has_record = record_every > 0
    track_outside = delta >= 0.0
    n_avg = n_steps - burn_in
    width = state.shape[0]
    for i in range(width):
        final[run, i] = state[i]

    nan = math.nan
    sup_dist = math.sqrt(sup_sq)
    if div_step >= 0:
        if has_ref and div_step < n_ref:
            sup_dist = math.inf
        if has_record:
            for k in range((div_step + record_every - 1) // record_every, record.shape[1]):
                for i in range(width):
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


@njit(cache=True, nogil=True)
def evaluate_problem(data, x, rng, n_draws):
    """The problem's numba evaluators at x: ``n_draws`` stochastic gradients (n_draws, d), ∇F(x)
    and d(x, 𝒮) (tests: the numba side equals the NumPy side)."""
    d = x.shape[0]
    draws = np.empty((n_draws, d))
    g = np.empty(d)
    for k in range(n_draws):
        sample_grad(data, x, rng, g)
        for i in range(d):
            draws[k, i] = g[i]
    exact_grad(data, x, g)
    return draws, g, critical_distance(data, x)


@njit(cache=True, nogil=True)
def sampling_only(data, x, rng, n_steps):
    """Draw ``n_steps`` stochastic gradients at a fixed x (benchmark: cost of the sampling alone)."""
    g = np.zeros(x.shape[0])
    acc = 0.0
    for _ in range(n_steps):
        sample_grad(data, x, rng, g)
        acc += g[0]
    return acc


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
