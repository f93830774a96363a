r"""Experiment ``heavy-ball``: Adam as a heavy ball with time-dependent mass and friction.

Along the non-autonomous Adam ODE (eq. 3.3) the runner evaluates the coordinatewise mass
M(t) = U(t, v(t))/a² and viscosity c2(t) = a M(t) + Ṁ(t) of the generalized heavy ball
M ẍ + c2 ẋ + ∇F(x) = 0 (paper_notes.md, "Heavy ball with friction"), and the residual of that equation
on the solved trajectory (:func:`adam_ode.heavy_ball.hbf_residual`), which must be of the
size of the finite-difference error. Near t = 0, M ≈ t (ε + sqrt(S(x0))) → 0 while c2 → ε + sqrt(S(x0)):
early Adam is a massless, preconditioned gradient flow (Lemma 7.3); for large t, M → (ε + sqrt(v))/a.

On a 2-D problem it then draws, over the contours of F, each algorithm against its
continuous-time limit: SGD vs the gradient flow ẋ = −∇F, momentum SGD (α = 1 − aγ) vs the classical
heavy ball ẍ + aẋ + a∇F = 0, Adam vs the Adam ODE; and reports sup_k ‖x_k − x(kγ)‖ per pair.
"""

from __future__ import annotations

import numpy as np

from ..config_checks import require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..heavy_ball import HBF_FD_STEP, friction, hbf_residual, mass
from ..paper import solve_gradient_flow, solve_heavy_ball, solve_ode
from ..iterates import SGD, Adam, MomentumSGD
from ..montecarlo import monte_carlo, steps_for_horizon
from ..problems import make_problem
from ..state import unpack
from ._checks import (built, figure_run_steps, ode_run_steps, require_horizon, saved,
                      seconds_run_steps)
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot"]

EXPERIMENT = "heavy-ball"
T_MIN = 1e-3  # left end of the log time axis of M and c2 (M ~ t there)
N_TIMES = 400  # log-spaced evaluation times of M, c2 and the residual
N_SHOWN = 3  # iterate paths drawn per algorithm
N_PATH_POINTS = 400  # points kept per drawn path (decimated)
CONTOUR_LEVELS = 14
REPORT_TIMES = (0.01, 0.1, 1.0, 10.0)  # times at which M and c2 are reported in the summary
# NumPy distances of every recorded iterate to its limit (three algorithms): ~10 ns each.
DISTANCE_SECONDS = 1e-8
PAIRS = (  # (key, title, colour)
    ("sgd", "SGD vs gradient flow ẋ = −∇F", "tab:green"),
    ("momentum", "momentum SGD vs heavy ball ẍ + aẋ + a∇F = 0", "tab:orange"),
    ("adam", "Adam vs Adam ODE (3.3)", "tab:blue"),
)


