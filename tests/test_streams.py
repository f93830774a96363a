"""adam_ode.streams: NumPy's per-run streams (SeedSequence child → PCG64 → Generator
draws) generated in numba, compared bit for bit with NumPy.

Run as a script (``python tests/test_rng.py``) for the timing table alone.
"""

import time

import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_array_equal

from adam_ode import streams as R

TAIL = 3.6541528853610088  # ziggurat_nor_r: |x| > TAIL only from the tail branch

RUNS = [0, 1, 2, 1000, 2**32 + 5]
INTEGER_NS = [1, 2, 3, 7, 30, 569, 2**31 + 11, 2**40,
              3 * 2**30,      # 32-bit Lemire with 25 % rejection
              2**32,          # rng = 0xFFFFFFFF: next_uint32 directly
              2**32 + 1,      # smallest 64-bit Lemire range
              3 * 2**61,      # 64-bit Lemire with 25 % rejection
              2**63 - 1]      # largest int64 bound


def _roots():
    return {
        "int 0": 0,
        "int 5": 5,
        "int 2**40+3": 2**40 + 3,
        "key (3, 7)": np.random.SeedSequence(12345, spawn_key=(3, 7)),
        "random entropy": np.random.SeedSequence(),
        "big words": np.random.SeedSequence([2**130 + 17, 0, 2**32 + 1, 9, 8, 7],
                                            spawn_key=(2**33 + 1, 0)),
        "seq 0": np.random.SeedSequence(0),
    }


ROOTS = _roots()


def _root_seq(seed):
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def _child(seed, run):
    root = _root_seq(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key + (run,), pool_size=4)


def _state(seed, run):
    ent, key = R.seed_words(seed)
    st = np.zeros(R.STATE_SIZE, dtype=np.uint64)
    R.child_state(ent, key, run, st)
    return st


# ---- jitted drivers ------------------------------------------------------------------------

@njit
def _fill_random(state, out):
    for i in range(out.shape[0]):
        out[i] = R.next_double(state)


@njit
def _fill_normal(state, out):
    for i in range(out.shape[0]):
        out[i] = R.standard_normal(state)


@njit
def _fill_uint64(state, out):
    for i in range(out.shape[0]):
        out[i] = R.next_uint64(state)


@njit
def _fill_mixed(state, ops, fout, iout):
    """ops[i] = -1: random(); -2: standard_normal(); n ≥ 1: integers(0, n)."""
    for i in range(ops.shape[0]):
        op = ops[i]
        if op == -1:
            fout[i] = R.next_double(state)
        elif op == -2:
            fout[i] = R.standard_normal(state)
        else:
            iout[i] = R.integers(state, op)


@njit
def _chunk(ent, key, first_run, states, n_normal, out):
    """A chunk of runs in one call: seed row r from run first_run + r, then draw."""
    for r in range(states.shape[0]):
        R.child_state(ent, key, first_run + r, states[r])
        for i in range(n_normal):
            out[r, i] = R.standard_normal(states[r])


def _mixed_reference(g, ops):
    fout = np.zeros(len(ops))
    iout = np.zeros(len(ops), dtype=np.int64)
    for i, op in enumerate(ops):
        if op == -1:
            fout[i] = g.random()
        elif op == -2:
            fout[i] = g.standard_normal()
        else:
            iout[i] = g.integers(0, int(op))
    return fout, iout


def _mixed(seed, run, ops):
    st = _state(seed, run)
    fout = np.zeros(len(ops))
    iout = np.zeros(len(ops), dtype=np.int64)
    _fill_mixed(st, np.asarray(ops, dtype=np.int64), fout, iout)
    g = np.random.default_rng(_child(seed, run))
    rf, ri = _mixed_reference(g, ops)
    assert_array_equal(fout.view(np.uint64), rf.view(np.uint64))
    assert_array_equal(iout, ri)
    assert R.state_dict(st) == g.bit_generator.state
    return iout


# ---- seeding -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ROOTS))
def test_seed_words_match_numpy_coercion(name):
    bg = pytest.importorskip("numpy.random.bit_generator")
    coerce = getattr(bg, "_coerce_to_uint32_array", None)
    if coerce is None:
        pytest.skip("NumPy's private _coerce_to_uint32_array is gone")
    root = _root_seq(ROOTS[name])
    ent, key = R.seed_words(ROOTS[name])
    assert ent.dtype == np.uint32 and key.dtype == np.uint32
    assert_array_equal(ent, coerce(root.entropy))
    assert_array_equal(key, coerce(root.spawn_key))


