r"""Experiment ``fluctuations``: the LNA's ±2σ bands over Monte Carlo paths, and the stationary
spread against γ with the closed-form line.

For each γ, Adam's iterates on the talk's 2-D regression are recorded at about
:data:`RECORD_POINTS` times; the LNA (:func:`adam_ode.linear_noise`) predicts their mean z(t)
and covariance γP(t). Panels: x₁, x₂, v₁ with the predicted bands and the Monte Carlo mean ± 2
sample standard deviations; last panel: the median of ‖x_n − x*‖ over the last quarter of [0, T]
divided by √γ, against the LNA's prediction (the median of the norm of N(0, P∞)), and the
closed form Var x_i = γ C_ii/(2 h_i (ε + sqrt(S_i(x*)))) (independent of a and b).

``family``: the same check for every optimizer with a fluctuation model (SGD, momentum,
Nesterov with both schedules, RMSProp, Adam, AdamW): the Monte Carlo variance of every state
coordinate at t = T over the LNA's Δt·E P(T) Eᵀ (Δt = ``optimizer.times(1)``); fifth panel.
"""

from __future__ import annotations

import numpy as np

from ..config_checks import require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..fluctuations import linear_noise
from ..fluctuations.noise import supports_fluctuations
from ..montecarlo import monte_carlo, steps_for_horizon
from ..optimizers import Adam, make_optimizer
from ..problems import make_problem
from ._checks import (built, figure_run_steps, require_adam_steps, require_horizon, require_int,
                      require_numbers, require_table, saved, seconds_run_steps)
from ._paths import check_gammas, gamma_colours
from ._plot import STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw"]

EXPERIMENT = "fluctuations"
RECORD_POINTS = 250
FLOOR_WINDOW = 0.25
FAMILY_KEYS = ("T", "n_runs", "optimizers")
# The LNA solves the mean and the covariance P ((3d)² floats) with a Python field (~0.2 ms per
# evaluation): per solve ~0.15 s (the start, the transient) and ~35 ms per unit of time
# (measured on a 2-core machine: 1 s for Adam on [0, 25], 0.04-0.6 s for the family on [0, 4]).
LNA_SECONDS_PER_SOLVE = 0.15
LNA_SECONDS_PER_TIME = 0.035
# The LNA's median distance at every recorded time (a quadrature per time): ~1 ms each.
QUANTILE_SECONDS_PER_TIME = 1e-3
N_PANELS = 5


