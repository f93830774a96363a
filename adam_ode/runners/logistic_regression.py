r"""Experiment ``logistic-regression``: seed 003's comparison of optimizers on real data.

Training loss F(x_k) of SGD, AdaGrad, RMSProp and Adam on a :class:`LogisticRegression`
(default: the bundled breast-cancer data set, mini-batches with replacement), against epochs
(k·B/n), median and 10–90 % band over independent runs from x0 = 0, with each optimizer's
continuous limit (its ``limit()`` solved by :func:`adam_ode.solve_limit` on the limit's own time
map ``times(k)``, then read at every step k). The limits use the problem's exact ∇F and S of
the mini-batch gradient, so they are the small-step prediction at these very hyperparameters;
how close the iterates sit to them is the measurement.
"""

from __future__ import annotations

import numpy as np

from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..integrate import solve_limit
from ..montecarlo import monte_carlo
from ..optimizers import SGD, AdaGrad, Adam, RMSProp
from ..problems import make_problem
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run"]

EXPERIMENT = "logistic-regression"
QUANTILES = (0.1, 0.5, 0.9)
COLOURS = {"sgd": "tab:green", "adagrad": "tab:purple", "rmsprop": "tab:orange",
           "adam": "tab:blue"}
LIMIT_RTOL = 1e-8  # ample for curves drawn at plotting resolution (and 10x faster than 1e-11)
LIMIT_ATOL = 1e-10


def optimizers_of(config):
    return {"sgd": SGD(config["gamma_sgd"]), "adagrad": AdaGrad(config["gamma_adagrad"]),
            "rmsprop": RMSProp(config["gamma_rmsprop"]), "adam": Adam(config["gamma_adam"])}


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Loss curves of four optimizers and their limits (module docstring)."""
    problem = make_problem(config["problem"])
    n = getattr(problem, "n", None)
    if n is None:
        raise ExperimentError(f"problem must be a finite-sum problem with n samples, got "
                              f"{problem!r}")
    batch = problem.batch_size
    steps_per_epoch = n / batch
    n_steps = max(1, int(round(config["epochs"] * steps_per_epoch)))
    x0 = np.zeros(problem.dim)
    optimizers = optimizers_of(config)
    seeds = ctx.seed_sequence().spawn(len(optimizers))
    steps = np.arange(n_steps + 1)
    epochs = steps / steps_per_epoch
    F_star = problem.min_value
    summary = {"problem": problem.config(), "n_steps": n_steps, "F_x0": float(problem.F(x0)),
               "F_star": F_star, "optimizers": {}}
    arrays = {"epochs": epochs}
    with ctx.progress(2 * len(optimizers), desc=EXPERIMENT) as bar:
        for (key, opt), seed in zip(optimizers.items(), seeds):
            mc = monte_carlo(problem, opt, x0, n_steps, config["n_runs"], seed,
                             record_every=1, track_grad_norm=False, workers=ctx.workers)
            loss = problem.F(mc.record_x)  # (R, N+1)
            bar.update()
            t = opt.times(steps)
            traj = solve_limit(problem, opt.limit(), x0, float(t[-1]), t_eval=t,
                               rtol=LIMIT_RTOL, atol=LIMIT_ATOL)
            loss_limit = problem.F(traj.x)
            bar.update()
            q = np.quantile(loss, QUANTILES, axis=0)
            arrays[f"{key}_loss_quantiles"] = q
            arrays[f"{key}_loss_limit"] = loss_limit
            accuracy = np.mean(np.sign(mc.final_x @ problem.A.T) == problem.y, axis=1)
            summary["optimizers"][key] = {
                "optimizer": opt.config(),
                "final_loss_median": float(q[1, -1]),
                "final_loss_q10": float(q[0, -1]), "final_loss_q90": float(q[2, -1]),
                "limit_final_loss": float(loss_limit[-1]),
                "max_gap_median_to_limit": float(np.max(np.abs(q[1] - loss_limit))),
                "train_accuracy_median": float(np.median(accuracy)),
                "diverged_runs": int(np.sum(mc.diverged)),
            }
    title = (f"{describe_problem(problem)}, x0 = 0, {config['n_runs']} runs per optimizer")
    figure = plot(arrays, summary, title)
    return ExperimentResult(summary=summary, arrays=arrays, figure=figure,
                            table=format_table(summary))


def format_table(summary):
    lines = [f"F(x0) = {summary['F_x0']:.4f}, F* = {summary['F_star']:.4f}",
             f"{'optimizer':>9} {'median F':>10} {'10 %':>9} {'90 %':>9} {'limit F':>9} "
             f"{'max|median-limit|':>18} {'accuracy':>9}"]
    for key, rec in summary["optimizers"].items():
        lines.append(f"{key:>9} {rec['final_loss_median']:10.4f} {rec['final_loss_q10']:9.4f} "
                     f"{rec['final_loss_q90']:9.4f} {rec['limit_final_loss']:9.4f} "
                     f"{rec['max_gap_median_to_limit']:18.4f} "
                     f"{rec['train_accuracy_median']:9.3f}")
    return "\n".join(lines)


def plot(arrays, summary, title=""):
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FIGSIZE_PANEL[0] * 1.6, FIGSIZE_PANEL[1] * 1.2),
                               layout="constrained")
        e = arrays["epochs"]
        F_star = summary["F_star"]
        for key, colour in COLOURS.items():
            if f"{key}_loss_quantiles" not in arrays:
                continue
            q = arrays[f"{key}_loss_quantiles"] - F_star
            ax.fill_between(e[1:], q[0, 1:], q[2, 1:], color=colour, alpha=0.25, lw=0)
            ax.plot(e[1:], q[1, 1:], color=colour, lw=1.5, label=f"{key} (median, 10-90 %)")
            ax.plot(e[1:], arrays[f"{key}_loss_limit"][1:] - F_star, color=colour, lw=1.2,
                    ls="--", label=f"{key} limit")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("epochs (log scale)")
        ax.set_ylabel("training loss F(x) - F*  (log scale)")
        ax.legend(fontsize=8, ncol=2)
        ax.set_title("Seed 003 on real data: logistic regression, breast-cancer")
        if title:
            fig.suptitle(title, fontsize=9)
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): n_runs runs of four optimizers over the epochs
    (breast-cancer: 569 samples, 30 features)."""
    from ..cost import FLOAT_BYTES, Cost

    steps = config["epochs"] * (569 // config["problem"].get("batch_size", 1) + 1)
    return Cost(run_steps=4 * config["n_runs"] * steps, state_floats=90,
                memory_bytes=4 * config["n_runs"] * steps * 90 * FLOAT_BYTES,
                keys=("n_runs", "epochs"))
