r"""Experiment ``weak-error``: |E φ(z_N) − E φ(Z_T)| against γ for the ODE and Adam's two SDEs.

Autonomous Adam (``debias=False``: the second-order modified equation is derived for it), test
functions φ ∈ {‖x‖², F(x), ‖v‖²}, N = T/γ steps, every path started at z₀ = (x₀, 0, S(x₀)) (the
modified drift h₁ contains ∂ẋ/∂v ∝ 1/√v and is singular at the usual v = 0 start; ``v0 = "0"``
starts there anyway, to measure the breakdown). Three studies (each can be switched off with
``enabled = false``):

1. ``correlated`` (T = 4, the transient) and 2. ``stationary`` (T = 40, the setting of Callisti
   et al.: x(T) ≈ 0) on :class:`~adam_ode.fluctuations.CorrelatedQuadratic` (Gaussian noise):
   discrete iterates and both SDEs driven by the same Gaussian draws
   (:func:`~adam_ode.fluctuations.coupled.coupled_paths`: common random numbers, the SDE's
   m-noise *is* the discrete a·Lξ), so an SDE's weak error is the mean of per-path differences.
3. ``regression`` (the talk's LinearRegression2D, Bernoulli-mixture noise, heavy-tailed g²): no
   common draws are possible; the discrete scheme and the SDEs run on independent draws
   (:func:`~adam_ode.fluctuations.independent.independent_paths`), the error is a difference of
   two means with the combined standard error.

Variance reduction (honest: every estimate is unbiased for the quantity claimed): besides the
common draws, each mean is corrected with zero-mean control variates — sums over the path of its
noise with the weights of :func:`~adam_ode.analysis.weak_error.time_basis` (``basis``) — with
cross-fitted coefficients (:func:`~adam_ode.analysis.weak_error.control_variate_mean`). Common
draws cannot cancel the v-noise: the discrete (Lξ)² − diag Σ and the SDE's Gaussian remainder
are independent; the controls remove it. Antithetic pairs (``antithetic``) are supported and
off: (Lξ)² is even in ξ, so negating the draws cancels none of it. The ODE's weak error is
|E φ(z_N) − φ(z(T))| with the discrete mean corrected the same way.

**Validity of the Gaussian SDEs.** Linearised about the ODE, v is an Ornstein–Uhlenbeck process
with rate b and diffusion γb²Var(g²): its standard deviation is √(γ b Var(g_i²)/2). The discrete
v is positive; the Gaussian SDE's is not, and once v comes near 0 (projected, v ← max(v, 0)) the
x-steps m/(ε + √v) and the order-2 drift (∝ 1/√v) are no longer those of the scheme. The
criterion is ρ(γ) = √γ · max over t ∈ [0, T] and i of √(b Var(g_i²)(x(t))/2) / v_i(t) along the
ODE; a γ with ρ > :data:`RHO_MAX` is reported and left out of the fits.

**Which points enter a fit, which fit.** All γ of the study with ρ(γ) ≤ :data:`RHO_MAX` and no
diverged path (a state beyond ±:data:`DIVERGED` or not finite: then the error at that γ is
``null`` and ``diverged_fraction`` says on how many paths). The weak error has the expansion e(γ) = C γ^p (1 + Dγ + O(γ²)); the slope p is
the weighted least-squares fit of that corrected model to the signed errors, σ = the Monte Carlo
standard errors taken as known (:func:`~adam_ode.analysis.weak_error.fit_order`; its χ²/dof and
p-value are reported). It is *resolved* when at least :data:`MIN_RESOLVED` of these errors exceed
:data:`SIGNIFICANCE` standard errors; otherwise the summary says ``"resolved": false``, gives
the reason and no slope. The pure power-law fit C γ^p over the same points and the local slopes
between neighbouring γ are reported next to it: at the larger γ the next term Dγ bends the curve
and biases the pure power law. ``expected`` (per study, default 1, 1, 2 for ODE, SDE 1, SDE 2)
is the order the study claims; ``note`` is copied into the summary.
"""