def check(config: dict) -> None:
    """What the naming conventions leave: the problem (with a minimizer: the spread is measured
    around x*) and the start, Adam's record at each γ (a·γ, b·γ < 1, T >= γ), two runs for a
    sample variance, and the family table: its keys, and each optimizer's record with a
    fluctuation model and a step that T covers."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if problem.minimizer is None:
        raise ExperimentError(f"problem = {show(config['problem'])}: must have a unique "
                              "minimizer (the spread is measured around x*)")
    require_start("x0", config["x0"], problem)
    gammas = require_numbers("gammas", config["gammas"])
    require_adam_steps(config, gammas)
    require_int("n_runs", config["n_runs"], 2, "a sample variance")
    family = require_table("family", config["family"], FAMILY_KEYS, FAMILY_KEYS)
    require_int("family.n_runs", family["n_runs"], 2, "a sample variance")
    specs = family["optimizers"]
    if not isinstance(specs, list) or not specs:
        raise ExperimentError(f"family.optimizers = {show(specs)}: must be a non-empty list of "
                              "optimizer tables")
    for i, spec in enumerate(specs):
        key = f"family.optimizers[{i}]"
        with built(key, spec):
            opt = make_optimizer(spec)
        if not supports_fluctuations(opt):
            raise ExperimentError(f"{key} = {show(spec)}: {type(opt).__name__} has no "
                                  "fluctuation model (no linear-noise approximation)")
        require_horizon("family.T", family["T"], key, float(opt.times(1)))


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    a, b, eps, T = config["a"], config["b"], config["eps"], config["T"]
    gammas = check_gammas(config["gammas"])
    n_runs = config["n_runs"]
    d = problem.dim
    x_star = problem.minimizer
    seeds = ctx.seed_sequence().spawn(len(gammas))
    per_gamma, arrays = [], {"gammas": np.array(gammas)}
    for i, (gamma, seed) in enumerate(zip(gammas, seeds)):
        opt = Adam(gamma, a, b, eps)
        n = steps_for_horizon(T, gamma)
        every = max(1, n // RECORD_POINTS)
        mc = monte_carlo(problem, opt, x0, n, n_runs, seed, record_every=every,
                         track_grad_norm=False, workers=ctx.workers)
        t = mc.record_times
        ln = linear_noise(problem, opt, x0, T, t_eval=t)
        rec = mc.record
        late = t >= (1.0 - FLOOR_WINDOW) * T
        dist = np.linalg.norm(rec[:, :, :d] - x_star, axis=2)
        floor = float(np.median(dist[:, late]))
        pred = float(ln.distance_quantiles([0.5], center=x_star)[-1, 0])
        var_ratio = np.var(rec[:, late, :], axis=0, ddof=1).mean(0) / \
            np.diagonal(ln.cov[late], axis1=1, axis2=2).mean(0)
        per_gamma.append({"gamma": gamma, "n_steps": n, "median_distance": floor,
                          "median_over_sqrt_gamma": floor / np.sqrt(gamma),
                          "lna_median_over_sqrt_gamma": pred / np.sqrt(gamma),
                          "stationary_var_ratio_mc_over_lna": var_ratio.tolist()})
        arrays[f"gamma{i}_t"] = t
        arrays[f"gamma{i}_mc_mean"] = rec.mean(0)
        arrays[f"gamma{i}_mc_std"] = rec.std(0, ddof=1)
        arrays[f"gamma{i}_lna_mean"] = ln.mean
        arrays[f"gamma{i}_lna_std"] = np.sqrt(np.diagonal(ln.cov, axis1=1, axis2=2))
    stat = linear_noise(problem, Adam(gammas[-1], a, b, eps), x0, 1.0).stationary_P
    family = _family(problem, x0, config["family"], ctx, first_seed=len(gammas))
    summary = {"problem": problem.config(), "x0": x0, "a": a, "b": b, "eps": eps, "T": T,
               "n_runs": n_runs, "iterates": per_gamma,
               "stationary_P_x_diagonal": np.diag(stat)[:d].tolist(), "family": family}
    table = "\n".join(f"gamma {g['gamma']:g}: median/sqrt(gamma) MC {g['median_over_sqrt_gamma']:.4f}"
                      f", LNA {g['lna_median_over_sqrt_gamma']:.4f}; Var MC/LNA (x, m, v) "
                      + " ".join(f"{r:.3f}" for r in g["stationary_var_ratio_mc_over_lna"])
                      for g in per_gamma)
    table += "\nfamily: Var MC / LNA at t = T, every state coordinate\n" + "\n".join(
        f"  {f['label']:28s} " + " ".join(f"{r:.3f}" for r in f["var_ratio_mc_over_lna"])
        for f in family["optimizers"])
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)), table=table)


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`_plot`)."""
    d = len(summary["x0"])
    return _plot(arrays, summary["iterates"], d, summary["family"])


def _label(opt) -> str:
    extra = f" {opt.schedule}" if hasattr(opt, "schedule") else ""
    return f"{opt.name}{extra} (γ = {opt.gamma:g})"


def _family(problem, x0, config, ctx, first_seed: int) -> dict:
    """Var z_n (Monte Carlo) over the LNA's prediction at t = T for each optimizer; seeds are
    the children of the experiment's seed after the ``first_seed`` used by the γ sweep."""
    T, n_runs = float(config["T"]), int(config["n_runs"])
    seeds = ctx.seed_sequence().spawn(first_seed + len(config["optimizers"]))[first_seed:]
    rows = []
    for spec, seed in zip(config["optimizers"], seeds):
        opt = make_optimizer(spec)
        n = steps_for_horizon(T, float(opt.times(1)))
        t_n = float(opt.times(n))
        mc = monte_carlo(problem, opt, x0, n, n_runs, seed, track_grad_norm=False,
                         workers=ctx.workers)
        ln = linear_noise(problem, opt, x0, t_n, t_eval=np.array([t_n]))
        ratio = np.var(mc.final_state, axis=0, ddof=1) / np.diag(ln.cov[-1])
        rows.append({"label": _label(opt), "optimizer": opt.config(), "step": float(opt.times(1)),
                     "n_steps": n, "slots": list(opt.slots),
                     "var_ratio_mc_over_lna": ratio.tolist(),
                     "max_abs_deviation": float(np.max(np.abs(ratio - 1.0)))})
    return {"T": T, "n_runs": n_runs, "ratio_standard_error": float(np.sqrt(2.0 / n_runs)),
            "optimizers": rows}


