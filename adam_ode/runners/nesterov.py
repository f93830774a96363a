r"""Experiment ``nesterov``: gradient descent vs Nesterov vs the SBC ODE (seed 002, Théorème 5).

F(x_k) − F* against k on log-log axes for gradient descent (:class:`~adam_ode.SGD` with exact
gradients), Nesterov with the Su–Boyd–Candès momentum (k − 1)/(k + 2) and with the Théorème 5
sequence, and the SBC ODE Ẍ + (3/t)Ẋ + ∇F = 0 read at t = k·sqrt(η), with the bounds

- Nesterov: F(x_k) − F* ≤ 2‖x0 − x*‖²/(η(k + 1)²)  (2L‖x0 − x*‖²/(k + 1)² at η = 1/L),
- gradient descent: F(x_k) − F* ≤ ‖x0 − x*‖²/(2ηk)  (L‖x0 − x*‖²/(2k)),
- SBC ODE: F(X(t)) − F* ≤ 2‖x0 − x*‖²/t² (its energy, :class:`~adam_ode.SBCLimit`),

checked at every k. Two problems: seed 002's f = x² + ½y² (geometric convergence of both
methods: no power-law regime) and a flat-spectrum quadratic where the O(1/k) and O(1/k²) rates
show on the stated windows (``experiments/nesterov.toml``).
"""

from __future__ import annotations

import math

import numpy as np

from ..config_checks import require_in, require_positive, require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import solve_limit
from ..iterates import run_optimizer
from ..optimizers import SGD, Nesterov
from ..problems import StochasticQuadratic, make_problem
from ._checks import because, built, ode_run_steps, require_int, require_window, saved
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw", "plot", "fitted_slope"]

EXPERIMENT = "nesterov"
N_FIT_POINTS = 20  # log-spaced k's of a slope fit
BOUND_SLACK = 1e-12  # relative rounding slack of the bound checks
F_FLOOR = 1e-18  # lower end of the seed panel's F axis (gradient descent reaches 1e-25)
METHODS = (  # (key, label, colour, style)
    ("gd", "gradient descent, η = 1/L", "tab:blue", "-"),
    ("sbc", "Nesterov, μ_k = (k−1)/(k+2)", "tab:red", "-"),
    ("thm5", "Nesterov, Théorème 5 sequence", "tab:orange", "--"),
    ("ode", "SBC ODE at t = k√η", "k", "-"),
)


def fitted_slope(F, window) -> float:
    """Least-squares slope of log F(k) against log k on ~20 log-spaced k in ``window``."""
    k = np.unique(np.round(np.geomspace(window[0], window[1], N_FIT_POINTS)).astype(int))
    return float(np.polyfit(np.log(k), np.log(F[k]), 1)[0])


def _curvature(problem):
    """L = the largest curvature of a quadratic (None for other problems)."""
    return float(np.max(problem.h)) if hasattr(problem, "h") else None


def _flat_problem(config: dict) -> StochasticQuadratic:
    """The flat-spectrum quadratic: h_i log-spaced in [flat_h_min, 1], no noise."""
    return StochasticQuadratic(h=np.logspace(math.log10(config["flat_h_min"]), 0.0,
                                             config["flat_d"]), sigma=0.0)


def check(config: dict) -> None:
    """What the naming conventions leave: x*, the start, η ≤ 1/L and the records, the
    flat-spectrum problem, the slope windows and the ODE's range."""
    with built("problem"):
        problem = make_problem(config["problem"])
    if problem.minimizer is None:
        raise ExperimentError(f"problem = {show(config['problem'])}: must have a unique "
                              "minimizer (the bounds use x*)")
    require_start("x0", config["x0"], problem)
    eta = require_positive("eta", config["eta"])
    L = _curvature(problem)
    if L is not None and eta > 1.0 / L * (1 + 1e-12):
        raise ExperimentError(f"eta = {show(config['eta'])}: must be <= 1/L = {1.0 / L:g} for the "
                              f"bounds (L = {L:g}, the largest curvature of the problem)")
    with built("eta", config["eta"]):
        SGD(eta)
        for schedule in ("sbc", "thm5"):
            Nesterov(eta, schedule=schedule)
    n = config["n_steps"]
    require_window("seed_window", config["seed_window"], n, "n_steps")
    require_int("flat_d", config["flat_d"], 1)
    with because("h_i log-spaced in [flat_h_min, 1], eta = 1 = 1/L; at 1 every h_i = 1 and F "
                 "vanishes after one step"):
        require_in("flat_h_min", config["flat_h_min"], 0.0, 1.0)
    with built("flat_d"):
        _flat_problem(config)
    n_flat = config["flat_n_steps"]
    require_window("flat_gd_window", config["flat_gd_window"], n_flat, "flat_n_steps")
    k_hi = require_window("flat_nesterov_window", config["flat_nesterov_window"], n_flat,
                          "flat_n_steps")[1]
    k_max = require_int("flat_ode_k_max", config["flat_ode_k_max"], 1)
    if k_max < k_hi:
        raise ExperimentError(f"flat_ode_k_max = {k_max}: must be >= flat_nesterov_window[1] = "
                              f"{k_hi} (the ODE's slope is fitted on that window)")