from __future__ import annotations

import time

import numpy as np

from ..analysis.weak_error import (
    MIN_POINTS,
    control_variate_mean,
    difference_of_means,
    fit_order,
    local_slopes,
    time_basis,
)
from ..config_checks import require_choice, require_positive, require_start, show
from ..dynamics import autonomous_vector_field
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..fluctuations import CorrelatedQuadratic
from ..fluctuations.coupled import coupled_paths
from ..fluctuations.independent import independent_paths
from ..continuous import solve_system
from ..optimizers import Adam
from ..problems import make_problem
from ..problems.base import has_kernel_moments
from ._checks import (built, ode_run_steps, require_horizon, require_int, require_numbers,
                        require_table, saved)
from ._plot import STYLE, pyplot

__all__ = ["run", "check", "estimate", "redraw", "slope_record", "v_noise_ratio"]

EXPERIMENT = "weak-error"
STUDIES = ("correlated", "stationary", "regression")
STUDY_TITLES = {"correlated": "correlated quadratic, T = {T:g}, common draws",
                "stationary": "correlated quadratic, T = {T:g}, common draws",
                "regression": "2-D regression, T = {T:g}, independent draws"}
SIGNIFICANCE = 2.0  # an error is resolved when |e| > 2 standard errors
MIN_RESOLVED = MIN_POINTS["corrected"]  # the corrected fit has 3 parameters: one dof left
RHO_MAX = 0.2  # Gaussian v-noise std ≤ v/5 along the ODE: P(V < 0) ≈ Φ(−5) ≈ 3e-7 per sample
CRITERION_POINTS = 401  # times of [0, T] where ρ is evaluated along the ODE
DIVERGED = 1e6  # a path whose state leaves [-1e6, 1e6] (or is not finite) has diverged
V0_CHOICES = ("S(x0)", "0")  # start of v: S(x0) (default) or 0 (to show where the SDEs break)
PHIS = ("x2", "F", "v2")
PHI_LABELS = {"x2": "‖x‖²", "F": "F(x)", "v2": "‖v‖²"}
MODELS = ("ode", "sde1", "sde2")
MODEL_LABELS = {"ode": "ODE", "sde1": "SDE order 1", "sde2": "SDE order 2 (modified)"}
EXPECTED = {"ode": 1, "sde1": 1, "sde2": 2}
SCHEMES = ("discrete", "sde1", "sde2")
# The keys of a study's table (``antithetic`` only with common draws) and those it must give.
STUDY_KEYS = ("enabled", "note", "problem", "x0", "v0", "a", "b", "eps", "T", "gammas",
              "n_paths", "substeps", "antithetic", "basis", "expected")
REQUIRED_KEYS = ("x0", "a", "b", "eps", "T", "gammas", "n_paths", "substeps")
BASIS_KEYS = ("legendre", "decay_rates")
DEFAULT_LEGENDRE = 4


def _enabled(config: dict) -> list:
    """The studies the run does, in order (a table with ``enabled = false`` is skipped)."""
    return [k for k in STUDIES if k in config and config[k].get("enabled", True)]


def check(config: dict) -> None:
    """Every key of every enabled study, named with its table (``correlated.n_paths``,
    ``regression.basis.legendre``): the problem each study builds, the start, the Adam record
    per γ, the sizes of the Monte Carlo and of the control-variate basis."""
    for key in STUDIES:
        c = config.get(key)
        if not isinstance(c, dict):
            raise ExperimentError(f"{key} = {show(c)}: must be a table (the study {key!r})")
        if not isinstance(c.get("enabled", True), bool):
            raise ExperimentError(f"{key}.enabled = {show(c['enabled'])}: must be true or false")
    if not _enabled(config):
        raise ExperimentError(f"{'.enabled = '.join(STUDIES)}.enabled = false: every study is "
                              "disabled; enable at least one")
    for key in _enabled(config):
        _check_study(key, config[key])


