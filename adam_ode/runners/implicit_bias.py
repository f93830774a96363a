r"""Experiment ``implicit-bias``: where SGD, Adam and their limits end on under-determined least squares.

Seed 000 claims that Adam converges towards the interpolating solution of minimal ‖w‖∞. On
F(x) = (1/2n) ‖Ax − y‖² with n < d (Gaussian features, y = A x_planted with a sparse planted
x_planted, so every point of the affine set {Ax = y} is a global minimizer) all methods start at
x0 = 0 and the end points are compared with

- x_ℓ2 = A⁺y, the minimum-‖x‖₂ interpolating solution;
- x_ℓ∞ = argmin {‖x‖∞ : Ax = y}, a linear programme (``scipy.optimize.linprog``, HiGHS).

Methods: SGD with batch size 1 and its limit (the gradient flow, which stays in x0 + row(A) and
therefore ends at x_ℓ2); stochastic Adam (batch 1) at each ε and its limit, the ODE (3.3) with
S the second moment of the per-sample gradient; full-batch Adam (exact gradients) at each ε and
its limit, the same ODE with S = ∇F² (:class:`_ExactGradients`). At an interpolating point every
per-sample residual vanishes, so S → 0 and the mini-batch noise vanishes there too.

The Adam limits become stiff as x nears the interpolating set: ẋ = −m̂/(ε + √v̂) is sign-like while
√v̂ ≫ ε and relaxes at rates ∝ 1/ε afterwards. They are solved with LSODA (stiffness switching);
each solve is repeated at a ten times looser rtol and the difference of the end points is
reported (``limit_tolerance_check``: it bounds the error of the looser solve, so it is
conservative for the reported one). A tighter check is not affordable: once x has converged
(‖∇F‖ ~ 1e-16) LSODA at rtol 1e-9 takes ~25x more steps at ε = 1e-3 and stalls at ε = 1e-8.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linprog

from ..config_checks import require_choice, require_in
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import MAX_EVALUATIONS, SolverBudgetError, solve_limit
from ..montecarlo import monte_carlo, steps_for_horizon
from ..optimizers import SGD, Adam
from ..problems.least_squares import LeastSquares
from ._checks import (because, budgeted_ode_run_steps, built, figure_run_steps, num, nums,
                      require_horizon, require_int, require_labels, require_numbers, saved)
from ._plot import FIGSIZE_PANEL, STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "min_linf_solution"]

EXPERIMENT = "implicit-bias"
CHECK_FACTOR = 10.0  # the accuracy check repeats each limit solve at rtol * CHECK_FACTOR
ATOL_OVER_RTOL = 1e-2  # atol = ATOL_OVER_RTOL * rtol (the solution is O(1))
LIMIT_METHODS = ("LSODA", "Radau", "BDF", "DOP853", "RK45", "RK23")  # solve_ivp's methods
# The limit solves (d = 30, LSODA at rtol 1e-8 and 1e-7 on [0, 60]): 0.2-1.5 s each on a
# 2-core machine, the slower the smaller eps; ~10 ms per unit of time, in the model of
# runners/_checks.py; ~35 µs per field evaluation. Some data seeds make a solve stall (see the
# TOML): it then costs up to the solver's budget of evaluations.
LIMIT_SECONDS_PER_TIME = 2.5e-3
LIMIT_SECONDS_PER_EVALUATION = 35e-6


class _ExactGradients:
    """The least-squares problem seen by full-batch Adam: same ∇F, second moment S = ∇F²
    (no sampling noise). Only what :class:`~adam_ode.optimizers.adam.AdamLimit` reads."""

    def __init__(self, problem: LeastSquares):
        self.problem = problem
        self.dim = problem.dim

    def grad_F(self, x):
        return self.problem.grad_F(x)

    def S(self, x):
        return self.problem.grad_F(x) ** 2

    def config(self):
        return {**self.problem.config(), "batch_size": "full (exact gradients)"}


def min_linf_solution(A, y) -> np.ndarray:
    """argmin ‖x‖∞ subject to Ax = y, as the LP min s s.t. −s ≤ x_i ≤ s, Ax = y (HiGHS)."""
    n, d = A.shape
    c = np.r_[np.zeros(d), 1.0]
    eye, ones = np.eye(d), np.ones((d, 1))
    res = linprog(c, A_ub=np.block([[eye, -ones], [-eye, -ones]]), b_ub=np.zeros(2 * d),
                  A_eq=np.c_[A, np.zeros(n)], b_eq=y, bounds=[(None, None)] * d + [(0, None)],
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"min-linf linear programme failed: {res.message}")
    return res.x[:d]


def check(config: dict) -> None:
    """What the naming conventions leave: an under-determined system 1 <= n < d, the planted
    support, the data seed, the ε list (distinct: it names the methods), each Adam record, the
    horizon and the limit solver's method and tolerance."""
    n = require_int("n", config["n"], 1)
    d = require_int("d", config["d"], 2)
    if not n < d:
        raise ExperimentError(f"n = {n}: must be < d = {d} (an under-determined system has a "
                              "set of interpolants)")
    k = require_int("planted_nonzeros", config["planted_nonzeros"], 1)
    if k > d:
        raise ExperimentError(f"planted_nonzeros = {k}: must be <= d = {d}")
    require_int("data_seed", config["data_seed"], 0)
    gamma = config["gamma"]
    eps = require_numbers("eps", config["eps"])
    require_labels("eps", eps)  # they name the methods and their arrays
    with built("gamma", gamma):
        SGD(gamma)
    for i, e in enumerate(eps):
        with built(f"eps[{i}]", e):
            Adam(gamma, config["a"], config["b"], e)
    require_horizon("T", config["T"], "gamma", gamma)
    require_choice("limit_method", config["limit_method"], LIMIT_METHODS)
    with because(f"each solve is repeated at {CHECK_FACTOR:g} x limit_rtol"):
        require_in("limit_rtol", config["limit_rtol"], 0.0, 1.0 / CHECK_FACTOR)


