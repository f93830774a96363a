r"""Experiment ``quadratic-d100``: autonomous vs non-autonomous Adam ODE in dimension 100.

The talk's "Solutions de l'EDO ADAM autonome / non autonome pour un problème stochastique
quadratique en dimension 100". On StochasticQuadratic (h_i log-spaced in [1e-2, 1], additive
gradient noise σ) the runner solves, from the same x0,

- the non-autonomous ODE (eq. 3.3, bias-corrected), the small-step limit of Algorithm 2.1, and
- the autonomous ODE (eq. 7.1, no bias correction), the limit of Adam without bias correction,

and runs ``n_runs`` Adam paths with and without bias correction for each γ of ``gammas``. Each
family of iterates is compared with both ODEs: sup over the recorded times of ‖x_n − x(nγ)‖, which
should be small for the matching ODE and larger for the other one. Figure: F(x(t)), ‖x(t)‖ and
three coordinates (stiff, middle, flat curvature) against log time, ODEs as lines and iterates as
median with a 10–90 % band.
"""

from __future__ import annotations

import numpy as np

from ..config_checks import require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..paper import solve_ode
from ..iterates import Adam
from ..montecarlo import monte_carlo, steps_for_horizon
from ..problems import StochasticQuadratic, make_problem
from ..state import unpack
from ._checks import (built, ode_run_steps, require_adam_steps, require_labels, require_numbers,
                      saved)
from ._paths import fmt_vector
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot"]

EXPERIMENT = "quadratic-d100"
N_LOG_TIMES = 300  # log-spaced ODE output times on [T_MIN_PLOT, T] (plus t = 0)
T_MIN_PLOT = 1e-3  # left end of the log time axis: the bias-corrected start is visible
N_RECORDS = 500  # recorded iterate states per run (record_every = n_steps // N_RECORDS)
BAND = (10, 90)  # percentiles of the iterate bands
EARLY_T = 5.0  # transient window where the two ODEs differ (their gap peaks near t ~ 1) and the
# drift dominates the O(sqrt(γ)) noise; the sup distances are also reported on [0, EARLY_T]
LEVEL = 0.1  # reports the first time F(x(t)) <= LEVEL * F(x0) along each ODE
LABELS = {True: "bias-corrected", False: "no bias correction"}
ODE_LABELS = {True: "non-autonomous ODE (3.3)", False: "autonomous ODE (7.1)"}
COLOURS = {True: "tab:blue", False: "tab:red"}
LINESTYLES = ("--", ":", "-.")


