r"""Random streams: NumPy's per-run streams generated inside numba, bit for bit, and the draws
the problems' numba samplers make.

Run r of a Monte Carlo draws from ``np.random.default_rng(np.random.SeedSequence(entropy,
spawn_key=root_spawn_key + (r,), pool_size=4))``. Building that Generator in Python and unboxing
it into a kernel costs ~40 µs per run under the GIL; the functions here produce the *same bits*
from (entropy words, root spawn-key words, r) entirely in compiled code, so one kernel call can
run a whole chunk of runs.

Transcribed from NumPy (``numpy/random/bit_generator.pyx``: ``SeedSequence.mix_entropy``,
``get_assembled_entropy``, ``generate_state``; ``src/pcg64/pcg64.h``/``pcg64.c``: PCG64 XSL-RR
with the 128-bit LCG done in two uint64 halves; ``src/distributions/distributions.c``:
``random_standard_normal``, ``random_bounded_uint64_fill``, ``bounded_lemire_uint64``,
``buffered_bounded_lemire_uint32``). The ziggurat tables are numba's copies
(``numba.np.random._constants``), which are identical to NumPy's ``ziggurat_constants.h``
(checked value by value against the header, NumPy 2.4).

State row (``np.uint64``, length :data:`STATE_SIZE`):
``[state_hi, state_lo, inc_hi, inc_lo, has_uint32, uinteger]`` — the PCG64 128-bit state and
increment, and the buffered upper half of a 64-bit draw that ``next_uint32`` returns next
(NumPy's ``pcg64_state.has_uint32`` / ``uinteger``). Many runs' states fit in one 2-D array;
each function takes one row and advances it in place.

:func:`standard_normal`, :func:`integers` and :func:`next_uint32` are inlined into the caller at
numba-IR level (``inline="always"``): as ordinary calls LLVM does not inline them, and each draw
then passes the array structure and spills the state (``docs/benchmarks.md``). The small ones
(next_uint64, next_double) are inlined by LLVM anyway.

All uint32 arithmetic is done in uint64 and masked with ``& 0xFFFFFFFF``; every constant is an
``np.uint64`` so numba never mixes signed and unsigned operands (which it would type as float64).

The problems' samplers draw through :func:`uniform`, :func:`normal` and :func:`integer`, which
accept either a state row (the Monte Carlo kernels) or a numba ``np.random.Generator`` (paths run
from a caller's Generator, and problems made of user numba functions): the same bits either way.

API (numba): :func:`uniform`, :func:`normal`, :func:`integer`, :func:`child_state`, :func:`child_generate_state`, :func:`pcg64_seed`,
:func:`next_uint64`, :func:`next_uint32`, :func:`next_double` (``Generator.random()``),
:func:`standard_normal` (``Generator.standard_normal()``), :func:`integers`
(``Generator.integers(0, n)``, int64). Python: :func:`seed_words`, :func:`state_dict`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

__all__ = [
    "uniform",
    "normal",
    "integer",
    "root_state",
    "POOL_SIZE",
    "STATE_SIZE",
    "child_generate_state",
    "child_state",
    "integers",
    "next_double",
    "next_uint32",
    "next_uint64",
    "pcg64_seed",
    "seed_words",
    "standard_normal",
    "state_dict",
]

STATE_SIZE = 6
POOL_SIZE = 4

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U8 = np.uint64(8)
_U11 = np.uint64(11)
_U16 = np.uint64(16)
_U32 = np.uint64(32)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64 = np.uint64(64)
_M32 = np.uint64(0xFFFFFFFF)
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_M52 = np.uint64(0x000FFFFFFFFFFFFF)
_MFF = np.uint64(0xFF)

# SeedSequence constants (bit_generator.pyx)
_INIT_A = np.uint64(0x43b0d7e5)
_MULT_A = np.uint64(0x931e8875)
_INIT_B = np.uint64(0x8b51f9dd)
_MULT_B = np.uint64(0x58f38ded)
_MIX_MULT_L = np.uint64(0xca01f9dd)
_MIX_MULT_R = np.uint64(0x4973f715)

# PCG_DEFAULT_MULTIPLIER_128 (pcg64.h)
_MULT_HI = np.uint64(2549297995355413924)
_MULT_LO = np.uint64(4865540595714422341)

_TWO_M53 = 1.0 / 9007199254740992.0

_KI = np.ascontiguousarray(ki_double, dtype=np.uint64)
_WI = np.ascontiguousarray(wi_double, dtype=np.float64)
_FI = np.ascontiguousarray(fi_double, dtype=np.float64)
_NOR_R = float(ziggurat_nor_r)
_NOR_INV_R = float(ziggurat_nor_inv_r)


# ----------------------------------------------------------------------------------------------
# Python side: the root's words
# ----------------------------------------------------------------------------------------------

def _int_words(n) -> list[int]:
    """NumPy's ``_int_to_uint32_array``: little-endian 32-bit words, [0] for 0."""
    n = int(n)
    if n < 0:
        raise ValueError("expected non-negative integer")
    if n == 0:
        return [0]
    out = []
    while n > 0:
        out.append(n & 0xFFFFFFFF)
        n >>= 32
    return out


