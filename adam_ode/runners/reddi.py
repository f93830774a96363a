r"""Experiment ``reddi``: the Adam counterexample of Reddi, Kale & Kumar (2018) and its ODE view.

The online and the stochastic problems of the paper have step-dependent (online) gradients and
a projection on [−1, 1], which the iid kernels of :mod:`adam_ode.kernels` do not provide: the
runs here are plain NumPy loops (1-D, vectorised over runs or over the (β2, C) grid; a few ms).

1. Online (their Theorem 1): g_t = C if t mod 3 = 1 else −1; Adam with β1 = 0, β2 = 1/(1 + C²),
   step α/√t, no ε, x_{t+1} = Π_{[−1,1]}(x_t − α_t g_t/√v_t); AMSGrad uses max_{s≤t} v_s.
2. (β2, C) map of Adam's x_T on the online problem (C > 2: the optimum is −1).
3. Stochastic (their Theorem 3): g = C w.p. p = (1 + δ)/(C + 1), −1 otherwise (E g = δ), Adam
   with bias corrections, α = 1 − aγ, β = 1 − bγ, projected, for several γ at fixed (a, b).
   Its continuous limit (eq. 3.3 with ∇F ≡ δ, S ≡ pC² + 1 − p) is solved in closed form: the
   debiased moments start at m̂(0+) = ∇F, v̂(0+) = S (Lemma 7.3) and stay there because ∇F and S
   are constant, so ẋ = −δ/(ε + √S) until x = −1, where the projection holds it. That is the
   "smooth surrogate": the mean objective δx, whose ODE needs no solver.
"""

from __future__ import annotations

import math

import numpy as np

from ..config_checks import require_positive, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ._checks import (because, require_adam_steps, require_int, require_labels, require_numbers,
                      require_pair, saved, seconds_run_steps)
from ._plot import FIGSIZE_PANEL, STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "online_adam", "stochastic_adam", "ode_path"]

EXPERIMENT = "reddi"
N_TIMES = 300  # recorded times of the stochastic runs
CONVERGED = -0.9  # x_T below this counts as "reached the optimum -1"
MIN_MAP_POINTS = 2  # one point per axis makes a map without extent (matplotlib warns, no cells)
# The NumPy loops (vectorised over runs or over the map) cost ~7-9 µs per iteration besides
# their per-element work, measured on a 2-core machine: counted in the estimate.
LOOP_SECONDS_PER_STEP = 10e-6


def check(config: dict) -> None:
    """What the naming conventions leave: the online problem and its (β2, C) map, the
    stochastic problem's probability p, and the Adam hyperparameters of each γ."""
    require_positive("C", config["C"])
    require_positive("alpha", config["alpha"])
    require_int("T_online", config["T_online"], 1)
    with because("at beta2 = 1 the second moment v stays 0 and Adam divides by it"):
        require_pair("map_beta2", config["map_beta2"], 0.0, 1.0, low_closed=True)
    require_pair("map_C", config["map_C"], 0.0, math.inf)
    require_int("map_points", config["map_points"], MIN_MAP_POINTS,
                "the map needs two points per axis")
    C = require_positive("C_stochastic", config["C_stochastic"])
    if not config["delta"] <= C:
        raise ExperimentError(f"delta = {show(config['delta'])}: must be <= C_stochastic = {C:g} so "
                              "that p = (1 + delta)/(C_stochastic + 1) is a probability")
    gammas = require_numbers("gammas", config["gammas"])
    require_labels("gammas", gammas)  # they name the saved mean paths
    require_adam_steps(config, gammas)


