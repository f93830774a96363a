r"""Experiment ``family``: every optimizer of the registry against its own continuous-time limit.

For each optimizer table of the config (one record of :data:`adam_ode.OPTIMIZERS`, built with
fixed hyperparameters), on one 2-D problem:

- **iterates vs limit**: ``n_runs`` noisy runs from x0 over the horizon T in the optimizer's own
  limit time (``optimizer.times``: t = nγ, Nesterov t = k·sqrt(γ), AdaGrad τ = nγ²), the number
  of steps from inverting that time map; sup_k ‖x_k − X(t_k)‖ per run against
  ``reference="limit-x"``, its median reported; 3 runs and the limit X (from
  :func:`adam_ode.integrate.solve_limit`) drawn over the contours of F;
- **measured order**: on the same problem with σ = 0 (the limit of exact-gradient iterates has
  S = ∇F², not ∇F² + σ²), exact-gradient runs for 4 step sizes, E(γ) = sup_k ‖x_k − X(t_k)‖ on the
  same horizon, and the fitted log-log slope of E against γ next to ``optimizer.limit_order``.

Adam with decreasing steps is not drawn (see ``experiments/family.toml``: on a fixed horizon its
iterates do not follow its registered limit).
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..config_checks import require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import solve_limit
from ..iterates import run_optimizer
from ..montecarlo import limit_reference, monte_carlo
from ..optimizers import OPTIMIZERS, make_optimizer
from ..problems import make_problem
from ._checks import built, figure_run_steps, ode_run_steps, require_numbers, saved
from ._plot import STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot", "steps_to_reach", "fitted_order"]

EXPERIMENT = "family"
N_SHOWN = 3  # noisy runs drawn per optimizer
N_ORDER = 4  # step sizes of the order measurement
N_LIMIT_POINTS = 600  # points of the drawn limit curve
N_PATH_POINTS = 600  # points kept per drawn path (decimated)
CONTOUR_LEVELS = 14
HORIZON_SLACK = 1e-12  # relative slack: T = n·(time step) must not lose its last step
RUN_KEYS = ("gamma", "T", "order_gammas")  # keys of an optimizer table that are not hyperparameters
N_COLUMNS = 5
# Time-map labels by limit time; what the panel titles write.
TIME_LABELS = {"t = n*gamma": "t = nγ", "t = k*sqrt(gamma)": "t = k√γ",
               "tau = n*gamma**2": "τ = nγ²"}


def steps_to_reach(optimizer, T: float) -> int:
    """The largest n with ``optimizer.times(n) <= T`` (≥ 1): the steps covering the horizon T.

    Uniform steps invert t_n = n·t_1 directly; otherwise the monotone map is bisected.
    """
    if optimizer.uniform_steps:
        dt = float(optimizer.times(1))
        return max(1, math.floor(T / dt * (1.0 + HORIZON_SLACK)))
    hi = 1
    while float(optimizer.times(hi)) <= T:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if float(optimizer.times(mid)) <= T else (lo, mid)
    return max(1, lo)


def fitted_order(gammas, errors) -> float:
    """Least-squares slope of log E against log γ."""
    return float(np.polyfit(np.log(gammas), np.log(errors), 1)[0])


def check(config: dict) -> None:
    """What the naming conventions leave: a 2-D problem and the start, and for each table
    ``optimizers.<name>`` its record (a known optimizer with known hyperparameters; a·γ, b·γ < 1
    named with the keys they come from) at γ and at each of the order's step sizes, uniform
    steps, and a horizon T covering one step."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if problem.dim != 2:
        raise ExperimentError(f"problem = {show(config['problem'])}: must be 2-D (paths over "
                              "contours)")
    require_start("x0", config["x0"], problem)
    tables = config["optimizers"]
    if not isinstance(tables, dict) or not tables:
        raise ExperimentError(f"optimizers = {show(tables)}: must be a non-empty table of "
                              "optimizer tables")
    for name, table in tables.items():
        key = f"optimizers.{name}"
        if not isinstance(table, dict):
            raise ExperimentError(f"{key} = {show(table)}: must be a table")
        for run_key in RUN_KEYS:
            if run_key not in table:
                raise ExperimentError(f"{key}.{run_key}: missing; the table {key} needs "
                                      f"{', '.join(RUN_KEYS)}")
        hyper = {k: v for k, v in table.items() if k not in RUN_KEYS}
        note = ", ".join(f"{key}.{k} = {show(v)}" for k, v in hyper.items())
        if name not in OPTIMIZERS:
            raise ExperimentError(f"{key}: unknown optimizer {name!r}; known optimizers: "
                                  f"{', '.join(OPTIMIZERS)}")
        known = inspect.signature(OPTIMIZERS[name]).parameters
        for k, v in table.items():
            if k not in known and k not in RUN_KEYS:
                raise ExperimentError(f"{key}.{k} = {show(v)}: unknown key of the table {key} "
                                      f"(its keys: {', '.join([*known, *RUN_KEYS[1:]])})")
        gamma_note = ", ".join([f"{key}.gamma = {show(table['gamma'])}"] + ([note] if note else []))
        with built(key, note=gamma_note):
            record = make_optimizer({"name": name, "gamma": table["gamma"], **hyper})
        if not record.uniform_steps:
            raise ExperimentError(f"{key}: {type(record).__name__} has non-uniform steps; this "
                                  "experiment compares on uniform time maps only")
        gammas = require_numbers(f"{key}.order_gammas", table["order_gammas"], min_distinct=2,
                                 why="the order is a fitted slope")
        for i, gamma in enumerate(gammas):
            with built(f"{key}.order_gammas[{i}]", gamma, note=f"with {note}" if note else ""):
                record.replace(gamma=gamma)
        for label, rec in [(f"{key}.gamma", record)] + [
                (f"{key}.order_gammas[{i}]", record.replace(gamma=g))
                for i, g in enumerate(gammas)]:
            step = float(rec.times(1))
            if table["T"] < step:
                raise ExperimentError(f"{key}.T = {show(table['T'])} is shorter than one step "
                                      f"of {label} (time {step:g} per step): nothing to "
                                      f"simulate; use {key}.T >= {step:g}")