def _coerce_words(x) -> np.ndarray:
    """NumPy's ``_coerce_to_uint32_array`` for ints, uint32 arrays and flat sequences of ints."""
    if isinstance(x, np.ndarray) and x.dtype == np.dtype(np.uint32):
        return x.astype(np.uint32, copy=True)
    if isinstance(x, (str, float, np.inexact)):
        raise TypeError("seed words: int or sequence of ints expected")
    if isinstance(x, (int, np.integer)):
        return np.array(_int_words(x), dtype=np.uint32)
    words: list[int] = []
    for v in x:
        if hasattr(v, "__len__"):
            raise TypeError("SeedSequence does not accept nested sequences.")
        if isinstance(v, np.ndarray) and v.dtype == np.dtype(np.uint32):
            words.extend(int(w) for w in v)
        else:
            words.extend(_int_words(v))
    return np.array(words, dtype=np.uint32)


def seed_words(seed) -> tuple[np.ndarray, np.ndarray]:
    """(entropy words, root spawn-key words), both ``np.uint32``, of a root seed.

    ``seed``: an int ≥ 0 (as ``np.random.SeedSequence(seed)``) or a ``np.random.SeedSequence``
    with ``pool_size == 4``. Run r's stream is then that of ``SeedSequence(root.entropy,
    spawn_key=root.spawn_key + (r,), pool_size=4)``: pass the two arrays and r to
    :func:`child_state`.
    """
    if isinstance(seed, np.random.SeedSequence):
        if seed.pool_size != POOL_SIZE:
            raise ValueError(f"only pool_size={POOL_SIZE} is supported, got {seed.pool_size}")
        entropy, key = seed.entropy, seed.spawn_key
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        entropy, key = int(seed), ()
    else:
        raise TypeError(f"seed must be an int >= 0 or a np.random.SeedSequence, not {seed!r}")
    if entropy is None:
        raise ValueError("the SeedSequence has no entropy")
    return _coerce_words(entropy), _coerce_words(tuple(key))


def state_dict(state: np.ndarray) -> dict:
    """A state row as ``np.random.PCG64().state`` (for comparisons)."""
    s = [int(v) for v in state[:STATE_SIZE]]
    return {"bit_generator": "PCG64",
            "state": {"state": (s[0] << 64) | s[1], "inc": (s[2] << 64) | s[3]},
            "has_uint32": s[4], "uinteger": s[5]}


# ----------------------------------------------------------------------------------------------
# SeedSequence
# ----------------------------------------------------------------------------------------------

