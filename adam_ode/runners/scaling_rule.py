r"""Experiment ``scaling-rule``: the batch-size scaling rules, shown on the distribution of x.

Problem: the quadratic F = ½ Σ h_i x_i² with Gaussian gradient noise of standard deviation σ per
sample; a batch of B samples has noise σ/√B (exactly: the mean of B Gaussian gradients). For each
factor κ in ``kappas`` the batch is κB and the hyperparameters are set by a rule
(:func:`adam_ode.fluctuations.scale_hyperparameters`):

- ``adam-sqrt``: Adam, square-root rule (γ → √κγ, a → √κa, b → √κb, ε → ε/√κ, n → n/κ);
- ``adam-linear``: Adam, linear rule (γ → κγ, a, b, ε fixed, n → n/κ): keeps the ODE, not the
  fluctuations (stationary Var x ∝ √κ when ε ≪ √S);
- ``adam-unscaled``: Adam, hyperparameters and n unchanged, only the batch grows (Var x ∝ 1/√κ);
- ``sgd-linear``: SGD, linear rule (γ → κγ, n → n/κ), the rule that is right for SGD.

x after the n·``steps_factor`` steps of ``n_runs`` independent runs is compared with an
independent κ = 1 reference run of the same optimizer (Adam or SGD): per coordinate the ratio of
sample variances with a ``confidence`` interval (normal interval for the log-ratio, standard error
from the sample kurtosis: se² = (k − (n−3)/(n−1))/n per sample, Gaussian k = 3 gives 2/n), the
two-sample Kolmogorov–Smirnov p-value, and the LNA's predicted stationary ratio γ'P'∞/(γP∞)
(:func:`adam_ode.linear_noise`; the runs end at stationarity). Figure: the ratios against κ, the ECDFs of x₁ at the largest κ,
and the KS p-values.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..config_checks import require_choice, require_in, require_positive, require_start, show
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..fluctuations import linear_noise
from ..fluctuations.scaling import scale_hyperparameters
from ..montecarlo import monte_carlo
from ..optimizers import SGD, Adam
from ..problems import StochasticQuadratic
from ._checks import because, built, require_int, require_numbers, require_table, saved
from ._plot import STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "variance_ratio"]

EXPERIMENT = "scaling-rule"
RULES = ("adam-sqrt", "adam-linear", "adam-unscaled", "sgd-linear")
RULE_LABELS = {"adam-sqrt": "Adam, square-root rule", "adam-linear": "Adam, linear rule",
               "adam-unscaled": "Adam, unscaled (only B)", "sgd-linear": "SGD, linear rule"}
RULE_COLOURS = {"adam-sqrt": "C0", "adam-linear": "C3", "adam-unscaled": "C1",
                "sgd-linear": "C2"}
P_FLOOR = 1e-300  # KS p-values below this are drawn at it


def _problem(config, batch_size):
    return StochasticQuadratic(h=config["h"], sigma=float(config["sigma"]) / np.sqrt(batch_size))


def _base(config, rule):
    if rule.startswith("sgd"):
        return SGD(config["sgd"]["gamma"])
    c = config["adam"]
    return Adam(c["gamma"], c["a"], c["b"], c["eps"])


def _scaled(base, B, kappa, rule, n_steps):
    """(optimizer, batch size, steps) for rule at κ."""
    if rule == "adam-unscaled":
        return base, int(round(kappa * B)), n_steps
    s = scale_hyperparameters(base, B, kappa, rule="sqrt" if rule == "adam-sqrt" else "linear")
    return s.optimizer, s.batch_size, int(round(n_steps * s.steps_factor))


def check(config: dict) -> None:
    """What the naming conventions leave: the problem and start, the rules, the two
    optimizer tables and, for each κ and rule, the scaled batch, record and number of steps."""
    require_numbers("h", config["h"])
    with because("the variance ratios compare gradient-noise fluctuations"):
        require_positive("sigma", config["sigma"])
    B = require_int("batch_size", config["batch_size"], 1)
    with built("h"):
        problem = _problem(config, B)
    require_start("x0", config["x0"], problem)
    n = config["n_steps"]
    require_int("n_runs", config["n_runs"], 2, "the variance ratios need two runs")
    with because("the level of the intervals"):
        require_in("confidence", config["confidence"], 0.0, 1.0)
    rules = config["rules"]
    if not isinstance(rules, list) or not rules:
        raise ExperimentError(f"rules = {show(rules)}: must be a non-empty list of rules, among "
                              f"{', '.join(map(repr, RULES))}")
    for i, rule in enumerate(rules):
        require_choice(f"rules[{i}]", rule, RULES)
        if rule in rules[:i]:
            raise ExperimentError(f"rules[{i}] = {show(rule)}: repeats rules[{rules.index(rule)}]")
    fields = {"adam": ("gamma", "a", "b", "eps"), "sgd": ("gamma",)}
    bases = {}
    for family, names in fields.items():
        require_table(family, config[family], names, names)
        with built(family):
            bases[family] = _base(config, family)
    kappas = config["kappas"]
    if not isinstance(kappas, list) or not kappas:
        raise ExperimentError(f"kappas = {show(kappas)}: must be a non-empty list of factors")
    for i, kappa in enumerate(kappas):  # integers (the config's type) > 0 (conventions)
        for rule in rules:
            with built(f"kappas[{i}]", kappa, note=f"rule {rule!r}"):  # e.g. √κ·aγ < 1
                opt, batch_k, steps = _scaled(bases["sgd" if rule.startswith("sgd") else "adam"],
                                              B, kappa, rule, n)
                _problem(config, batch_k)
            if steps < 1:
                raise ExperimentError(f"kappas[{i}] = {show(kappa)}: rule {rule!r} runs "
                                      f"n_steps/kappa = {n / kappa:g} steps, fewer than one "
                                      f"(n_steps = {n})")


def variance_ratio(x, ref, confidence=0.95):
    """Per column: Var x / Var ref and its interval (log-normal, kurtosis-based standard error)."""
    def log_se2(y):
        n = y.shape[0]
        c = y - y.mean(0)
        k = (c**4).mean(0) / (c**2).mean(0) ** 2
        return (k - (n - 3.0) / (n - 1.0)) / n

    r = np.var(x, 0, ddof=1) / np.var(ref, 0, ddof=1)
    z = stats.norm.ppf(0.5 + confidence / 2)
    half = z * np.sqrt(log_se2(x) + log_se2(ref))
    return r, r * np.exp(-half), r * np.exp(half)


def _lna_var(problem, opt, x0, cache):
    """The LNA's stationary Var x_i = γP∞_ii (Lyapunov equation at the rest point; the runs end
    at t ≥ 16/√8 ≈ 5.7, many relaxation times), cached per optimizer and batch noise."""
    key = (repr(opt.config()), tuple(problem.sigma))
    if key not in cache:
        ln = linear_noise(problem, opt, x0, opt.gamma, t_eval=[0.0, opt.gamma])
        cache[key] = np.diag(ln.stationary_cov)[:problem.dim]
    return cache[key]


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    x0 = np.asarray(config["x0"], dtype=float)
    kappas = [float(k) for k in config["kappas"]]
    B, n, R = int(config["batch_size"]), int(config["n_steps"]), int(config["n_runs"])
    conf = float(config.get("confidence", 0.95))
    rules = list(config.get("rules", RULES))
    d = len(x0)
    seeds = iter(ctx.seed_sequence().spawn(2 + len(rules) * len(kappas)))
    families = sorted({"sgd" if r.startswith("sgd") else "adam" for r in rules})
    refs, ref_lna, cache = {}, {}, {}
    prob1 = _problem(config, B)
    for fam in ("adam", "sgd"):
        seed = next(seeds)
        if fam not in families:
            continue
        base = _base(config, fam)
        refs[fam] = monte_carlo(prob1, base, x0, n, R, seed, track_grad_norm=False,
                                workers=ctx.workers).final_x
        ref_lna[fam] = _lna_var(prob1, base, x0, cache)
    per_rule, arrays = {}, {"kappas": np.array(kappas)}
    for rule in rules:
        fam = "sgd" if rule.startswith("sgd") else "adam"
        base, ref = _base(config, fam), refs[fam]
        rows = []
        for i, kappa in enumerate(kappas):
            opt, Bk, nk = _scaled(base, B, kappa, rule, n)
            prob = _problem(config, Bk)
            x = monte_carlo(prob, opt, x0, nk, R, next(seeds), track_grad_norm=False,
                            workers=ctx.workers).final_x
            r, lo, hi = variance_ratio(x, ref, conf)
            ks = [float(stats.ks_2samp(x[:, j], ref[:, j]).pvalue) for j in range(d)]
            shift = (x.mean(0) - ref.mean(0)) / ref.std(0, ddof=1)
            lna = _lna_var(prob, opt, x0, cache) / ref_lna[fam]
            hp = opt.config()
            rows.append({"kappa": kappa, "batch_size": Bk, "n_steps": nk,
                         "t": nk * opt.gamma, "optimizer": hp,
                         "var_ratio": r.tolist(), "ci_low": lo.tolist(), "ci_high": hi.tolist(),
                         "one_in_ci": bool(np.all((lo <= 1.0) & (1.0 <= hi))),
                         "ks_pvalue": ks, "mean_shift_in_ref_sd": shift.tolist(),
                         "lna_var_ratio": lna.tolist()})
            arrays[f"{rule}_kappa{i}_x"] = x.astype(np.float32)  # samples, for the ECDFs
        per_rule[rule] = rows
    for fam, ref in refs.items():
        arrays[f"reference_{fam}_x"] = ref.astype(np.float32)
    summary = {"problem": prob1.config(), "batch_size": B, "x0": x0, "n_steps": n, "n_runs": R,
               "kappas": kappas, "confidence": conf, "adam": config["adam"],
               "sgd": config["sgd"], "rules": per_rule}
    fig = redraw(*saved(arrays, summary, config))
    lines = []
    for rule, rows in per_rule.items():
        for row in rows:
            cells = "  ".join(f"x{j + 1}: {row['var_ratio'][j]:.3f} [{row['ci_low'][j]:.3f}, "
                              f"{row['ci_high'][j]:.3f}] LNA {row['lna_var_ratio'][j]:.3f} "
                              f"KS p {row['ks_pvalue'][j]:.2g}" for j in range(d))
            lines.append(f"{rule:14s} kappa {row['kappa']:g}: Var ratio {cells}")
    return ExperimentResult(summary=summary, arrays=arrays, figure=fig, table="\n".join(lines))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``data.npz`` and ``summary.json`` (:func:`_plot`)."""
    refs = {fam: arrays[f"reference_{fam}_x"] for fam in ("adam", "sgd")
            if f"reference_{fam}_x" in arrays}
    return _plot(summary["rules"], refs, arrays, summary["kappas"], summary["confidence"])


