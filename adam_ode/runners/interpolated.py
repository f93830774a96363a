r"""Experiment ``interpolated``: the interpolated Adam process z^γ(t) against the ODE solution z(t).

z^γ is piecewise linear through (nγ, z_n), z_n = (x_n, m_n, v_n) the Adam iterates
(Algorithm 2.1, α = 1 − aγ, β = 1 − bγ). Theorem 4.3: for every T, δ > 0,
P(sup_{t ≤ T} ‖z^γ(t) − z(t)‖ > δ) → 0 as γ ↓ 0, z the solution of the non-autonomous ODE (3.3).
For each γ one sample path (run 0 of the γ's random stream, not selected) is drawn coordinate by
coordinate against z(t); its sup distance is reported, per coordinate and for x and z, next to
the median and 90 % quantile over ``n_runs`` runs of the same stream (run 0 included), which say
whether the shown path is typical. The sup is taken on the grid nγ: between grid points z^γ is
linear and z is smooth, so the grid misses at most the O(γ²) interpolation error of z.
"""

from __future__ import annotations

import numpy as np

from ..config_checks import require_start
from ..experiments import ExperimentResult, RunContext, register
from ..paper import solve_ode
from ..iterates import Adam
from ..montecarlo import monte_carlo, steps_for_horizon
from ..problems import make_problem
from ..state import unpack
from ._checks import (built, figure_run_steps, ode_run_steps, require_adam_steps, require_labels,
                      require_numbers, saved)
from ._paths import ODE_STYLE, check_gammas, fmt_vector, gamma_colours
from ._plot import STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot"]

EXPERIMENT = "interpolated"
ODE_POINTS = 2001  # dense grid of the ODE curves in the figure
SHOWN_RUN = 0  # the path drawn: the first run of each γ's stream (no selection)
SUP_QUANTILE = 0.9  # upper quantile of the sup distance over runs reported with the median
FIGURE_PANEL_WEIGHT = 0.25  # its panels are small (one curve pair each): 18 cost 1.8 s


def check(config: dict) -> None:
    """What the naming conventions leave: the problem and the start, and Adam's record at each
    γ (distinct: they name the summary's entries; a·γ, b·γ < 1; T >= γ)."""
    with built("problem"):
        problem = make_problem(config["problem"])
    require_start("x0", config["x0"], problem)
    gammas = require_numbers("gammas", config["gammas"])
    require_labels("gammas", gammas)
    require_adam_steps(config, gammas)


def _coordinate_names(dim: int) -> list:
    return [f"{s}{i + 1}" for s in ("x", "m", "v") for i in range(dim)]


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """One interpolated path per γ against the ODE, sup distances (see the module docstring)."""
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    a, b, eps, T = config["a"], config["b"], config["eps"], config["T"]
    gammas = check_gammas(config["gammas"])
    n_runs = config["n_runs"]
    d = problem.dim
    names = _coordinate_names(d)

    # One solve serves every γ: the dense output is evaluated on each grid nγ.
    ode = solve_ode(problem, x0, a, b, eps, T, debias=True)
    t_ode = np.linspace(0.0, T, ODE_POINTS)
    arrays = {"gammas": np.array(gammas), "ode_t": t_ode, "ode_z": ode(t_ode)}
    seeds = ctx.seed_sequence().spawn(len(gammas))
    per_gamma = []
    with ctx.progress(len(gammas) * (n_runs + 1), desc=EXPERIMENT) as bar:
        for i, (gamma, seed) in enumerate(zip(gammas, seeds)):
            n_steps = steps_for_horizon(T, gamma)
            t = np.arange(n_steps + 1) * gamma
            reference = np.ascontiguousarray(ode(np.minimum(t, T)))
            adam = Adam(gamma, a, b, eps)
            shown = monte_carlo(problem, adam, x0, n_steps, SHOWN_RUN + 1, seed,
                                reference=reference, record_every=1, track_grad_norm=False,
                                workers=1, progress=bar.update)
            stats = monte_carlo(problem, adam, x0, n_steps, n_runs, seed, reference=reference,
                                track_grad_norm=False, workers=ctx.workers,
                                progress=bar.update)
            z = shown.record[SHOWN_RUN]
            gap = z - reference
            x_gap = unpack(gap)[0]
            sup = stats.sup_distance[np.isfinite(stats.sup_distance)]
            per_gamma.append({
                "gamma": gamma, "n_steps": n_steps,
                "shown_run": SHOWN_RUN,
                "sup_distance_z": float(shown.sup_distance[SHOWN_RUN]),
                "sup_distance_x": float(np.max(np.linalg.norm(x_gap, axis=1))),
                "sup_per_coordinate": {name: float(v) for name, v in
                                       zip(names, np.max(np.abs(gap), axis=0))},
                "runs": {"n_runs": n_runs, "n_diverged": int(stats.diverged.sum()),
                         "median_sup_distance_z": float(np.median(sup)) if sup.size else None,
                         f"q{int(100 * SUP_QUANTILE)}_sup_distance_z":
                             float(np.quantile(sup, SUP_QUANTILE)) if sup.size else None},
            })
            arrays[f"gamma{i}_t"] = t
            arrays[f"gamma{i}_z"] = z

    sups = [g["sup_distance_z"] for g in per_gamma]
    summary = {
        "problem": problem.config(), "x0": x0, "a": a, "b": b, "eps": eps, "T": T,
        "coordinates": names,
        "per_gamma": per_gamma,
        "sup_distance_z_shown": dict(zip([f"{g:g}" for g in gammas], sups)),
        "sup_decreases_with_gamma": bool(all(s1 > s2 for s1, s2 in zip(sups, sups[1:])))
        if gammas == sorted(gammas, reverse=True) else None,
    }
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    gammas = [float(g) for g in arrays["gammas"]]
    paths = [(arrays[f"gamma{i}_t"], arrays[f"gamma{i}_z"]) for i in range(len(gammas))]
    title = (r"Interpolated Adam process $z^\gamma(t)$ (colour) vs ODE $z(t)$ (black): x0 = "
             f"{fmt_vector(summary['x0'])}, a = {summary['a']:g}, b = {summary['b']:g}, "
             f"ε = {summary['eps']:g}, {summary['problem']['name']}")
    return plot(arrays["ode_t"], arrays["ode_z"], gammas, paths, summary["per_gamma"],
                summary["coordinates"], title)