@njit(cache=True)
def _hashmix(value, hash_const):
    """NumPy's ``hashmix``; returns (value, updated hash_const). uint32 in uint64."""
    value = value ^ hash_const
    hash_const = (hash_const * _MULT_A) & _M32
    value = (value * hash_const) & _M32
    value = value ^ (value >> _U16)
    return value, hash_const


@njit(cache=True)
def _mix(x, y):
    result = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _M32
    return result ^ (result >> _U16)


@njit(cache=True)
def _entropy_word(entropy_words, spawn_key_words, run_lo, run_hi, i):
    """Word i of the child's assembled entropy: the entropy words padded with zeros to the pool
    size (a spawn key is always present), the root spawn-key words, then run's 1 or 2 words."""
    n_ent = entropy_words.shape[0]
    padded = max(n_ent, POOL_SIZE)
    if i < n_ent:
        return np.uint64(entropy_words[i])
    if i < padded:
        return _U0
    j = i - padded
    n_key = spawn_key_words.shape[0]
    if j < n_key:
        return np.uint64(spawn_key_words[j])
    if j == n_key:
        return run_lo
    return run_hi


@njit(cache=True)
def child_generate_state(entropy_words, spawn_key_words, run, out_words):
    """``SeedSequence(entropy, spawn_key=key + (run,), pool_size=4).generate_state(4, np.uint64)``
    into ``out_words[0:4]`` (uint64). ``entropy_words``, ``spawn_key_words``: from
    :func:`seed_words`; ``run`` ≥ 0 (int64)."""
    if run < 0:
        raise ValueError("run must be >= 0")
    r = np.uint64(run)
    run_lo = r & _M32
    run_hi = r >> _U32
    n_run = 2 if run_hi != _U0 else 1
    n_total = max(entropy_words.shape[0], POOL_SIZE) + spawn_key_words.shape[0] + n_run

    # mix_entropy into a pool of 4 words
    hc = _INIT_A
    p0, hc = _hashmix(_entropy_word(entropy_words, spawn_key_words, run_lo, run_hi, 0), hc)
    p1, hc = _hashmix(_entropy_word(entropy_words, spawn_key_words, run_lo, run_hi, 1), hc)
    p2, hc = _hashmix(_entropy_word(entropy_words, spawn_key_words, run_lo, run_hi, 2), hc)
    p3, hc = _hashmix(_entropy_word(entropy_words, spawn_key_words, run_lo, run_hi, 3), hc)
    pool = np.empty(POOL_SIZE, dtype=np.uint64)
    pool[0] = p0
    pool[1] = p1
    pool[2] = p2
    pool[3] = p3
    for i_src in range(POOL_SIZE):
        for i_dst in range(POOL_SIZE):
            if i_src != i_dst:
                h, hc = _hashmix(pool[i_src], hc)
                pool[i_dst] = _mix(pool[i_dst], h)
    for i_src in range(POOL_SIZE, n_total):
        w = _entropy_word(entropy_words, spawn_key_words, run_lo, run_hi, i_src)
        for i_dst in range(POOL_SIZE):
            h, hc = _hashmix(w, hc)
            pool[i_dst] = _mix(pool[i_dst], h)

    # generate_state(4, np.uint64): 8 uint32 words cycling over the pool, paired little-endian
    hc = _INIT_B
    for k in range(4):
        lo = pool[(2 * k) % POOL_SIZE] ^ hc
        hc = (hc * _MULT_B) & _M32
        lo = (lo * hc) & _M32
        lo = lo ^ (lo >> _U16)
        hi = pool[(2 * k + 1) % POOL_SIZE] ^ hc
        hc = (hc * _MULT_B) & _M32
        hi = (hi * hc) & _M32
        hi = hi ^ (hi >> _U16)
        out_words[k] = lo | (hi << _U32)


# ----------------------------------------------------------------------------------------------
# PCG64 (XSL-RR 128/64)
# ----------------------------------------------------------------------------------------------