def _plot(per_rule, refs, arrays, kappas, conf):
    plt = pyplot()
    k = np.array(kappas)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
        ax = axes[0]
        kk = np.geomspace(k.min(), k.max(), 50)
        ax.plot(kk, np.sqrt(kk / k.min()), ":", color="0.5", lw=1)
        ax.plot(kk, 1 / np.sqrt(kk / k.min()), ":", color="0.5", lw=1)
        ax.text(kk[-1] * 1.1, np.sqrt(kk[-1] / k.min()), "√κ", color="0.4", va="center")
        ax.text(kk[-1] * 1.1, 1 / np.sqrt(kk[-1] / k.min()), "1/√κ", color="0.4", va="center")
        ax.axhline(1.0, color="k", lw=0.8)
        n_rules = len(per_rule)
        for ir, (rule, rows) in enumerate(per_rule.items()):
            c = RULE_COLOURS[rule]
            for j, marker in enumerate(("o", "s")[:len(rows[0]["var_ratio"])]):
                off = 1.0 + 0.025 * (2 * ir + j - n_rules)
                r = np.array([row["var_ratio"][j] for row in rows])
                lo = np.array([row["ci_low"][j] for row in rows])
                hi = np.array([row["ci_high"][j] for row in rows])
                ax.errorbar(k * off, r, yerr=[r - lo, hi - r], fmt=marker, color=c, ms=4,
                            capsize=2, mfc=c if j == 0 else "white",
                            label=RULE_LABELS[rule] if j == 0 else None)
            ax.plot(k, [row["lna_var_ratio"][0] for row in rows], "--", color=c, lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xticks(k, [f"{v:g}" for v in k])
        ax.set_xlim(k.min() / 1.2, k.max() * 1.45)
        ticks = np.sqrt(np.geomspace(1.0 / k.max(), k.max() / k.min(), 2 * len(k) - 1))
        ax.set_yticks(ticks, [f"{v:.2f}" for v in ticks])
        ax.minorticks_off()
        ax.set_xlabel("κ (batch κB)")
        ax.set_title(f"Var x_i(κ) / Var x_i(κ=1), {conf:.0%} CI\n"
                     "(● x₁, ○ x₂; dashed: stationary LNA prediction for x₁)")
        ax.legend(loc="upper left")
        ax = axes[1]
        last = len(kappas) - 1
        for fam, ref in refs.items():
            xs = np.sort(ref[:, 0])
            ax.plot(xs, np.arange(1, xs.size + 1) / xs.size, color="k",
                    lw=2.2 if fam == "adam" else 1.2, ls="-" if fam == "adam" else "-.",
                    label=f"{'Adam' if fam == 'adam' else 'SGD'}, κ = 1 (reference)")
        for rule in per_rule:
            xs = np.sort(arrays[f"{rule}_kappa{last}_x"][:, 0])
            ax.plot(xs, np.arange(1, xs.size + 1) / xs.size, color=RULE_COLOURS[rule], lw=1.2,
                    label=f"{RULE_LABELS[rule]}, κ = {kappas[last]:g}")
        ax.set_xlabel("x₁ at the end of the run")
        ax.set_title(f"ECDF of x₁ at κ = {kappas[last]:g} vs κ = 1")
        ax.legend(loc="upper left")
        ax = axes[2]
        for ir, (rule, rows) in enumerate(per_rule.items()):
            c = RULE_COLOURS[rule]
            for j, marker in enumerate(("o", "s")[:len(rows[0]["ks_pvalue"])]):
                p = np.maximum([row["ks_pvalue"][j] for row in rows], P_FLOOR)
                ax.plot(k * (1.0 + 0.025 * (2 * ir + j - n_rules)), p, marker + "-", color=c,
                        ms=4, lw=0.8, mfc=c if j == 0 else "white",
                        label=RULE_LABELS[rule] if j == 0 else None)
        ax.axhline(0.05, color="k", ls="--", lw=0.8)
        ax.text(k.max() * 1.1, 0.05, "0.05", va="top", ha="right")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(k, [f"{v:g}" for v in k])
        ax.set_xlabel("κ")
        ax.set_title("two-sample KS p-value vs κ = 1 (● x₁, ○ x₂)")
        ax.legend(loc="lower left")
        fig.tight_layout()
    return fig


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): per rule and κ, n_runs runs of n·steps_factor
    steps (n for the unscaled rule), plus the κ = 1 references."""
    from ..cost import FLOAT_BYTES, Cost

    n, R = int(config["n_steps"]), int(config["n_runs"])
    rules = list(config.get("rules", RULES))
    d = len(config["x0"])
    run_steps = 2 * n * R
    for rule in rules:
        for kappa in config["kappas"]:
            run_steps += R * (n if rule == "adam-unscaled" else max(1, round(n / kappa)))
    n_arrays = 2 + len(rules) * len(config["kappas"])
    return Cost(run_steps=run_steps, state_floats=3 * d,
                memory_bytes=n_arrays * R * d * FLOAT_BYTES, keys=("n_runs", "n_steps"))
