r"""Experiment ``convergence``: Adam iterates and the Adam ODE approach the minimizer.

The talk's first figure. Along the non-autonomous ODE (3.3), d(x(t), 𝒮) → 0 (Theorem 3.2), at an
exponential rate on a strongly convex problem (Theorem 3.4 with θ = ½); the rate is compared with
the one of the ODE linearised at the equilibrium (x*, 0, S(x*)). Adam with a constant step γ
(Algorithm 2.1, α = 1 − aγ, β = 1 − bγ) follows the ODE on bounded horizons and then stays in a
noise-driven neighbourhood of x* whose size is measured (expected O(sqrt(γ)): the moments average
O(1/γ) gradients). For each γ, ``n_runs`` Monte Carlo runs are recorded at about
:data:`RECORD_POINTS` times; the figure shows the median of d(x_n, 𝒮) over runs with a 10–90 %
band against t = nγ (log y), the ODE solution, and the stationary level against γ.
"""

from __future__ import annotations

import numpy as np

from ..analysis.statistics import loglog_slope
from ..config_checks import require_start
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..paper import solve_ode
from ..iterates import Adam
from ..montecarlo import monte_carlo, steps_for_horizon
from ..problems import make_problem
from ..state import unpack
from ._checks import (built, figure_run_steps, nums, ode_run_steps, require_adam_steps,
                      require_numbers, saved)
from ._paths import ODE_STYLE, check_gammas, fmt_vector, gamma_colours, step_progress
from ._plot import STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "linearised_rate", "plot"]

EXPERIMENT = "convergence"
RECORD_POINTS = 500  # recorded states per run: record_every = max(1, n_steps // RECORD_POINTS)
QUANTILES = (0.1, 0.5, 0.9)  # band and median over runs
FLOOR_WINDOW = 0.25  # stationary level: median over runs and over the last quarter of [0, T]
RATE_WINDOW = (0.5, 1.0)  # the ODE rate is fitted on log d(x(t), 𝒮) over t ∈ [T/2, T]
ODE_POINTS = 1001  # uniform grid of the ODE curve (the solution is smooth)
HESSIAN_STEP = 1e-5  # central differences of ∇F for the linearisation (exact on quadratics)


def linearised_rate(problem, a: float, eps: float) -> float | None:
    r"""Asymptotic exponential rate of the Adam ODE near its equilibrium (x*, 0, S(x*)).

    For t → ∞ the bias corrections tend to 1 and, at m = 0, ẋ does not depend on v, so the
    (x, m) block of the Jacobian is [[0, −D⁻¹], [a H, −a I]] with D = diag(ε + sqrt(S(x*))) and
    H = ∇²F(x*); the v block only adds the eigenvalue −b, which does not affect x. Returns
    −max Re λ over the (x, m) block (the rate of Theorem 3.4 with θ = ½), or None when the problem
    has no unique minimizer.
    """
    x_star = problem.minimizer
    if x_star is None:
        return None
    d = problem.dim
    hessian = np.empty((d, d))
    for j in range(d):
        step = np.zeros(d)
        step[j] = HESSIAN_STEP
        hessian[:, j] = (problem.grad_F(x_star + step) - problem.grad_F(x_star - step)) \
            / (2 * HESSIAN_STEP)
    inv_d = 1.0 / (eps + np.sqrt(problem.S(x_star)))
    jac = np.block([[np.zeros((d, d)), -np.diag(inv_d)], [a * hessian, -a * np.eye(d)]])
    return float(-np.max(np.linalg.eigvals(jac).real))


def check(config: dict) -> None:
    """What the naming conventions leave: the problem, a start where F, ∇F and S are finite,
    and Adam's hyperparameters at each γ (a·γ, b·γ < 1, T >= γ). A single run (n_runs = 1, no
    quantiles) is refused by the run itself, point by point in a sweep."""
    with built("problem"):
        problem = make_problem(config["problem"])
    require_start("x0", config["x0"], problem)
    gammas = require_numbers("gammas", config["gammas"])
    require_adam_steps(config, gammas)


