r"""Experiment ``double-well``: Adam on a non-convex problem with saddles (DoubleWell, d = 2).

Three panels, three claims of the paper (paper_notes.md, "Theorems ↔ the function that checks them"):

1. Phase portrait (Theorem 3.2): from each start of ``portrait_x0`` the non-autonomous Adam ODE
   (eq. 3.3) converges to the critical set {−1, 0, 1}², saddles included when x0 lies on an axis
   (the ODE keeps x_i = 0 exactly); the final constant-step Adam iterates of ``cloud_runs`` runs
   from the same start are drawn as a cloud — noise pushes them off the saddles into the minima.
2. Decreasing step (Algorithm 5.1, Theorem 5.2): d(x_n, 𝒮) against n for γ_n = γ0 n^{−κ} goes to
   0 (about like sqrt(γ_n) ∝ n^{−κ/2} once the noise dominates) while constant-step Adam keeps
   fluctuating at a level set by γ.
3. Long run, constant step: the ergodic fraction (1/n) Σ_k 1{d(x_k, 𝒮) > δ}, averaged over runs,
   decreases to 0 as γ ↓ 0 (:func:`adam_ode.analysis.long_run.ergodic_study`).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..analysis.long_run import compare_decreasing_constant, ergodic_study
from ..analysis.statistics import loglog_slope
from ..config_checks import require_points, require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..paper import solve_ode
from ..optimizers import Adam, AdamDecreasing
from ..montecarlo import monte_carlo, steps_for_horizon
from ..problems import DoubleWell, make_problem
from ..state import unpack
from ._checks import (built, figure_run_steps, ode_run_steps, require_horizon, require_int,
                      require_numbers, saved)
from ._paths import check_gammas, check_pairs
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot", "critical_points"]

EXPERIMENT = "double-well"
N_ODE_TIMES = 400  # samples of each ODE path kept for the figure and data.npz
CONTOUR_LEVELS = 18  # contour lines of F in the phase portrait
BAND = (10, 90)  # percentiles of the bands around the median curves
SLOPE_DECADES = 1.0  # the decreasing-step slope is fitted on the last decade of steps
# The Adam ODE on the double well (a Python field, ~40 µs per evaluation): ~4 ms per unit of
# time (two solves on [0, 5] take 0.16 s on a 2-core machine).
ODE_SECONDS_PER_TIME = 4e-3
ZERO_FLOOR = 0.3  # zeros of the ergodic fraction are drawn at ZERO_FLOOR × the smallest positive


def critical_points(d: int = 2) -> np.ndarray:
    """All points of {−1, 0, 1}^d, the critical set of the double well, shape (3^d, d)."""
    return np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=d)))


def _nearest_critical(x: np.ndarray) -> np.ndarray:
    """Coordinatewise nearest point of {−1, 0, 1} (the point realising d(x, 𝒮))."""
    return np.clip(np.round(x), -1.0, 1.0)


def check(config: dict) -> None:
    """What the naming conventions leave: a 2-D double well, the starts, every Adam record the
    three parts build (a·γ, b·γ < 1; the decreasing schedule's κ in (1/2, 1] and a·γ0 < 1),
    each horizon covering a step, and the burn-in inside the ergodic horizon."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if not isinstance(problem, DoubleWell) or problem.dim != 2:
        raise ExperimentError(f"problem = {show(config['problem'])}: must be a 2-D double well "
                              "(the figure is a phase portrait)")
    a, b, eps = config["a"], config["b"], config["eps"]
    for i, x_start in enumerate(require_points("portrait_x0", config["portrait_x0"], 2)):
        require_start(f"portrait_x0[{i}]", x_start, problem)
    with built("cloud_gamma", config["cloud_gamma"]):
        Adam(config["cloud_gamma"], a, b, eps)
    require_horizon("T", config["T"], "cloud_gamma", config["cloud_gamma"])
    require_start("x0", config["x0"], problem)
    with built("compare_gamma", config["compare_gamma"]):
        Adam(config["compare_gamma"], a, b, eps)
    with built("gamma0", config["gamma0"]):  # the first step, γ_1 = γ0
        Adam(config["gamma0"], a, b, eps)
    with built("kappa", config["kappa"]):
        AdamDecreasing(config["gamma0"], config["kappa"], a, b, eps)
    require_int("compare_steps", config["compare_steps"], 10,
                "the decreasing step's slope is fitted on the last decade of steps")
    gammas = require_numbers("gammas", config["gammas"])
    for i, gamma in enumerate(gammas):
        with built(f"gammas[{i}]", gamma):
            Adam(gamma, a, b, eps)
        require_horizon("horizon", config["horizon"], "gammas", gamma)
    burn_in = config["burn_in"]
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, float)) \
            or not 0.0 <= burn_in < config["horizon"]:
        raise ExperimentError(f"burn_in = {show(burn_in)}: must lie in [0, horizon) = "
                              f"[0, {config['horizon']:g})")
    for gamma in gammas:  # at least one step averaged after the burn-in
        require_horizon("horizon", config["horizon"] - burn_in, "gammas", gamma)
    require_int("ergodic_runs", config["ergodic_runs"], 2, "error bars across runs")


