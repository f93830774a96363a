r"""Experiment ``minibatch``: seed 002's Proposition 1 and Theorems 3–4, 6 measured.

Least squares F(θ) = (1/2n)‖Aθ − y‖² on a bundled data set, per-sample gradients
∇ℓ_i(θ) = a_i(a_i·θ − y_i), σ²(θ) = (1/n) Σ_i ‖∇ℓ_i(θ) − ∇F(θ)‖² exactly, β = λ_max(AᵀA/n).

1. Proposition 1: E‖ĝ_B‖² = σ²(θ)/n_B + ‖∇F(θ)‖² for mini-batches drawn with replacement (the
   lecture's inequality holds with equality); measured by Monte Carlo at θ = 0, θ*/2, θ*.
2. Theorems 3–4: constant-step SGD (the kernels, :func:`adam_ode.monte_carlo`, from θ_0 = 0):
   (1/T) Σ_{t<T} E‖∇F(θ_t)‖² with a 95 % interval over runs, against
   ηβσ²/n_B + 2(F(θ_0) − F*)/(ηT). The theorems assume E‖∇ℓ‖² ≤ σ² + ‖∇F‖² along the run; σ²
   here is the maximum of σ²(θ_t) over every visited θ_t (runs and steps up to T), which is
   what the proof uses.
3. Theorem 6: η_t = η_0 (1 + t)^{−κ} (NumPy loop vectorised over runs: the kernels have no
   decreasing-step SGD): Σ η_t E‖∇F(θ_t)‖² / Σ η_t → 0, with the bound
   (2(F(θ_0) − F*) + βσ² Σ η_t² / n_B) / Σ η_t from the descent inequality (1).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ..config_checks import require_choice, require_in, show
from ..datasets import DATASETS, load_dataset
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..montecarlo import monte_carlo
from ..optimizers import SGD
from ..problems.least_squares import LeastSquares
from ._checks import (because, built, require_int, require_ints, require_labels, saved,
                        seconds_run_steps)
from ._plot import FIGSIZE_PANEL, STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw"]

EXPERIMENT = "minibatch"
Z95 = 1.959963984540054
N_DECREASING_POINTS = 40
# Costs of the NumPy phases (estimate), measured on a 2-core machine with the diabetes data:
# ‖∇F(θ_t)‖² of every recorded iterate forms (runs, steps, n) residuals (memory-bound above
# ~10 MB: 7-90 ns per run·step·sample), and one step of the decreasing-step loop costs a fixed
# ~20 µs plus its (runs × d) @ (d × n) products (0.2-2.6 ns per run·sample·feature).
GRID_SECONDS_PER_SAMPLE = 80e-9
LOOP_SECONDS_PER_STEP = 20e-6
LOOP_SECONDS_PER_PRODUCT = 2e-9


def check(config: dict) -> None:
    """What the naming conventions leave: the data set, the lists of batch sizes, step
    fractions and horizons, and the sample sizes of the confidence intervals."""
    require_choice("dataset", config["dataset"], DATASETS)
    with built("dataset", config["dataset"]):
        LeastSquares(*load_dataset(config["dataset"]))
    require_ints("batch_sizes", config["batch_sizes"])
    require_int("n_batches", config["n_batches"], 2, "a 95 % interval needs two samples")
    fractions = config["eta_fractions"]
    if not isinstance(fractions, list) or not fractions:
        raise ExperimentError(f"eta_fractions = {show(fractions)}: must be a non-empty list of "
                              "numbers in (0, 1]")
    for i, frac in enumerate(fractions):
        with because("eta = fraction/beta, and Theorems 3-4 need eta <= 1/beta"):
            require_in(f"eta_fractions[{i}]", frac, 0.0, 1.0, high_closed=True)
    require_labels("eta_fractions", fractions)  # they name the saved curves
    require_ints("grid_batch_sizes", config["grid_batch_sizes"], distinct=True)
    require_ints("horizons", config["horizons"])
    require_int("n_runs", config["n_runs"], 2, "the 95 % intervals are over runs")
    steps = require_int("T_decreasing", config["T_decreasing"], 1)
    if config["kappa"] * math.log(steps) >= math.log(sys.float_info.max):
        raise ExperimentError(f"kappa = {config['kappa']!r}: (1 + t)^kappa overflows before "
                              f"t = T_decreasing = {steps} (allowed range: kappa < "
                              f"{math.log(sys.float_info.max) / math.log(steps):.4g})")


def _sigma2_form(A, y):
    """σ²(θ) = (1/n) Σ ‖∇ℓ_i − ∇F‖² as the quadratic θᵀMθ + 2bᵀθ + c (cheap on paths)."""
    n = A.shape[0]
    D = np.sum(A * A, axis=1)  # ‖a_i‖²
    H = A.T @ A / n
    u = A.T @ y / n
    M = (A.T * D) @ A / n - H @ H
    b = -(A.T @ (D * y)) / n + H @ u
    c = float(np.sum(D * y * y) / n - u @ u)

    def sigma2(theta):
        theta = np.asarray(theta, dtype=float)
        return np.einsum("...i,ij,...j->...", theta, M, theta) + 2 * theta @ b + c

    return sigma2


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    A, y = load_dataset(config["dataset"])
    n, d = A.shape
    base = LeastSquares(A, y)
    _sigma2 = _sigma2_form(A, y)
    beta = float(np.linalg.eigvalsh(A.T @ A / n)[-1])
    x_star = base.minimizer
    F_star = base.min_value
    theta0 = np.zeros(d)
    F0 = float(base.F(theta0))
    seeds = ctx.seed_sequence().spawn(4)
    rng = np.random.default_rng(seeds[0])

    # 1. Proposition 1.
    points = {"theta0": theta0, "half_star": 0.5 * x_star, "star": x_star}
    prop = []
    for name, theta in points.items():
        G = A * (A @ theta - y)[:, None]  # per-sample gradients (n, d)
        gF = G.mean(axis=0)
        s2 = float(_sigma2(theta))
        for nb in config["batch_sizes"]:
            idx = rng.integers(0, n, size=(config["n_batches"], nb))
            sq = np.sum(G[idx].mean(axis=1) ** 2, axis=1)
            prop.append({"point": name, "n_B": nb, "measured": float(sq.mean()),
                         "ci95": float(Z95 * sq.std(ddof=1) / np.sqrt(sq.size)),
                         "exact": float(np.sum(LeastSquares(A, y, nb).S(theta))),
                         "sigma2_over_nB_plus_grad2": s2 / nb + float(gF @ gF)})

    # 2. Theorems 3-4.
    grid = []
    T_max = max(config["horizons"])
    seq = seeds[1].spawn(len(config["eta_fractions"]) * len(config["grid_batch_sizes"]))
    k = 0
    curves = {}
    for frac in config["eta_fractions"]:
        eta = frac / beta
        for nb in config["grid_batch_sizes"]:
            mc = monte_carlo(LeastSquares(A, y, nb), SGD(eta), theta0, T_max, config["n_runs"],
                             seq[k], record_every=1, track_grad_norm=False,
                             workers=ctx.workers)
            k += 1
            xs = mc.record_x  # (R, T+1, d)
            g2 = np.sum(((xs @ A.T - y) @ A / n) ** 2, axis=2)  # ‖∇F(θ_t)‖², (R, T+1)
            s2_path = _sigma2(xs)  # (R, T+1)
            csum = np.cumsum(g2, axis=1)
            for T in config["horizons"]:
                # A run reported as diverged (its iterates left the problem's bound) is NaN from
                # there on: σ² is unbounded along it and the bound says nothing; the cell says so.
                diverged = int(np.sum(~np.all(np.isfinite(g2[:, :T]), axis=1)))
                if diverged:
                    grid.append({"eta_times_beta": frac, "n_B": nb, "T": T,
                                 "diverged_runs": diverged, "runs": config["n_runs"], "measured": None, "ci95": None,
                                 "sigma2_max": None, "bound": None, "noise_term": None})
                    continue
                avg = csum[:, T - 1] / T  # (1/T) Σ_{t<T}, per run
                s2 = float(s2_path[:, :T].max())
                bound = eta * beta * s2 / nb + 2 * (F0 - F_star) / (eta * T)
                grid.append({"eta_times_beta": frac, "n_B": nb, "T": T,
                             "measured": float(avg.mean()),
                             "ci95": float(Z95 * avg.std(ddof=1) / np.sqrt(avg.size)),
                             "sigma2_max": s2, "bound": float(bound),
                             "noise_term": float(eta * beta * s2 / nb)})
            curves[(frac, nb)] = csum.mean(axis=0) / np.arange(1, T_max + 2)

    # 3. Theorem 6 (NumPy, vectorised over runs).
    R = config["n_runs"]
    eta0, kappa, Td = 1.0 / beta, config["kappa"], config["T_decreasing"]
    rng6 = np.random.default_rng(seeds[2])
    theta = np.zeros((R, d))
    report = np.unique(np.geomspace(1, Td, N_DECREASING_POINTS).astype(int))
    w_sum = w2_sum = 0.0
    acc_runs = np.zeros(R)
    s2_max = float(_sigma2(theta0))
    out = []
    j = 0
    for t in range(Td):
        eta_t = eta0 / (1.0 + t) ** kappa
        r = theta @ A.T - y
        gF = r @ A / n
        acc_runs += eta_t * np.sum(gF * gF, axis=1)
        s2_max = max(s2_max, float(_sigma2(theta).max()))
        w_sum += eta_t
        w2_sum += eta_t**2
        i = rng6.integers(0, n, size=R)
        theta = theta - eta_t * A[i] * (np.sum(A[i] * theta, axis=1) - y[i])[:, None]
        if j < len(report) and t + 1 == report[j]:
            avg = acc_runs / w_sum
            out.append({"T": int(t + 1), "measured": float(avg.mean()),
                        "ci95": float(Z95 * avg.std(ddof=1) / np.sqrt(R)),
                        "bound": float((2 * (F0 - F_star) + beta * s2_max * w2_sum) / w_sum)})
            j += 1

    checked = [r for r in grid if r["measured"] is not None]  # the cells without divergence
    holds = [r["measured"] - r["ci95"] <= r["bound"] for r in checked]
    summary = {
        "dataset": config["dataset"], "n": n, "d": d, "beta": beta, "F0": F0, "F_star": F_star,
        # Per-sample curvature: SGD with n_B = 1 is stable only for eta < 2/max|a_i|^2, which
        # can be far below 1/beta (then the bound holds only because sigma^2 blows up).
        "max_sample_curvature_over_beta": float(np.max(np.sum(A * A, axis=1)) / beta),
        "proposition_1": prop,
        "proposition_1_max_relative_error_vs_exact": float(max(
            abs(p["measured"] - p["exact"]) / p["exact"] for p in prop)),
        "proposition_1_max_exact_minus_formula": float(max(
            abs(p["exact"] - p["sigma2_over_nB_plus_grad2"]) / p["exact"] for p in prop)),
        "theorems_3_4": grid,
        "theorems_3_4_bound_holds_everywhere": bool(all(holds)),
        "theorems_3_4_max_measured_over_bound": float(max(r["measured"] / r["bound"]
                                                          for r in checked)),
        "theorems_3_4_cells_with_diverged_runs": len(grid) - len(checked),
        "theorem_6": {"eta0_times_beta": 1.0, "kappa": kappa, "n_B": 1, "points": out},
    }
    arrays = {"curve_steps": np.arange(1, T_max + 2)}
    for (frac, nb), c in curves.items():
        arrays[f"avg_grad2_eta{frac:g}_nB{nb}"] = c
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    return plot(summary, arrays, summary["config"])


def format_table(summary):
    lines = [f"beta = {summary['beta']:.4f}, F0 - F* = {summary['F0'] - summary['F_star']:.4f}",
             f"Prop. 1: max |measured - exact|/exact = "
             f"{summary['proposition_1_max_relative_error_vs_exact']:.3f}; exact = "
             f"sigma^2/n_B + |grad F|^2 to {summary['proposition_1_max_exact_minus_formula']:.1e}",
             f"{'eta*beta':>8} {'n_B':>4} {'T':>5} {'measured':>10} {'ci95':>9} {'bound':>10}"]
    for r in summary["theorems_3_4"]:
        head = f"{r['eta_times_beta']:8g} {r['n_B']:4d} {r['T']:5d} "
        if r["measured"] is None:
            lines.append(head + f"diverged ({r['diverged_runs']} of {r['runs']} runs)")
            continue
        lines.append(head + f"{r['measured']:10.4g} {r['ci95']:9.2g} {r['bound']:10.4g}")
    lines.append(f"bound holds everywhere: {summary['theorems_3_4_bound_holds_everywhere']}"
                 + (" (in the cells without diverged runs)"
                    if summary.get("theorems_3_4_cells_with_diverged_runs") else ""))
    last = summary["theorem_6"]["points"][-1]
    lines.append(f"Thm 6 (kappa = {summary['theorem_6']['kappa']}): at T = {last['T']}: "
                 f"weighted mean |grad F|^2 = {last['measured']:.3g}, bound {last['bound']:.3g}")
    return "\n".join(lines)


def plot(summary, arrays, config):
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(3 * FIGSIZE_PANEL[0] + 1, FIGSIZE_PANEL[1]),
                                 layout="constrained")
        ax = axes[0]
        for point, colour in (("theta0", "tab:red"), ("half_star", "tab:orange"),
                              ("star", "tab:blue")):
            rows = [p for p in summary["proposition_1"] if p["point"] == point]
            nb = [p["n_B"] for p in rows]
            ax.errorbar(nb, [p["measured"] for p in rows], yerr=[p["ci95"] for p in rows],
                        fmt="o", color=colour, ms=4, label=f"measured at {point}")
            ax.plot(nb, [p["sigma2_over_nB_plus_grad2"] for p in rows], "-", color=colour,
                    lw=1)
        ax.plot([], [], "k-", lw=1, label="σ²/n_B + ‖∇F‖²")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n_B")
        ax.set_ylabel("E‖ĝ_B‖²")
        ax.set_title("Proposition 1: mini-batches divide the variance")
        ax.legend(fontsize=7)

        ax = axes[1]
        steps = arrays["curve_steps"]
        colours = {1: "tab:red", 4: "tab:orange", 16: "tab:blue"}
        frac = config["eta_fractions"][0]
        for nb in config["grid_batch_sizes"]:
            c = colours.get(nb, "0.3")
            ax.plot(steps, arrays[f"avg_grad2_eta{frac:g}_nB{nb}"], color=c, lw=1.5,
                    label=f"measured, n_B = {nb}")
            rows = [r for r in summary["theorems_3_4"]
                    if r["n_B"] == nb and r["eta_times_beta"] == frac]
            s2 = max((r["sigma2_max"] for r in rows if r["sigma2_max"] is not None),
                     default=np.nan)
            eta = frac / summary["beta"]
            ax.plot(steps, eta * summary["beta"] * s2 / nb
                    + 2 * (summary["F0"] - summary["F_star"]) / (eta * steps),
                    color=c, lw=1, ls="--")
        ax.plot([], [], "k--", lw=1, label="bound ηβσ²/n_B + 2(F0−F*)/(ηT)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("T")
        ax.set_ylabel("(1/T) Σ E‖∇F(θ_t)‖²")
        ax.set_title(f"Theorems 3-4, η = {frac:g}/β")
        ax.legend(fontsize=7)

        ax = axes[2]
        pts = summary["theorem_6"]["points"]
        T = [p["T"] for p in pts]
        ax.errorbar(T, [p["measured"] for p in pts], yerr=[p["ci95"] for p in pts], fmt="o-",
                    ms=3, color="tab:green", label="measured (η-weighted mean)")
        ax.plot(T, [p["bound"] for p in pts], "k--", lw=1, label="bound from (1)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("T")
        ax.set_ylabel("Σ η_t E‖∇F‖² / Σ η_t")
        ax.set_title(f"Theorem 6: η_t = (1/β)(1+t)^-{summary['theorem_6']['kappa']:g}, n_B = 1")
        ax.legend(fontsize=7)
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): the mini-batch draws, the SGD grid with the
    gradient norms of its recorded iterates, and the decreasing-step loop (states of d floats,
    10 for diabetes); memory: the recorded iterates, their residuals and the mini-batch draws."""
    from ..cost import FLOAT_BYTES, Cost

    n, d = load_dataset(config["dataset"])[0].shape
    R, T_max = config["n_runs"], max(config["horizons"])
    draws = len(config["batch_sizes"]) * config["n_batches"]
    cells = len(config["eta_fractions"]) * len(config["grid_batch_sizes"])
    grid = cells * R * T_max
    decreasing = R * config["T_decreasing"]
    gradient_norms = seconds_run_steps(cells * R * (T_max + 1) * n * GRID_SECONDS_PER_SAMPLE,
                                       d)
    loop = seconds_run_steps(config["T_decreasing"] * (LOOP_SECONDS_PER_STEP
                                                       + LOOP_SECONDS_PER_PRODUCT * R * n * d),
                             d)
    memory = max(R * T_max * d * FLOAT_BYTES,  # the recorded iterates
                 2 * R * (T_max + 1) * n * FLOAT_BYTES,  # their residuals A θ_t − y
                 2 * config["n_batches"] * max(config["batch_sizes"]) * d * FLOAT_BYTES)
    return Cost(run_steps=draws + grid + decreasing + gradient_norms + loop, state_floats=d,
                memory_bytes=memory, keys=("n_runs", "horizons", "T_decreasing"))
