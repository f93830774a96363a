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

import warnings

import numpy as np

from .._validation import DivergenceWarning
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import SolverBudgetError, solve_limit
from ..montecarlo import monte_carlo
from ..optimizers import SGD, AdaGrad, Adam, RMSProp
from ..problems import make_problem
from ._checks import budgeted_ode_run_steps, built, figure_run_steps, saved, seconds_run_steps
from ._plot import FIGSIZE_PANEL, STYLE, describe_problem, pyplot

__all__ = ["run", "check", "estimate", "redraw"]

EXPERIMENT = "logistic-regression"
QUANTILES = (0.1, 0.5, 0.9)
COLOURS = {"sgd": "tab:green", "adagrad": "tab:purple", "rmsprop": "tab:orange",
           "adam": "tab:blue"}
LIMIT_RTOL = 1e-8  # ample for curves drawn at plotting resolution (and 10x faster than 1e-11)
LIMIT_ATOL = 1e-10
# A run whose final loss exceeds LOSS_BLOWUP·F(x0) has not trained but blown up (a step far
# beyond the stability range: F grows like |x| on logistic losses, so x stays finite and the
# kernels' divergence box does not catch it): it counts as diverged.
LOSS_BLOWUP = 10.0
RECORDS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam}
GAMMA_KEYS = {"sgd": "gamma_sgd", "adagrad": "gamma_adagrad", "rmsprop": "gamma_rmsprop",
              "adam": "gamma_adam"}
# The logistic-regression limits (d = 30): ~2 ms per unit of limit time (runners/_checks.py),
# ~25 µs per field evaluation (measured: 881 evaluations in 0.02 s, the budget of 5e5 in 12 s).
LIMIT_SECONDS_PER_TIME = 2e-3
LIMIT_SECONDS_PER_EVALUATION = 25e-6
# NumPy evaluation of F at every recorded iterate: ~1 ns per (iterate · sample · feature).
LOSS_SECONDS_PER_FLOAT = 1e-9


def _problem(config):
    problem = make_problem(config["problem"])
    if getattr(problem, "n", None) is None or not hasattr(problem, "A"):
        raise ExperimentError(f"problem = {config['problem']!r}: must be a finite-sum problem "
                              "with n samples (e.g. logistic-regression)")
    return problem


def _n_steps(config, problem) -> int:
    return max(1, int(round(config["epochs"] * (problem.n / problem.batch_size))))


def check(config: dict) -> None:
    """What the naming conventions leave: a finite-sum problem (samples, features, labels) and
    the four optimizer records built from their step sizes."""
    with built("problem"):
        _problem(config)
    for key, gamma_key in GAMMA_KEYS.items():
        with built(gamma_key, config[gamma_key]):
            RECORDS[key](config[gamma_key])