def _check_config(config, problem):
    if not isinstance(problem, DoubleWell) or problem.dim != 2:
        raise ExperimentError("problem must be a 2-D double well (the figure is a phase portrait),"
                              f" got {problem!r}")
    return check_pairs(config, "portrait_x0", "[x1, x2]")


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Phase portrait, decreasing vs constant step, ergodic fraction vs γ (module docstring)."""
    problem = make_problem(config["problem"])
    starts = _check_config(config, problem)
    a, b, eps, T = config["a"], config["b"], config["eps"], config["T"]
    gamma_cloud = config["cloud_gamma"]
    x0 = np.asarray(config["x0"], dtype=float)
    seeds = ctx.seed_sequence().spawn(3)
    cloud_seeds = seeds[0].spawn(len(starts))
    n_cloud = steps_for_horizon(T, gamma_cloud)
    gammas = check_gammas(config["gammas"])
    total = len(starts) + 2 * config["compare_runs"] + len(gammas)

    with ctx.progress(total, desc=EXPERIMENT) as bar:
        # 1. Phase portrait: ODE paths and clouds of final iterates.
        times = np.linspace(0.0, T, N_ODE_TIMES)
        paths, clouds, portrait = [], [], []
        for x_start, seed in zip(starts, cloud_seeds):
            traj = solve_ode(problem, x_start, a, b, eps, T, t_eval=times)
            mc = monte_carlo(problem, Adam(gamma_cloud, a, b, eps), x_start, n_cloud,
                             config["cloud_runs"], seed, track_grad_norm=False,
                             workers=ctx.workers)
            x_end = traj.x[-1]
            cloud = unpack(mc.final_state)[0]
            target = _nearest_critical(x_end)
            portrait.append({
                "x0": x_start.tolist(),
                "ode_limit": target.tolist(),
                "ode_limit_is_minimum": bool(np.all(target != 0.0)),
                "ode_final_distance": float(problem.critical_distance(x_end)),
                "iterates_at_a_minimum": float(np.mean(np.all(np.abs(np.abs(cloud) - 1.0) < 0.5,
                                                              axis=1))),
                "iterates_near_ode_limit": float(np.mean(
                    np.linalg.norm(cloud - target, axis=1) < 0.5)),
                "iterates_median_distance": float(np.median(problem.critical_distance(cloud))),
            })
            paths.append(traj.x)
            clouds.append(cloud)
            bar.update()

        # 2. Decreasing vs constant step.
        curves = compare_decreasing_constant(
            problem, x0, Adam(config["compare_gamma"], a, b, eps),
            AdamDecreasing(config["gamma0"], config["kappa"], a, b, eps),
            config["compare_steps"], config["compare_runs"], seeds[1], workers=ctx.workers,
            callback=bar.update)

        # 3. Ergodic fraction outside the δ-neighbourhood vs γ.
        records = ergodic_study(problem, Adam(gammas[0], a, b, eps), x0, gammas,
                                config["horizon"], config["ergodic_runs"], config["delta"],
                                seeds[2],
                                workers=ctx.workers, burn_in=config["burn_in"],
                                callback=bar.update)

    median_dec = np.nanmedian(curves.decreasing, axis=0)
    tail = curves.steps >= curves.steps[-1] / 10**SLOPE_DECADES
    fit = loglog_slope(curves.steps[tail], median_dec[tail])
    final_const = curves.final_distances("constant")
    final_dec = curves.final_distances("decreasing")
    fractions = np.array([r.fraction_outside for r in records])
    summary = {
        "problem": problem.config(),
        "phase_portrait": portrait,
        "ode_max_final_distance": max(p["ode_final_distance"] for p in portrait),
        "decreasing_vs_constant": {
            "constant_gamma": config["compare_gamma"], "gamma0": config["gamma0"],
            "kappa": config["kappa"], "n_steps": config["compare_steps"],
            "n_runs": config["compare_runs"],
            "constant_final_distance_median": float(np.nanmedian(final_const)),
            "constant_final_distance_q90": float(np.nanquantile(final_const, 0.9)),
            "decreasing_final_distance_median": float(np.nanmedian(final_dec)),
            "decreasing_final_distance_q90": float(np.nanquantile(final_dec, 0.9)),
            "constant_tail_median": curves.tail_median("constant"),
            "decreasing_tail_median": curves.tail_median("decreasing"),
            "decreasing_slope_last_decade": fit.slope,
            "decreasing_slope_stderr": fit.stderr,
            "expected_slope_sqrt_gamma_n": -config["kappa"] / 2.0,
            "fraction_runs_decreasing_below_constant_median": float(
                np.mean(final_dec < np.nanmedian(final_const))),
        },
        "ergodic": [r.as_dict() for r in records],
        "ergodic_fraction_monotone_in_gamma": bool(np.all(np.diff(
            fractions[np.argsort([r.gamma for r in records])]) >= 0)),
        "delta": config["delta"],
    }

    q_lo, q_hi = BAND
    arrays = {
        "portrait_x0": starts, "ode_times": times, "ode_paths": np.stack(paths),
        "clouds": np.stack(clouds),
        "steps": curves.steps,
        "constant_distance_quantiles": np.nanpercentile(curves.constant, [q_lo, 50, q_hi], axis=0),
        "decreasing_distance_quantiles": np.nanpercentile(curves.decreasing, [q_lo, 50, q_hi],
                                                          axis=0),
        "constant_final_distance": final_const, "decreasing_final_distance": final_dec,
        "ergodic_gamma": np.array([r.gamma for r in records]),
        "ergodic_fraction": fractions,
        "ergodic_stderr": np.array([r.stderr for r in records]),
        "ergodic_ci95": np.array([r.ci95 for r in records]),
        "final_outside": np.array([r.final_outside for r in records]),
        "final_outside_ci95": np.array([r.final_outside_ci95 for r in records]),
    }
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`); the slope
    of the decreasing step is fitted again on the saved median curve."""
    config = summary["config"]
    problem = make_problem(config["problem"])
    steps = arrays["steps"]
    tail = steps >= steps[-1] / 10**SLOPE_DECADES
    fit = loglog_slope(steps[tail], arrays["decreasing_distance_quantiles"][1][tail])
    title = f"{describe_problem(problem)}, a = {config['a']:g}, b = {config['b']:g}, " \
        f"eps = {config['eps']:g}"
    return plot(problem, arrays, steps, fit, config, title)


