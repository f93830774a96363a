r"""Experiment ``adagrad-rmsprop``: AdaGrad's accumulator grows without bound, RMSProp's settles.

Left (noisy problem): ‖w_n‖ for AdaGrad (w_n = Σ_{k≤n} g_k²) and ‖v_n‖ for RMSProp
(v_n = βv_{n−1} + (1 − β)g_n²) along a few runs. Under gradient noise E[g²] → S(x*) > 0 at the
minimizer, so w_n ≈ n·S(x*) (the growth exponent of ‖w_n‖ against n is fitted, ≈ 1) while v_n,
an exponential average over ~1/(1 − β) steps, settles near S(x*). Right (seed 002): AdaGrad's
first 10 exact-gradient steps on f = x² + 3y² from two starts over the contours, with its
continuous limit on τ = nγ² (:class:`~adam_ode.AdaGradLimit`) from each start.
"""

from __future__ import annotations

import numpy as np

from ..config_checks import require_in, require_points, require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import solve_limit
from ..iterates import run_optimizer
from ..montecarlo import monte_carlo
from ..optimizers import AdaGrad, RMSProp
from ..problems import make_problem
from ._checks import (built, figure_run_steps, ode_run_steps, require_int, require_window,
                      saved)
from ._paths import check_pairs
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot", "growth_exponent"]

EXPERIMENT = "adagrad-rmsprop"
N_FIT_POINTS = 30  # log-spaced recorded steps of the growth fit
N_LIMIT_POINTS = 400  # points of each drawn limit curve
CONTOUR_LEVELS = 14
START_COLOURS = ("tab:red", "tab:blue")


def growth_exponent(steps, norms, window) -> float:
    """Least-squares slope of log ‖w_n‖ against log n over the recorded steps in ``window``."""
    steps, norms = np.asarray(steps), np.asarray(norms)
    keep = (steps >= window[0]) & (steps <= window[1])
    if keep.sum() < 2:
        raise ExperimentError(f"growth_window {window!r} holds fewer than 2 recorded steps")
    picks = np.unique(np.round(np.geomspace(np.flatnonzero(keep)[0] + 1,
                                            np.flatnonzero(keep)[-1] + 1, N_FIT_POINTS))
                      .astype(int)) - 1
    return float(np.polyfit(np.log(steps[picks]), np.log(norms[picks]), 1)[0])