def _plot(arrays, per_gamma, d, family):
    plt = pyplot()
    gammas = arrays["gammas"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, N_PANELS, figsize=(20, 3.8))
        colours = gamma_colours(len(gammas))
        for i, (gamma, c) in enumerate(zip(gammas, colours)):
            t, lna_mean = arrays[f"gamma{i}_t"], arrays[f"gamma{i}_lna_mean"]
            for ax, j, name in zip(axes[:3], [0, 1, 2 * d], ["x₁", "x₂", "v₁"]):
                sd = arrays[f"gamma{i}_lna_std"][:, j]
                ax.fill_between(t, lna_mean[:, j] - 2 * sd, lna_mean[:, j] + 2 * sd, color=c,
                                alpha=0.25, lw=0, label=f"LNA ±2σ, γ = {gamma:g}")
                m, s = arrays[f"gamma{i}_mc_mean"][:, j], arrays[f"gamma{i}_mc_std"][:, j]
                ax.plot(t, m - 2 * s, color=c, lw=0.8, ls="--")
                ax.plot(t, m + 2 * s, color=c, lw=0.8, ls="--")
                ax.set_title(f"{name}: LNA band (fill), Monte Carlo ±2 sd (dashed)")
                ax.set_xlabel("t = nγ")
        axes[0].legend()
        g = np.array([p["gamma"] for p in per_gamma])
        axes[3].semilogx(g, [p["median_over_sqrt_gamma"] for p in per_gamma], "o",
                         label="Monte Carlo")
        axes[3].semilogx(g, [p["lna_median_over_sqrt_gamma"] for p in per_gamma], "-",
                         label="LNA (stationary)")
        axes[3].set_xlabel("γ")
        axes[3].set_title("median ‖x_n − x*‖ / √γ, last quarter")
        axes[3].legend()
        ax = axes[4]
        se = family["ratio_standard_error"]
        rows = family["optimizers"]
        ax.axhspan(1 - 2 * se, 1 + 2 * se, color="0.85", lw=0, label="±2 se (Monte Carlo)")
        for i, row in enumerate(rows):
            r = np.asarray(row["var_ratio_mc_over_lna"])
            ax.plot(np.full(len(r), i) + np.linspace(-0.25, 0.25, len(r)), r, "o", ms=4)
        ax.axhline(1.0, color="0.3", lw=0.8)
        ax.set_xticks(range(len(rows)), [row["label"].split(" (")[0] for row in rows],
                      rotation=30, ha="right", fontsize=8)
        ax.set_title(f"family: Var MC / LNA at t = {family['T']:g}, every coordinate")
        ax.legend(fontsize=8)
        fig.tight_layout()
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): n_runs Adam runs per γ on [0, T], their LNA on
    [0, T] and its median distances at the recorded times, the stationary LNA, the family's
    runs and LNA solves, the figure."""
    from ..cost import FLOAT_BYTES, Cost
    from ..montecarlo import steps_for_horizon
    from ..optimizers import make_optimizer

    d = len(config["x0"])
    z = 3 * d
    n_gammas = len(config["gammas"])
    run_steps = sum(config["n_runs"] * steps_for_horizon(config["T"], g)
                    for g in config["gammas"])
    fam = config["family"]
    lna_seconds = (n_gammas * (LNA_SECONDS_PER_SOLVE + LNA_SECONDS_PER_TIME * config["T"]
                               + QUANTILE_SECONDS_PER_TIME * (RECORD_POINTS + 1))
                   + LNA_SECONDS_PER_SOLVE + LNA_SECONDS_PER_TIME  # the stationary P, on [0, 1]
                   + len(fam["optimizers"]) * (LNA_SECONDS_PER_SOLVE
                                               + LNA_SECONDS_PER_TIME * fam["T"]))
    for spec in fam["optimizers"]:
        opt = make_optimizer(spec)
        run_steps += fam["n_runs"] * steps_for_horizon(fam["T"], float(opt.times(1)))
    run_steps += seconds_run_steps(lna_seconds, z) + figure_run_steps(N_PANELS, z)
    return Cost(run_steps=run_steps, state_floats=z,
                memory_bytes=config["n_runs"] * (RECORD_POINTS + 1) * 3 * d * FLOAT_BYTES,
                keys=("n_runs", "gammas"))