def format_table(summary: dict) -> str:
    """Plain-text summary: ODE limits, decreasing vs constant, ergodic fractions."""
    lines = ["Phase portrait (ODE limit, share of Adam iterates ending at a minimum):"]
    for p in summary["phase_portrait"]:
        lines.append(f"  x0 = ({p['x0'][0]:5.2f}, {p['x0'][1]:5.2f}) -> "
                     f"({p['ode_limit'][0]:+.0f}, {p['ode_limit'][1]:+.0f})  "
                     f"d = {p['ode_final_distance']:.1e}  iterates at a minimum: "
                     f"{p['iterates_at_a_minimum']:.0%}")
    c = summary["decreasing_vs_constant"]
    lines.append(f"Final d(x_n, S), median: constant step {c['constant_final_distance_median']:.3g}"
                 f", decreasing step {c['decreasing_final_distance_median']:.3g} "
                 f"(slope {c['decreasing_slope_last_decade']:.2f} ± "
                 f"{c['decreasing_slope_stderr']:.2f}, sqrt(gamma_n) predicts "
                 f"{c['expected_slope_sqrt_gamma_n']:.2f})")
    lines.append(f"Ergodic fraction of time with d(x_k, S) > {summary['delta']:g}:")
    lines.append(f"  {'gamma':>8} {'fraction':>10} {'stderr':>9}  {'P(final out)':>12}")
    for r in summary["ergodic"]:
        lines.append(f"  {r['gamma']:8.4g} {r['fraction_outside']:10.4g} {r['stderr']:9.2g}  "
                     f"{r['final_outside']:12.3g}")
    return "\n".join(lines)