def _fitted_rate(t: np.ndarray, dist: np.ndarray, T: float) -> float:
    """−slope of log d(t) on t ∈ RATE_WINDOW · T (least squares)."""
    keep = (t >= RATE_WINDOW[0] * T) & (t <= RATE_WINDOW[1] * T) & (dist > 0)
    if keep.sum() < 2:
        return float("nan")
    slope, _ = np.polyfit(t[keep], np.log(dist[keep]), 1)
    return float(-slope)


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Monte Carlo distance-to-optimum curves per γ and the ODE (see the module docstring)."""
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    a, b, eps, T = config["a"], config["b"], config["eps"], config["T"]
    gammas = check_gammas(config["gammas"])
    n_runs = config["n_runs"]
    if n_runs < 2:
        raise ExperimentError(f"n_runs must be >= 2 for quantiles over runs, got {n_runs}")

    t_ode = np.linspace(0.0, T, ODE_POINTS)
    ode = solve_ode(problem, x0, a, b, eps, T, debias=True, t_eval=t_ode)
    d_ode = problem.critical_distance(ode.x)
    rate_ode = _fitted_rate(t_ode, d_ode, T)
    rate_lin = linearised_rate(problem, a, eps)

    seeds = ctx.seed_sequence().spawn(len(gammas))
    per_gamma, arrays = [], {"ode_t": t_ode, "ode_distance": d_ode, "gammas": np.array(gammas),
                             "quantile_levels": np.array(QUANTILES)}
    steps = [steps_for_horizon(T, gamma) for gamma in gammas]
    with ctx.progress(n_runs * sum(steps), desc=EXPERIMENT) as bar:  # ETA in steps
        advance = step_progress(bar, n_runs, steps)
        for i, (gamma, seed) in enumerate(zip(gammas, seeds)):
            n_steps = steps_for_horizon(T, gamma)
            every = max(1, n_steps // RECORD_POINTS)
            mc = monte_carlo(problem, Adam(gamma, a, b, eps), x0, n_steps, n_runs, seed,
                             record_every=every, track_grad_norm=False, workers=ctx.workers,
                             progress=advance)
            t = mc.record_times
            # (R, K), NaN after a divergence
            dist = problem.critical_distance(unpack(mc.record)[0])
            ok = ~mc.diverged
            if not ok.any():
                raise RuntimeError(f"all {n_runs} runs diverged at gamma = {gamma:g}")
            q = np.quantile(dist[ok], QUANTILES, axis=0)  # (3, K)
            late = t >= (1.0 - FLOOR_WINDOW) * T
            floor = float(np.median(dist[ok][:, late]))
            # Distance between the median iterate curve and the ODE while the ODE is still above
            # the floor: how closely the transient is followed.
            d_ode_t = np.interp(t, t_ode, d_ode)
            transient = d_ode_t > floor
            per_gamma.append({
                "gamma": gamma, "n_steps": n_steps, "record_every": every,
                "n_diverged": int(mc.diverged.sum()),
                "stationary_median_distance": floor,
                "stationary_over_sqrt_gamma": floor / np.sqrt(gamma),
                "final_quantiles": {f"q{int(100 * lv)}": float(v) for lv, v in
                                    zip(QUANTILES, q[:, -1])},
                "max_relative_gap_median_vs_ode_transient":
                    float(np.max(np.abs(q[1, transient] / d_ode_t[transient] - 1.0)))
                    if transient.any() else None,
            })
            arrays[f"gamma{i}_t"] = t
            arrays[f"gamma{i}_quantiles"] = q

    floors = np.array([g["stationary_median_distance"] for g in per_gamma])
    fit = loglog_slope(np.array(gammas), floors) if len(gammas) >= 2 else None
    summary = {
        "problem": problem.config(),
        "x0": x0, "a": a, "b": b, "eps": eps, "T": T, "n_runs": n_runs,
        "ode": {"initial_distance": float(d_ode[0]), "final_distance": float(d_ode[-1]),
                "fitted_rate": rate_ode, "fitted_on": [RATE_WINDOW[0] * T, RATE_WINDOW[1] * T],
                "linearised_rate": rate_lin},
        "iterates": per_gamma,
        "stationary_distance_vs_gamma_slope":
            None if fit is None else {"slope": fit.slope, "stderr": fit.stderr},
    }
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`); the fit of
    the stationary levels is made again from the saved levels."""
    config = summary["config"]
    problem = make_problem(config["problem"])
    gammas = [float(g) for g in arrays["gammas"]]
    floors = nums([g["stationary_median_distance"] for g in summary["iterates"]])
    fit = loglog_slope(np.array(gammas), floors) if len(gammas) >= 2 else None
    ode = summary["ode"]
    title = (f"{_describe(problem)}, x0 = {fmt_vector(summary['x0'])}, a = {summary['a']:g}, "
             f"b = {summary['b']:g}, ε = {summary['eps']:g}, {summary['n_runs']} runs per γ")
    return plot(arrays["ode_t"], arrays["ode_distance"], gammas,
                [arrays[f"gamma{i}_t"] for i in range(len(gammas))],
                [arrays[f"gamma{i}_quantiles"] for i in range(len(gammas))], floors, fit,
                ode["fitted_rate"], ode["linearised_rate"], title)


def _describe(problem) -> str:
    cfg = problem.config()
    if cfg["name"] == "linear-regression-2d":
        return (f"2D regression (p = {cfg['p']:g}, σ = {cfg['sigma']:g}, "
                f"x* = {fmt_vector(cfg['x_star'])})")
    return repr(problem)


