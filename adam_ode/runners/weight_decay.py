r"""Experiment ``weight-decay``: Adam with an L2 penalty versus AdamW with the same λ.

On a :class:`LogisticRegression` (its ``l2`` is the penalty), Adam runs on F_λ = F + (λ/2)‖x‖²
(``l2 = λ``) and AdamW with ``weight_decay = λ`` on F (``l2 = 0``). The rest point of Adam's limit
is x_L2 = argmin F_λ (where ∇F_λ = 0, computed by the problem); that of AdamW's limit solves
∇F(x)/(ε + √S(x)) + λx = 0 (:func:`adam_ode.optimizers.adamw.rest_point`, started at x_L2). Both
limits are solved to T from x0 = 0 (their end points must sit on their rest points), and the
iterates' final means are compared with both points.
"""

from __future__ import annotations

import functools
import json

import numpy as np

from ..config_checks import show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import solve_limit
from ..montecarlo import monte_carlo, steps_for_horizon
from ..optimizers import Adam, AdamW
from ..optimizers.adamw import rest_point
from ..problems import make_problem
from ..problems.logistic_regression import LogisticRegression
from ._checks import built, ode_run_steps, require_horizon, saved
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw"]

EXPERIMENT = "weight-decay"
N_RECORD = 200
LIMIT_RTOL, LIMIT_ATOL = 1e-9, 1e-11
LIMIT_SECONDS_PER_TIME = 2e-3  # a limit solve per unit of t (d = 30, 569 samples, LIMIT_RTOL)