def _check_study(key: str, c: dict) -> None:
    coupled = key != "regression"
    require_table(key, c, [k for k in STUDY_KEYS if coupled or k != "antithetic"], REQUIRED_KEYS)
    with built(f"{key}.problem"):
        problem = make_problem(c["problem"]) if "problem" in c else CorrelatedQuadratic()
    shown = f"{key}.problem = {show(c.get('problem'))}"
    if coupled and not isinstance(problem, CorrelatedQuadratic):
        raise ExperimentError(f"{shown}: must be a correlated-quadratic (the common draws need "
                              "its Gaussian gradient noise)")
    if not coupled and not has_kernel_moments(problem):
        raise ExperimentError(f"{shown}: has no compiled gradient-noise moments (the SDE "
                              "kernels need them)")
    x0 = require_start(f"{key}.x0", c["x0"], problem)
    try:  # the validity criterion ρ evaluates them along the ODE
        problem.gradient_moments(np.asarray(x0))
    except NotImplementedError:
        raise ExperimentError(f"{shown}: has no exact gradient-noise moments") from None
    require_choice(f"{key}.v0", c.get("v0", "S(x0)"), V0_CHOICES)
    a, b, eps, T = (require_positive(f"{key}.{name}", c[name]) for name in ("a", "b", "eps", "T"))
    gammas = require_numbers(f"{key}.gammas", c["gammas"])
    for i, gamma in enumerate(gammas):
        with built(f"{key}.gammas[{i}]", gamma):  # aγ < 1 and bγ < 1
            Adam(gamma, a, b, eps, debias=False)
        require_horizon(f"{key}.T", T, f"{key}.gammas", gamma)
    require_int(f"{key}.n_paths", c["n_paths"], 2, "a standard error needs two paths")
    require_int(f"{key}.substeps", c["substeps"], 1)
    if not isinstance(c.get("antithetic", False), bool):
        raise ExperimentError(f"{key}.antithetic = {show(c['antithetic'])}: must be true or false")
    if not isinstance(c.get("note", ""), str):
        raise ExperimentError(f"{key}.note = {show(c['note'])}: must be a string")
    basis = require_table(f"{key}.basis", c.get("basis", {}), BASIS_KEYS)
    require_int(f"{key}.basis.legendre", basis.get("legendre", DEFAULT_LEGENDRE), 0)
    rates = basis.get("decay_rates", [])
    if not isinstance(rates, list):
        raise ExperimentError(f"{key}.basis.decay_rates = {show(rates)}: must be a list of rates")
    if rates:
        require_numbers(f"{key}.basis.decay_rates", rates)
    expected = require_table(f"{key}.expected", c.get("expected", {}), MODELS)
    for model, order in expected.items():
        require_positive(f"{key}.expected.{model}", order)


def _phis(problem, z):
    d = problem.dim
    x, v = z[..., :d], z[..., 2 * d:]
    return {"x2": (x**2).sum(-1), "F": np.asarray(problem.F(x)), "v2": (v**2).sum(-1)}


def _ode(problem, a, b, eps, z0, T):
    # the one caller of solve_ivp is adam_ode.integrate; dense output for the validity criterion
    return solve_system(lambda t, z: autonomous_vector_field(t, z, problem, a, b, eps),
                        (0.0, T), z0, rtol=1e-11, atol=1e-12, method="DOP853",
                        what="weak-error ODE")