def check(config: dict) -> None:
    """What the naming conventions leave: the noisy problem (with a minimizer: S(x*) is the
    reference level) and its start, the two records, the recording stride, the growth window
    (two recorded steps at least) and the settling window (one at least), and the 2-D demo
    problem, its starts and AdaGrad record."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if problem.minimizer is None:
        raise ExperimentError(f"problem = {show(config['problem'])}: must have a unique "
                              "minimizer (RMSProp's v is compared with S(x*))")
    require_start("x0", config["x0"], problem)
    eps = config["eps"]
    with built("adagrad_gamma", config["adagrad_gamma"]):
        AdaGrad(config["adagrad_gamma"], eps=eps)
    with built("rmsprop_gamma", config["rmsprop_gamma"],
               note=f"rmsprop_b = {show(config['rmsprop_b'])}"):
        RMSProp(config["rmsprop_gamma"], b=config["rmsprop_b"], eps=eps)
    n = config["n_steps"]
    every = require_int("record_every", config["record_every"], 1)
    if every > n:
        raise ExperimentError(f"record_every = {every}: must be <= n_steps = {n}")
    lo, hi = require_window("growth_window", config["growth_window"], n, "n_steps")
    if hi // every - -(-lo // every) + 1 < 2:
        raise ExperimentError(f"growth_window = {show(config['growth_window'])}: holds fewer than"
                              f" 2 recorded steps (record_every = {every})")
    settle = require_in("settle_fraction", config["settle_fraction"], 0.0, 1.0)
    if (n // every) * every < (1.0 - settle) * n:
        raise ExperimentError(f"settle_fraction = {show(config['settle_fraction'])}: the last "
                              f"{settle:.0%} of the steps hold no recorded step (record_every = "
                              f"{every})")
    with built("demo_problem"):
        demo = make_problem(config["demo_problem"])
    if demo.dim != 2:
        raise ExperimentError(f"demo_problem = {show(config['demo_problem'])}: must be 2-D "
                              "(contours)")
    for i, start in enumerate(require_points("demo_starts", config["demo_starts"], 2)):
        require_start(f"demo_starts[{i}]", start, demo)
    with built("demo_gamma", config["demo_gamma"]):
        AdaGrad(config["demo_gamma"], eps=config["demo_eps"])


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Accumulator norms of AdaGrad and RMSProp; AdaGrad's first steps (module docstring)."""
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    eps, n = float(config["eps"]), config["n_steps"]
    window = config["growth_window"]
    if len(window) != 2 or not 1 <= window[0] < window[1] <= n:
        raise ExperimentError(f"growth_window must be [n_lo, n_hi] with 1 <= n_lo < n_hi <= "
                              f"n_steps = {n}, got {window!r}")
    settle = float(config["settle_fraction"])
    if not 0.0 < settle < 1.0:
        raise ExperimentError(f"settle_fraction must lie in (0, 1), got {settle!r}")
    demo = make_problem(config["demo_problem"])
    if demo.dim != 2:
        raise ExperimentError(f"demo_problem must be 2-D (contours), got {demo!r}")
    starts = check_pairs(config, "demo_starts", "[x, y]")
    demo_opt = AdaGrad(float(config["demo_gamma"]), eps=float(config["demo_eps"]))
    n_demo = config["n_demo_steps"]
    adagrad = AdaGrad(float(config["adagrad_gamma"]), eps=eps)
    rmsprop = RMSProp(float(config["rmsprop_gamma"]), b=float(config["rmsprop_b"]), eps=eps)
    seeds = ctx.seed_sequence().spawn(2)
    d = problem.dim

    with ctx.progress(3, desc=EXPERIMENT) as bar:
        records = {}
        for key, opt, seed in (("adagrad", adagrad, seeds[0]), ("rmsprop", rmsprop, seeds[1])):
            mc = monte_carlo(problem, opt, x0, n, config["n_runs"], seed, track_grad_norm=False,
                             record_every=config["record_every"], workers=ctx.workers)
            records[key] = mc
            bar.update()
        demo_paths, demo_limits = [], []
        tau_end = float(demo_opt.times(n_demo))
        tau = np.linspace(0.0, tau_end, N_LIMIT_POINTS)
        for start in starts:
            demo_paths.append(run_optimizer(demo, demo_opt, start, n_demo, 0,
                                            noise=False)[:, :2])
            demo_limits.append(solve_limit(demo, demo_opt.limit(), start, tau_end)(tau)[:, :2])
        bar.update()

    steps = records["adagrad"].record_steps
    w_norm = np.linalg.norm(records["adagrad"].record[..., d:], axis=-1)  # (R, K)
    v_norm = np.linalg.norm(records["rmsprop"].record[..., d:], axis=-1)
    exponents = [growth_exponent(steps, w, window) for w in w_norm]
    late = steps >= (1.0 - settle) * n
    v_late = v_norm[:, late].mean(axis=1)
    S_star = problem.S(problem.minimizer) if problem.minimizer is not None else None
    S_star_norm = float(np.linalg.norm(S_star)) if S_star is not None else None
    summary = {
        "problem": problem.config(), "x0": x0.tolist(),
        "adagrad": adagrad.config(), "rmsprop": rmsprop.config(),
        "growth_exponent_median": float(np.median(exponents)),
        "growth_exponents": exponents,
        "growth_window": list(window),
        "adagrad_final_w_norm_over_n_median": float(np.median(w_norm[:, -1]) / n),
        "rmsprop_final_v_norm_median": float(np.median(v_late)),
        "rmsprop_v_norm_late_means": v_late.tolist(),
        "S_star_norm": S_star_norm,
        "rmsprop_v_over_S_star": (float(np.median(v_late)) / S_star_norm
                                  if S_star_norm else None),
        "demo": {"problem": demo.config(), "adagrad": demo_opt.config(), "n_steps": n_demo,
                 "tau_end": tau_end, "starts": starts.tolist(),
                 "final_iterates": [p[-1].tolist() for p in demo_paths],
                 "final_limit": [lim[-1].tolist() for lim in demo_limits],
                 "first_step": [(p[1] - p[0]).tolist() for p in demo_paths]},
    }
    arrays = {"steps": steps, "adagrad_w_norm": w_norm, "rmsprop_v_norm": v_norm,
              "demo_tau": tau}
    for i, (p, lim) in enumerate(zip(demo_paths, demo_limits)):
        arrays[f"demo_path_{i}"] = p
        arrays[f"demo_limit_{i}"] = lim
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    return plot(make_problem(config["problem"]), make_problem(config["demo_problem"]), arrays,
                summary, len(summary["demo"]["starts"]))


def format_table(summary: dict) -> str:
    lines = [f"AdaGrad: growth exponent of ||w_n|| on n in {summary['growth_window']}: "
             f"{summary['growth_exponent_median']:.3f} (runs: "
             f"{', '.join(f'{e:.3f}' for e in summary['growth_exponents'])}); "
             f"||w_N||/N = {summary['adagrad_final_w_norm_over_n_median']:.4f}",
             f"RMSProp: late mean ||v|| = {summary['rmsprop_final_v_norm_median']:.4f}, "
             f"||S(x*)|| = {summary['S_star_norm']:.4f} (ratio "
             f"{summary['rmsprop_v_over_S_star']:.3f})"]
    demo = summary["demo"]
    for start, it, lim in zip(demo["starts"], demo["final_iterates"], demo["final_limit"]):
        lines.append(f"AdaGrad {demo['n_steps']} steps from {start}: x = "
                     f"{np.round(it, 4).tolist()}, limit at tau = {demo['tau_end']:g}: "
                     f"{np.round(lim, 4).tolist()}")
    return "\n".join(lines)