def check(config: dict) -> None:
    """What the naming conventions leave: a logistic-regression table without its own l2, a
    minimizer of the penalised loss, and the Adam and AdamW records."""
    spec = config["problem"]
    if not isinstance(spec, dict) or spec.get("name") != LogisticRegression.name:
        raise ExperimentError(f"problem = {show(spec)}: must be a logistic-regression table (its "
                              "l2 is the penalty)")
    if "l2" in spec:
        raise ExperimentError(f"problem.l2 = {show(spec['l2'])}: set weight_decay instead (the "
                              "runner sets l2 = weight_decay for Adam and l2 = 0 for AdamW)")
    lam = config["weight_decay"]
    # The table itself was built when the config was resolved, and l2 = λ > 0 always has a
    # unique minimizer: only λ = 0 needs the problem again (tens of milliseconds).
    if lam == 0:
        with built("problem"):
            penalised = make_problem({**spec, "l2": lam})
        if penalised.minimizer is None:
            raise ExperimentError(f"weight_decay = {show(lam)}: without a penalty F has no "
                                  "minimizer on these data (linearly separable), so Adam has no "
                                  "rest point; use weight_decay > 0")
    gamma, a, b, eps = config["gamma"], config["a"], config["b"], config["eps"]
    with built("gamma", gamma):  # aγ < 1 and bγ < 1
        Adam(gamma, a, b, eps)
    with built("weight_decay", lam):  # λγ < 1
        AdamW(gamma, a, b, eps, weight_decay=lam)
    require_horizon("T", config["T"], "gamma", gamma)


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    spec = dict(config["problem"])
    lam = float(config["weight_decay"])
    penalised = make_problem({**spec, "l2": lam})
    plain = make_problem({**spec, "l2": 0.0})
    gamma, a, b, eps, T = config["gamma"], config["a"], config["b"], config["eps"], config["T"]
    adam = Adam(gamma, a, b, eps)
    adamw = AdamW(gamma, a, b, eps, weight_decay=lam)
    x0 = np.zeros(plain.dim)
    n_steps = steps_for_horizon(T, gamma)
    every = max(1, n_steps // N_RECORD)
    x_l2 = penalised.minimizer
    x_w = rest_point(plain, x_l2, lam, eps)
    seeds = ctx.seed_sequence().spawn(2)
    with ctx.progress(4, desc=EXPERIMENT) as bar:
        runs = {}
        for key, problem, opt, seed in (("adam_l2", penalised, adam, seeds[0]),
                                        ("adamw", plain, adamw, seeds[1])):
            runs[key] = monte_carlo(problem, opt, x0, n_steps, config["n_runs"], seed,
                                    record_every=every, track_grad_norm=False,
                                    workers=ctx.workers)
            bar.update()
        t_rec = runs["adam_l2"].record_steps * gamma
        limits = {
            "adam_l2": solve_limit(penalised, adam.limit(), x0, T, t_eval=t_rec,
                                   rtol=LIMIT_RTOL, atol=LIMIT_ATOL),
            "adamw": solve_limit(plain, adamw.limit(), x0, T, t_eval=t_rec,
                                 rtol=LIMIT_RTOL, atol=LIMIT_ATOL)}
        bar.update(2)

    def acc(x):
        return float(np.mean(np.sign(plain.A @ x) == plain.y))

    hess = penalised._hessian(x_l2)
    summary = {
        "problem": plain.config(), "weight_decay": lam,
        "gram_condition_number": float(np.linalg.cond(plain.A.T @ plain.A)),
        "penalised_hessian_condition_number_at_x_l2": float(np.linalg.cond(hess)),
        "rest_points": {
            "x_l2": {"norm": float(np.linalg.norm(x_l2)), "F": float(plain.F(x_l2)),
                     "F_penalised": float(penalised.F(x_l2)), "accuracy": acc(x_l2)},
            "x_adamw": {"norm": float(np.linalg.norm(x_w)), "F": float(plain.F(x_w)),
                        "F_penalised": float(penalised.F(x_w)), "accuracy": acc(x_w)},
            "distance_between": float(np.linalg.norm(x_l2 - x_w)),
            "relative_distance": float(np.linalg.norm(x_l2 - x_w) / np.linalg.norm(x_l2)),
            "cosine": float(x_l2 @ x_w / (np.linalg.norm(x_l2) * np.linalg.norm(x_w))),
        },
        "runs": {},
    }
    arrays = {"t": t_rec, "x_l2": x_l2, "x_adamw": x_w}
    for key, own, other in (("adam_l2", x_l2, x_w), ("adamw", x_w, x_l2)):
        xs = runs[key].record_x  # (R, K, d)
        x_ode = limits[key].x
        mean_final = runs[key].final_x.mean(axis=0)
        summary["runs"][key] = {
            "ode_end_distance_to_own_rest_point": float(np.linalg.norm(x_ode[-1] - own)),
            "ode_end_distance_to_other_rest_point": float(np.linalg.norm(x_ode[-1] - other)),
            "iterates_mean_distance_to_own_rest_point": float(np.linalg.norm(mean_final - own)),
            "iterates_mean_distance_to_other_rest_point":
                float(np.linalg.norm(mean_final - other)),
            "iterates_spread": float(np.sqrt(np.mean(np.sum(
                (runs[key].final_x - mean_final) ** 2, axis=1)))),
        }
        arrays[f"{key}_ode_dist_own"] = np.linalg.norm(x_ode - own, axis=1)
        arrays[f"{key}_ode_dist_other"] = np.linalg.norm(x_ode - other, axis=1)
        arrays[f"{key}_iter_dist_own_median"] = np.median(np.linalg.norm(xs - own, axis=2),
                                                          axis=0)
        arrays[f"{key}_iter_dist_other_median"] = np.median(np.linalg.norm(xs - other, axis=2),
                                                            axis=0)
        arrays[f"{key}_final_mean"] = mean_final
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    plain = make_problem({**config["problem"], "l2": 0.0})
    title = (f"{describe_problem(plain)}, λ = {config['weight_decay']:g}, γ = {config['gamma']:g}, "
             f"a = {config['a']:g}, b = {config['b']:g}, ε = {config['eps']:g}, "
             f"{config['n_runs']} runs")
    return plot(arrays, summary, title)


def format_table(summary):
    rp = summary["rest_points"]
    lines = [f"|x_l2 - x_adamw| = {rp['distance_between']:.3f} "
             f"({100 * rp['relative_distance']:.0f} % of |x_l2| = {rp['x_l2']['norm']:.3f}; "
             f"|x_adamw| = {rp['x_adamw']['norm']:.3f}), cosine {rp['cosine']:.3f}",
             f"F: {rp['x_l2']['F']:.4f} (L2) vs {rp['x_adamw']['F']:.4f} (AdamW); accuracy "
             f"{rp['x_l2']['accuracy']:.3f} vs {rp['x_adamw']['accuracy']:.3f}",
             f"{'run':>8} {'ODE end->own':>13} {'ODE end->other':>15} {'iter mean->own':>15} "
             f"{'iter mean->other':>17} {'spread':>7}"]
    for key, r in summary["runs"].items():
        lines.append(f"{key:>8} {r['ode_end_distance_to_own_rest_point']:13.2e} "
                     f"{r['ode_end_distance_to_other_rest_point']:15.3f} "
                     f"{r['iterates_mean_distance_to_own_rest_point']:15.3f} "
                     f"{r['iterates_mean_distance_to_other_rest_point']:17.3f} "
                     f"{r['iterates_spread']:7.3f}")
    return "\n".join(lines)


def plot(arrays, summary, title=""):
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(2 * FIGSIZE_PANEL[0] + 1.5, FIGSIZE_PANEL[1]),
                                 layout="constrained")
        ax = axes[0]
        idx = np.arange(arrays["x_l2"].size)
        ax.plot(idx, arrays["x_l2"], "o", color="tab:red", ms=6, mfc="none",
                label="argmin F + (λ/2)|x|² (Adam + L2 rest point)")
        ax.plot(idx, arrays["x_adamw"], "s", color="tab:blue", ms=6, mfc="none",
                label="AdamW rest point")
        ax.plot(idx, arrays["adam_l2_final_mean"], ".", color="tab:red", ms=5,
                label="Adam + L2 iterates (mean of runs)")
        ax.plot(idx, arrays["adamw_final_mean"], ".", color="tab:blue", ms=5,
                label="AdamW iterates (mean of runs)")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("coordinate i (feature)")
        ax.set_ylabel("x_i")
        ax.set_title("Where the two methods come to rest")
        ax.legend(fontsize=7)
        ax = axes[1]
        t = arrays["t"]
        for key, colour, name in (("adam_l2", "tab:red", "Adam + L2"),
                                  ("adamw", "tab:blue", "AdamW")):
            ax.plot(t, arrays[f"{key}_ode_dist_own"], color=colour, lw=2,
                    label=f"{name} limit: distance to own rest point")
            ax.plot(t, arrays[f"{key}_ode_dist_other"], color=colour, lw=1.2, ls="--",
                    label=f"{name} limit: distance to the other one")
            ax.plot(t, arrays[f"{key}_iter_dist_own_median"], color=colour, lw=0.8, alpha=0.7,
                    label=f"{name} iterates (median)")
        ax.set_yscale("log")
        ax.set_xlabel("t = nγ")
        ax.set_ylabel("distance")
        ax.set_title("Limits and iterates vs the two rest points")
        ax.legend(fontsize=7)
        if title:
            fig.suptitle(title, fontsize=9)
    return fig


@functools.lru_cache(maxsize=16)
def _dimension(spec: str) -> int:
    """d of the problem table ``spec`` (JSON): built once per table, not per sweep point."""
    return make_problem(json.loads(spec)).dim


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): n_runs runs of Adam (L2) and of AdamW on the
    data set, T/γ steps each (states of 3d floats, 90 for the 30 features of breast-cancer),
    and the two limits solved on [0, T]."""
    from ..cost import FLOAT_BYTES, Cost

    z = 3 * _dimension(json.dumps(config["problem"], sort_keys=True))
    steps = int(config["T"] / config["gamma"])
    limits = ode_run_steps(config["T"], z, solves=2, outputs=N_RECORD + 1,
                           seconds_per_time=LIMIT_SECONDS_PER_TIME)
    return Cost(run_steps=2 * config["n_runs"] * steps + limits, state_floats=z,
                memory_bytes=2 * config["n_runs"] * z * FLOAT_BYTES * 1000,
                keys=("n_runs", "T"))
