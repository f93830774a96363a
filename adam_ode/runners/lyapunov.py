"""Experiment ``lyapunov``: is V(t, z(t)) nonincreasing along the Adam ODE, and when not?

For each (a, b) of ``pairs`` the runner measures, with :func:`adam_ode.paper.verify_lyapunov`,
the largest rise of the energy above its running minimum, whether V is monotone (up to the
solver-tolerance threshold), max_t F(x(t)) − F(x0) and max_t [dV/dt − bound]; it then maps the
largest rise over ``a_values × b_values``. Figure: V(t, z(t)) and F(x(t)) against log time for
the pairs, and the (a, b) phase diagram with the line b = 4a.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np

from .._validation import LyapunovWarning
from ..analysis.discrete_energy import N_POINTS, discrete_energy
from ..config_checks import require_positive, require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..optimizers import Adam
from ..paper import lyapunov_phase_diagram, verify_lyapunov
from ..problems import make_problem
from ._checks import (built, num, ode_run_steps, require_horizon, require_int, require_numbers,
                        saved)
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "format_table", "plot"]

EXPERIMENT = "lyapunov"
T_MIN_PLOT = 1e-3  # left end of the log time axis: the early, bias-corrected phase is visible
COLOUR_DECADES = 100.0  # phase-diagram colour scale spans at least this factor below the max rise
MONOTONE_COLOUR = "0.88"  # grey of the cells where V is nonincreasing


def check(config: dict) -> None:
    """What the naming conventions leave: the start, the (a, b) pairs and grid axes, the time
    grid, and the Adam record of the discrete analogue for each pair."""
    with built("problem"):
        problem = make_problem(config["problem"])
    require_start("x0", config["x0"], problem)
    require_int("n_times", config["n_times"], 2)  # the uniform grid holds t = 0 and t = T
    pairs = config["pairs"]
    if not isinstance(pairs, list) or not pairs:
        raise ExperimentError(f"pairs = {show(pairs)}: must be a non-empty list of [a, b] pairs")
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ExperimentError(f"pairs[{i}] = {show(pair)}: must be [a, b], two numbers")
        for j, value in enumerate(pair):
            require_positive(f"pairs[{i}][{j}]", value)
    for key in ("a_values", "b_values"):
        require_numbers(key, config[key], increasing=True,
                        why="the phase diagram's cells lie between neighbouring values")
    gamma = config["discrete_gamma"]
    for i, (a, b) in enumerate(pairs):
        with built("discrete_gamma", gamma, note=f"pairs[{i}] = {show([a, b])}"):  # aγ, bγ < 1
            Adam(gamma, a, b, config["eps"])
    require_horizon("T", config["T"], "discrete_gamma", gamma)


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Run the Lyapunov verification table and phase diagram (see the module docstring)."""
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    eps, T, n_times = config["eps"], config["T"], config["n_times"]
    pairs = np.asarray(config["pairs"], dtype=float)  # (n, 2), checked by check()
    n_cells = len(config["a_values"]) * len(config["b_values"])

    records, discrete = [], []
    seeds = np.random.SeedSequence(ctx.seed).spawn(len(pairs))
    with ctx.progress(2 * len(pairs) + n_cells, desc=EXPERIMENT) as bar:
        for a, b in pairs:
            records.append(verify_lyapunov(problem, x0, a, b, eps, T, n_times=n_times))
            bar.update()
        for (a, b), seed in zip(pairs, seeds):
            with warnings.catch_warnings():  # b > 4a is part of what is studied
                warnings.simplefilter("ignore", LyapunovWarning)
                adam = Adam(config["discrete_gamma"], a, b, eps)
            discrete.append(discrete_energy(problem, adam, x0, T, config["discrete_runs"], seed,
                                            workers=ctx.workers))
            bar.update()
        phase = lyapunov_phase_diagram(problem, x0, config["a_values"], config["b_values"], eps,
                                       T, n_times=n_times, callback=bar.update)

    table = [rec.as_dict() for rec in records]
    ok = [rec for rec in records if rec.lyapunov_condition]
    summary = {
        "problem": problem.config(),
        "table": table,
        "all_monotone_when_b_le_4a": all(rec.monotone for rec in ok),
        "max_energy_increase_when_b_le_4a": max((rec.max_energy_increase for rec in ok),
                                                default=0.0),
        "max_F_minus_F0_when_b_le_4a": max((rec.max_F_minus_F0 for rec in ok), default=0.0),
        "monotone_tolerance": max(rec.tolerance for rec in records),
        "discrete": [rec.as_dict() for rec in discrete],
        "phase_diagram": {
            "a_values": phase.a_values, "b_values": phase.b_values,
            "max_energy_increase": phase.max_energy_increase, "monotone": phase.monotone,
            "violations_when_b_le_4a": int(np.sum(~phase.monotone & phase.lyapunov_condition)),
            "violations_when_b_gt_4a": int(np.sum(~phase.monotone & ~phase.lyapunov_condition)),
        },
    }
    arrays = {"pairs": pairs, "phase_a_values": phase.a_values,
              "phase_b_values": phase.b_values,
              "phase_max_energy_increase": phase.max_energy_increase,
              "phase_monotone": phase.monotone}
    for i, (rec, drec) in enumerate(zip(records, discrete)):
        arrays[f"pair{i}_t"] = rec.t
        arrays[f"pair{i}_V"] = rec.V
        arrays[f"pair{i}_F"] = rec.F
        arrays[f"pair{i}_discrete_t"] = drec.t
        arrays[f"pair{i}_discrete_mean_V"] = drec.mean_V
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(records, _title(config, problem), discrete))


