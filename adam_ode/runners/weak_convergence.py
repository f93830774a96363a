"""Experiment ``weak-convergence``: P(sup_{[0,T]} ‖z^γ − z‖ > δ) → 0 as γ → 0 (Theorem 4.3).

For each γ of ``gammas``, ``n_runs`` Adam runs are compared with the ODE solution (solved once) by
:func:`adam_ode.paper.weak_convergence_study`. Figure: the estimated
probability with its Wilson 95 % interval, and the mean / median / 90 % quantile of the sup
distance against γ on log-log axes with the fitted slope.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..analysis.weak_convergence import MIN_GAMMAS_FOR_SLOPE
from ..config_checks import require_start
from ..paper import weak_convergence_study
from ..experiments import ExperimentResult, RunContext, register
from ..montecarlo import steps_for_horizon
from ..problems import make_problem
from ._checks import built, num, nums, require_adam_steps, require_numbers, saved
from ._paths import step_progress
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot", "format_table"]

EXPERIMENT = "weak-convergence"


def check(config: dict) -> None:
    """What the naming conventions leave: the start, the γ grid and one Adam record per γ."""
    with built("problem"):
        problem = make_problem(config["problem"])
    require_start("x0", config["x0"], problem)
    gammas = require_numbers("gammas", config["gammas"], min_distinct=MIN_GAMMAS_FOR_SLOPE,
                             why="the fitted slope needs two step sizes")
    require_adam_steps(config, gammas)


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Run the weak-convergence study (see the module docstring)."""
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    gammas = np.asarray(config["gammas"], dtype=float)
    n_runs = config["n_runs"]
    steps = [steps_for_horizon(config["T"], gamma) for gamma in gammas]
    with ctx.progress(n_runs * sum(steps), desc=EXPERIMENT) as bar:  # ETA in steps
        study = weak_convergence_study(problem, x0, config["a"], config["b"], config["eps"],
                                       config["T"], gammas, n_runs, config["delta"],
                                       seed=ctx.seed, workers=ctx.workers,
                                       progress=step_progress(bar, n_runs, steps))
    summary = {
        "problem": problem.config(), "x0": x0.tolist(), "a": config["a"], "b": config["b"],
        "eps": config["eps"], "T": config["T"], "delta": config["delta"],
        "slope": study.slope, "slope_stderr": study.slope_stderr,
        "table": study.records,
    }
    arrays = {"gammas": study.gammas, "sup_distance": np.stack(study.sups)}
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(study, _title(config, problem)))


def _title(config: dict, problem) -> str:
    return (f"{describe_problem(problem)}, x0 = [{', '.join(f'{v:g}' for v in config['x0'])}], "
            f"a = {config['a']:g}, b = {config['b']:g}, eps = {config['eps']:g}, "
            f"T = {config['T']:g}, {config['n_runs']} runs per step")


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    records = [{**r, **{k: num(r[k]) for k in ("gamma", "mean_sup", "median_sup", "q90_sup",
                                                "p_exceed")},
                "p_exceed_ci95": nums(r["p_exceed_ci95"])} for r in summary["table"]]
    study = SimpleNamespace(gammas=nums([r["gamma"] for r in records]), records=records,
                            delta=num(summary["delta"]), slope=num(summary["slope"]),
                            slope_stderr=num(summary["slope_stderr"]),
                            column=lambda key: nums([r[key] for r in records]))
    return plot(study, _title(config, make_problem(config["problem"])))


