r"""Experiment ``debiasing``: can early Adam worsen x0? F(x(t)) against the level F(x0).

The talk: "with debiasing, F(x(t)) ≤ F(x0)". Along the non-autonomous ODE (3.3) this follows from
the Lyapunov energy V(t, z) (Lemma 7.5, Prop. 7.6; V(0) = F(x0) since m(0) = 0) when b ≤ 4a. The
autonomous ODE (7.1, no bias correction) has its own energy V∞ = F + ½ Σ m²/U∞, also equal to
F(x0) at t = 0 and nonincreasing, so it cannot exceed F(x0) either. Neither argument covers the
discrete iterates at finite γ.

The runner measures, at Kingma–Ba-type moments (α = 1 − aγ, β = 1 − bγ fixed, i.e. a = (1−α)/γ,
b = (1−β)/γ; b ≤ 4a), for every γ and for a start near and a start far from the minimizer:

- both ODEs: F(x(t)) on the solver's steps and a log-spaced grid, max_t F − F(x0) and where;
- Adam with and without bias correction (Algorithm 2.1 / its ``debias=False`` variant): the mean
  of F(x_n) over ``n_runs`` runs at every step n (common random numbers: both variants use the
  same streams), max_n [mean F(x_n)] − F(x0), where, and its standard error there;
- the same two schemes with exact gradients (one deterministic path each), which separates the
  deterministic effect of the missing correction from noise.

Without bias correction the first step is γ (1−α)/sqrt(1−β) · g/|g| (ε ≪ |g|), i.e. larger than
γ by the factor :func:`first_step_factor` (3.16 at α = 0.9, β = 0.999), and the early steps
m_n/sqrt(v_n) ≈ (1−αⁿ)/sqrt(1−βⁿ) stay amplified for n ≲ 1/(1−β), noise included.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_vector
from ..config_checks import require_in, require_start
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..paper import solve_ode
from ..iterates import Adam, run_optimizer
from ..montecarlo import monte_carlo, run_seed_sequence
from ..problems import make_problem
from ..state import unpack
from ._checks import (built, figure_run_steps, ode_run_steps, require_int, require_labels,
                      require_numbers, saved, seconds_run_steps)
from ._paths import AUTONOMOUS_STYLE, ODE_STYLE, check_gammas, fmt_vector, log_steps
from ._plot import STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "first_step_factor", "mean_objective_path",
           "plot"]

EXPERIMENT = "debiasing"
BATCH_RUNS = 100  # runs recorded at every step per monte_carlo call (memory ~ 100·n_steps·3d·8 B)
PLOT_POINTS = 400  # log-spaced steps kept for the figure and data.npz (the maxima use all steps)
SIGNIFICANCE = 2.0  # a mean excess counts as real when it exceeds this many standard errors
STARTS = ("near", "far")  # config keys x0_near, x0_far
MIN_DECADES = 2.0  # smallest y range of a panel (log scale), so that decade ticks are labelled
CURVES = ("ode_debiased", "ode_autonomous", "adam_debiased", "adam_no_correction")
# F at every recorded iterate of every run (NumPy, after each batch): ~5 ns per value.
F_SECONDS_PER_VALUE = 5e-9


def check(config: dict) -> None:
    """What the naming conventions leave: the problem and both starts, α and β in (0, 1), the
    step sizes (distinct: each is a column of the figure) and their Adam records, two runs for
    a standard error."""
    with built("problem"):
        problem = make_problem(config["problem"])
    for name in STARTS:
        require_start(f"x0_{name}", config[f"x0_{name}"], problem)
    alpha = require_in("alpha", config["alpha"], 0.0, 1.0)
    beta = require_in("beta", config["beta"], 0.0, 1.0)
    gammas = require_numbers("gammas", config["gammas"])
    require_labels("gammas", gammas)
    for i, gamma in enumerate(gammas):
        with built(f"gammas[{i}]", gamma):
            Adam(gamma, (1.0 - alpha) / gamma, (1.0 - beta) / gamma, config["eps"])
    require_int("n_runs", config["n_runs"], 2, "a standard error over runs")


def first_step_factor(alpha: float, beta: float) -> float:
    """|x_1 − x_0| / γ of Adam without bias correction when ε ≪ |g_1|: (1−α)/sqrt(1−β)."""
    return (1.0 - alpha) / math.sqrt(1.0 - beta)


def mean_objective_path(problem, optimizer, x0, n_steps, n_runs, seed, *, workers=1,
                        progress=None):
    """Mean and standard error over runs of F(x_n) at every step n = 0 … n_steps.

    Runs are simulated in batches of :data:`BATCH_RUNS` (batch k uses the k-th child of ``seed``),
    each recorded at every step, so memory stays O(BATCH_RUNS · n_steps) whatever ``n_runs``.
    Diverged runs raise: a mean over the survivors would hide them.
    """
    total = np.zeros(n_steps + 1)
    total_sq = np.zeros(n_steps + 1)
    done = 0
    for k in range(math.ceil(n_runs / BATCH_RUNS)):
        size = min(BATCH_RUNS, n_runs - done)
        batch_seed = run_seed_sequence(seed, k)
        mc = monte_carlo(problem, optimizer, x0, n_steps, size, batch_seed, record_every=1,
                         track_grad_norm=False, workers=workers,
                         progress=progress)
        if mc.diverged.any():
            raise RuntimeError(f"{int(mc.diverged.sum())} runs of {optimizer} diverged")
        F = problem.F(unpack(mc.record)[0])  # (size, n_steps + 1)
        total += F.sum(axis=0)
        total_sq += (F**2).sum(axis=0)
        done += size
    mean = total / n_runs
    var = np.maximum(total_sq / n_runs - mean**2, 0.0) * n_runs / max(n_runs - 1, 1)
    return mean, np.sqrt(var / n_runs)


def _ode_curve(problem, x0, a, b, eps, T, debias, t_plot):
    """F(x(t)) on t_plot and its maximum over the solver's steps ∪ t_plot."""
    traj = solve_ode(problem, x0, a, b, eps, T, debias=debias)
    t_all = np.union1d(traj.t, t_plot)
    F_all = problem.F(unpack(traj(t_all))[0])
    k = int(np.argmax(F_all))
    return problem.F(unpack(traj(t_plot))[0]), float(F_all[k]), float(t_all[k])


