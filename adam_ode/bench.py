r"""Benchmark of the Monte Carlo iterates: ns per (run·step) of Adam on :class:`LinearRegression2D`.

Measures, in one process and with medians over ``--repeats``:

- Adam (Algorithm 2.1) through :func:`adam_ode.montecarlo.monte_carlo` with the sup distance to a
  reference path (the ODE solution on the grid kγ) streamed, with 1 worker and with all workers,
  and the speed-up;
- the same algorithm as a plain-NumPy loop (the record's NumPy transcription
  :meth:`~adam_ode.optimizers.base.Optimizer.numpy_step`, streamed against the reference), on
  fewer steps, reported per step;
- the machine's parallel ceiling: a CPU-bound loop without memory traffic in 1 and in all
  threads (each thread doing the single thread's work); the Monte Carlo speed-up can only be read
  against it (shared or busy vCPUs lower both);
- a breakdown of one worker's time: the sampling alone (the stochastic gradient at a fixed x,
  i.e. the RNG draws), Adam with exact gradients (arithmetic, no RNG), Adam without the reference
  comparison, and the fixed cost per run (since the chunk kernels: each run's stream seeded
  inside the kernel; before: a Python Generator and one kernel dispatch per run).

The step is latency-bound (one step's dependency chain x → g → (m, v) → sqrt → division → x),
hence the pair kernel that advances two runs in one loop; the measurements behind the kernels'
design are in ``docs/benchmarks.md``.

Run ``python -m adam_ode.bench`` (or ``adam-ode bench``); ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .kernels.simulate import (ceiling_loop, kernel_inputs, sampling_only, simulate,
                               simulate_chunk_pairs)
from .montecarlo import monte_carlo
from .paper import reference_path
from .optimizers import Adam
from .problems import LinearRegression2D
from .streams import seed_words

__all__ = ["main", "run_benchmark"]

# The benchmarked configuration: Kingma–Ba's β1 = 0.9, β2 = 0.999 at γ = 1e-3 (a = 100, b = 1).
GAMMA = 1e-3
A_RATE = 100.0
B_RATE = 1.0
EPS = 1e-8
X0 = (0.0, 0.0)
TARGET_NS_ONE_CORE = 25.0  # project targets on the 2-core reference machine
TARGET_SPEEDUP = 1.8
CEILING_STEPS = 50_000_000  # ~80 ms per thread and repeat


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def numpy_sup_distance(problem, optimizer, x0, reference, seed) -> float:
    """sup_k ‖z_k − reference_k‖ of one run by the record's plain-NumPy step (the baseline)."""
    rng = np.random.default_rng(seed)
    state = optimizer.numpy_start(x0)
    slots = optimizer.slots

    def grad(point):
        return problem.sample_grad(point, rng)

    sup = float(np.linalg.norm(np.concatenate([state[k] for k in slots]) - reference[0]))
    for n in range(1, reference.shape[0]):
        state = optimizer.numpy_step(n, state, grad)
        z = np.concatenate([state[k] for k in slots])
        sup = max(sup, float(np.linalg.norm(z - reference[n])))
    return sup


def parallel_ceiling(workers: int, repeats: int, n_steps: int = CEILING_STEPS) -> float:
    """Speed-up of ``workers`` threads over 1 on a CPU-bound loop without memory traffic.

    Each thread runs the same work as the single thread, so the speed-up is
    ``workers * t_1 / t_workers``: the best any Monte Carlo over independent runs can get here
    (below ``workers`` when the vCPUs share a core or the machine is busy).
    """
    ceiling_loop(10, 1)

    def many():
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda s: ceiling_loop(n_steps, s), range(1, workers + 1)))

    t_one = _median_time(lambda: ceiling_loop(n_steps, 1), repeats)
    t_many = _median_time(many, repeats)
    return workers * t_one / t_many