def _table(summary: dict) -> str:
    ode = summary["ode"]
    lin = ode["linearised_rate"]
    lines = [f"ODE: d(x(t), S) from {ode['initial_distance']:.3g} to {ode['final_distance']:.3g}"
             f" at T = {summary['T']:g}; fitted rate {ode['fitted_rate']:.4f}"
             + ("" if lin is None else f" (linearisation {lin:.4f})"),
             f"{'gamma':>8} {'steps':>8} {'median d, last 25%':>19} {'/sqrt(gamma)':>13} "
             f"{'q10 final':>10} {'q90 final':>10} {'diverged':>8}"]
    for g in summary["iterates"]:
        q = g["final_quantiles"]
        lines.append(f"{g['gamma']:8.3g} {g['n_steps']:8d} {g['stationary_median_distance']:19.4g}"
                     f" {g['stationary_over_sqrt_gamma']:13.3f} {q['q10']:10.3g} {q['q90']:10.3g}"
                     f" {g['n_diverged']:8d}")
    fit = summary["stationary_distance_vs_gamma_slope"]
    if fit is not None:
        lines.append(f"stationary distance ~ gamma^{fit['slope']:.3f} ± {fit['stderr']:.3f}")
    return "\n".join(lines)


def plot(t_ode, d_ode, gammas, times, quantiles, floors, fit, rate_ode, rate_lin, title=""):
    """Left: d(x, 𝒮) against t (log y); right: the stationary level against γ (log-log)."""
    plt = pyplot()
    colours = gamma_colours(len(gammas))
    with plt.rc_context(STYLE):
        fig, (ax, ax_f) = plt.subplots(1, 2, figsize=(11.0, 4.6), width_ratios=[2.2, 1],
                                       layout="constrained")
        for gamma, t, q, c in zip(gammas, times, quantiles, colours):
            ax.fill_between(t, q[0], q[2], color=c, alpha=0.22, lw=0)
            ax.plot(t, q[1], color=c, lw=1.4, label=f"Adam, γ = {gamma:g}: median, 10–90 %")
        rate = f"rate {rate_ode:.3f}" + ("" if rate_lin is None else
                                          f" (linearised {rate_lin:.3f})")
        ax.plot(t_ode, d_ode, label=f"ODE (3.3), {rate}", **ODE_STYLE)
        ax.set_yscale("log")
        ax.set_xlim(0, t_ode[-1])
        ax.set_ylim(max(d_ode[-1], 1e-12) / 3, 2 * d_ode[0])
        ax.set_xlabel("time t = nγ")
        ax.set_ylabel("distance to the minimizer ‖x − x*‖")
        ax.set_title("Iterates reach an O(√γ) neighbourhood; the ODE converges exponentially")
        ax.legend(loc="lower left")

        g = np.array(gammas)
        for gamma, floor, c in zip(gammas, floors, colours):
            ax_f.plot(gamma, floor, "o", color=c, ms=7, zorder=3)
        g_line = np.geomspace(g.min() / 2, g.max() * 2, 50)
        if fit is not None:
            ax_f.plot(g_line, fit.predict(g_line), color="0.3", lw=1,
                      label=f"fit: slope {fit.slope:.3f} ± {fit.stderr:.3f}")
        ref = floors[-1] * np.sqrt(g_line / g[-1])
        ax_f.plot(g_line, ref, color="tab:green", lw=1, ls="--", label="∝ √γ (slope 0.5)")
        ax_f.set_xscale("log")
        ax_f.set_yscale("log")
        ax_f.set_xlabel("step size γ")
        ax_f.set_ylabel("median ‖x_n − x*‖, last 25 % of [0, T]")
        ax_f.set_title("Stationary level")
        ax_f.legend(loc="upper left")
        if title:
            fig.suptitle(title, fontsize=10)
    return fig


def estimate(config: dict):
    """Cost of a run (:mod:`adam_ode.cost`): the Monte Carlo per γ and the ODE solve on
    [0, T] evaluated at :data:`ODE_POINTS` times, the figure."""
    from ..cost import (Cost, problem_dim, steps_covering, step_sizes, recorded_states,
                        float_bytes, PER_RUN_FLOATS)

    z = 3 * problem_dim(config)
    n_runs, gammas = config["n_runs"], step_sizes(config)
    steps = [steps_covering(config["T"], g) for g in gammas]
    # record (R, K, 3d) and the distances computed from it
    memory = float_bytes(max(n_runs * recorded_states(n, RECORD_POINTS) * (z + z // 3 + 1)
                             for n in steps) + n_runs * (PER_RUN_FLOATS + z))
    ode = ode_run_steps(config["T"], z, outputs=ODE_POINTS)
    return Cost(n_runs * sum(steps) + ode + figure_run_steps(2, z), z, memory,
                ("n_runs", "gammas"))