def plot(problem, demo, arrays, summary, n_starts):
    """Left: accumulator norms vs n (log-log). Right: AdaGrad's first steps over the contours."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, (ax_a, ax_d) = plt.subplots(1, 2, figsize=(2 * FIGSIZE_PANEL[0] + 2.0,
                                                        FIGSIZE_PANEL[1] + 0.8),
                                         layout="constrained")
        steps = arrays["steps"]
        keep = steps > 0
        n = steps[keep]
        for r, (w, v) in enumerate(zip(arrays["adagrad_w_norm"], arrays["rmsprop_v_norm"])):
            ax_a.plot(n, w[keep], color="tab:red", lw=0.9, alpha=0.7,
                      label="AdaGrad ‖w_n‖, w_n = Σ g_k²" if r == 0 else None)
            ax_a.plot(n, v[keep], color="tab:blue", lw=0.9, alpha=0.7,
                      label="RMSProp ‖v_n‖, v_n = βv + (1−β)g²" if r == 0 else None)
        S = summary["S_star_norm"]
        if S is not None:
            ax_a.plot(n, n * S, "k--", lw=1.1, label="n‖S(x*)‖ (unbounded)")
            ax_a.axhline(S, color="k", ls=":", lw=1.2, label="‖S(x*)‖ = ‖σ²‖ (settles)")
        ax_a.set_xscale("log")
        ax_a.set_yscale("log")
        ax_a.set_xlabel("step n")
        ax_a.set_ylabel("accumulator norm")
        ax_a.set_title(
            f"{describe_problem(problem)}, {len(arrays['adagrad_w_norm'])} runs each\n"
            f"AdaGrad (γ = {summary['adagrad']['gamma']:g}): ‖w_n‖ ~ "
            f"n^{summary['growth_exponent_median']:.2f} on n ∈ [{summary['growth_window'][0]}, "
            f"{summary['growth_window'][1]}]\nRMSProp (γ = {summary['rmsprop']['gamma']:g}, β = "
            f"{1 - summary['rmsprop']['b'] * summary['rmsprop']['gamma']:g}): late ‖v‖ = "
            f"{summary['rmsprop_final_v_norm_median']:.3f} vs ‖S(x*)‖ = "
            f"{summary['S_star_norm']:.3f}", fontsize=9.5)
        ax_a.legend(loc="upper left", fontsize=8)

        pts = np.concatenate([arrays[f"demo_path_{i}"] for i in range(n_starts)]
                             + [arrays[f"demo_limit_{i}"] for i in range(n_starts)])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.15 * (hi - lo) + 0.2
        g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 201)
        g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 201)
        X1, X2 = np.meshgrid(g1, g2)
        ax_d.contour(X1, X2, demo.F(np.stack([X1, X2], axis=-1)), levels=CONTOUR_LEVELS,
                     colors="0.78", linewidths=0.7)
        dm = summary["demo"]
        for i in range(n_starts):
            colour = START_COLOURS[i % len(START_COLOURS)]
            p, lim = arrays[f"demo_path_{i}"], arrays[f"demo_limit_{i}"]
            ax_d.plot(p[:, 0], p[:, 1], "o-", color=colour, ms=4, lw=1.3,
                      label=f"AdaGrad, {dm['n_steps']} steps from {tuple(dm['starts'][i])}")
            ax_d.plot(lim[:, 0], lim[:, 1], "--", color="k", lw=1.2,
                      label="limit on τ = nγ² (τ ≤ 10γ²)" if i == 0 else None)
            ax_d.plot(*p[0], "s", color=colour, ms=6)
        if demo.minimizer is not None:
            ax_d.plot(*demo.minimizer, "*", color="k", ms=10, label="minimizer")
        ax_d.set_aspect("equal")
        ax_d.set_xlabel("x")
        ax_d.set_ylabel("y")
        ax_d.set_title(f"Seed 002: AdaGrad on f = x² + 3y², γ = {dm['adagrad']['gamma']:g}, "
                       "exact gradients\nthe first step is −γ·sign(∇f): both coordinates "
                       "move alike", fontsize=9.5)
        ax_d.legend(loc="upper right", fontsize=7.5)
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): n_runs runs of AdaGrad and of RMSProp, the
    demo's paths and AdaGrad's limit from each start (on τ up to n_demo_steps·γ²), the
    figure."""
    from ..cost import FLOAT_BYTES, Cost

    d = len(config["x0"])
    run_steps = 2 * config["n_runs"] * config["n_steps"]
    recorded = 2 * config["n_runs"] * (config["n_steps"] // config["record_every"] + 1)
    starts = len(config["demo_starts"])
    demo = starts * config["n_demo_steps"] + ode_run_steps(
        config["n_demo_steps"] * config["demo_gamma"] ** 2, 4, solves=starts,
        outputs=N_LIMIT_POINTS)
    figure = figure_run_steps(2, 2 * d)
    return Cost(run_steps=run_steps + demo + figure, state_floats=2 * d,
                memory_bytes=recorded * 2 * d * FLOAT_BYTES, keys=("n_runs", "n_steps"))