def run_benchmark(runs: int = 64, steps: int = 20_000, repeats: int = 5,
                  numpy_steps: int = 2_000, workers: int | None = None) -> list[tuple]:
    """Measure and return rows ``(label, value, note)``: ns per run·step (each note starts
    with its unit)."""
    workers = workers or os.cpu_count() or 1
    problem = LinearRegression2D()
    optimizer = Adam(GAMMA, A_RATE, B_RATE, EPS)
    reference = reference_path(problem, X0, GAMMA, A_RATE, B_RATE, EPS, steps * GAMMA)
    total = runs * steps
    data, hyper = kernel_inputs(problem, optimizer)
    x0 = np.array(X0)

    def mc(n_workers, ref=reference, noise=True):
        return monte_carlo(problem, optimizer, x0, steps, runs, 0, reference=ref,
                           track_grad_norm=False, workers=n_workers, noise=noise)

    mc(1)  # compile / load the cache outside the timings
    mc(workers)
    t_one = _median_time(lambda: mc(1), repeats)
    t_all = _median_time(lambda: mc(workers), repeats)
    t_noref = _median_time(lambda: mc(1, ref=None), repeats)
    t_exact = _median_time(lambda: mc(1, noise=False), repeats)

    rng = np.random.default_rng(0)
    sampling_only(data, x0, rng, 10)
    t_sampling = _median_time(lambda: sampling_only(data, x0, rng, total), repeats)

    # Fixed cost per run: zero-step runs, as the Monte Carlo makes them (one chunk call, each
    # run's stream generated in the kernel), and as one call per run with a Python-made
    # Generator (what every run paid before the chunk kernels).
    n_calls = 2000
    final = np.empty((n_calls, 6))
    record = np.zeros((1, 0, 6))
    stats = [np.empty(n_calls), np.empty(n_calls), np.empty(n_calls),
             np.empty(n_calls, dtype=np.int64)]
    words = seed_words(0)

    def overhead_chunk():
        simulate_chunk_pairs(data, hyper, x0, True, 0, *words, 0, n_calls, reference, -1.0,
                             False, 0, 0, record, final, 1e150, *stats)

    def overhead_generator():
        for r in range(n_calls):
            g = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(r,)))
            simulate(data, hyper, x0, True, 0, g, reference, -1.0, False, 0, 0, record,
                     final, 0, 1e150)

    overhead_chunk()
    overhead_generator()
    t_overhead = _median_time(overhead_chunk, repeats) / n_calls
    t_overhead_generator = _median_time(overhead_generator, repeats) / n_calls

    numpy_ref = reference[:numpy_steps + 1]
    t_numpy = _median_time(
        lambda: numpy_sup_distance(problem, optimizer, x0, numpy_ref, 0),
        max(1, min(repeats, 3)))

    ceiling = parallel_ceiling(workers, repeats)

    ns = 1e9
    rows = [
        ("numba Adam + sup distance, 1 worker", t_one / total * ns,
         f"ns per run·step; {runs} runs x {steps} steps, advanced in pairs"),
        (f"numba Adam + sup distance, {workers} workers", t_all / total * ns,
         f"ns per run·step; speed-up {t_one / t_all:.2f}x"),
        (f"ceiling: CPU-bound loop, {workers} threads", math.nan,
         f"speed-up {ceiling:.2f}x (no memory traffic: the machine's best)"),
        ("plain NumPy loop, same algorithm", t_numpy / numpy_steps * ns,
         f"ns per run·step; 1 run x {numpy_steps} steps; {t_numpy / numpy_steps / (t_one / total):.0f}x slower"),
        ("breakdown (1 worker): sampling only", t_sampling / total * ns,
         "ns per run·step; RNG: uniform + normal per step, gradient at fixed x"),
        ("breakdown: Adam, exact gradients (no RNG)", t_exact / total * ns,
         "ns per run·step; arithmetic + sup distance"),
        ("breakdown: Adam, no reference", t_noref / total * ns,
         "ns per run·step; sup distance not streamed"),
        ("breakdown: fixed cost per run", t_overhead / steps * ns,
         f"ns per run·step: {t_overhead * 1e6:.2f} us per run (stream made in the chunk kernel), spread over "
         f"{steps} steps; a Python Generator and one call per run: "
         f"{t_overhead_generator * 1e6:.1f} us"),
    ]
    return rows


def main(argv=None) -> int:
    """Print the benchmark table. Options: ``--runs``, ``--steps``, ``--repeats``,
    ``--numpy-steps``, ``--workers``."""
    parser = argparse.ArgumentParser(prog="adam-ode bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=64, help="Monte Carlo runs (default 64)")
    parser.add_argument("--steps", type=int, default=20_000, help="steps per run (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median; default 5)")
    parser.add_argument("--numpy-steps", type=int, default=2_000,
                        help="steps of the NumPy baseline (default 2000)")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for the parallel row (default os.cpu_count())")
    parser.add_argument("--no-fluctuations", action="store_true",
                        help="skip the rows of the fluctuation models (SDE paths, LNA solve)")
    parser.add_argument("--no-explore", action="store_true",
                        help="skip the rows of the browser explorer (redraw, cold first view)")
    args = parser.parse_args(argv)
    for name in ("runs", "steps", "repeats", "numpy_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be >= 1")
    rows = run_benchmark(args.runs, args.steps, args.repeats, args.numpy_steps, args.workers)
    if not args.no_fluctuations:
        from .fluctuations.bench import run_rows

        rows += run_rows()
    if not args.no_explore:
        from .explore.bench import run_rows as explore_rows

        rows += explore_rows()
    print(f"Adam on LinearRegression2D (gamma={GAMMA:g}, a={A_RATE:g}, b={B_RATE:g}, "
          f"eps={EPS:g}), medians of {args.repeats} repeats, {os.cpu_count()} CPUs")
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'value':>14}  unit and note")
    for label, value, note in rows:
        shown = "-" if math.isnan(value) else f"{value:.1f}"
        print(f"{label:<{width}}  {shown:>14}  {note}")
    print(f"targets: <= {TARGET_NS_ONE_CORE:g} ns/(run*step) on one core, >= "
          f"{TARGET_SPEEDUP:g}x speed-up on 2 cores; load average at the end "
          f"{os.getloadavg()[0]:.2f} (other processes skew the parallel row)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