def _title(config: dict, problem) -> str:
    return (f"{describe_problem(problem)}, x0 = [{', '.join(f'{v:g}' for v in config['x0'])}], "
            f"eps = {config['eps']:g}, T = {config['T']:g}")


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    records = [SimpleNamespace(a=num(rec["a"]), b=num(rec["b"]),
                               lyapunov_condition=rec["b_le_4a"], monotone=rec["monotone"],
                               max_energy_increase=num(rec["max_energy_increase"]),
                               t_max_increase=num(rec["t_max_increase"]),
                               t=arrays[f"pair{i}_t"], V=arrays[f"pair{i}_V"],
                               F=arrays[f"pair{i}_F"])
               for i, rec in enumerate(summary["table"])]
    discrete = [SimpleNamespace(gamma=num(rec["gamma"]), n_runs=rec["n_runs"],
                                t=arrays[f"pair{i}_discrete_t"],
                                mean_V=arrays[f"pair{i}_discrete_mean_V"])
                for i, rec in enumerate(summary["discrete"])]
    phase = SimpleNamespace(a_values=arrays["phase_a_values"], b_values=arrays["phase_b_values"],
                            max_energy_increase=arrays["phase_max_energy_increase"],
                            monotone=arrays["phase_monotone"])
    return plot(records, phase, _title(config, make_problem(config["problem"])), discrete)