def _bounds(problem, x0, eta, n_steps):
    """The bounds of the module docstring for k = 0 … n_steps, per method."""
    r2 = float(np.sum((x0 - problem.minimizer) ** 2))
    k = np.arange(n_steps + 1, dtype=float)
    with np.errstate(divide="ignore"):
        bounds = {"gd": r2 / (2.0 * eta * k), "sbc": 2.0 * r2 / (eta * (k + 1.0) ** 2),
                  "ode": 2.0 * r2 / (eta * k**2)}
    bounds["thm5"] = bounds["sbc"]
    return bounds


def _curves(problem, x0, eta, n_steps, ode_k_max):
    """F − F* for k = 0 … n_steps per method (the ODE up to ode_k_max, NaN beyond)."""
    d = problem.dim
    x_star = problem.minimizer
    f_star = float(problem.F(x_star))
    F = {"gd": problem.F(run_optimizer(problem, SGD(eta), x0, n_steps, 0, noise=False)) - f_star}
    for schedule in ("sbc", "thm5"):
        path = run_optimizer(problem, Nesterov(eta, schedule=schedule), x0, n_steps, 0,
                             noise=False)
        F[schedule] = problem.F(path[:, :d]) - f_star
    k_ode = np.arange(ode_k_max + 1)
    traj = solve_limit(problem, Nesterov(eta).limit(), x0, ode_k_max * math.sqrt(eta))
    F_ode = np.full(n_steps + 1, np.nan)
    F_ode[:ode_k_max + 1] = problem.F(traj(k_ode * math.sqrt(eta))[:, :d]) - f_star
    F["ode"] = F_ode
    return F, _bounds(problem, x0, eta, n_steps)