def v_noise_ratio(problem, sol, b, T) -> float:
    """max over t ∈ [0, T] and i of √(b Var(g_i²)(x(t))/2)/v_i(t) along the ODE; ρ(γ) is √γ times
    this (the stationary std of the linearised Gaussian v-noise over v, module docstring)."""
    d = problem.dim
    worst = 0.0
    for z in sol.sol(np.linspace(0.0, T, CRITERION_POINTS)).T:
        var_g2 = np.diag(problem.gradient_moments(z[:d]).cov_g2)
        v = z[2 * d:]
        if np.any(v <= 0.0):
            return float("inf")  # the v = 0 start: the Gaussian v-noise exceeds v at once
        worst = max(worst, float(np.max(np.sqrt(b * var_g2 / 2.0) / v)))
    return worst


def _setting(c, key):
    """The study's problem, start z0 and control-variate basis (checked by :func:`check`)."""
    problem = make_problem(c["problem"]) if "problem" in c else CorrelatedQuadratic()
    x0 = np.asarray(c["x0"], dtype=float)
    v0 = c.get("v0", "S(x0)")
    z0 = np.concatenate([x0, np.zeros(problem.dim),
                         problem.S(x0) if v0 == "S(x0)" else np.zeros(problem.dim)])
    basis = c.get("basis", {})
    return problem, z0, basis


def _weights(basis, n_steps, T):
    return time_basis(n_steps, T, int(basis.get("legendre", DEFAULT_LEGENDRE)),
                      basis.get("decay_rates", ()))


def _empty():
    return {m: {p: [] for p in PHIS} for m in MODELS}


def _number(x):
    return float(x) if np.isfinite(x) else None