def plot(problem, arrays, steps, fit, config, title=""):
    """Phase portrait, d(x_n, 𝒮) vs n (log-log), ergodic fraction vs γ (log-log)."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, (ax_p, ax_d, ax_e) = plt.subplots(
            1, 3, figsize=(3 * FIGSIZE_PANEL[0] + 1, FIGSIZE_PANEL[1] + 0.6), layout="constrained")

        # Phase portrait.
        lim = max(2.0, float(np.abs(arrays["portrait_x0"]).max()) + 0.2)
        grid = np.linspace(-lim, lim, 201)
        X1, X2 = np.meshgrid(grid, grid)
        Fv = problem.F(np.stack([X1, X2], axis=-1))
        ax_p.contour(X1, X2, Fv, levels=CONTOUR_LEVELS, colors="0.75", linewidths=0.7)
        colours = plt.cm.tab10(np.arange(len(arrays["portrait_x0"])) % 10)
        for k, colour in enumerate(colours):
            cloud = arrays["clouds"][k]
            ax_p.plot(cloud[:, 0], cloud[:, 1], ".", color=colour, ms=3.5, alpha=0.6, zorder=4)
            path = arrays["ode_paths"][k]
            ax_p.plot(path[:, 0], path[:, 1], "-", color=colour, lw=1.6)
            ax_p.plot(*path[0], "o", color=colour, ms=5, mec="k", mew=0.5)
        cps = critical_points(2)
        kinds = np.sum(cps == 0.0, axis=1)  # 0: minimum, 1: saddle, 2: maximum
        for kind, marker, label in ((0, "*", "minima"), (1, "X", "saddles"), (2, "P", "maximum")):
            pts = cps[kinds == kind]
            ax_p.plot(pts[:, 0], pts[:, 1], marker, color="k", ms=8, ls="none", label=label,
                      mfc="white" if kind else "k", zorder=3)
        ax_p.plot([], [], "-", color="0.3", label="Adam ODE (3.3) paths")
        ax_p.plot([], [], ".", color="0.3",
                  label=f"Adam final iterates (γ = {config['cloud_gamma']:g})")
        ax_p.set_xlim(-lim, lim)
        ax_p.set_ylim(-lim, lim)
        ax_p.set_aspect("equal")
        ax_p.set_xlabel("x1")
        ax_p.set_ylabel("x2")
        ax_p.set_title(f"ODE → critical points, iterates at T = {config['T']:g}")
        ax_p.legend(loc="lower left", fontsize=8, framealpha=0.9)

        # Decreasing vs constant step.
        n = np.maximum(steps, 1)
        for key, colour, label in (
                ("constant", "tab:red", f"constant γ = {config['compare_gamma']:g}"),
                ("decreasing", "tab:blue",
                 f"decreasing γ_n = {config['gamma0']:g} n^(−{config['kappa']:g})")):
            q = arrays[f"{key}_distance_quantiles"]
            ax_d.fill_between(n[1:], q[0, 1:], q[2, 1:], color=colour, alpha=0.2, lw=0)
            ax_d.plot(n[1:], q[1, 1:], color=colour, lw=1.8, label=label + " (median, 10–90 %)")
        tail = steps >= steps[-1] / 10**SLOPE_DECADES
        ax_d.plot(steps[tail], 1.5 * fit.predict(steps[tail]), "k--", lw=1,
                  label=f"fitted slope {fit.slope:.2f} (×1.5; √γ_n: {-config['kappa'] / 2:.2f})")
        ax_d.set_xscale("log")
        ax_d.set_yscale("log")
        ax_d.set_xlabel("iteration n")
        ax_d.set_ylabel("distance to critical set d(x_n, S)")
        ax_d.set_title(f"Decreasing vs constant step ({config['compare_runs']} runs)")
        ax_d.legend(loc="lower left", fontsize=8)

        # Ergodic fraction vs γ.
        g = arrays["ergodic_gamma"]
        frac = arrays["ergodic_fraction"]
        ci = arrays["ergodic_ci95"]
        positive = frac > 0
        floor = ZERO_FLOOR * (frac[positive].min() if positive.any() else 1e-3)
        shown = np.where(positive, frac, floor)
        lo = np.maximum(ci[:, 0], floor)
        err = np.array([shown - np.minimum(lo, shown), np.maximum(ci[:, 1], shown) - shown])
        ax_e.errorbar(g[positive], shown[positive], yerr=err[:, positive], fmt="o-",
                      color="tab:purple", capsize=3,
                      label="time average of 1{d(x_k, S) > δ}\n(mean over runs, 95 % CI)")
        if (~positive).any():
            ax_e.plot(g[~positive], shown[~positive], "v", color="tab:purple", ms=8,
                      label="0 (never outside after burn-in)")
        fo = arrays["final_outside"]
        fci = arrays["final_outside_ci95"]
        fshown = np.maximum(fo, floor)
        ax_e.errorbar(g * 1.04, fshown, yerr=[fshown - np.maximum(np.minimum(fci[:, 0], fo), floor),
                                              np.maximum(fci[:, 1], fshown) - fshown],
                      fmt="s", color="tab:orange", ms=4, capsize=2, alpha=0.8,
                      label="P(d(x_n, S) > δ) at the last step (Wilson 95 %)")
        ax_e.set_xscale("log")
        ax_e.set_yscale("log")
        ax_e.set_xlabel("step size γ")
        ax_e.set_ylabel("fraction of time outside δ-neighbourhood")
        ax_e.set_title(f"Long run, constant step: δ = {config['delta']:g}, "
                       f"horizon {config['horizon']:g}")
        ax_e.legend(loc="lower right", fontsize=8)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): the clouds, the decreasing-vs-constant runs, the
    ergodic runs, one ODE solve on [0, T] per start of the portrait, the figure."""
    from ..cost import Cost, problem_dim, steps_covering, step_sizes, float_bytes, PER_RUN_FLOATS

    z = 3 * problem_dim(config)
    starts = len(config["portrait_x0"])
    n_cloud = steps_covering(config["T"], config["cloud_gamma"], "T", "cloud_gamma")
    gammas = step_sizes(config)
    ergodic = [steps_covering(config["horizon"], g, "horizon") for g in gammas]
    run_steps = (starts * config["cloud_runs"] * n_cloud
                 + 2 * config["compare_runs"] * config["compare_steps"]
                 + config["ergodic_runs"] * sum(ergodic)
                 + ode_run_steps(config["T"], z, solves=starts, outputs=N_ODE_TIMES,
                                 seconds_per_time=ODE_SECONDS_PER_TIME)
                 + figure_run_steps(3, z))
    # the decreasing-vs-constant comparison holds one full path per worker
    memory = float_bytes(2 * (config["compare_steps"] + 1) * z
                         + starts * config["cloud_runs"] * (PER_RUN_FLOATS + z))
    return Cost(run_steps, z, memory, ("compare_steps", "ergodic_runs", "cloud_runs"))