def online_adam(C, beta2, T, alpha, amsgrad=False, x0=0.0):
    """x_1 … x_T of Adam/AMSGrad (β1 = 0, step α/√t, projected) on the online problem;
    ``C`` and ``beta2`` broadcast (the (β2, C) map). Returns (T + 1, *shape)."""
    C, beta2 = np.broadcast_arrays(np.asarray(C, float), np.asarray(beta2, float))
    x = np.full(C.shape, float(x0))
    v = np.zeros(C.shape)
    v_max = np.zeros(C.shape)
    path = [x.copy()]
    for t in range(1, T + 1):
        g = C if t % 3 == 1 else -np.ones(C.shape)
        v = beta2 * v + (1.0 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        x = np.clip(x - alpha / np.sqrt(t) * g / np.sqrt(v_max if amsgrad else v), -1.0, 1.0)
        path.append(x)
    return np.array(path)


def stochastic_adam(C, delta, gamma, a, b, eps, n_steps, n_runs, rng, record):
    """Projected Adam (bias-corrected) on the stochastic problem; x at the steps ``record``
    (sorted), shape (len(record), n_runs)."""
    p = (1.0 + delta) / (C + 1.0)
    alpha, beta = 1.0 - a * gamma, 1.0 - b * gamma
    x, m, v = np.zeros(n_runs), np.zeros(n_runs), np.zeros(n_runs)
    pa = pb = 1.0
    out = np.empty((len(record), n_runs))
    j = 0
    if record[0] == 0:
        out[0] = x
        j = 1
    for k in range(1, n_steps + 1):
        g = np.where(rng.random(n_runs) < p, C, -1.0)
        m = alpha * m + (1.0 - alpha) * g
        v = beta * v + (1.0 - beta) * g * g
        pa *= alpha
        pb *= beta
        x = np.clip(x - gamma * (m / (1.0 - pa)) / (eps + np.sqrt(v / (1.0 - pb))), -1.0, 1.0)
        while j < len(record) and record[j] == k:
            out[j] = x
            j += 1
    return out


def ode_path(t, C, delta, eps, x0=0.0):
    """The limit's x(t) in closed form (module docstring)."""
    p = (1.0 + delta) / (C + 1.0)
    S = p * C * C + 1.0 - p
    return np.maximum(-1.0, x0 - np.asarray(t) * delta / (eps + np.sqrt(S)))


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    C, alpha, T_on = config["C"], config["alpha"], config["T_online"]
    beta2 = 1.0 / (1.0 + C * C)
    adam_path = online_adam(C, beta2, T_on, alpha)
    ams_path = online_adam(C, beta2, T_on, alpha, amsgrad=True)
    k = config["map_points"]
    B2 = np.linspace(*config["map_beta2"], k)
    Cs = np.linspace(*config["map_C"], k)
    x_map = online_adam(Cs[None, :], B2[:, None], T_on, alpha)[-1]  # (beta2, C)

    Cst, delta, a, b, eps, T = (config["C_stochastic"], config["delta"], config["a"],
                                config["b"], config["eps"], config["T"])
    times = np.linspace(0.0, T, N_TIMES)
    rngs = [np.random.default_rng(s) for s in ctx.seed_sequence().spawn(len(config["gammas"]))]
    stochastic = []
    arrays = {"online_adam": adam_path, "online_amsgrad": ams_path, "map_beta2": B2,
              "map_C": Cs, "map_x_final": x_map, "times": times,
              "ode_x": ode_path(times, Cst, delta, eps)}
    for gamma, rng in zip(config["gammas"], rngs):
        n_steps = int(round(T / gamma))
        record = np.unique(np.round(times / gamma).astype(int).clip(0, n_steps))
        xs = stochastic_adam(Cst, delta, gamma, a, b, eps, n_steps, config["n_runs"], rng, record)
        mean_path = np.interp(times, record * gamma, xs.mean(axis=1))
        arrays[f"mean_x_gamma_{gamma:g}"] = mean_path
        final = xs[-1]
        stochastic.append({
            "gamma": gamma, "beta1": 1 - a * gamma, "beta2": 1 - b * gamma,
            "final_x_mean": float(final.mean()),
            "final_x_median": float(np.median(final)),
            "fraction_converged": float(np.mean(final < CONVERGED)),
            "sup_mean_path_minus_ode": float(np.max(np.abs(mean_path - arrays["ode_x"]))),
        })
    failing = (x_map > 0)
    summary = {
        "online": {"C": C, "beta2": beta2, "adam_final_x": float(adam_path[-1]),
                   "amsgrad_final_x": float(ams_path[-1]),
                   "adam_mean_x_last_third": float(adam_path[-T_on // 3:].mean()),
                   "amsgrad_mean_x_last_third": float(ams_path[-T_on // 3:].mean())},
        "map": {"fraction_adam_ends_positive": float(failing.mean()),
                "adam_fails_at_beta2_1_over_1_plus_C2": bool(np.all(
                    online_adam(Cs, 1.0 / (1.0 + Cs**2), T_on, alpha)[-1] > 0)),
                "largest_failing_beta2": float(B2[failing.any(axis=1)].max())
                if failing.any() else None},
        "stochastic": {"C": Cst, "delta": delta, "p": (1 + delta) / (Cst + 1), "a": a, "b": b,
                       "ode_time_to_optimum": float((eps + np.sqrt(
                           (1 + delta) / (Cst + 1) * Cst**2 + 1 - (1 + delta) / (Cst + 1)))
                           / delta),
                       "runs": stochastic},
    }
    return ExperimentResult(summary=summary, arrays=arrays,
                            figure=redraw(*saved(arrays, summary, config)),
                            table=format_table(summary))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`plot`)."""
    return plot(arrays, summary, summary["config"])


def format_table(summary):
    on = summary["online"]
    lines = [f"online C = {on['C']:g}, beta2 = {on['beta2']:.3g}: Adam x_T = "
             f"{on['adam_final_x']:+.3f}, AMSGrad x_T = {on['amsgrad_final_x']:+.3f}",
             f"(beta2, C) map: Adam ends at x > 0 on {100 * summary['map']['fraction_adam_ends_positive']:.0f} % "
             f"of the grid; fails on the whole curve beta2 = 1/(1+C^2): "
             f"{summary['map']['adam_fails_at_beta2_1_over_1_plus_C2']}",
             f"stochastic (C = {summary['stochastic']['C']:g}, b = {summary['stochastic']['b']:g}): "
             f"ODE reaches -1 at t = {summary['stochastic']['ode_time_to_optimum']:.2f}",
             f"{'gamma':>7} {'beta2':>7} {'mean x_T':>9} {'converged':>10} {'sup|mean-ODE|':>14}"]
    for r in summary["stochastic"]["runs"]:
        lines.append(f"{r['gamma']:7g} {r['beta2']:7.4f} {r['final_x_mean']:+9.3f} "
                     f"{r['fraction_converged']:10.2f} {r['sup_mean_path_minus_ode']:14.3f}")
    return "\n".join(lines)


def plot(arrays, summary, config):
    plt = pyplot()
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(3 * FIGSIZE_PANEL[0] + 1, FIGSIZE_PANEL[1]),
                                 layout="constrained")
        ax = axes[0]
        t = np.arange(arrays["online_adam"].shape[0])
        ax.plot(t, arrays["online_adam"], color="tab:red", lw=1, label="Adam")
        ax.plot(t, arrays["online_amsgrad"], color="tab:blue", lw=1, label="AMSGrad")
        ax.axhline(-1, color="k", ls=":", lw=1, label="optimum x = -1")
        ax.set_xscale("log")
        ax.set_xlabel("round t (log scale)")
        ax.set_ylabel("x_t")
        on = summary["online"]
        ax.set_title(f"Online: C = {on['C']:g}, β1 = 0, β2 = 1/(1+C²) = {on['beta2']:.2g}")
        ax.legend(fontsize=8)

        ax = axes[1]
        B2, Cs = arrays["map_beta2"], arrays["map_C"]
        im = ax.pcolormesh(Cs, B2, arrays["map_x_final"], cmap="coolwarm", vmin=-1, vmax=1,
                           shading="nearest")
        fig.colorbar(im, ax=ax, label=f"Adam's x_T (T = {config['T_online']})")
        cc = np.linspace(Cs[0], Cs[-1], 200)
        ax.plot(cc, 1 / (1 + cc**2), "k--", lw=1.2, label="β2 = 1/(1+C²)")
        ax.set_xlabel("C")
        ax.set_ylabel("β2")
        ax.set_ylim(B2[0], B2[-1])
        ax.set_title("Online: where Adam ends (red: x_T > 0, wrong)")
        ax.legend(fontsize=8, loc="upper right")

        ax = axes[2]
        times = arrays["times"]
        colours = plt.get_cmap("plasma")(np.linspace(0.85, 0.1, len(summary["stochastic"]["runs"])))
        for r, colour in zip(summary["stochastic"]["runs"], colours):
            ax.plot(times, arrays[f"mean_x_gamma_{r['gamma']:g}"], color=colour, lw=1.3,
                    label=f"γ = {r['gamma']:g} (β2 = {r['beta2']:.3g})")
        ax.plot(times, arrays["ode_x"], "k-", lw=2, label="Adam's limit (closed form)")
        ax.set_xlabel("t = nγ")
        ax.set_ylabel("mean of x over runs")
        st = summary["stochastic"]
        ax.set_title(f"Stochastic: C = {st['C']:g}, p = {st['p']:.3g}, a = {st['a']:g}, "
                     f"b = {st['b']:g}")
        ax.legend(fontsize=8)
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): the online runs, the (β2, C) map and n_runs
    stochastic runs per γ on [0, T] (1-D, states (x, m, v)), and the per-iteration cost of
    their loops (four online loops of T_online rounds, one of T/γ steps per γ)."""
    from ..cost import FLOAT_BYTES, Cost

    online = 2 * config["T_online"] * (1 + config["map_points"] ** 2)
    stochastic = sum(2 * config["n_runs"] * int(config["T"] / g) for g in config["gammas"])
    iterations = 4 * config["T_online"] + sum(int(config["T"] / g) for g in config["gammas"])
    loops = seconds_run_steps(LOOP_SECONDS_PER_STEP * iterations, 4)
    return Cost(run_steps=online + stochastic + loops, state_floats=4,
                memory_bytes=2 * config["n_runs"] * int(config["T"] / min(config["gammas"]))
                * FLOAT_BYTES, keys=("n_runs", "gammas", "T_online", "map_points"))