@pytest.mark.parametrize("name", sorted(ROOTS))
@pytest.mark.parametrize("run", RUNS)
def test_child_generate_state_and_pcg64_seed(name, run):
    seed = ROOTS[name]
    ent, key = R.seed_words(seed)
    words = np.zeros(4, dtype=np.uint64)
    R.child_generate_state(ent, key, run, words)
    child = _child(seed, run)
    assert_array_equal(words, child.generate_state(4, np.uint64))
    st = np.zeros(R.STATE_SIZE, dtype=np.uint64)
    R.child_state(ent, key, run, st)
    assert R.state_dict(st) == np.random.PCG64(child).state
    assert R.state_dict(st) == np.random.default_rng(child).bit_generator.state


def test_montecarlo_convention():
    """The project's run seeds (montecarlo.run_seed_sequence) are these children."""
    from adam_ode.montecarlo import run_seed_sequence
    for seed in (0, 7, np.random.SeedSequence(3, spawn_key=(1,))):
        for run in (0, 5, 2**32 + 5):
            assert R.state_dict(_state(seed, run)) == \
                np.random.PCG64(run_seed_sequence(seed, run)).state


@njit
def _integers_once(state, n):
    return R.integers(state, n)


@njit
def _child_once(ent, key, run, state):
    R.child_state(ent, key, run, state)


def test_bad_arguments_raise_in_numba():
    st = _state(0, 0)
    with pytest.raises(ValueError):
        _integers_once(st, 0)
    ent, key = R.seed_words(0)
    with pytest.raises(ValueError):
        _child_once(ent, key, -1, st)


def test_seed_words_rejects():
    with pytest.raises(ValueError):
        R.seed_words(np.random.SeedSequence(1, pool_size=8))
    with pytest.raises(TypeError):
        R.seed_words(1.5)
    with pytest.raises(ValueError):
        R.seed_words(-1)


# ---- draws ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["int 0", "key (3, 7)", "random entropy"])
@pytest.mark.parametrize("run", [0, 2**32 + 5])
def test_random_and_uint64(name, run):
    seed = ROOTS[name]
    st = _state(seed, run)
    out = np.zeros(100_000)
    _fill_random(st, out)
    g = np.random.default_rng(_child(seed, run))
    assert_array_equal(out.view(np.uint64), g.random(100_000).view(np.uint64))
    raw = np.zeros(1000, dtype=np.uint64)
    _fill_uint64(st, raw)
    assert_array_equal(raw, g.bit_generator.random_raw(1000))
    assert R.state_dict(st) == g.bit_generator.state


@pytest.mark.parametrize("name", ["int 5", "key (3, 7)", "random entropy"])
def test_standard_normal_with_tail(name):
    seed = ROOTS[name]
    n = 1_000_000
    st = _state(seed, 1000)
    out = np.zeros(n)
    _fill_normal(st, out)
    g = np.random.default_rng(_child(seed, 1000))
    ref = g.standard_normal(n)
    assert_array_equal(out.view(np.uint64), ref.view(np.uint64))
    assert R.state_dict(st) == g.bit_generator.state
    tail = int(np.count_nonzero(np.abs(out) > TAIL))
    assert tail > 50, tail  # ~2.7e-4 per draw: the tail branch ran (and agreed) many times


def test_standard_normal_100k_scalar_calls():
    """Scalar Generator.standard_normal() calls (the kernels' usage) give the same stream."""
    st = _state(0, 2)
    out = np.zeros(100_000)
    _fill_normal(st, out)
    g = np.random.default_rng(_child(0, 2))
    ref = np.array([g.standard_normal() for _ in range(100_000)])
    assert_array_equal(out.view(np.uint64), ref.view(np.uint64))


@pytest.mark.parametrize("n", INTEGER_NS)
def test_integers_single_bound(n):
    ops = [n] * 5001  # odd: leaves a buffered uint32 on the 32-bit path
    iout = _mixed(ROOTS["int 2**40+3"], 7, ops)
    assert iout.min() >= 0 and iout.max() < n