def _record(max_value, F0, t_at_max, **extra) -> dict:
    return {"max_F_minus_F0": float(max_value - F0), "t_at_max": float(t_at_max), **extra}


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """ODEs and Adam with/without bias correction against F(x0) (see the module docstring)."""
    problem = make_problem(config["problem"])
    alpha, beta, eps = config["alpha"], config["beta"], config["eps"]
    # alpha = 1 - a gamma and beta = 1 - b gamma with a, b > 0 and a gamma, b gamma < 1.
    if not (0.0 < alpha < 1.0 and 0.0 < beta < 1.0):
        raise ExperimentError(f"alpha and beta must lie in (0, 1), got alpha = {alpha!r}, "
                              f"beta = {beta!r}")
    gammas = check_gammas(config["gammas"])
    n_steps, n_runs = config["n_steps"], config["n_runs"]
    if n_steps < 1 or n_runs < 2:
        raise ExperimentError(f"n_steps must be >= 1 and n_runs >= 2, got {n_steps}, {n_runs}")
    starts = {name: check_vector(f"x0_{name}", config[f"x0_{name}"], problem.dim)
              for name in STARTS}
    x_star = problem.minimizer
    F_star = None if x_star is None else float(problem.F(x_star))
    steps_plot = log_steps(n_steps, PLOT_POINTS)

    cases, arrays = [], {"gammas": np.array(gammas), "steps": steps_plot}
    seeds = ctx.seed_sequence().spawn(len(STARTS) * len(gammas))
    with ctx.progress(2 * n_runs * len(seeds), desc=EXPERIMENT) as bar:
        for i, name in enumerate(STARTS):
            x0 = starts[name]
            F0 = float(problem.F(x0))
            for j, gamma in enumerate(gammas):
                a, b = (1.0 - alpha) / gamma, (1.0 - beta) / gamma
                T = n_steps * gamma
                t_plot = steps_plot * gamma
                case = {"start": name, "x0": x0, "F0": F0,
                        "F0_minus_Fstar": None if F_star is None else F0 - F_star,
                        "gamma": gamma, "a": a, "b": b, "T": T, "b_le_4a": bool(b <= 4 * a)}
                key = f"{name}_gamma{j}"
                for debias, curve in ((True, "ode_debiased"), (False, "ode_autonomous")):
                    F_plot, F_max, t_max = _ode_curve(problem, x0, a, b, eps, T, debias, t_plot)
                    case[curve] = _record(F_max, F0, t_max)
                    arrays[f"{key}_{curve}_F"] = F_plot
                seed = seeds[i * len(gammas) + j]
                for debias, curve in ((True, "adam_debiased"), (False, "adam_no_correction")):
                    adam = Adam(gamma, a, b, eps, debias)
                    mean, stderr = mean_objective_path(problem, adam, x0, n_steps, n_runs, seed,
                                                       workers=ctx.workers,
                                                       progress=bar.update)
                    k = int(np.argmax(mean))
                    exact = problem.F(unpack(run_optimizer(problem, adam, x0, n_steps, 0,
                                                           noise=False))[0])
                    excess = mean[k] - F0
                    case[curve] = _record(
                        mean[k], F0, k * gamma, n_at_max=k, stderr_at_max=float(stderr[k]),
                        exceeds_F0=bool(excess > SIGNIFICANCE * stderr[k] and excess > 0),
                        exact_gradient_max_F_minus_F0=float(exact.max() - F0),
                        exact_gradient_n_at_max=int(np.argmax(exact)))
                    arrays[f"{key}_{curve}_F_mean"] = mean[steps_plot]
                    arrays[f"{key}_{curve}_F_stderr"] = stderr[steps_plot]
                cases.append(case)

    summary = {
        "problem": problem.config(), "alpha": alpha, "beta": beta, "eps": eps,
        "n_steps": n_steps, "n_runs": n_runs, "F_star": F_star,
        "first_step_factor_no_correction": first_step_factor(alpha, beta),
        "cases": cases,
        "overview": _overview(cases),
    }
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    problem = make_problem(summary["config"]["problem"])
    return plot(summary["cases"], arrays["steps"], arrays, problem, summary["alpha"],
                summary["beta"], summary["eps"], summary["n_runs"], summary["F_star"])