def planted_problem(n: int, d: int, nonzeros: int, seed: int) -> tuple[LeastSquares, np.ndarray]:
    """Gaussian A (n, d), x_planted with ``nonzeros`` entries ±1 at random places, y = A x_planted."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    x_planted = np.zeros(d)
    where = rng.choice(d, nonzeros, replace=False)
    x_planted[where] = rng.choice([-1.0, 1.0], nonzeros)
    return LeastSquares(A, A @ x_planted, batch_size=1), x_planted


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    n, d = int(config["n"]), int(config["d"])
    if not 1 <= n < d:
        raise ExperimentError(f"implicit-bias needs an under-determined system 1 <= n < d, "
                              f"got n = {n}, d = {d}")
    k = int(config["planted_nonzeros"])
    if not 1 <= k <= d:
        raise ExperimentError(f"planted_nonzeros must lie in [1, d = {d}], got {k}")
    problem, x_planted = planted_problem(n, d, k, int(config["data_seed"]))
    exact = _ExactGradients(problem)
    A, y = problem.A, problem.y
    x_l2 = np.linalg.pinv(A) @ y
    x_linf = min_linf_solution(A, y)
    gamma, a, b, T = config["gamma"], config["a"], config["b"], config["T"]
    eps_list = [float(e) for e in config["eps"]]
    rtol = float(config["limit_rtol"])
    method = config["limit_method"]
    x0 = np.zeros(d)
    n_steps = steps_for_horizon(T, gamma)
    n_runs = config["n_runs"]

    def describe(x):
        return {"norm_2": float(np.linalg.norm(x)), "norm_inf": float(np.max(np.abs(x))),
                "distance_to_min_l2": float(np.linalg.norm(x - x_l2)),
                "distance_to_min_linf": float(np.linalg.norm(x - x_linf)),
                "residual_rms": float(np.linalg.norm(A @ x - y) / np.sqrt(n)),
                "grad_norm": float(np.linalg.norm(problem.grad_F(x)))}

    def solve(key, prob, opt):
        ends, nfev = [], 0
        for tol in (rtol * CHECK_FACTOR, rtol):
            try:
                traj = solve_limit(prob, opt.limit(), x0, T, rtol=tol,
                                   atol=ATOL_OVER_RTOL * tol, method=method)
            except SolverBudgetError as err:
                # A stalled solve (some data seeds, small eps): the iterates' results stand,
                # this limit has no end point; the tighter solve would stall as well.
                warnings.warn(f"{key}: the limit has no end point: {err}", stacklevel=1)
                nan = np.full(d, np.nan)
                return nan, float("nan"), nfev + MAX_EVALUATIONS
            ends.append(traj.x[-1])
            nfev += traj.nfev
        return ends[1], float(np.linalg.norm(ends[0] - ends[1])), nfev

    specs = [("sgd", None, SGD(gamma), problem, True)]
    for eps in eps_list:
        adam = Adam(gamma, a, b, eps)
        specs.append((f"adam_eps={eps:g}", eps, adam, problem, True))
        specs.append((f"adam_full_batch_eps={eps:g}", eps, adam, exact, False))
    seeds = ctx.seed_sequence().spawn(len(specs))
    summary = {"problem": {**problem.config(), "planted_nonzeros": k,
                           "data_seed": int(config["data_seed"])},
               "n_steps": n_steps,
               "solutions": {"min_l2": describe(x_l2), "min_linf": describe(x_linf),
                             "planted": describe(x_planted)},
               "limit_solver": {"method": method, "rtol": rtol,
                                "atol": ATOL_OVER_RTOL * rtol, "check_rtol": rtol * CHECK_FACTOR},
               "methods": {}}
    arrays = {"x_min_l2": x_l2, "x_min_linf": x_linf, "x_planted": x_planted,
              "eps": np.array(eps_list)}
    phases = _phases(config)  # the bar advances in estimated run·steps: an honest ETA
    with ctx.progress(sum(mc + solves for mc, solves in phases), desc=EXPERIMENT,
                      unit="run·steps") as bar:
        for (key, eps, opt, prob, noise), seed, (mc_cost, solve_cost) in zip(specs, seeds, phases):
            runs = monte_carlo(problem, opt, x0, n_steps, n_runs if noise else 1, seed,
                               noise=noise, track_grad_norm=False, workers=ctx.workers)
            bar.update(mc_cost)
            x_lim, tol_diff, nfev = solve(key, prob, opt)
            bar.update(solve_cost)
            finals = runs.final_x
            mean = finals.mean(axis=0)
            rec = {"eps": eps, "stochastic": noise, "n_runs": int(finals.shape[0]),
                   "diverged_runs": int(np.sum(runs.diverged)),
                   "iterates_mean": describe(mean),
                   "iterates_per_run_distance_to_min_l2": [
                       float(np.linalg.norm(x - x_l2)) for x in finals],
                   "iterates_per_run_distance_to_min_linf": [
                       float(np.linalg.norm(x - x_linf)) for x in finals],
                   "iterates_spread": float(np.sqrt(np.mean(np.sum((finals - mean) ** 2,
                                                                   axis=1)))),
                   "limit_end": describe(x_lim),
                   "limit_tolerance_check": tol_diff, "limit_nfev": nfev,
                   "iterates_mean_minus_limit_end": float(np.linalg.norm(mean - x_lim))}
            d2, dinf = rec["limit_end"]["distance_to_min_l2"], \
                rec["limit_end"]["distance_to_min_linf"]
            rec["limit_end_closer_to"] = None if not np.isfinite(d2 + dinf) else \
                "min_l2" if d2 < dinf else "min_linf"
            summary["methods"][key] = rec
            arrays[f"{key}_iterates_final"] = finals
            arrays[f"{key}_limit_end"] = x_lim
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    c = summary["config"]
    title = (f"least squares n = {c['n']} < d = {c['d']} (Gaussian A, {c['planted_nonzeros']}"
             f"-sparse planted x), x0 = 0, γ = {c['gamma']:g}, a = {c['a']:g}, b = {c['b']:g}, "
             f"T = {c['T']:g}, {c['n_runs']} runs")
    return plot(arrays, summary, title)


def format_table(summary):
    sol = summary["solutions"]
    lines = [f"min-l2:   |x|2 = {sol['min_l2']['norm_2']:.4f}  |x|inf = "
             f"{sol['min_l2']['norm_inf']:.4f}",
             f"min-linf: |x|2 = {sol['min_linf']['norm_2']:.4f}  |x|inf = "
             f"{sol['min_linf']['norm_inf']:.4f}   (distance between: "
             f"{sol['min_l2']['distance_to_min_linf']:.4f})",
             f"{'method':>26} {'what':>8} {'|x|2':>7} {'|x|inf':>7} {'->l2':>7} {'->linf':>7} "
             f"{'resid':>8} {'tol.chk':>8}"]
    for key, rec in summary["methods"].items():
        for what in ("iterates_mean", "limit_end"):
            r = rec[what]
            chk = f"{rec['limit_tolerance_check']:8.1e}" if what == "limit_end" else " " * 8
            lines.append(f"{key:>26} {'iter' if what == 'iterates_mean' else 'limit':>8} "
                         f"{r['norm_2']:7.4f} {r['norm_inf']:7.4f} "
                         f"{r['distance_to_min_l2']:7.4f} {r['distance_to_min_linf']:7.4f} "
                         f"{r['residual_rms']:8.1e} {chk}")
    return "\n".join(lines)


def plot(arrays, summary, title=""):
    plt = pyplot()
    methods = summary["methods"]
    eps = arrays["eps"]
    sol = summary["solutions"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(3 * FIGSIZE_PANEL[0] + 1.0, FIGSIZE_PANEL[1]),
                                 layout="constrained")
        # (a) the end points in the (‖x‖₂, ‖x‖∞) plane.
        ax = axes[0]
        for name, key, marker in (("min-ℓ2 (A⁺y)", "min_l2", "*"),
                                  ("min-ℓ∞ (LP)", "min_linf", "P")):
            ax.plot(num(sol[key]["norm_2"]), num(sol[key]["norm_inf"]), marker, color="k", ms=12,
                    mfc="none", label=name)
        ax.plot(num(methods["sgd"]["iterates_mean"]["norm_2"]),
                num(methods["sgd"]["iterates_mean"]["norm_inf"]), "o", color="tab:green", ms=6,
                label="SGD (B = 1)")
        cmap = plt.get_cmap("viridis")
        for i, e in enumerate(eps):
            colour = cmap(i / max(1, len(eps) - 1) * 0.85)
            for prefix, marker, what in (("adam", "o", "B = 1"), ("adam_full_batch", "s",
                                                                  "full batch")):
                rec = methods[f"{prefix}_eps={e:g}"]
                ax.plot(num(rec["iterates_mean"]["norm_2"]), num(rec["iterates_mean"]["norm_inf"]),
                        marker, color=colour, ms=6, mfc="none" if prefix == "adam" else colour,
                        label=f"Adam ε = {e:g}, {what}")
                ax.plot(num(rec["limit_end"]["norm_2"]), num(rec["limit_end"]["norm_inf"]), "x",
                        color=colour, ms=5)
        ax.set_xlabel("‖x‖₂ at the end")
        ax.set_ylabel("‖x‖∞ at the end")
        ax.set_title("End points (markers: iterates, ×: limits)")
        ax.legend(fontsize=6.5, ncol=1, loc="upper right")
        # (b) distances to the two reference solutions vs ε.
        ax = axes[1]
        for prefix, style, what in (("adam", "-", "B = 1"), ("adam_full_batch", "--",
                                                            "full batch")):
            for ref, colour, label in (("min_l2", "tab:blue", "to min-ℓ2"),
                                       ("min_linf", "tab:red", "to min-ℓ∞")):
                lim = nums([methods[f"{prefix}_eps={e:g}"]["limit_end"][f"distance_to_{ref}"]
                            for e in eps])
                it = nums([methods[f"{prefix}_eps={e:g}"]["iterates_mean"][f"distance_to_{ref}"]
                           for e in eps])
                ax.plot(eps, lim, style, color=colour, lw=1.6,
                        label=f"Adam {what}, {label} (limit)")
                ax.plot(eps, it, "o" if prefix == "adam" else "s", color=colour, ms=5,
                        mfc="none")
        ax.axhline(sol["min_l2"]["distance_to_min_linf"], color="k", lw=0.8, ls=":",
                   label="|min-ℓ2 − min-ℓ∞| (SGD's distance to min-ℓ∞)")
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_ylim(0, 1.45 * sol["min_l2"]["distance_to_min_linf"])  # room for the legend
        ax.set_xlabel("ε (decreasing →)")
        ax.set_ylabel("‖x_end − reference‖₂")
        ax.set_title("Distance to the two interpolants (markers: iterates)")
        ax.legend(fontsize=6.5, loc="upper center", ncol=2)
        # (c) sorted |x_i|: the min-ℓ∞ solution is flat at its maximum.
        ax = axes[2]
        idx = np.arange(1, arrays["x_min_l2"].size + 1)
        srt = lambda x: np.sort(np.abs(x))[::-1]  # noqa: E731
        ax.plot(idx, srt(arrays["x_min_linf"]), "k-", lw=2, label="min-ℓ∞")
        ax.plot(idx, srt(arrays["x_min_l2"]), "k--", lw=1.5, label="min-ℓ2 = SGD")
        e_small = eps[np.argmin(eps)]
        for prefix, colour, what in (("adam", "tab:purple", "B = 1"),
                                     ("adam_full_batch", "tab:orange", "full batch")):
            ax.plot(idx, srt(arrays[f"{prefix}_eps={e_small:g}_limit_end"]), "-",
                    color=colour, lw=1.3, label=f"Adam ε = {e_small:g}, {what} (limit)")
        ax.set_xlabel("rank of |x_i|")
        ax.set_ylabel("|x_i| (sorted)")
        ax.set_title("Coordinates of the end points")
        ax.legend(fontsize=7)
        if title:
            fig.suptitle(title, fontsize=9)
    return fig


def _phases(config) -> list:
    """Run·steps of each phase, in the order of the run: per method its Monte Carlo (n_runs
    runs, one for full batch, T/γ steps each) and its two limit solves on [0, T]."""
    steps = int(config["T"] / config["gamma"])
    z = 3 * int(config["d"])
    solves = 2 * budgeted_ode_run_steps(config["T"], z, seconds_per_time=LIMIT_SECONDS_PER_TIME,
                                        seconds_per_evaluation=LIMIT_SECONDS_PER_EVALUATION)
    phases = [(config["n_runs"] * steps, solves)]
    for _ in config["eps"]:
        phases += [(config["n_runs"] * steps, solves), (steps, solves)]
    return phases


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): SGD and stochastic Adam at each ε (n_runs runs)
    and full-batch Adam at each ε (one run), T/γ steps each, d-dimensional states, and the two
    limit solves of each method (at most the solver's budget each), the figure."""
    from ..cost import FLOAT_BYTES, Cost

    d = int(config["d"])
    n_eps = len(config["eps"])
    runs = config["n_runs"] * (1 + n_eps) + n_eps
    phases = sum(mc + solves for mc, solves in _phases(config))
    return Cost(run_steps=phases + figure_run_steps(3, 3 * d), state_floats=3 * d,
                memory_bytes=runs * 3 * d * FLOAT_BYTES * 1000, keys=("n_runs", "T"))