def format_table(records, title: str = "", discrete=()) -> str:
    """Plain-text verification table, one line per (a, b)."""
    head = (f"{'a':>7} {'b':>7}  {'b<=4a':>5}  {'max rise of V':>13}  {'at t':>7}  "
            f"{'monotone':>8}  {'max F-F(x0)':>11}  {'max dV/dt-bound':>15}")
    lines = [f"Lyapunov energy along the Adam ODE: {title}" if title else "", head,
             "-" * len(head)]
    for rec in records:
        # Rises within the solver-tolerance threshold are rounding noise: shown as 0.
        rise = f"{0:13d}" if rec.monotone else f"{rec.max_energy_increase:13.4g}"
        at = f"{'-':>7}" if rec.monotone else f"{rec.t_max_increase:7.3f}"
        lines.append(
            f"{rec.a:7.3g} {rec.b:7.3g}  {'yes' if rec.lyapunov_condition else 'NO':>5}  {rise}  "
            f"{at}  {'yes' if rec.monotone else 'NO':>8}  {rec.max_F_minus_F0:11.3g}  "
            f"{rec.max_rate_minus_bound:15.3g}")
    tol = max(rec.tolerance for rec in records)
    lines.append(f"monotone: max rise <= {tol:.1e} (solver-tolerance threshold; smaller rises "
                 "are shown as 0). Lemma 7.5 guarantees it when b <= 4a.")
    if discrete:
        d0 = discrete[0]
        lines.append(f"Discrete analogue: mean over {d0.n_runs} Adam runs of V(n gamma, z_n), "
                     f"gamma = {d0.gamma:g}")
        head = (f"{'a':>7} {'b':>7}  {'max rise of E V':>15}  {'max |E V - V_ode|':>17}  "
                f"{'max E F - F(x0)':>15}")
        lines += [head, "-" * len(head)]
        for rec in discrete:
            lines.append(f"{rec.a:7.3g} {rec.b:7.3g}  {rec.max_mean_increase:15.3g}  "
                         f"{rec.max_gap_to_ode:17.3g}  {rec.max_mean_F_minus_F0:15.3g}")
    return "\n".join(line for line in lines if line)