def test_uint32_buffer_survives_64_bit_draws():
    """An odd number of 32-bit draws buffers the upper half of a 64-bit output; 64-bit draws
    (random, standard_normal, 64-bit integers) leave it in place for the next 32-bit draw."""
    ops = ([7, 7, 7, -1, 2**40, 7, -2, 30, 30, 30, 2**32, -1, 569, 2**40, 569, 569]
           + [3] * 11 + [-2] * 3 + [2**31 + 11] * 5 + [-1])
    for name in ("int 0", "key (3, 7)"):
        _mixed(ROOTS[name], 1, ops)
    st = _state(0, 1)
    fout = np.zeros(3)
    iout = np.zeros(3, dtype=np.int64)
    _fill_mixed(st, np.array([7, 7, 7]), fout, iout)
    assert st[4] == 1  # has_uint32 set after an odd count
    _fill_mixed(st, np.array([-1]), fout, iout)
    assert st[4] == 1


@pytest.mark.parametrize("name", ["int 0", "int 2**40+3", "key (3, 7)", "random entropy"])
def test_mixed_random_sequence(name):
    rs = np.random.default_rng(2024)
    choices = np.array([-1, -2] + INTEGER_NS, dtype=np.int64)
    ops = rs.choice(choices, size=100_000)
    _mixed(ROOTS[name], 2, ops.tolist())


def test_chunk_of_runs_in_one_call():
    seed = np.random.SeedSequence(99, spawn_key=(4,))
    ent, key = R.seed_words(seed)
    n_runs, n_draw, first = 64, 50, 2**32 - 10  # crosses a 2**32 run index
    states = np.zeros((n_runs, R.STATE_SIZE), dtype=np.uint64)
    out = np.zeros((n_runs, n_draw))
    _chunk(ent, key, first, states, n_draw, out)
    for r in range(n_runs):
        g = np.random.default_rng(_child(seed, first + r))
        assert_array_equal(out[r].view(np.uint64), g.standard_normal(n_draw).view(np.uint64))
        assert R.state_dict(states[r]) == g.bit_generator.state


# ---- speed (printed, not asserted) ---------------------------------------------------------

@njit
def _bench_ours(state, n, kind, k):
    acc = 0.0
    for _ in range(n):
        if kind == 0:
            acc += R.next_double(state)
        elif kind == 1:
            acc += R.standard_normal(state)
        else:
            acc += R.integers(state, k)
    return acc


@njit
def _bench_numba(g, n, kind, k):
    acc = 0.0
    for _ in range(n):
        if kind == 0:
            acc += g.random()
        elif kind == 1:
            acc += g.standard_normal()
        else:
            acc += g.integers(0, k)
    return acc


@njit
def _bench_child_state(ent, key, n, states):
    for r in range(n):
        R.child_state(ent, key, r, states[r % states.shape[0]])


def _best(f, repeat=5):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def timing_table(n=1_000_000):
    rows = []
    for label, kind, k in [("random()", 0, 1), ("standard_normal()", 1, 1),
                           ("integers(0, 569)", 2, 569), ("integers(0, 2**40)", 2, 2**40)]:
        st = _state(0, 0)
        g = np.random.default_rng(_child(0, 0))
        _bench_ours(st, 10, kind, k)
        _bench_numba(g, 10, kind, k)
        ours = _best(lambda st=st, kind=kind, k=k: _bench_ours(st, n, kind, k)) / n * 1e9
        theirs = _best(lambda g=g, kind=kind, k=k: _bench_numba(g, n, kind, k)) / n * 1e9
        rows.append(f"{label:20s} rng.py {ours:6.2f} ns/draw   "
                    f"numba Generator {theirs:6.2f} ns/draw")
    ent, key = R.seed_words(0)
    states = np.zeros((16, R.STATE_SIZE), dtype=np.uint64)
    _bench_child_state(ent, key, 10, states)
    m = 200_000
    ours = _best(lambda: _bench_child_state(ent, key, m, states)) / m * 1e9
    py = _best(lambda: [np.random.default_rng(_child(0, r)) for r in range(2000)], 3) / 2000 * 1e9
    rows.append(f"{'child_state':20s} rng.py {ours:6.1f} ns/run    "
                f"Python default_rng(SeedSequence(...)) {py:8.0f} ns/run (before unboxing)")
    return "\n".join(rows)


def test_speed_printed():
    print("\n" + timing_table(200_000))


if __name__ == "__main__":
    print(timing_table())