def _coordinates(h: np.ndarray) -> np.ndarray:
    """Indices of the stiffest, a middle and the flattest curvature."""
    order = np.argsort(h)
    return np.array([order[-1], order[len(order) // 2], order[0]])


def _first_time_below(t, values, level):
    below = np.flatnonzero(values <= level)
    return float(t[below[0]]) if below.size else None


def check(config: dict) -> None:
    """What the naming conventions leave: the problem kind, the start, the γ grid with one Adam
    record per γ, and a horizon past the figure's first time."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if not isinstance(problem, StochasticQuadratic):
        raise ExperimentError(f"problem = {show(config['problem'])}: must be a "
                              "stochastic-quadratic table (the runner reads its curvatures h and noise sigma)")
    if config["x0"]:  # empty: (1, ..., 1)
        require_start("x0", config["x0"], problem)
    gammas = require_numbers("gammas", config["gammas"])
    require_labels("gammas", gammas)  # they name the saved arrays
    require_adam_steps(config, gammas)
    if not config["T"] > T_MIN_PLOT:
        raise ExperimentError(f"T = {show(config['T'])}: must be > {T_MIN_PLOT:g} (the ODEs are "
                              f"saved on log-spaced times from t = {T_MIN_PLOT:g} to T)")


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Solve both ODEs, run Adam with and without bias correction, compare (module docstring)."""
    problem = make_problem(config["problem"])
    d = problem.dim
    x0 = np.ones(d) if not config["x0"] else np.asarray(config["x0"], dtype=float)
    a, b, eps, T = config["a"], config["b"], config["eps"], float(config["T"])
    gammas = [float(g) for g in config["gammas"]]
    n_runs = config["n_runs"]
    coords = _coordinates(problem.h)

    times = np.concatenate([[0.0], np.geomspace(T_MIN_PLOT, T, N_LOG_TIMES)])
    seeds = ctx.seed_sequence().spawn(2 * len(gammas))
    with ctx.progress(2 + 2 * len(gammas), desc=EXPERIMENT) as bar:
        odes = {}
        for debias in (True, False):
            odes[debias] = solve_ode(problem, x0, a, b, eps, T, debias=debias, t_eval=times)
            bar.update()
        iterates = {}
        for j, gamma in enumerate(gammas):
            n_steps = steps_for_horizon(T, gamma)
            every = max(1, n_steps // N_RECORDS)
            for k, debias in enumerate((True, False)):
                mc = monte_carlo(problem, Adam(gamma, a, b, eps, debias), x0, n_steps, n_runs,
                                 seeds[2 * j + k], record_every=every, track_grad_norm=False,
                                 workers=ctx.workers)
                iterates[gamma, debias] = (mc.record_times, unpack(mc.record)[0])
                bar.update()

    F_ode = {deb: problem.F(odes[deb].x) for deb in odes}
    norm_ode = {deb: np.linalg.norm(odes[deb].x, axis=1) for deb in odes}
    gap = np.linalg.norm(odes[True].x - odes[False].x, axis=1)
    F0 = float(problem.F(x0))
    summary = {
        "problem": {"name": "stochastic-quadratic", "d": d, "h_min": float(problem.h.min()),
                    "h_max": float(problem.h.max()), "sigma": float(problem.sigma[0])},
        "F_x0": F0,
        "ode": {
            ("non_autonomous" if deb else "autonomous"): {
                "F_at_T": float(F_ode[deb][-1]),
                "norm_x_at_T": float(norm_ode[deb][-1]),
                "time_F_below_tenth_F0": _first_time_below(times, F_ode[deb], LEVEL * F0),
                "max_F": float(F_ode[deb].max()),
                "max_abs_stiff_coordinate": float(np.abs(odes[deb].x[:, coords[0]]).max()),
                "nfev": int(odes[deb].nfev),
            } for deb in (True, False)},
        "ode_gap_max": float(gap.max()),
        "ode_gap_argmax_t": float(times[np.argmax(gap)]),
        "ode_gap_at_T": float(gap[-1]),
        "iterates": [],
    }
    arrays = {"times": times, "coordinates": coords, "h": problem.h,
              "F_ode_non_autonomous": F_ode[True], "F_ode_autonomous": F_ode[False],
              "norm_ode_non_autonomous": norm_ode[True], "norm_ode_autonomous": norm_ode[False],
              "x_ode_non_autonomous_coords": odes[True].x[:, coords],
              "x_ode_autonomous_coords": odes[False].x[:, coords]}
    bands = {}
    for (gamma, debias), (t_rec, x_rec) in iterates.items():
        F_rec = problem.F(x_rec)  # (R, K)
        norm_rec = np.linalg.norm(x_rec, axis=-1)
        # Distance of every recorded iterate to both ODEs at the same times.
        dist = {deb: np.linalg.norm(x_rec - unpack(odes[deb](t_rec))[0], axis=-1) for deb in odes}
        tail = t_rec >= 0.8 * T
        early = t_rec <= EARLY_T
        summary["iterates"].append({
            "gamma": gamma, "debias": debias, "n_runs": n_runs,
            "sup_distance_to_matching_ode_median": float(np.median(dist[debias].max(axis=1))),
            "sup_distance_to_other_ode_median": float(np.median(dist[not debias].max(axis=1))),
            "early_sup_distance_to_matching_ode_median": float(
                np.median(dist[debias][:, early].max(axis=1))),
            "early_sup_distance_to_other_ode_median": float(
                np.median(dist[not debias][:, early].max(axis=1))),
            "F_final_median": float(np.median(F_rec[:, -1])),
            "F_tail_mean": float(F_rec[:, tail].mean()),
        })
        key = f"g{gamma:g}_{'debias' if debias else 'nodebias'}"
        bands[gamma, debias] = {
            "t": t_rec,
            "F": np.percentile(F_rec, [BAND[0], 50, BAND[1]], axis=0),
            "norm": np.percentile(norm_rec, [BAND[0], 50, BAND[1]], axis=0),
            "coords": np.percentile(x_rec[:, :, coords], [BAND[0], 50, BAND[1]], axis=0),
        }
        arrays[f"{key}_t"] = t_rec
        arrays[f"{key}_F_quantiles"] = bands[gamma, debias]["F"]
        arrays[f"{key}_norm_quantiles"] = bands[gamma, debias]["norm"]
        arrays[f"{key}_coords_median"] = bands[gamma, debias]["coords"][1]
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    names = {True: "non_autonomous", False: "autonomous"}
    gammas = [float(g) for g in config["gammas"]]
    bands = {}
    for gamma in gammas:
        for debias in (True, False):
            key = f"g{gamma:g}_{'debias' if debias else 'nodebias'}"
            bands[gamma, debias] = {"t": arrays[f"{key}_t"], "F": arrays[f"{key}_F_quantiles"],
                                    "norm": arrays[f"{key}_norm_quantiles"],
                                    "coords_median": arrays[f"{key}_coords_median"]}
    start = "(1, …, 1)" if not config["x0"] else fmt_vector(config["x0"])
    title = (f"{describe_problem(make_problem(config['problem']))}, x0 = {start}, "
             f"a = {config['a']:g}, b = {config['b']:g}, eps = {config['eps']:g}, "
             f"{config['n_runs']} runs per γ")
    return plot(arrays["times"], {deb: arrays[f"F_ode_{names[deb]}"] for deb in names},
                {deb: arrays[f"norm_ode_{names[deb]}"] for deb in names},
                {deb: arrays[f"x_ode_{names[deb]}_coords"] for deb in names},
                arrays["coordinates"], arrays["h"], bands, gammas, title)


def format_table(summary: dict) -> str:
    """Plain-text table of the ODE key numbers and the iterate-to-ODE distances."""
    lines = [f"F(x0) = {summary['F_x0']:.4g}"]
    for name, rec in summary["ode"].items():
        lines.append(f"{name:>15} ODE: F(x(T)) = {rec['F_at_T']:.3g}, F <= F(x0)/10 at t = "
                     f"{rec['time_F_below_tenth_F0']}, max|x_stiff| = "
                     f"{rec['max_abs_stiff_coordinate']:.3g}")
    lines.append(f"max_t |x_aut(t) - x_nonaut(t)| = {summary['ode_gap_max']:.3g} at t = "
                 f"{summary['ode_gap_argmax_t']:.3g}")
    lines.append(f"{'gamma':>8} {'debias':>7} {'sup d(matching ODE)':>20} "
                 f"{'sup d(other ODE)':>17} {'same, t<=' + str(EARLY_T):>16} "
                 f"{'':>8} {'median F(x_N)':>14}")
    for rec in summary["iterates"]:
        lines.append(f"{rec['gamma']:8.3g} {str(rec['debias']):>7} "
                     f"{rec['sup_distance_to_matching_ode_median']:20.3g} "
                     f"{rec['sup_distance_to_other_ode_median']:17.3g} "
                 f"{rec['early_sup_distance_to_matching_ode_median']:16.3g} "
                 f"{rec['early_sup_distance_to_other_ode_median']:8.3g} "
                     f"{rec['F_final_median']:14.3g}")
    return "\n".join(lines)


def plot(times, F_ode, norm_ode, x_coords, coords, h, bands, gammas, title=""):
    """F(x(t)), ‖x(t)‖ and three coordinates against log time: ODE lines, iterate bands.

    ``x_coords[debias]`` holds the ODE's coordinates ``coords`` (columns) at ``times``;
    ``bands[gamma, debias]`` the iterates' times ``t``, ``F`` and ``norm`` quantiles (3, K) and
    the median coordinates ``coords_median`` (K, 3).
    """
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(3 * FIGSIZE_PANEL[0] + 1, FIGSIZE_PANEL[1] + 0.6),
                                 layout="constrained")
        ax_f, ax_n, ax_c = axes
        keep = times >= T_MIN_PLOT
        for debias in (True, False):
            for ax, values in ((ax_f, F_ode[debias]), (ax_n, norm_ode[debias])):
                ax.plot(times[keep], values[keep], color=COLOURS[debias], lw=2.2,
                        label=ODE_LABELS[debias])
            for (gamma, deb), band in bands.items():
                if deb != debias:
                    continue
                ls = LINESTYLES[gammas.index(gamma) % len(LINESTYLES)]
                t = band["t"]
                ok = t > 0
                for ax, q in ((ax_f, band["F"]), (ax_n, band["norm"])):
                    ax.fill_between(t[ok], q[0, ok], q[2, ok], color=COLOURS[debias], alpha=0.12,
                                    lw=0)
                    ax.plot(t[ok], q[1, ok], ls, color=COLOURS[debias], lw=1.2,
                            label=f"Adam {LABELS[debias]}, γ = {gamma:g}")
        for ax, name in ((ax_f, "objective F(x(t))"), (ax_n, "‖x(t)‖ = distance to x* = 0")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("time t = nγ (log scale)")
            ax.set_ylabel(name)
        ax_f.set_title("F along both ODEs and Adam (median, 10–90 %)")
        ax_n.set_title("Distance to the minimizer")
        ax_f.legend(loc="lower left", fontsize=8)

        # Three coordinates: ODEs, and the iterate medians of the smallest γ.
        gamma = min(gammas)
        shades = ("k", "tab:green", "tab:purple")
        for c, (idx, shade) in enumerate(zip(coords, shades)):
            for debias in (True, False):
                ax_c.plot(times[keep], x_coords[debias][keep, c], color=COLOURS[debias],
                          lw=2.0 if debias else 1.6, ls="-" if debias else "--")
                band = bands[gamma, debias]
                ok = band["t"] > 0
                ax_c.plot(band["t"][ok], band["coords_median"][ok, c], ":",
                          color=COLOURS[debias], lw=1.2)
            # Label each coordinate where its bias-corrected ODE path crosses 1/2.
            t_half = times[np.argmax(x_coords[True][:, c] <= 0.5)]
            ax_c.annotate(f"h = {h[idx]:.2g}", (t_half, 0.5), xytext=(6, 4),
                          textcoords="offset points", ha="left", fontsize=9, color=shade,
                          fontweight="bold")
        ax_c.plot([], [], "-", color=COLOURS[True], label=ODE_LABELS[True])
        ax_c.plot([], [], "--", color=COLOURS[False], label=ODE_LABELS[False])
        ax_c.plot([], [], ":", color="0.3", label=f"Adam median, γ = {gamma:g}")
        ax_c.axhline(0.0, color="0.5", lw=0.8)
        ax_c.set_xscale("log")
        ax_c.set_xlabel("time t (log scale)")
        ax_c.set_ylabel("coordinate x_i(t)")
        ax_c.set_title("Stiffest, middle and flattest coordinates")
        ax_c.legend(loc="lower left", fontsize=8)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): the Monte Carlo runs with and without bias
    correction, and the two ODE solves on [0, T]."""
    from ..cost import Cost, problem_dim, steps_covering, step_sizes, recorded_states, float_bytes

    z = 3 * problem_dim(config)
    n_runs, gammas = config["n_runs"], step_sizes(config)
    steps = [steps_covering(config["T"], g) for g in gammas]
    memory = float_bytes(sum(2 * n_runs * recorded_states(n, N_RECORDS) * z for n in steps))
    odes = ode_run_steps(config["T"], z, solves=2, outputs=N_LOG_TIMES + 1)
    return Cost(2 * n_runs * sum(steps) + odes, z, memory, ("n_runs", "gammas", "T"))