def _log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges for a log-spaced axis: geometric midpoints, extended by half a step."""
    logs = np.log(values)
    if values.size == 1:
        return values * np.array([0.5, 2.0])
    mids = 0.5 * (logs[1:] + logs[:-1])
    return np.exp(np.concatenate([[2 * logs[0] - mids[0]], mids, [2 * logs[-1] - mids[-1]]]))


def _grid_ticks(axis, values) -> None:
    """Ticks exactly at the grid values, labelled in plain notation."""
    from matplotlib.ticker import FixedLocator, NullLocator

    axis.set_major_locator(FixedLocator(values))
    axis.set_major_formatter(lambda v, _pos: f"{v:g}")
    axis.set_minor_locator(NullLocator())


def plot(records, phase, title: str = "", discrete=()):
    """Panels: V(t, z(t)), F(x(t)) (log time), E V along Adam iterates, (a, b) phase diagram."""
    plt = pyplot()
    from matplotlib.colors import LogNorm

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2, figsize=(2 * FIGSIZE_PANEL[0] + 1, 2 * FIGSIZE_PANEL[1]),
                                 layout="constrained")
        (ax_v, ax_f), (ax_d, ax_p) = axes
        ok = [r for r in records if r.lyapunov_condition]
        bad = [r for r in records if not r.lyapunov_condition]
        blues = plt.cm.Blues(np.linspace(0.45, 0.95, max(len(ok), 1)))
        reds = plt.cm.Reds(np.linspace(0.45, 0.95, max(len(bad), 1)))
        colours = {id(r): c for r, c in zip(ok, blues)} | {id(r): c for r, c in zip(bad, reds)}
        for rec in records:
            keep = rec.t >= T_MIN_PLOT
            style = "-" if rec.lyapunov_condition else "--"
            label = f"a={rec.a:g}, b={rec.b:g}" + ("" if rec.monotone else
                                                   f"  (rise {rec.max_energy_increase:.3g})")
            kw = dict(color=colours[id(rec)], ls=style, lw=1.5, label=label)
            ax_v.plot(rec.t[keep], rec.V[keep], **kw)
            ax_f.plot(rec.t[keep], rec.F[keep], **kw)
            if not rec.monotone:
                ax_v.plot(rec.t_max_increase, np.interp(rec.t_max_increase, rec.t, rec.V), "o",
                          color=colours[id(rec)], ms=5)
        for rec, drec in zip(records, discrete):
            keep = drec.t >= T_MIN_PLOT
            ax_d.plot(drec.t[keep], drec.mean_V[keep], color=colours[id(rec)],
                      ls="-" if rec.lyapunov_condition else "--", lw=1.5,
                      label=f"a={rec.a:g}, b={rec.b:g}")
        if discrete:
            ax_d.set_title(f"Discrete analogue: mean of V(nγ, z_n) over {discrete[0].n_runs} "
                           f"Adam runs, γ = {discrete[0].gamma:g}")
            ax_d.axhline(records[0].F[0], color="0.4", lw=0.8, ls=":")
            ax_d.set_xscale("log")
            ax_d.set_xlabel("time t = nγ (log scale)")
            ax_d.set_ylabel("E V(nγ, z_n)")
        else:
            ax_d.set_visible(False)
        F0 = records[0].F[0]
        for ax, name in ((ax_v, "energy V(t, z(t))"), (ax_f, "objective F(x(t))")):
            ax.axhline(F0, color="0.4", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_xlabel("time t (log scale)")
            ax.set_ylabel(name)
        ax_v.set_title("Lyapunov energy (solid: b ≤ 4a, dashed: b > 4a)")
        ax_f.set_title("Objective along the ODE (dotted: F(x0))")
        ax_v.legend(loc="lower left")

        # Monotone cells (rise within the solver tolerance) are masked and drawn in grey; the
        # violations get a log colour scale spanning their own range.
        rises = phase.max_energy_increase
        masked = np.ma.masked_where(phase.monotone, rises)
        violating = rises[~phase.monotone]
        vmax = float(violating.max()) if violating.size else 1.0
        vmin = min(float(violating.min()) if violating.size else vmax, vmax / COLOUR_DECADES)
        cmap = plt.get_cmap("magma_r").with_extremes(bad=MONOTONE_COLOUR)
        mesh = ax_p.pcolormesh(_log_edges(phase.a_values), _log_edges(phase.b_values), masked,
                               norm=LogNorm(vmin, vmax), cmap=cmap, shading="flat")
        for i, b in enumerate(phase.b_values):
            for j, a in enumerate(phase.a_values):
                if phase.monotone[i, j]:
                    text, colour = "0", "0.3"
                else:
                    dark = np.log(rises[i, j] / vmin) > 0.5 * np.log(vmax / vmin)
                    text, colour = f"{rises[i, j]:.2g}", ("white" if dark else "black")
                ax_p.text(a, b, text, ha="center", va="center", fontsize=8, color=colour)
        a_line = _log_edges(phase.a_values)[[0, -1]]
        ax_p.plot(a_line, 4 * a_line, color="tab:cyan", lw=2, label="b = 4a")
        ax_p.set_xscale("log")
        ax_p.set_yscale("log")
        _grid_ticks(ax_p.xaxis, phase.a_values)
        _grid_ticks(ax_p.yaxis, phase.b_values)
        ax_p.set_xlim(a_line)
        ax_p.set_ylim(_log_edges(phase.b_values)[[0, -1]])
        ax_p.set_xlabel("a  (α = 1 − aγ)")
        ax_p.set_ylabel("b  (β = 1 − bγ)")
        ax_p.set_title("max rise of V above its running minimum")
        ax_p.grid(False)
        ax_p.legend(loc="lower right", title="grey: V nonincreasing", title_fontsize=8)
        fig.colorbar(mesh, ax=ax_p, label="max_t [V(t) − min_(s≤t) V(s)]")
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): the discrete analogue's Monte Carlo, and the ODE
    solves (one per pair and per phase-diagram cell, evaluated on ``n_times`` points, plus one
    per pair for the discrete analogue's reference)."""
    from ..cost import Cost, problem_dim, steps_covering, float_bytes

    z = 3 * problem_dim(config)
    n = steps_covering(config["T"], config["discrete_gamma"], "T", "discrete_gamma")
    runs = config["discrete_runs"]
    pairs = len(config["pairs"])
    cells = pairs + len(config["a_values"]) * len(config["b_values"])
    memory = float_bytes(runs * 1000 * z + 4 * cells * config["n_times"] * z)
    solves = (ode_run_steps(config["T"], z, cells, config["n_times"])
              + ode_run_steps(config["T"], z, pairs, N_POINTS))
    return Cost(pairs * runs * n + solves, z, memory, ("discrete_runs", "T", "n_times"))