def _table(summary: dict) -> str:
    names = summary["coordinates"]
    head = (f"{'gamma':>7} {'steps':>6}  {'sup|z-ode|':>10} {'sup|x-ode|':>10}  "
            + " ".join(f"{n:>7}" for n in names) + f"  {'median/q90 over runs':>22}")
    lines = ["Sup distance of the shown path (run 0) to the ODE, per coordinate", head]
    for g in summary["per_gamma"]:
        runs = g["runs"]
        q_key = [k for k in runs if k.startswith("q")][0]
        lines.append(f"{g['gamma']:7.3g} {g['n_steps']:6d}  {g['sup_distance_z']:10.4g} "
                     f"{g['sup_distance_x']:10.4g}  "
                     + " ".join(f"{g['sup_per_coordinate'][n]:7.3g}" for n in names)
                     + f"  {runs['median_sup_distance_z']:10.4g} / {runs[q_key]:9.4g}")
    return "\n".join(lines)


def plot(t_ode, z_ode, gammas, paths, per_gamma, names, title=""):
    """Grid of panels: one row per coordinate of z = (x, m, v), one column per γ."""
    plt = pyplot()
    colours = gamma_colours(len(gammas))
    n_rows, n_cols = len(names), len(gammas)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols + 0.6, 1.75 * n_rows + 0.8),
                                 sharex=True, sharey="row", layout="constrained", squeeze=False)
        for j, (gamma, (t, z), info, c) in enumerate(zip(gammas, paths, per_gamma, colours)):
            for r, name in enumerate(names):
                ax = axes[r, j]
                ax.plot(t, z[:, r], color=c, lw=0.9 if len(t) < 2000 else 0.6,
                        label=rf"$z^\gamma$, γ = {gamma:g}")
                ax.plot(t_ode, z_ode[:, r], label="ODE $z(t)$", **{**ODE_STYLE, "lw": 1.3})
                if j == 0:
                    ax.set_ylabel(f"${name[0]}_{{{name[1:]}}}$", fontsize=12)
                if r == n_rows - 1:
                    ax.set_xlabel("time t = nγ")
            axes[0, j].set_title(f"γ = {gamma:g} ({info['n_steps']} steps)\n"
                                 rf"sup$_t\|z^\gamma - z\|$ = {info['sup_distance_z']:.3g}, "
                                 rf"sup$_t\|x^\gamma - x\|$ = {info['sup_distance_x']:.3g}")
            # x2 (second row) ends flat at x2*: its upper right corner is free for the legend.
            axes[min(1, n_rows - 1), j].legend(loc="upper right")
        axes[0, 0].set_xlim(0, t_ode[-1])
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): n_runs + 1 runs per γ and the ODE solve on [0, T]
    evaluated on each γ's grid, the figure."""
    from ..cost import (Cost, problem_dim, steps_covering, step_sizes, float_bytes, PER_RUN_FLOATS,
                        REFERENCE_COPIES)

    z = 3 * problem_dim(config)
    n_runs, gammas = config["n_runs"], step_sizes(config)
    steps = [steps_covering(config["T"], g) for g in gammas]
    # reference, the shown path and its gap to the reference, all (N+1, 3d), kept per γ
    memory = float_bytes(sum((REFERENCE_COPIES + 2) * (n + 1) * z for n in steps)
                         + n_runs * (PER_RUN_FLOATS + z))
    ode = ode_run_steps(config["T"], z, outputs=ODE_POINTS + sum(n + 1 for n in steps))
    figure = figure_run_steps(len(gammas) * z * FIGURE_PANEL_WEIGHT, z)
    return Cost((n_runs + 1) * sum(steps) + ode + figure, z, memory, ("n_runs", "gammas"))