@njit(cache=True)
def _mult64(x, y):
    """Full 64×64 → 128-bit product (hi, lo), by 32-bit halves (pcg64.h ``_pcg_mult64``)."""
    lo = x * y
    x0 = x & _M32
    x1 = x >> _U32
    y0 = y & _M32
    y1 = y >> _U32
    w0 = x0 * y0
    t = x1 * y0 + (w0 >> _U32)
    w1 = t & _M32
    w2 = t >> _U32
    w1 = w1 + x0 * y1
    hi = x1 * y1 + w2 + (w1 >> _U32)
    return hi, lo


@njit(cache=True)
def _step(state):
    """state ← state · PCG_DEFAULT_MULTIPLIER_128 + inc (mod 2¹²⁸)."""
    s_hi = state[0]
    s_lo = state[1]
    p_hi, p_lo = _mult64(s_lo, _MULT_LO)
    p_hi = p_hi + s_hi * _MULT_LO + s_lo * _MULT_HI
    lo = p_lo + state[3]
    carry = _U1 if lo < p_lo else _U0
    state[0] = p_hi + state[2] + carry
    state[1] = lo


@njit(cache=True)
def pcg64_seed(words, state):
    """``pcg64_set_seed`` from ``generate_state(4, np.uint64)`` words: initstate = (words[0]
    high, words[1] low), initseq = (words[2], words[3]); inc = 2·initseq + 1; state = 0, step,
    state += initstate, step. Clears the uint32 buffer."""
    seed_hi = np.uint64(words[0])
    seed_lo = np.uint64(words[1])
    seq_hi = np.uint64(words[2])
    seq_lo = np.uint64(words[3])
    state[0] = _U0
    state[1] = _U0
    state[2] = (seq_hi << _U1) | (seq_lo >> _U63)
    state[3] = (seq_lo << _U1) | _U1
    _step(state)
    lo = state[1] + seed_lo
    carry = _U1 if lo < seed_lo else _U0
    state[0] = state[0] + seed_hi + carry
    state[1] = lo
    _step(state)
    state[4] = _U0
    state[5] = _U0


@njit(cache=True)
def child_state(entropy_words, spawn_key_words, run, out_state):
    """Fill ``out_state`` (uint64, length ≥ :data:`STATE_SIZE`) with the PCG64 state of
    ``np.random.default_rng(SeedSequence(entropy, spawn_key=key + (run,), pool_size=4))``."""
    words = np.empty(4, dtype=np.uint64)
    child_generate_state(entropy_words, spawn_key_words, run, words)
    pcg64_seed(words, out_state)


@njit(cache=True)
def next_uint64(state):
    """``pcg64_next64``: one LCG step, then the XSL-RR output."""
    _step(state)
    hi = state[0]
    v = hi ^ state[1]
    rot = hi >> _U58
    return (v >> rot) | (v << ((_U64 - rot) & _U63))


@njit(cache=True, inline="always")
def next_uint32(state):
    """``pcg64_next32``: the buffered upper half of the last 64-bit draw if any, else the lower
    half of a new one (whose upper half is buffered)."""
    if state[4] != _U0:
        state[4] = _U0
        return state[5]
    nxt = next_uint64(state)
    state[4] = _U1
    state[5] = nxt >> _U32
    return nxt & _M32


@njit(cache=True)
def next_double(state):
    """``Generator.random()``: (next_uint64 >> 11) · 2⁻⁵³."""
    return np.float64(next_uint64(state) >> _U11) * _TWO_M53