def _overview(cases) -> dict:
    """Largest excess of each curve over all cases, and where the iterates exceed F(x0)."""
    out = {}
    for curve in CURVES:
        worst = max(cases, key=lambda c: c[curve]["max_F_minus_F0"])
        out[f"{curve}_max_F_minus_F0"] = worst[curve]["max_F_minus_F0"]
        out[f"{curve}_worst_case"] = {"start": worst["start"], "gamma": worst["gamma"]}
    for curve in CURVES[2:]:
        out[f"{curve}_exceeds_F0_in"] = [{"start": c["start"], "gamma": c["gamma"]}
                                         for c in cases if c[curve]["exceeds_F0"]]
    return out


def _table(summary: dict) -> str:
    head = (f"{'start':>5} {'gamma':>6} {'a':>6} {'b':>6} {'F0-F*':>9}  "
            f"{'ODE 3.3':>9} {'ODE 7.1':>9}  {'Adam bc (t, ±se)':>28}  "
            f"{'Adam no bc (t, ±se)':>28}  {'exact: bc / no bc':>19}")
    lines = ["max_t F - F(x0) (mean over runs for Adam; > 0: F(x0) exceeded)", head]
    for c in summary["cases"]:
        def adam(r):
            return f"{r['max_F_minus_F0']:+9.2e} ({r['t_at_max']:7.3g}, {r['stderr_at_max']:7.1e})"

        f0 = "" if c["F0_minus_Fstar"] is None else f"{c['F0_minus_Fstar']:9.3g}"
        lines.append(
            f"{c['start']:>5} {c['gamma']:6.3g} {c['a']:6.3g} {c['b']:6.3g} {f0:>9}  "
            f"{c['ode_debiased']['max_F_minus_F0']:+9.1e} "
            f"{c['ode_autonomous']['max_F_minus_F0']:+9.1e}  {adam(c['adam_debiased']):>28}  "
            f"{adam(c['adam_no_correction']):>28}  "
            f"{c['adam_debiased']['exact_gradient_max_F_minus_F0']:+9.1e}/"
            f"{c['adam_no_correction']['exact_gradient_max_F_minus_F0']:+9.1e}")
    return "\n".join(lines)