def optimizers_of(config):
    """The four records at their step sizes, torch's defaults otherwise."""
    return {key: record(config[GAMMA_KEYS[key]]) for key, record in RECORDS.items()}


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """Loss curves of four optimizers and their limits (module docstring)."""
    problem = _problem(config)
    steps_per_epoch = problem.n / problem.batch_size
    n_steps = _n_steps(config, problem)
    x0 = np.zeros(problem.dim)
    optimizers = optimizers_of(config)
    seeds = ctx.seed_sequence().spawn(len(optimizers))
    steps = np.arange(n_steps + 1)
    epochs = steps / steps_per_epoch
    F_star = problem.min_value
    summary = {"problem": problem.config(), "n_steps": n_steps, "F_x0": float(problem.F(x0)),
               "F_star": F_star, "optimizers": {}}
    arrays = {"epochs": epochs}
    phases = _phases(config, problem)  # the bar advances in estimated run·steps: an honest ETA
    with ctx.progress(sum(runs + limit for runs, limit in phases.values()), desc=EXPERIMENT,
                      unit="run·steps") as bar:
        for (key, opt), seed in zip(optimizers.items(), seeds):
            mc = monte_carlo(problem, opt, x0, n_steps, config["n_runs"], seed,
                             record_every=1, track_grad_norm=False, workers=ctx.workers)
            loss = problem.F(mc.record_x)  # (R, N+1)
            bar.update(phases[key][0])
            t = opt.times(steps)
            try:
                traj = solve_limit(problem, opt.limit(), x0, float(t[-1]), t_eval=t,
                                   rtol=LIMIT_RTOL, atol=LIMIT_ATOL)
                loss_limit = problem.F(traj.x)
            except SolverBudgetError as err:  # a horizon of 1e9 (a huge step): no limit drawn
                warnings.warn(f"{key}'s limit is not drawn: {err}; lower {GAMMA_KEYS[key]}",
                              stacklevel=1)
                loss_limit = np.full(n_steps + 1, np.nan)
            bar.update(phases[key][1])
            q = np.quantile(loss, QUANTILES, axis=0)
            arrays[f"{key}_loss_quantiles"] = q
            arrays[f"{key}_loss_limit"] = loss_limit
            accuracy = np.mean(np.sign(mc.final_x @ problem.A.T) == problem.y, axis=1)
            diverged = _diverged(key, loss, mc.diverged, summary["F_x0"])
            summary["optimizers"][key] = {
                "optimizer": opt.config(),
                "final_loss_median": float(q[1, -1]),
                "final_loss_q10": float(q[0, -1]), "final_loss_q90": float(q[2, -1]),
                "limit_final_loss": float(loss_limit[-1]),
                "max_gap_median_to_limit": float(np.max(np.abs(q[1] - loss_limit))),
                "train_accuracy_median": float(np.median(accuracy)),
                "diverged_runs": int(np.sum(diverged)),
            }
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def _diverged(key, loss, non_finite, F_x0):
    """Runs that diverged: non-finite (the kernels' report) or ending above LOSS_BLOWUP·F(x0);
    the latter are reported here with a :class:`~adam_ode.DivergenceWarning`."""
    with np.errstate(invalid="ignore"):
        above = ~np.isfinite(loss) | (loss > LOSS_BLOWUP * F_x0)
    blown = above[:, -1] & ~non_finite
    if blown.any():
        runs = np.flatnonzero(blown)
        first = [int(np.argmax(above[r])) for r in runs[:5]]
        shown = ", ".join(f"run {r} from step {k}" for r, k in zip(runs, first))
        warnings.warn(DivergenceWarning(
            f"{runs.size} of {loss.shape[0]} runs of {key} diverged: final loss above "
            f"{LOSS_BLOWUP:g} F(x0) = {LOSS_BLOWUP * F_x0:.4g} ({shown}); lower "
            f"{GAMMA_KEYS[key]}", count=int(runs.size), total=int(loss.shape[0]),
            first_steps=first), stacklevel=2)
    return non_finite | blown


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    config = summary["config"]
    problem = make_problem(config["problem"])
    title = f"{describe_problem(problem)}, x0 = 0, {config['n_runs']} runs per optimizer"
    return plot(arrays, summary, title)


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


def _phases(config, problem) -> dict:
    """Run·steps of each optimizer's two phases, in the order of the run: its n_runs runs with
    the loss F at every recorded iterate (all n samples), and its limit solved on its own time
    map up to the last step (γ·n_steps, AdaGrad γ²·n_steps; at most the solver's budget)."""
    d, n_steps, runs = problem.dim, _n_steps(config, problem), config["n_runs"]
    iterations = runs * n_steps * (1 + problem.batch_size * d // 8)
    losses = seconds_run_steps(LOSS_SECONDS_PER_FLOAT * runs * (n_steps + 1) * problem.n * d,
                               3 * d)
    return {key: (iterations + losses,
                  budgeted_ode_run_steps(float(opt.times(n_steps)), 3 * d, outputs=n_steps + 1,
                                         seconds_per_time=LIMIT_SECONDS_PER_TIME,
                                         seconds_per_evaluation=LIMIT_SECONDS_PER_EVALUATION))
            for key, opt in optimizers_of(config).items()}


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): each optimizer's runs, losses and limit
    (:func:`_phases`), the figure."""
    from ..cost import FLOAT_BYTES, Cost

    problem = _problem(config)
    d, n_steps = problem.dim, _n_steps(config, problem)
    phases = sum(runs + limit for runs, limit in _phases(config, problem).values())
    # one optimizer's record (R, N+1, d) and its margins A x (R, N+1, n) at once
    memory = config["n_runs"] * (n_steps + 1) * (d + problem.n) * FLOAT_BYTES
    return Cost(run_steps=phases + figure_run_steps(1, 3 * d), state_floats=3 * d,
                memory_bytes=memory, keys=("n_runs", "epochs", *GAMMA_KEYS.values()))