def check(config: dict) -> None:
    """What the naming conventions leave: a 2-D problem and the start, the three records at γ
    (α = 1 − aγ, β = 1 − bγ in (0, 1)), a horizon covering one step and the log time axis of
    M and c2 (which starts at T_MIN)."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if problem.dim != 2:
        raise ExperimentError(f"problem = {show(config['problem'])}: must be 2-D (trajectories "
                              "over contours)")
    require_start("x0", config["x0"], problem)
    gamma, a = config["gamma"], config["a"]
    with built("gamma", gamma, note=f"a = {show(a)}, b = {show(config['b'])}"):
        SGD(gamma)
        MomentumSGD(gamma, a)
        Adam(gamma, a, config["b"], config["eps"])
    require_horizon("T", config["T"], "gamma", gamma)
    if config["T"] * (1 - 2 * HBF_FD_STEP) <= 2 * T_MIN:
        raise ExperimentError(f"T = {show(config['T'])}: must be > {2 * T_MIN:g} (the mass and "
                              f"friction are drawn on a log time axis from t = {T_MIN:g})")


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Mass, friction and HBF residual along the Adam ODE; iterates vs ODEs (module docstring)."""
    problem = make_problem(config["problem"])
    if problem.dim != 2:
        raise ExperimentError(f"problem must be 2-D (trajectories over contours), got {problem!r}")
    x0 = np.asarray(config["x0"], dtype=float)
    a, b, eps, T, gamma = config["a"], config["b"], config["eps"], config["T"], config["gamma"]
    n_runs = config["n_runs"]
    n_steps = steps_for_horizon(T, gamma)
    grid = np.arange(n_steps + 1) * gamma
    seeds = ctx.seed_sequence().spawn(len(PAIRS))

    with ctx.progress(2 * len(PAIRS), desc=EXPERIMENT) as bar:
        ode = solve_ode(problem, x0, a, b, eps, T)
        flows = {"adam": unpack(ode(grid))[0],
                 "momentum": solve_heavy_ball(problem, x0, damping=a, T=T,
                                              gradient_scale=a)(grid)[:, :2],
                 "sgd": solve_gradient_flow(problem, x0, T)(grid)}
        bar.update(len(PAIRS))
        optimizers = {"sgd": SGD(gamma), "momentum": MomentumSGD(gamma, a),
                      "adam": Adam(gamma, a, b, eps)}
        paths, diverged = {}, {}
        for (key, _, _), seed in zip(PAIRS, seeds):
            mc = monte_carlo(problem, optimizers[key], x0, n_steps, n_runs, seed,
                             record_every=1, track_grad_norm=False, workers=ctx.workers)
            paths[key] = mc.record_x  # (R, N+1, 2)
            diverged[key] = mc.diverged
            bar.update()

    # Generalized heavy ball along the ODE.
    times = np.geomspace(T_MIN, T * (1 - 2 * HBF_FD_STEP), N_TIMES)  # t ± h stays in [0, T]
    z = ode(times)
    M = mass(times, z, a, b, eps)
    c2 = friction(times, z, problem, a, b, eps)
    resid_times = times[times > 2 * HBF_FD_STEP]
    resid = hbf_residual(ode, resid_times, problem, a, b, eps)
    grad_norm = np.linalg.norm(problem.grad_F(unpack(ode(resid_times))[0]), axis=1)
    M_inf = (eps + np.sqrt(problem.S(unpack(z)[0][-1]))) / a  # M → (ε + sqrt(S(x*)))/a

    x_star = problem.minimizer
    summary = {
        "problem": problem.config(),
        "hbf_residual_max": float(np.abs(resid).max()),
        "hbf_residual_max_relative": float(np.abs(resid).max() / grad_norm.max()),
        "grad_norm_max": float(grad_norm.max()),
        "mass_and_friction": [
            {"t": t, "M": mass(t, ode(t), a, b, eps).tolist(),
             "c2": friction(t, ode(t), problem, a, b, eps).tolist()} for t in REPORT_TIMES
            if t < T],
        "mass_small_t_over_t": (M[0] / times[0]).tolist(),  # → ε + sqrt(S(x0))
        "eps_plus_sqrt_S_x0": (eps + np.sqrt(problem.S(x0))).tolist(),
        "mass_limit_predicted": M_inf.tolist(),
        "pairs": {},
    }
    arrays = {"times": times, "mass": M, "friction": c2, "residual_times": resid_times,
              "residual": resid, "grad_norm": grad_norm}
    stride = max(1, n_steps // N_PATH_POINTS)
    for key, _, _ in PAIRS:
        x = paths[key]
        sup = np.linalg.norm(x - flows[key][None], axis=-1).max(axis=1)
        sup[diverged[key]] = np.inf  # a diverged path is infinitely far from its limit
        final_iter = np.linalg.norm(x[:, -1] - x_star, axis=1) if x_star is not None else None
        ok = ~diverged[key]  # statistics over the runs that did not diverge (None if none)
        summary["pairs"][key] = {
            "n_runs": n_runs, "n_diverged": int(diverged[key].sum()),
            "sup_distance_median": float(np.median(sup[ok])) if ok.any() else None,
            "sup_distance_q90": float(np.quantile(sup[ok], 0.9)) if ok.any() else None,
            "ode_final_distance_to_minimizer":
                float(np.linalg.norm(flows[key][-1] - x_star)) if x_star is not None else None,
            "iterates_final_distance_median":
                float(np.median(final_iter[ok])) if final_iter is not None and ok.any()
                else None,
        }
        arrays[f"{key}_flow"] = flows[key][::stride]
        arrays[f"{key}_paths"] = x[:N_SHOWN, ::stride]
        arrays[f"{key}_sup_distance"] = sup
    arrays["path_times"] = grid[::stride]
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    c = summary["config"]
    problem = make_problem(c["problem"])
    x0 = np.asarray(c["x0"], dtype=float)
    title = (f"{describe_problem(problem)}, x0 = [{', '.join(f'{v:g}' for v in x0)}], "
             f"a = {c['a']:g}, b = {c['b']:g}, eps = {c['eps']:g}, γ = {c['gamma']:g}, "
             f"{c['n_runs']} runs")
    return plot(problem, arrays, summary, x0, title)


def format_table(summary: dict) -> str:
    lines = [f"max |HBF residual| = {summary['hbf_residual_max']:.2e} "
             f"({summary['hbf_residual_max_relative']:.1e} of max |grad F|)"]
    for rec in summary["mass_and_friction"]:
        lines.append(f"  t = {rec['t']:6g}: M = {np.round(rec['M'], 4).tolist()}, "
                     f"c2 = {np.round(rec['c2'], 4).tolist()}")
    lines.append(f"{'pair':>10} {'median sup|x_k - x(k gamma)|':>28} {'ODE final dist':>15} "
                 f"{'iterates final dist':>20}")
    def cell(value, width):
        return f"{'-':>{width}}" if value is None else f"{value:{width}.3g}"

    for key, rec in summary["pairs"].items():
        lines.append(f"{key:>10} {cell(rec['sup_distance_median'], 28)} "
                     f"{cell(rec['ode_final_distance_to_minimizer'], 15)} "
                     f"{cell(rec['iterates_final_distance_median'], 20)}"
                     + (f"  diverged ({rec['n_diverged']} of {rec['n_runs']} runs)"
                        if rec["n_diverged"] else ""))
    return "\n".join(lines)


def plot(problem, arrays, summary, x0, title=""):
    """Top: M(t), c2(t) per coordinate and the HBF residual. Bottom: iterates vs ODE on contours."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 3, figsize=(3 * FIGSIZE_PANEL[0] + 1,
                                                2 * FIGSIZE_PANEL[1] + 0.6),
                                 layout="constrained")
        t = arrays["times"]
        coord_colours = ("tab:blue", "tab:red")
        ax_m, ax_c, ax_r = axes[0]
        for i, colour in enumerate(coord_colours):
            ax_m.plot(t, arrays["mass"][:, i], color=colour, lw=2, label=f"M_{i + 1}(t)")
            ax_m.axhline(summary["mass_limit_predicted"][i], color=colour, ls=":", lw=1)
            ax_c.plot(t, arrays["friction"][:, i], color=colour, lw=2, label=f"c2_{i + 1}(t)")
        s0 = np.asarray(summary["eps_plus_sqrt_S_x0"])
        ax_m.plot(t[t < 0.3], t[t < 0.3] * s0[0], "k--", lw=1,
                  label="t (ε + √S₁(x0))  (Lemma 7.3)")
        ax_m.plot([], [], ":", color="0.4", label="(ε + √S(x(T)))/a")
        for ax, name in ((ax_m, "mass M(t) = U(t, v)/a²"), (ax_c, "friction c2(t) = aM + Ṁ")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("time t (log scale)")
            ax.set_ylabel(name)
        ax_m.legend(loc="lower right", fontsize=8)
        ax_c.legend(loc="upper right", fontsize=8)
        ax_m.set_title("Time-dependent mass (per coordinate)")
        ax_c.set_title("Time-dependent viscosity (per coordinate)")
        rt = arrays["residual_times"]
        ax_r.plot(rt, np.linalg.norm(arrays["residual"], axis=1), color="k", lw=1.5,
                  label="‖M ẍ + c2 ẋ + ∇F(x)‖ (central differences)")
        ax_r.plot(rt, arrays["grad_norm"], color="tab:purple", lw=1.5, label="‖∇F(x(t))‖ (scale)")
        ax_r.set_xscale("log")
        ax_r.set_yscale("log")
        ax_r.set_xlabel("time t (log scale)")
        ax_r.set_ylabel("norm")
        ax_r.set_title("Residual of the heavy-ball form along the ODE")
        ax_r.legend(loc="lower left", fontsize=8)

        # Contour panels.
        flows = [arrays[f"{key}_flow"] for key, _, _ in PAIRS]
        pts = np.concatenate(flows + [arrays[f"{key}_paths"].reshape(-1, 2) for key, _, _ in PAIRS])
        lo, hi = np.nanmin(pts, axis=0), np.nanmax(pts, axis=0)
        pad = 0.15 * (hi - lo) + 0.1
        g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 201)
        g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 201)
        X1, X2 = np.meshgrid(g1, g2)
        Fv = problem.F(np.stack([X1, X2], axis=-1))
        for ax, (key, name, colour) in zip(axes[1], PAIRS):
            ax.contour(X1, X2, Fv, levels=CONTOUR_LEVELS, colors="0.78", linewidths=0.7)
            for k, path in enumerate(arrays[f"{key}_paths"]):
                ax.plot(path[:, 0], path[:, 1], "-", color=colour, lw=0.8, alpha=0.6,
                        label="iterates (3 runs)" if k == 0 else None)
            flow = arrays[f"{key}_flow"]
            ax.plot(flow[:, 0], flow[:, 1], "k-", lw=1.8, label="continuous-time limit")
            ax.plot(*x0, "o", color="k", ms=5)
            if problem.minimizer is not None:
                ax.plot(*problem.minimizer, "*", color="k", ms=10, label="minimizer")
            rec = summary["pairs"][key]
            median = rec["sup_distance_median"]
            ax.set_title(f"{name}\n" + (f"median sup‖x_k − x(kγ)‖ = {median:.3f}"
                                        if not rec["n_diverged"] else
                                        f"diverged ({rec['n_diverged']} of {rec['n_runs']} runs)"),
                         fontsize=10)
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
            ax.legend(loc="upper right", fontsize=8)
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): three algorithms' runs recorded at every step, the
    three continuous-time solves on [0, T] evaluated on the step grid, M, c2 and the residual
    on N_TIMES times, the distances of every recorded iterate to its limit, the figure."""
    from ..cost import Cost, problem_dim, steps_covering, float_bytes, REFERENCE_COPIES

    z = 3 * problem_dim(config)
    n = steps_covering(config["T"], config["gamma"], "T", "gamma")
    # three algorithms, each recorded at every step: (R, N+1, 3d), plus the ODE paths
    memory = float_bytes(3 * config["n_runs"] * (n + 1) * z + 3 * REFERENCE_COPIES * (n + 1) * z)
    odes = ode_run_steps(config["T"], z, solves=3, outputs=n + 1 + 4 * N_TIMES)
    distances = seconds_run_steps(DISTANCE_SECONDS * 3 * config["n_runs"] * (n + 1), z)
    return Cost(3 * config["n_runs"] * n + odes + distances + figure_run_steps(6, z), z, memory,
                ("n_runs", "T"))