def _study(key, c, seed, workers, bar):
    problem, z0, basis = _setting(c, key)
    a, b, eps, T, R, k = c["a"], c["b"], c["eps"], c["T"], c["n_paths"], c["substeps"]
    gammas = [float(g) for g in c["gammas"]]
    expected = {**EXPECTED, **c.get("expected", {})}
    start = time.perf_counter()
    sol = _ode(problem, a, b, eps, z0, T)
    phi_ode = _phis(problem, sol.y[:, -1])
    ratio = v_noise_ratio(problem, sol, b, T)
    names = ("error", "stderr", "stderr_without_controls", "stderr_independent_draws")
    store = {name: _empty() for name in names}
    diverged = {s: [] for s in SCHEMES}
    projected = {"sde1": [], "sde2": []}
    coupled = key != "regression"
    for gamma, s in zip(gammas, seed.spawn(len(gammas))):
        opt = Adam(gamma, a, b, eps, debias=False)
        W = _weights(basis, round(T / gamma), T)
        if coupled:
            final, ctl = coupled_paths(problem, opt, z0, T, R, s, substeps=k,
                                       antithetic=bool(c.get("antithetic", False)),
                                       workers=workers, time_weights=W)
            ok = (np.abs(final) <= DIVERGED).all(axis=(1, 3))  # (R, scheme); NaN fails too
            with np.errstate(over="ignore", invalid="ignore"):  # diverged paths: counted below
                f = {p: v.mean(1) for p, v in _phis(problem, final).items()}  # (R, 3)
            controls = [ctl.mean(1)] * 3  # one set of draws drives all three schemes
        else:
            out = independent_paths(problem, opt, z0, T, R, s, substeps=k, time_weights=W,
                                    workers=workers)
            ok = (np.abs(out.final) <= DIVERGED).all(axis=2)
            with np.errstate(over="ignore", invalid="ignore"):
                f = {p: np.stack([_phis(problem, out.final[:, j])[p] for j in range(3)], 1)
                     for p in PHIS}
            controls = [out.controls_discrete, out.controls_sde[:, 0], out.controls_sde[:, 1]]
            for j, m in ((0, "sde1"), (1, "sde2")):
                projected[m].append(float(np.mean(out.projections[:, j] > 0)))
        for j, scheme in enumerate(SCHEMES):
            diverged[scheme].append(float(np.mean(~ok[:, j])))
        for p in PHIS:
            y = f[p]
            for j, m in enumerate(MODELS):
                if not (ok[:, 0] & ok[:, j]).all():  # a mean over diverged paths means nothing
                    for name in names:
                        store[name][m][p].append(None)
                    continue
                disc = control_variate_mean(y[:, 0], controls[0])
                disc_plain = control_variate_mean(y[:, 0])
                if j == 0:
                    est, plain, indep = (disc[0] - phi_ode[p], disc[1]), disc_plain, disc_plain
                else:
                    indep = difference_of_means(disc_plain, control_variate_mean(y[:, j]))
                    if coupled:  # the mean of per-path differences
                        est = control_variate_mean(y[:, 0] - y[:, j], controls[j])
                        plain = control_variate_mean(y[:, 0] - y[:, j])
                    else:
                        est = difference_of_means(disc, control_variate_mean(y[:, j],
                                                                             controls[j]))
                        plain = indep
                ok_est = np.isfinite(est[0]) and np.isfinite(est[1])
                store["error"][m][p].append(_number(est[0]) if ok_est else None)
                store["stderr"][m][p].append(_number(est[1]) if ok_est else None)
                store["stderr_without_controls"][m][p].append(_number(plain[1]))
                store["stderr_independent_draws"][m][p].append(_number(indep[1]))
        bar.update(1)
    rho = [float(np.sqrt(g) * ratio) if np.isfinite(ratio) else None for g in gammas]
    out = {"note": c.get("note", ""), "problem": problem.config(), "z0": z0,
           "v0": c.get("v0", "S(x0)"), "a": a, "b": b,
           "eps": eps, "T": T, "n_paths": R, "substeps": k, "gammas": gammas,
           "basis": {"legendre": int(basis.get("legendre", DEFAULT_LEGENDRE)),
                     "decay_rates": list(basis.get("decay_rates", ()))},
           "draws": "common" if coupled else "independent",
           "ode_phi_T": {p: float(phi_ode[p]) for p in PHIS}, "x_T_ode": sol.y[:problem.dim, -1],
           "v_noise_ratio": {"rho": rho, "max": RHO_MAX,
                             "valid": [r is not None and r <= RHO_MAX for r in rho],
                             "per_sqrt_gamma": ratio if np.isfinite(ratio) else None},
           **store, "diverged_fraction": diverged}
    if coupled:
        out["antithetic"] = bool(c.get("antithetic", False))
        del out["stderr_independent_draws"]["ode"]
    else:
        out["projected_fraction"] = projected
        del out["stderr_independent_draws"]  # the errors are from independent draws already
    out["slopes"] = _slopes(out, expected)
    out["elapsed_s"] = round(time.perf_counter() - start, 1)
    return out


def slope_record(gammas, err, se, valid, expected) -> dict:
    """The slope entry of one (model, φ): the corrected fit over the valid finite points when
    at least MIN_RESOLVED of them are resolved, else ``"resolved": False`` and the reason."""
    use = [i for i, g in enumerate(gammas)
           if valid[i] and err[i] is not None and se[i] is not None and se[i] > 0]
    g = np.array([gammas[i] for i in use])
    e = np.array([err[i] for i in use])
    s = np.array([se[i] for i in use])
    n_res = int(np.sum(np.abs(e) > SIGNIFICANCE * s)) if use else 0
    rec = {"expected": expected, "n_points": len(use), "n_resolved": n_res,
           "gammas_used": g.tolist(), "local_slopes": local_slopes(g, e) if use else []}
    if n_res < MIN_RESOLVED:
        rec.update(resolved=False, slope=None, stderr=None,
                   reason=f"{n_res} of {len(use)} valid errors exceed {SIGNIFICANCE:g} standard "
                          f"errors; the corrected fit needs {MIN_RESOLVED}")
        return rec
    try:
        fit = fit_order(g, e, s, "corrected")
        power = fit_order(g, e, s, "power")
    except RuntimeError as failure:  # curve_fit did not converge
        rec.update(resolved=False, slope=None, stderr=None, reason=f"fit failed: {failure}")
        return rec
    rec.update(resolved=True, slope=fit.slope, stderr=fit.stderr, model="C g^p (1 + D g)",
               C=fit.C, D=fit.D, chi2_dof=fit.chi2_dof, p_value=fit.p_value,
               power_law={"slope": power.slope, "stderr": power.stderr,
                          "chi2_dof": power.chi2_dof, "p_value": power.p_value})
    if not np.isfinite(fit.stderr):
        rec.update(resolved=False, slope=None, stderr=None,
                   reason="the corrected fit's covariance is singular")
    return rec