def _records(config) -> dict:
    """name -> (record at the noisy γ, T, order γ's), validated."""
    tables = config.get("optimizers")
    if not isinstance(tables, dict) or not tables:
        raise ExperimentError("optimizers must be a non-empty table of optimizer tables")
    out = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ExperimentError(f"optimizers.{name} must be a table, got {table!r}")
        missing = [k for k in RUN_KEYS if k not in table]
        if missing:
            raise ExperimentError(f"optimizers.{name} lacks {', '.join(missing)}")
        hyper = {k: v for k, v in table.items() if k not in RUN_KEYS}
        T = float(table["T"])
        gammas = [float(g) for g in table["order_gammas"]]
        if not T > 0:
            raise ExperimentError(f"optimizers.{name}.T must be > 0, got {T!r}")
        if len(gammas) < 2 or any(not g > 0 for g in gammas):
            raise ExperimentError(f"optimizers.{name}.order_gammas must hold >= 2 step sizes > 0, "
                                  f"got {table['order_gammas']!r}")
        try:
            record = make_optimizer({"name": name, "gamma": float(table["gamma"]), **hyper})
            order_records = [record.replace(gamma=g) for g in gammas]
        except ValueError as err:
            raise ExperimentError(f"optimizers.{name}: {err}") from None
        if not record.uniform_steps:
            raise ExperimentError(f"optimizers.{name}: {type(record).__name__} has non-uniform "
                                  "steps; this experiment compares on uniform time maps only")
        out[name] = (record, T, order_records)
    return out


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Iterates vs limits and measured orders for each optimizer table (module docstring)."""
    problem = make_problem(config["problem"])
    if problem.dim != 2:
        raise ExperimentError(f"problem must be 2-D (paths over contours), got {problem!r}")
    exact = make_problem({**problem.config(), "sigma": 0.0})  # same F, σ = 0: the order part
    x0 = np.asarray(config["x0"], dtype=float)
    n_runs = config["n_runs"]
    records = _records(config)
    seeds = ctx.seed_sequence().spawn(len(records))

    summary = {"problem": problem.config(), "x0": x0.tolist(), "optimizers": {}}
    arrays = {}
    with ctx.progress(2 * len(records), desc=EXPERIMENT) as bar:
        for (name, (record, T, order_records)), seed in zip(records.items(), seeds):
            n_steps = steps_to_reach(record, T)
            t_n = float(record.times(n_steps))
            mc = monte_carlo(problem, record, x0, n_steps, n_runs, seed, reference="limit-x",
                             record_every=1, track_grad_norm=False, workers=ctx.workers)
            limit = solve_limit(problem, record.limit(), x0, t_n)
            t_curve = np.linspace(0.0, t_n, N_LIMIT_POINTS)
            stride = max(1, n_steps // N_PATH_POINTS)
            arrays[f"{name}_limit"] = limit(t_curve)[:, :problem.dim]
            arrays[f"{name}_paths"] = mc.record_x[:N_SHOWN, ::stride]
            arrays[f"{name}_sup_distance"] = mc.sup_distance
            bar.update()

            errors, steps = [], []
            for rec in order_records:
                n = steps_to_reach(rec, T)
                x = run_optimizer(exact, rec, x0, n, 0, noise=False)[:, :problem.dim]
                X = limit_reference(exact, rec, x0, n, x_only=True)
                errors.append(float(np.max(np.linalg.norm(x - X, axis=1))))
                steps.append(n)
            gammas = [rec.gamma for rec in order_records]
            arrays[f"{name}_order_errors"] = np.array(errors)
            arrays[f"{name}_order_gammas"] = np.array(gammas)
            summary["optimizers"][name] = {
                "record": record.config(),
                "gamma": record.gamma,
                "n_steps": n_steps,
                "T": t_n,
                "time": record.limit().time,
                "sup_distance_median": float(np.median(mc.sup_distance)),
                "sup_distance_q90": float(np.quantile(mc.sup_distance, 0.9)),
                "order_measured": fitted_order(gammas, errors),
                "order_expected": float(record.limit_order),
                "order_gammas": gammas,
                "order_n_steps": steps,
                "order_sup_errors": errors,
            }
            bar.update()
    summary["excluded"] = {"adam-decreasing": "iterates on t_n = sum gamma_k follow the debiased "
                           "ODE (3.3) on a fixed horizon, not the registered autonomous limit "
                           "(7.1); see experiments/family.toml"}
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    problem = make_problem(config["problem"])
    x0 = np.asarray(summary["x0"], dtype=float)
    title = (f"{describe_problem(problem)}, x0 = [{', '.join(f'{v:g}' for v in x0)}]: "
             f"{N_SHOWN} of {config['n_runs']} noisy runs per optimizer vs its continuous-time "
             "limit")
    return plot(problem, arrays, summary, x0, title)


def format_table(summary: dict, short: bool = False) -> str:
    if short:  # the figure's free panel
        lines = [f"{'':>12} {'median':>7} {'order':>6} {'exp.':>5}",
                 f"{'':>12} {'sup dist':>7} {'meas.':>6} {'':>5}"]
        for name, rec in summary["optimizers"].items():
            lines.append(f"{name:>12} {rec['sup_distance_median']:7.3f} "
                         f"{rec['order_measured']:6.3f} {rec['order_expected']:5.2f}")
        lines += ["", "noisy runs vs limit: sup over the", "panel's horizon, median of runs;",
                  "order: slope of the noise-free", "sup error against gamma (sigma = 0).",
                  "adamax: the limit is noise-free;", "under noise u grows, the iterates lag.",
                  "adam-decreasing: not drawn", "(see experiments/family.toml)."]
        return "\n".join(lines)
    lines = [f"{'optimizer':>13} {'gamma':>9} {'n_steps':>8} {'T':>6} "
             f"{'median sup|x_k - X(t_k)|':>25} {'order':>6} {'expected':>8}"]
    for name, rec in summary["optimizers"].items():
        lines.append(f"{name:>13} {rec['gamma']:9.3g} {rec['n_steps']:8d} {rec['T']:6.3g} "
                     f"{rec['sup_distance_median']:25.3g} {rec['order_measured']:6.3f} "
                     f"{rec['order_expected']:8.2f}")
    return "\n".join(lines)


def plot(problem, arrays, summary, x0, title=""):
    """One contour panel per optimizer (iterates and limit); bottom row: errors vs γ, orders."""
    plt = pyplot()
    names = list(summary["optimizers"])
    n_rows = math.ceil(len(names) / N_COLUMNS)
    layout = [[f"p{r * N_COLUMNS + c}" for c in range(N_COLUMNS)] for r in range(n_rows)]
    half = N_COLUMNS // 2
    layout.append(["errors"] * half + ["orders"] * (N_COLUMNS - half))
    colours = plt.get_cmap("tab10")(np.arange(len(names)) % 10)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplot_mosaic(layout, figsize=(4.0 * N_COLUMNS, 3.9 * (n_rows + 1)),
                                       layout="constrained", empty_sentinel=None)
        pts = np.concatenate([arrays[f"{n}_limit"] for n in names]
                             + [arrays[f"{n}_paths"].reshape(-1, 2) for n in names])
        lo, hi = np.nanmin(pts, axis=0), np.nanmax(pts, axis=0)
        pad = 0.08 * (hi - lo) + 0.05
        g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 201)
        g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 201)
        X1, X2 = np.meshgrid(g1, g2)
        Fv = problem.F(np.stack([X1, X2], axis=-1))
        for k, (name, colour) in enumerate(zip(names, colours)):
            ax, rec = axes[f"p{k}"], summary["optimizers"][name]
            ax.contour(X1, X2, Fv, levels=CONTOUR_LEVELS, colors="0.8", linewidths=0.7)
            for j, path in enumerate(arrays[f"{name}_paths"]):
                ax.plot(path[:, 0], path[:, 1], "-", color=colour, lw=1.1, alpha=0.8,
                        label=f"iterates ({N_SHOWN} runs)" if j == 0 else None)
            X = arrays[f"{name}_limit"]
            ax.plot(X[:, 0], X[:, 1], "--", color="k", lw=1.3, label="limit X(t)", zorder=5)
            ax.plot(*x0, "o", color="k", ms=4)
            if problem.minimizer is not None:
                ax.plot(*problem.minimizer, "*", color="k", ms=9)
            time = TIME_LABELS.get(rec["time"], rec["time"])
            ax.set_title(f"{name}: γ = {rec['gamma']:g}, {rec['n_steps']} steps, "
                         f"{time} ≤ {rec['T']:.3g}\nmedian sup‖x_k − X(t_k)‖ = "
                         f"{rec['sup_distance_median']:.3f}", fontsize=9.5)
            ax.set_xlim(g1[0], g1[-1])
            ax.set_ylim(g2[0], g2[-1])
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
            ax.legend(loc="lower right", fontsize=7.5)
        for k in range(len(names), n_rows * N_COLUMNS):
            axes[f"p{k}"].set_axis_off()
        if len(names) < n_rows * N_COLUMNS:  # a free slot: the numbers of the panels
            axes[f"p{n_rows * N_COLUMNS - 1}"].text(
                0.0, 1.0, format_table(summary, short=True), family="monospace", fontsize=7.5,
                va="top", ha="left", transform=axes[f"p{n_rows * N_COLUMNS - 1}"].transAxes)

        ax = axes["errors"]
        for name, colour in zip(names, colours):
            g, e = arrays[f"{name}_order_gammas"], arrays[f"{name}_order_errors"]
            rec = summary["optimizers"][name]
            ax.plot(g / g[0], e / e[0], "o-", color=colour, lw=1.4, ms=4,
                    label=f"{name} (slope {rec['order_measured']:.2f})")
        r = np.array([1.0, 1.0 / 8.0])
        ax.plot(r, r, "k--", lw=1, label="slope 1")
        ax.plot(r, np.sqrt(r), "k:", lw=1.2, label="slope 1/2")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("γ / γ_max (4 step sizes per optimizer)")
        ax.set_ylabel("E(γ) / E(γ_max)")
        ax.set_title("Noise-free sup_k ‖x_k − X(t_k)‖ on the panel's horizon (σ = 0)")
        ax.legend(fontsize=7.5, ncol=2, loc="lower right")

        ax = axes["orders"]
        pos = np.arange(len(names))
        measured = [summary["optimizers"][n]["order_measured"] for n in names]
        expected = [summary["optimizers"][n]["order_expected"] for n in names]
        ax.bar(pos - 0.2, measured, width=0.4, color=colours, label="measured slope")
        ax.bar(pos + 0.2, expected, width=0.4, color="0.75", edgecolor="k", lw=0.6,
               label="optimizer.limit_order")
        for p_, m in zip(pos, measured):
            ax.text(p_ - 0.2, m + 0.02, f"{m:.2f}", ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(pos, names, rotation=25, ha="right")
        ax.set_ylim(0, 1.25)
        ax.set_ylabel("order in γ")
        ax.set_title("Measured order (fitted log-log slope) vs expected")
        ax.legend(fontsize=8, loc="upper left", ncol=2)
        if title:
            fig.suptitle(title, fontsize=11)
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): n_runs noisy runs per optimizer plus the
    noise-free order sweeps, each on its own time map, and the limit solves on the horizon
    (the drawn limit, the Monte Carlo's reference, one reference per order step size), the
    figure."""
    from ..cost import FLOAT_BYTES, Cost
    from ..optimizers import make_optimizer

    d = len(config["x0"])
    run_steps, widest = 0, 1
    for name, table in config["optimizers"].items():
        params = {k: v for k, v in table.items() if k not in ("T", "order_gammas")}
        record = make_optimizer({"name": name, **params})
        widest = max(widest, record.n_slots)
        for gamma, runs in [(params["gamma"], config["n_runs"])] + \
                [(g, 1) for g in table["order_gammas"]]:
            step = record.replace(gamma=gamma).times(1)
            run_steps += runs * int(table["T"] / float(step)) + runs
        run_steps += ode_run_steps(table["T"], record.n_slots * d,
                                   solves=2 + len(table["order_gammas"]),
                                   outputs=N_LIMIT_POINTS)
    panels = len(config["optimizers"]) + 3  # a panel each, the numbers, errors and orders
    return Cost(run_steps=run_steps + figure_run_steps(panels, widest * d),
                state_floats=widest * d,
                memory_bytes=run_steps // max(config["n_runs"], 1) * widest * d * FLOAT_BYTES,
                keys=("n_runs", "optimizers.<name>.T"))