def format_table(study, title: str) -> str:
    """Per-γ table of the sup-distance statistics and P(sup > δ)."""
    lines = [title,
             f"{'gamma':>10} {'runs':>6} {'mean sup':>10} {'median':>10} {'q90':>10} "
             f"{'P(sup>' + format(study.delta, 'g') + ')':>12} {'Wilson 95%':>17}"]
    lines.append("-" * len(lines[-1]))
    for r, sups in zip(study.records, study.sups):
        low, high = r["p_exceed_ci95"]
        n_diverged = int(np.count_nonzero(~np.isfinite(sups)))  # sup = inf for a diverged run
        lines.append(f"{r['gamma']:10.3g} {r['n_runs']:6d} {r['mean_sup']:10.4g} "
                     f"{r['median_sup']:10.4g} {r['q90_sup']:10.4g} {r['p_exceed']:12.3f} "
                     f"  [{low:.3f}, {high:.3f}]"
                     + (f"  diverged ({n_diverged} of {r['n_runs']} runs)" if n_diverged else ""))
    lines.append(f"log-log slope of the mean sup distance vs gamma: {study.slope:.3f} "
                 f"+/- {study.slope_stderr:.3f} (standard error)")
    return "\n".join(lines)


def plot(study, title: str):
    """Two panels: P(sup > δ) with Wilson intervals; sup-distance statistics with the fit."""
    plt = pyplot()
    gammas = study.gammas
    with plt.rc_context(STYLE):
        fig, (ax_p, ax_s) = plt.subplots(1, 2, figsize=(2 * FIGSIZE_PANEL[0], FIGSIZE_PANEL[1]),
                                         constrained_layout=True)
        p = study.column("p_exceed")
        ci = np.array([r["p_exceed_ci95"] for r in study.records])
        yerr = np.clip([p - ci[:, 0], ci[:, 1] - p], 0.0, None)  # rounding at p = 0 or 1
        ax_p.errorbar(gammas, p, yerr=yerr, fmt="o-", capsize=3,
                      color="C3", label="estimate, Wilson 95 % interval")
        ax_p.set_xscale("log")
        ax_p.set_ylim(-0.03, 1.03)
        ax_p.set_xlabel("step size γ")
        ax_p.set_ylabel(f"P(sup_t ‖z^γ(t) − z(t)‖ > {study.delta:g})")
        ax_p.set_title("Theorem 4.3: the probability vanishes as γ → 0")
        ax_p.legend(loc="upper left")

        mean = study.column("mean_sup")
        ax_s.fill_between(gammas, study.column("median_sup"), study.column("q90_sup"),
                          color="C0", alpha=0.2, label="median to 90 % quantile")
        ax_s.plot(gammas, mean, "o", color="C0", label="mean")
        if np.isfinite(study.slope):
            fit = np.exp(np.polyfit(np.log(gammas), np.log(mean), 1)[1]) * gammas**study.slope
            ax_s.plot(gammas, fit, "-", color="C0",
                      label=f"fit: slope {study.slope:.3f} ± {study.slope_stderr:.3f}")
        ax_s.plot(gammas, mean[-1] * (gammas / gammas[-1]) ** 0.5, ":", color="0.4",
                  label="reference slope ½")
        ax_s.axhline(study.delta, color="C3", lw=1, ls="--", label=f"δ = {study.delta:g}")
        ax_s.set_xscale("log")
        ax_s.set_yscale("log")
        ax_s.set_xlabel("step size γ")
        ax_s.set_ylabel("sup_{t ≤ T} ‖z^γ(t) − z(t)‖")
        ax_s.set_title("Sup distance to the ODE solution")
        ax_s.legend(loc="upper left")
        fig.suptitle(title, fontsize=9)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): iterations, state size, memory.

    The one ODE solve on [0, T] is not counted: its solver steps grow like T, the Monte Carlo's
    run·steps like n_runs·T/γ for every γ, so it is a small part of any run of more than a few
    runs per γ (counting it would need a serial-seconds field in :class:`~adam_ode.cost.Cost`).
    """
    from ..cost import (Cost, problem_dim, steps_covering, step_sizes, float_bytes, PER_RUN_FLOATS,
                        REFERENCE_COPIES)

    z = 3 * problem_dim(config)
    n_runs, gammas = config["n_runs"], step_sizes(config)
    steps = [steps_covering(config["T"], g) for g in gammas]
    memory = float_bytes(max(REFERENCE_COPIES * (n + 1) * z for n in steps)
                         + n_runs * (len(gammas) + PER_RUN_FLOATS + z))
    return Cost(n_runs * sum(steps), z, memory, ("n_runs", "gammas"))
