"""Helpers shared by the path-level runners (``convergence``, ``interpolated``, ``debiasing``).

Small glue between :func:`adam_ode.montecarlo.monte_carlo`, the experiment context and the
figures: progress callbacks, decimation grids, the step-size colours and Adam's (a, b) from the
practical (α, β) parametrisation. No numerics of their own beyond index arithmetic.
"""

from __future__ import annotations

import numpy as np

from ..experiments import ExperimentError

__all__ = ["log_steps", "gamma_colours", "check_gammas", "check_pairs", "fmt_vector",
           "step_progress", "ODE_STYLE", "AUTONOMOUS_STYLE"]

LOG_GRID_REFINE_LIMIT = 20  # log_steps refines its geometric grid at most this many times over

# Reference (ODE) curves are drawn the same way in every figure of these runners.
ODE_STYLE = dict(color="black", lw=1.8, zorder=5)
AUTONOMOUS_STYLE = dict(color="0.35", lw=1.6, ls=(0, (5, 2)), zorder=5)


def log_steps(n_steps: int, n_points: int) -> np.ndarray:
    """At least ``min(n_points, n_steps)`` distinct steps in [1, n_steps], log-spaced (int64).

    Used to decimate per-step curves for log-time plots: every early step is kept (where the
    bias corrections act), later steps are thinned geometrically.
    """
    if n_steps < 1:
        return np.zeros(0, dtype=np.int64)
    target = min(n_points, n_steps)
    n_grid = target
    while True:
        # Rounding merges the first, densest grid points: refine until enough remain distinct.
        steps = np.unique(np.round(np.geomspace(1, n_steps, n_grid)).astype(np.int64))
        if steps.size >= target or n_grid > LOG_GRID_REFINE_LIMIT * target:
            return steps
        n_grid = int(1.25 * n_grid) + 1


def gamma_colours(n: int):
    """One colour per step size, largest γ first (warm = large γ, dark blue = small γ)."""
    from matplotlib import colormaps

    return colormaps["plasma"](np.linspace(0.8, 0.1, n)) if n > 1 else [colormaps["plasma"](0.1)]


def check_gammas(gammas) -> list:
    """The list of step sizes of a config, each > 0 (ExperimentError otherwise)."""
    gammas = [float(g) for g in gammas]
    if not gammas or any(not np.isfinite(g) or g <= 0 for g in gammas):
        raise ExperimentError(f"gammas must be a non-empty list of step sizes > 0, got {gammas!r}")
    return gammas


def check_pairs(config, key: str, labels: str) -> np.ndarray:
    """``config[key]`` as an (n, 2) array of pairs, n >= 1 (ExperimentError otherwise).

    ``labels`` names the two entries in the message, e.g. ``"[a, b]"``.
    """
    pairs = np.asarray(config[key], dtype=float)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0:
        raise ExperimentError(f"{key} must be a non-empty list of {labels} pairs, "
                              f"got {config[key]!r}")
    return pairs


def fmt_vector(x) -> str:
    """``(3, 1)``-style label of a short vector."""
    return "(" + ", ".join(f"{v:g}" for v in np.asarray(x, dtype=float)) + ")"


def step_progress(bar, n_runs: int, steps_per_run) -> object:
    """A Monte Carlo progress callback (counts of finished runs) that advances ``bar`` in steps.

    For Monte Carlo calls made one after the other, the i-th with ``n_runs`` runs of
    ``steps_per_run[i]`` steps: the bar's total is ``n_runs * sum(steps_per_run)`` and its ETA
    is then in steps, right whatever the mix of step sizes.
    """
    steps = [int(s) for s in steps_per_run]
    done = [0]

    def update(k: int) -> None:
        while k > 0:
            i = min(done[0] // n_runs, len(steps) - 1)
            take = min(k, n_runs * (i + 1) - done[0]) if i < len(steps) - 1 else k
            bar.update(take * steps[i])
            done[0] += take
            k -= take

    return update
