"""Benchmark rows for the fluctuation models (part of ``adam-ode bench``).

:func:`run_rows` returns ``(label, ns, note)`` rows like :func:`adam_ode.bench.run_benchmark`:
SDE paths of Adam in ns per path·step (first order and the Heun modified equation, one worker
and all workers; first order also with the generic kernel, the separable one's baseline), the
family's Euler–Maruyama kernel (:mod:`.sde_family`) on RMSProp, and the LNA solve time. The
torchsde comparison (:mod:`.torchsde_compare`) runs in a separate environment with torch; its
numbers are recorded in paper_notes.md.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..optimizers import Adam, RMSProp
from ..problems import LinearRegression2D, StochasticQuadratic
from .lna import linear_noise
from .sde import simulate_sde

__all__ = ["run_rows"]

N_PATHS = 4000
T_SDE = 10.0  # 1000 steps at γ = 0.01


def _sde_ns(problem, opt, order, workers, x0, kernel="auto", variant="gaussian"):
    # the Gaussian kernels by default (the rows name them); variant="hybrid": the default of
    # the adaptive optimizers (discrete steps until v has left 0, then the staged kernel)
    simulate_sde(problem, opt, x0, 0.1, 4, 0, order=order, workers=workers,
                 kernel=kernel, variant=variant)  # compile / load
    res = simulate_sde(problem, opt, x0, T_SDE, N_PATHS, 1, order=order, workers=workers,
                       kernel=kernel, variant=variant)
    return res.elapsed / (N_PATHS * res.n_steps) * 1e9


def run_rows():
    """[(label, value, note), ...]: SDE ns per path·step and the LNA solve time in ms (each
    note starts with its unit)."""
    problem = StochasticQuadratic(h=[1.0, 0.5], sigma=1.0)
    x0 = np.array([1.0, -0.5])
    opt = Adam(0.01, 2.0, 1.0, 0.1, debias=False)
    cores = os.cpu_count() or 1
    rows = [("SDE order 1, Adam 2-D quadratic (6 states), 1 worker(s), generic kernel",
             _sde_ns(problem, opt, 1, 1, x0, kernel="generic"),
             f"ns per path·step, {N_PATHS} paths (dense moments + 4x4 Cholesky per step)")]
    for order in (1, 2):
        for workers in sorted({1, cores}):
            ns = _sde_ns(problem, opt, order, workers, x0)
            rows.append((f"SDE order {order}, Adam 2-D quadratic (6 states), {workers} worker(s)",
                         ns, f"ns per path·step, {N_PATHS} paths"))
    rms = RMSProp(0.01, 1.0, 0.1, debias=False)
    for workers in sorted({1, cores}):
        rows.append((f"SDE order 1, RMSProp 2-D quadratic (4 states), {workers} worker(s), "
                     f"family kernel", _sde_ns(problem, rms, 1, workers, x0),
                     f"ns per path·step, {N_PATHS} paths (dense moments + 4x4 Cholesky)"))
    reg = LinearRegression2D()
    adam_reg = Adam(0.01, 4.0, 1.0, 0.01)
    for variant in ("gaussian", "hybrid"):
        rows.append((f"SDE order 1, Adam on the 2-D regression, 1 worker(s), {variant}",
                     _sde_ns(reg, adam_reg, 1, 1, np.array([-1.0, 4.0]), variant=variant),
                     f"ns per path·step, {N_PATHS} paths"))
    start = time.perf_counter()
    linear_noise(reg, Adam(0.01, 4.0, 1.0, 0.01), [-1.0, 4.0], 25.0)
    rows.append(("LNA solve, Adam on the 2-D regression, T = 25", (time.perf_counter() - start)
                 * 1e3, "ms per solve (mean + 6x6 covariance ODE, DOP853, rtol 1e-11)"))
    start = time.perf_counter()
    linear_noise(StochasticQuadratic(), Adam(0.01, 4.0, 1.0, 0.01), np.ones(100), 10.0)
    rows.append(("LNA solve, Adam on the d = 100 quadratic, T = 10",
                 (time.perf_counter() - start) * 1e3, "ms per solve (100 blocks of 3x3)"))
    return rows


if __name__ == "__main__":
    for label, ns, note in run_rows():
        print(f"{label:70s} {ns:14.1f}  {note}")