def _slopes(study, expected):
    valid = study["v_noise_ratio"]["valid"]
    return {f"{m}_{p}": slope_record(study["gammas"], study["error"][m][p],
                                     study["stderr"][m][p], valid, expected[m])
            for m in MODELS for p in PHIS}


def _table(key, st):
    rho = [r for r in st["v_noise_ratio"]["rho"] if r is not None]
    span = f"rho = {min(rho):.3f}..{max(rho):.3f}" if rho else "rho infinite (v = 0 start)"
    lines = [(f"{key} (T = {st['T']:g}, {st['n_paths']} paths per gamma, {st['draws']} draws, "
              f"{span}, {st['elapsed_s']:g} s):")]
    for name, sl in st["slopes"].items():
        if not sl["resolved"]:
            lines.append(f"  {name:8s} not resolved ({sl['reason']}; expected {sl['expected']})")
            continue
        loc = ", ".join("-" if x is None else f"{x:.2f}" for x in sl["local_slopes"])
        lines.append(f"  {name:8s} slope {sl['slope']:6.3f} +/- {sl['stderr']:.3f} "
                     f"(chi2/dof {sl['chi2_dof']:.2f}; power law {sl['power_law']['slope']:.3f} "
                     f"+/- {sl['power_law']['stderr']:.3f}; local {loc}; expected "
                     f"{sl['expected']})")
    return lines


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    seeds = dict(zip(STUDIES, ctx.seed_sequence().spawn(len(STUDIES))))
    enabled = _enabled(config)
    studies = {}
    total = sum(len(config[k]["gammas"]) for k in enabled)
    with ctx.progress(total, desc=EXPERIMENT) as bar:
        for key in enabled:
            studies[key] = _study(key, config[key], seeds[key], ctx.workers, bar)
    arrays, lines = {}, []
    for key, st in studies.items():
        arrays[f"{key}_gammas"] = np.array(st["gammas"])
        for m in MODELS:
            for p in PHIS:
                for name in ("error", "stderr"):
                    arrays[f"{key}_{m}_{p}_{name}"] = np.array(
                        [np.nan if x is None else x for x in st[name][m][p]])
        lines += _table(key, st)
    return ExperimentResult(summary=studies, arrays=arrays,
                            figure=redraw(*saved(arrays, studies, config)),
                            table="\n".join(lines))


def redraw(arrays: dict, summary: dict):
    """The figure of a run from its ``summary.json`` (:func:`_plot`): one row per study run."""
    return _plot({key: summary[key] for key in STUDIES if key in summary})