def _checks(F, bounds, windows):
    out = {}
    for key, _, _, _ in METHODS:
        f, b = F[key][1:], bounds[key][1:]
        ok = np.isfinite(f)
        out[key] = {"bound_holds_every_k": bool(np.all(f[ok] <= b[ok] * (1 + BOUND_SLACK))),
                    "max_ratio_to_bound": float(np.max(f[ok] / b[ok]))}
        if key in windows:
            out[key]["slope"] = fitted_slope(F[key], windows[key])
            out[key]["window"] = windows[key]
    return out


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """F − F* vs k for GD, Nesterov and the SBC ODE on two problems (module docstring)."""
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    eta, n = float(config["eta"]), config["n_steps"]
    L = _curvature(problem)
    seed_window = [int(k) for k in config["seed_window"]]  # windows checked by check()
    d = config["flat_d"]
    flat = _flat_problem(config)
    n_flat = config["flat_n_steps"]
    gd_window = [int(k) for k in config["flat_gd_window"]]
    nag_window = [int(k) for k in config["flat_nesterov_window"]]
    ode_k_max = min(config["flat_ode_k_max"], n_flat)

    with ctx.progress(2, desc=EXPERIMENT) as bar:
        F_seed, b_seed = _curves(problem, x0, eta, n, n)
        bar.update()
        F_flat, b_flat = _curves(flat, np.ones(d), 1.0, n_flat, ode_k_max)
        bar.update()

    seed_checks = _checks(F_seed, b_seed, {k: seed_window for k in ("gd", "sbc", "thm5")})
    flat_checks = _checks(F_flat, b_flat, {"gd": gd_window, "sbc": nag_window,
                                           "thm5": nag_window, "ode": nag_window})
    summary = {
        "problem": problem.config(), "x0": x0.tolist(), "eta": eta, "L": L,
        "seed_function": seed_checks,
        "seed_function_note": ("strongly convex, condition number 2: at eta = 1/L both methods "
                               "converge geometrically from the first steps (gradient descent by "
                               "1/4 per step in F), no O(1/k) or O(1/k^2) regime; slopes on "
                               f"k in {seed_window} are those of geometric decay"),
        "flat_spectrum": {"d": d, "h_min": config["flat_h_min"], "eta": 1.0, **flat_checks},
        "slope_gd": flat_checks["gd"]["slope"],
        "slope_nesterov": flat_checks["sbc"]["slope"],
        "bounds_hold": bool(all(c["bound_holds_every_k"]
                                for c in (*seed_checks.values(), *flat_checks.values()))),
    }
    arrays = {f"seed_F_{k}": v for k, v in F_seed.items()}
    stride_k = np.unique(np.round(np.geomspace(1, n_flat, 600)).astype(int))
    arrays["flat_k"] = stride_k
    arrays.update({f"flat_F_{k}": v[stride_k] for k, v in F_flat.items()})
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`); the
    bounds are formulas of x0, x* and η, drawn again from the config."""
    config = summary["config"]
    problem = make_problem(config["problem"])
    x0 = np.asarray(config["x0"], dtype=float)
    b_seed = _bounds(problem, x0, float(config["eta"]), config["n_steps"])
    flat = _flat_problem(config)
    b_flat = _bounds(flat, np.ones(flat.dim), 1.0, config["flat_n_steps"])
    return plot(arrays, b_seed, {k: v[arrays["flat_k"]] for k, v in b_flat.items()}, summary,
                describe_problem(problem), x0)


def format_table(summary: dict) -> str:
    lines = []
    for part, name in (("seed_function", "seed 002's f = x^2 + y^2/2"),
                       ("flat_spectrum", "flat spectrum")):
        lines.append(name)
        for key, label, _, _ in METHODS:
            rec = summary[part][key]
            slope = (f"slope {rec['slope']:6.2f} on k in {rec['window']}" if "slope" in rec
                     else " " * 28)
            lines.append(f"  {key:>5}: {slope}  bound holds at every k: "
                         f"{rec['bound_holds_every_k']} (max F/bound {rec['max_ratio_to_bound']:.3g})")
    return "\n".join(lines)


def plot(arrays, b_seed, b_flat, summary, problem_label, x0):
    """Left: seed 002's function; right: the flat spectrum. F − F* vs k, log-log, with bounds."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, (ax_s, ax_f) = plt.subplots(1, 2, figsize=(2 * FIGSIZE_PANEL[0] + 2.4,
                                                        FIGSIZE_PANEL[1] + 0.8),
                                         layout="constrained")
        n = arrays["seed_F_gd"].size - 1
        k = np.arange(1, n + 1)
        for key, label, colour, ls in METHODS:
            F = arrays[f"seed_F_{key}"][1:]
            ax_s.plot(k, F, ls, color=colour, lw=1.6, marker="o" if key != "ode" else None,
                      ms=3, label=label)
        ax_s.plot(k, b_seed["sbc"][1:], ":", color="tab:red", lw=1.3,
                  label="2L‖x0−x*‖²/(k+1)²  (Nesterov bound, O(1/k²);\n the ODE's 2‖x0−x*‖²/t² has k for k+1)")
        ax_s.plot(k, b_seed["gd"][1:], ":", color="tab:blue", lw=1.3,
                  label="L‖x0−x*‖²/(2k)  (gradient descent bound, O(1/k))")
        ax_s.set_ylim(F_FLOOR, 10.0)
        seed = summary["seed_function"]
        ax_s.set_title(f"Seed 002: f = x² + ½y², η = 1/L = {summary['eta']:g}, "
                       f"x0 = ({', '.join(f'{v:g}' for v in x0)})\n"
                       "geometric for both methods (strongly convex): no power-law regime",
                       fontsize=10)
        ax_s.text(0.02, 0.03, "bounds hold at every k: " + ", ".join(
            f"{key} {'yes' if seed[key]['bound_holds_every_k'] else 'NO'}"
            for key, _, _, _ in METHODS), transform=ax_s.transAxes, fontsize=8)

        kf = arrays["flat_k"]
        flat = summary["flat_spectrum"]
        for key, label, colour, ls in METHODS:
            F = arrays[f"flat_F_{key}"]
            rec = flat[key]
            ax_f.plot(kf, F, ls, color=colour, lw=1.6,
                      label=f"{label}: slope {rec['slope']:.2f} on k ∈ [{rec['window'][0]}, "
                            f"{rec['window'][1]}]")
        ax_f.plot(kf, b_flat["sbc"], ":", color="tab:red", lw=1.3, label="2L‖x0−x*‖²/(k+1)²")
        ax_f.plot(kf, b_flat["gd"], ":", color="tab:blue", lw=1.3, label="L‖x0−x*‖²/(2k)")
        ax_f.set_title(f"Flat spectrum: d = {flat['d']}, h_i log-spaced in "
                       f"[{flat['h_min']:g}, 1], η = 1, x0 = 1\nO(1/k) (GD) vs O(1/k²) "
                       "(Nesterov) before the smallest curvatures act", fontsize=10)
        ax_f.text(0.02, 0.03, "bounds hold at every k: " + ", ".join(
            f"{key} {'yes' if flat[key]['bound_holds_every_k'] else 'NO'}"
            for key, _, _, _ in METHODS), transform=ax_f.transAxes, fontsize=8)
        for ax in (ax_s, ax_f):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("iteration k (ODE: t = k√η)")
            ax.set_ylabel("F − F*")
            ax.legend(fontsize=7.5, loc="lower left", bbox_to_anchor=(0.0, 0.07))
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): three noise-free paths on each problem and the
    SBC ODE on each (t up to n_steps·sqrt(η), and up to min(flat_ode_k_max, flat_n_steps))."""
    from ..cost import FLOAT_BYTES, Cost

    z = 2 * config["flat_d"]
    steps = 3 * config["n_steps"] + 3 * config["flat_n_steps"]
    k_max = min(config["flat_ode_k_max"], config["flat_n_steps"])
    odes = (ode_run_steps(config["n_steps"] * math.sqrt(config["eta"]), z,
                          outputs=config["n_steps"] + 1)
            + ode_run_steps(k_max, z, outputs=k_max + 1))
    return Cost(run_steps=steps + odes, state_floats=z,
                memory_bytes=config["flat_n_steps"] * 2 * config["flat_d"] * FLOAT_BYTES,
                keys=("flat_n_steps", "flat_d", "flat_ode_k_max"))
