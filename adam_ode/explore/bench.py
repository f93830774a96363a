"""Benchmark rows of the browser explorer (part of ``adam-ode bench``).

:func:`run_rows` returns ``(label, value, note)`` rows like :func:`adam_ode.bench.run_benchmark`:

- **explore redraw (20 runs × 2000 steps)**: one interaction with the kernels warm, in ms
  (median over repeats): γ moved (a new record, so the limit, the Monte Carlo, the LNA and the
  energies are all recomputed by :func:`adam_ode.runners.explore.compute_view`), the contour grid
  and lines, and, where Panel is installed, the figures' data sources replaced in a Bokeh
  document (what a redraw sends to the browser);
- **explore redraw, a moved (new limit)**: the same with a moved instead: a new limit, whose
  solution and LNA are solved again (γ moves reuse them, :func:`~adam_ode.runners.explore.
  compute_view` caches both per limit);
- **explore first view (cold)**: a new process with an empty numba cache directory, from
  ``import adam_ode`` to the default view's first draw, the limit's parts (limit, LNA ellipses,
  energy along the limit: no numba kernel), in s; the explorer draws it with its "compiling"
  note, then **explore iterates (cold)**: until the Monte Carlo kernels have compiled and the
  full view is computed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

__all__ = ["run_rows", "redraw_ms", "cold_first_view_s"]

REPEATS = 7
_COLD_SCRIPT = """
import time
t0 = time.perf_counter()
from adam_ode.explore.bench import default_view
default_view(0, iterates=False)
t1 = time.perf_counter()
default_view(0)
print(t1 - t0, time.perf_counter() - t0)
"""


def default_view(k: int = 0, draw=None, iterates: bool = True, move: str = "gamma"):
    """The default view of experiments/explore.toml with ``move`` (γ or a) moved by the k-th
    small step."""
    from ..experiments import load_config
    from ..optimizers import make_optimizer
    from ..problems import make_problem
    from ..runners import explore as view_runner

    config, _ = load_config(view_runner.EXPERIMENT)
    table = dict(config["optimizer"])
    table[move] = table[move] * (1.0 + 0.01 * k)
    record = make_optimizer(table)
    problem = make_problem(config["problem"])
    view = view_runner.compute_view(problem, record, config["x0"], config["T"],
                                    config["n_runs"], config["n_shown"], config["seed"],
                                    lna=config["lna"], iterates=iterates)
    grid = view_runner.contour_grid(problem, [view], config["x0"])
    if draw is not None:
        draw(config, problem, {"optimizer": record}, {"optimizer": view}, grid)
    return view, grid


def redraw_ms(repeats: int = REPEATS, move: str = "gamma") -> tuple[float, str]:
    """Median ms of one warm interaction (module docstring) and what it included."""
    draw, what = None, "compute + contour grid (Panel not installed: no Bokeh update)"
    try:
        import panel  # noqa: F401

        from .app import Explorer

        explorer = Explorer()
        draw, what = explorer.draw, "compute + contour + Bokeh data sources"
    except ImportError:
        pass
    default_view(0, draw, move=move)  # warm: compile and first-call costs
    times = []
    for k in range(1, repeats + 1):
        t0 = time.perf_counter()
        default_view(k, draw, move=move)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), what


def cold_first_view_s() -> tuple[float, float]:
    """Seconds from a new process's ``import adam_ode`` to the default view's first draw (the
    limit's parts, no kernels) and to the full view, with an empty kernel cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", _COLD_SCRIPT], env=env, check=True,
                             capture_output=True, text=True)
    first, full = out.stdout.strip().splitlines()[-1].split()
    return float(first), float(full)


def run_rows(cold: bool = True) -> list:
    ms, what = redraw_ms()
    rows = [("explore redraw (20 runs × 2000 steps)", ms,
             f"ms, median of {REPEATS}: gamma moved on the default view (Adam, LNA ellipses, "
             f"energy); {what}; target < 200 ms"),
            ("explore redraw, a moved (new limit)", redraw_ms(move="a")[0],
             "ms, median: a moved, so the limit and its LNA are solved again (moving gamma "
             "reuses them: the limit does not depend on gamma)")]
    if cold:
        first, full = cold_first_view_s()
        rows += [("explore first view (cold)", first,
                  "s, new process, empty numba cache: import, limit, LNA ellipses, energy along "
                  "the limit (drawn with the compiling note); target 10 s"),
                 ("explore iterates (cold)", full,
                  "s, the same process until the Monte Carlo kernels have compiled and the "
                  "full default view is computed")]
    return rows