@njit(cache=True, inline="always")
def standard_normal(state):
    """``Generator.standard_normal()``: NumPy's 256-layer ziggurat (``random_standard_normal``),
    with its tail (layer 0) and wedge branches."""
    while True:
        r = next_uint64(state)
        idx = r & _MFF
        r = r >> _U8
        sign = r & _U1
        rabs = (r >> _U1) & _M52
        x = np.float64(rabs) * _WI[idx]
        if sign != _U0:
            x = -x
        if rabs < _KI[idx]:
            return x
        if idx == _U0:
            while True:
                xx = -_NOR_INV_R * math.log1p(-next_double(state))
                yy = -math.log1p(-next_double(state))
                if yy + yy > xx * xx:
                    if ((rabs >> _U8) & _U1) != _U0:
                        return -(_NOR_R + xx)
                    return _NOR_R + xx
        else:
            if ((_FI[idx - _U1] - _FI[idx]) * next_double(state) + _FI[idx]) < math.exp(
                    -0.5 * x * x):
                return x


@njit(cache=True, inline="always")
def _lemire32(state, rng):
    """``buffered_bounded_lemire_uint32``: uniform on [0, rng], rng < 2³² − 1."""
    rng_excl = rng + _U1
    m = next_uint32(state) * rng_excl
    leftover = m & _M32
    if leftover < rng_excl:
        threshold = (_M32 - rng) % rng_excl
        while leftover < threshold:
            m = next_uint32(state) * rng_excl
            leftover = m & _M32
    return m >> _U32


@njit(cache=True, inline="always")
def _lemire64(state, rng):
    """``bounded_lemire_uint64``: uniform on [0, rng], rng < 2⁶⁴ − 1."""
    rng_excl = rng + _U1
    hi, lo = _mult64(next_uint64(state), rng_excl)
    if lo < rng_excl:
        threshold = (_M64 - rng) % rng_excl
        while lo < threshold:
            hi, lo = _mult64(next_uint64(state), rng_excl)
    return hi


@njit(cache=True, inline="always")
def integers(state, n):
    """``Generator.integers(0, n)`` (int64, endpoint=False) for an int64 n ≥ 1:
    ``random_bounded_uint64_fill`` with Lemire's method (``use_masked=False``); ranges below 2³²
    use the 32-bit path, which draws buffered halves (:func:`next_uint32`)."""
    if n < 1:
        raise ValueError("integers(state, n): n must be >= 1")
    rng = np.uint64(n - 1)
    if rng == _U0:
        return np.int64(0)
    if rng <= _M32:
        if rng == _M32:
            return np.int64(next_uint32(state))
        return np.int64(_lemire32(state, rng))
    return np.int64(_lemire64(state, rng))


# ------------------------------------------------------------------------------------------------
# The draws of the problems' samplers: a state row or a numba Generator.
# ------------------------------------------------------------------------------------------------

def uniform(rng):
    """``Generator.random()``: a float64 in [0, 1) (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def normal(rng):
    """``Generator.standard_normal()`` (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def integer(rng, n):
    """``Generator.integers(0, n)`` (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def _is_state_row(rng):
    return isinstance(rng, types.Array) and rng.dtype == types.uint64 and rng.ndim == 1


@overload(uniform, inline="always")
def _uniform(rng):
    if _is_state_row(rng):
        return lambda rng: next_double(rng)
    if isinstance(rng, types.NumPyRandomGeneratorType):
        return lambda rng: rng.random()
    return None


@overload(normal, inline="always")
def _normal(rng):
    if _is_state_row(rng):
        return lambda rng: standard_normal(rng)
    if isinstance(rng, types.NumPyRandomGeneratorType):
        return lambda rng: rng.standard_normal()
    return None


@overload(integer, inline="always")
def _integer(rng, n):
    if _is_state_row(rng):
        return lambda rng, n: integers(rng, n)
    if isinstance(rng, types.NumPyRandomGeneratorType):
        return lambda rng, n: rng.integers(0, n)
    return None


def root_state(seed) -> np.ndarray:
    """The state row of ``np.random.default_rng(seed)`` for an int ≥ 0 or a SeedSequence (the
    stream of a single path): PCG64 seeded from ``SeedSequence.generate_state(4, uint64)``."""
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    state = np.zeros(STATE_SIZE, dtype=np.uint64)
    pcg64_seed(sequence.generate_state(4, np.uint64), state)
    return state