def _plot(studies):
    plt = pyplot()
    from matplotlib.ticker import NullFormatter

    colours = {"ode": "black", "sde1": "tab:blue", "sde2": "tab:red"}
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(studies), 3, figsize=(15, 4.3 * len(studies)),
                                 squeeze=False)
        for row, (key, st) in zip(axes, studies.items()):
            g = np.array(st["gammas"])
            valid = np.array(st["v_noise_ratio"]["valid"])
            for ax, p in zip(row, PHIS):
                for m in MODELS:
                    e = np.array([np.nan if x is None else x for x in st["error"][m][p]])
                    s = np.array([np.nan if x is None else x for x in st["stderr"][m][p]])
                    sl = st["slopes"][f"{m}_{p}"]
                    lab = (f"{MODEL_LABELS[m]}: p = {sl['slope']:.2f} ± {sl['stderr']:.2f}"
                           if sl["resolved"] else f"{MODEL_LABELS[m]}: not resolved")
                    ok = np.isfinite(e) & np.isfinite(s)
                    res = ok & (np.abs(e) > SIGNIFICANCE * s) & valid
                    ae = np.abs(e)
                    ax.errorbar(g[res], ae[res], yerr=np.minimum(2 * s[res], 0.95 * ae[res]),
                                fmt="o", color=colours[m], ms=4, capsize=3, label=lab)
                    other = ok & ~res
                    # unresolved or invalid points: open markers at |e| + 2 se (an upper bound)
                    ax.plot(g[other], ae[other] + 2 * s[other], "v", mfc="none",
                            color=colours[m], ms=5)
                    if sl["resolved"]:
                        gg = np.geomspace(min(sl["gammas_used"]), max(sl["gammas_used"]), 60)
                        ax.plot(gg, np.abs(sl["C"] * gg**sl["slope"] * (1 + sl["D"] * gg)),
                                "-", color=colours[m], lw=1, alpha=0.7)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xticks(g)
                ax.set_xticklabels([f"{x:g}" for x in g], fontsize=7)
                ax.xaxis.set_minor_formatter(NullFormatter())
                ax.set_xlabel("γ")
                ax.set_title(f"{STUDY_TITLES[key].format(T=st['T'])}: φ = {PHI_LABELS[p]}",
                             fontsize=9)
                ax.legend(fontsize=7)
        fig.text(0.01, 0.005, "dots: |E φ(z_N) − E φ(Z_T)| ± 2 Monte Carlo standard errors "
                 "(common draws / control variates); lines: fits C γ^p (1 + Dγ); open triangles: "
                 "|e| + 2 se of unresolved points (|e| ≤ 2 se) or of γ outside the Gaussian-"
                 "validity range, not fitted", fontsize=8)
        fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


# Cost per (path · discrete step) in run·step units of adam_ode.cost (24 ns each for 6 floats),
# from wall times with 2 Heun sub-steps on 2 threads: coupled ~1.9 µs, independent ~1.2 µs on an
# idle machine (both about 2.4 µs when the cores are shared with other work).
COUPLED_UNITS_PER_SUBSTEP = 75
INDEPENDENT_UNITS_PER_SUBSTEP = 50


def estimate(config):
    """Cost before work (:mod:`adam_ode.cost`): per γ and path, the discrete scheme and two Heun
    SDEs with ``substeps`` sub-steps each (the modified drift evaluates the moments 4 times);
    per study, its ODE solved on [0, T] and the validity criterion along it."""
    from ..cost import FLOAT_BYTES, Cost
    from ..montecarlo import steps_for_horizon

    run_steps, mem = 0, 0
    for key in STUDIES:
        c = config.get(key, {})
        if not c or not c.get("enabled", True):
            continue
        per = COUPLED_UNITS_PER_SUBSTEP if key != "regression" else INDEPENDENT_UNITS_PER_SUBSTEP
        run_steps += sum(c["n_paths"] * steps_for_horizon(c["T"], g) * (1 + per * c["substeps"])
                         for g in c["gammas"])
        run_steps += ode_run_steps(c["T"], 6, outputs=CRITERION_POINTS)  # the study's ODE
        n_basis = int(c.get("basis", {}).get("legendre", DEFAULT_LEGENDRE)) + \
            len(c.get("basis", {}).get("decay_rates", ()))
        mem = max(mem, c["n_paths"] * (2 * 3 * 6 + 3 * 2 * n_basis * 2) * FLOAT_BYTES)
    return Cost(run_steps=run_steps, state_floats=6, memory_bytes=mem,
                keys=("correlated.n_paths", "stationary.n_paths", "regression.n_paths"))