def plot(cases, steps, arrays, problem, alpha, beta, eps, n_runs, F_star):
    """Rows: start near / far from x*; columns: γ. F(x) − F* (log) against t (log)."""
    plt = pyplot()
    from matplotlib.ticker import NullFormatter

    gammas = sorted({c["gamma"] for c in cases}, reverse=True)
    n_cols = len(gammas)
    shift = 0.0 if F_star is None else F_star
    ode_max = {curve: max(c[curve]["max_F_minus_F0"] for c in cases) for curve in CURVES[:2]}
    styles = {
        "ode_debiased": dict(label=f"ODE (3.3), debiased: max over all panels of\n"
                                   f"max_t F − F(x0) = {ode_max['ode_debiased']:+.1e}",
                             **ODE_STYLE),
        "ode_autonomous": dict(label=f"ODE (7.1), autonomous: max over all panels\n"
                                     f"of max_t F − F(x0) = {ode_max['ode_autonomous']:+.1e}",
                               **AUTONOMOUS_STYLE),
        "adam_debiased": dict(label="Adam with bias correction", color="tab:blue", lw=1.5),
        "adam_no_correction": dict(label="Adam without bias correction", color="tab:red",
                                   lw=1.5),
    }
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(STARTS), n_cols, figsize=(3.9 * n_cols + 0.4, 9.0),
                                 layout="constrained", squeeze=False)
        for c in cases:
            i, j = STARTS.index(c["start"]), gammas.index(c["gamma"])
            ax = axes[i, j]
            key = f"{c['start']}_gamma{j}"
            t = steps * c["gamma"]
            level = c["F0"] - shift
            adam_values = []
            for curve in CURVES:
                style = styles[curve]
                if curve.startswith("ode"):
                    ax.plot(t, arrays[f"{key}_{curve}_F"] - shift, **style)
                    continue
                mean = arrays[f"{key}_{curve}_F_mean"] - shift
                band = SIGNIFICANCE * arrays[f"{key}_{curve}_F_stderr"]
                ax.fill_between(t, mean - band, mean + band, color=style["color"], alpha=0.2,
                                lw=0)
                ax.plot(t, mean, **style)
                adam_values.append(mean)
                record = c[curve]
                if record["exceeds_F0"]:
                    # The maximum is taken over every step; the plotted curve is decimated.
                    t_max, y_max = record["t_at_max"], level + record["max_F_minus_F0"]
                    ax.plot(t_max, y_max, "o", color=style["color"], ms=6, mec="black",
                            mew=0.6, zorder=6)
                    ax.annotate(f"{record['max_F_minus_F0']:+.2g}", (t_max, y_max),
                                xytext=(0, 6), textcoords="offset points", ha="center",
                                va="bottom", fontsize=9, color=style["color"],
                                fontweight="bold")
            ax.axhline(level, color="tab:green", lw=1.4, ls=":", label="level F(x0)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            low = min(min(float(np.min(v)) for v in adam_values), level)
            high = max(max(float(np.max(v)) for v in adam_values), level)
            # At least MIN_DECADES on the y axis: decade ticks only, no (slow, crowded) mathtext
            # labels on the minor ticks.
            span = max(MIN_DECADES - np.log10(high * 4 / (low / 3)), 0.0) / 2
            ax.set_ylim(low / 3 / 10**span, high * 4 * 10**span)
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(t[0], t[-1])
            ax.set_title(f"{c['start']} start x0 = {fmt_vector(c['x0'])}\n"
                         f"γ = {c['gamma']:g}  (a = {c['a']:g}, b = {c['b']:g})", fontsize=10)
            if j == 0:
                ax.set_ylabel("F(x) − F*" + ("" if F_star is None else f"  (F* = {F_star:g})"))
            if i == len(STARTS) - 1:
                ax.set_xlabel("time t = nγ (log scale)")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        handles.append(plt.Line2D([], [], ls="", marker="o", color="0.6", mec="black", mew=0.6))
        labels.append(f"max of a mean above F(x0)\n(by > {SIGNIFICANCE:g} s.e.), value annotated")
        fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9)
        fig.suptitle(f"F along the ODEs and mean of F(x_n) over {n_runs} Adam runs (band "
                     f"±{SIGNIFICANCE:g} s.e.), {steps[-1]} steps per run, "
                     f"{problem.config()['name']}\nα = {alpha:g}, β = {beta:g} at every γ, i.e. "
                     f"a = (1−α)/γ, b = (1−β)/γ (b ≤ 4a); ε = {eps:g}", fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): per (start, γ) the Monte Carlo of both variants,
    F at each of their recorded iterates, their exact-gradient paths and the two ODE solves on
    [0, n_steps·γ]; the figure."""
    from ..cost import Cost, problem_dim, step_sizes, float_bytes

    z = 3 * problem_dim(config)
    n_runs, n_steps, gammas = config["n_runs"], config["n_steps"], step_sizes(config)
    batch = min(BATCH_RUNS, n_runs)
    memory = float_bytes(batch * (n_steps + 1) * (z + 1) + 2 * (n_steps + 1))
    cases = len(STARTS) * len(gammas)
    iterations = cases * 2 * (n_runs + 1) * n_steps
    values = seconds_run_steps(F_SECONDS_PER_VALUE * cases * 2 * (n_runs + 1) * (n_steps + 1), z)
    odes = sum(ode_run_steps(n_steps * g, z, solves=2 * len(STARTS), outputs=PLOT_POINTS)
               for g in gammas)
    figure = figure_run_steps(len(STARTS) * len(gammas), z)
    return Cost(iterations + values + odes + figure, z, memory, ("n_runs", "n_steps"))
