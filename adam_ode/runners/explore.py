r"""Experiment ``explore``: the browser explorer's view, one optimizer (or two) on a 2-D problem.

The view of ``adam-ode explore`` (:mod:`adam_ode.explore`), computed here so that the file the
explorer saves (``Save as experiment``) reproduces it with ``adam-ode run FILE.toml``: the same
function, :func:`compute_view`, makes the numbers in the browser and in the run. For the record
of ``optimizer`` (and of ``compare`` when that table is not empty), on a 2-D problem, from x0,
over the horizon T in the record's own limit time (t = nγ; Nesterov t = k·sqrt(γ); AdaGrad
τ = nγ²):

- ``n_runs`` noisy runs (:func:`adam_ode.monte_carlo`, one stream per run from the seed), their
  mean path, ``n_shown`` of them drawn, and per run sup_k ‖x_k − X(t_k)‖ against the limit X
  (:func:`adam_ode.integrate.solve_limit` of ``optimizer.limit()``);
- the linear-noise approximation (``lna``): 95 % ellipses of x_n, ``{x : (x − X)ᵀ C⁻¹ (x − X) ≤
  χ²₂(0.95)}`` with C = Δt·P_xx(t) (:func:`adam_ode.linear_noise`), at :data:`N_ELLIPSES` times
  along the limit, where the record has a fluctuation model;
- ``sde`` paths of the record's SDE (:func:`adam_ode.simulate_sde`; 0: none);
- the Lyapunov energy V(t, z) of the limit along X and, averaged over the runs, along the
  iterates (where the limit has an energy: ``limit.has_energy``);
- the sup distance against γ (``study_gammas``, empty: none): the mean over ``n_runs`` runs of
  sup_k ‖z_k − z(t_k)‖ per γ, :func:`adam_ode.analysis.weak_convergence.limit_convergence_study`.

Both optimizers use the same seed: the comparison is on the same problem and the same draws of
the root seed. The figure is the explorer's PNG of the view.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._validation import DivergenceWarning, ParameterError
from ..experiments import ExperimentError, ExperimentResult, RunContext, register
from ..continuous import solve_limit
from ..montecarlo import monte_carlo
from ..optimizers import make_optimizer
from ..problems import make_problem
from .family import steps_to_reach

__all__ = ["run", "check", "estimate", "plot", "compute_view", "view_records", "ellipse",
           "CHI2_95", "N_ELLIPSES", "N_RECORD", "N_LIMIT_POINTS", "N_GRID", "STUDY_DELTA"]

EXPERIMENT = "explore"
CHI2_95 = 5.991464547107979  # χ²₂ quantile 0.95 = −2 ln 0.05: the 95 % ellipse of a 2-D Gaussian
N_ELLIPSES = 8  # LNA ellipses drawn along the limit
N_RECORD = 400  # recorded iterates per run (about): enough to draw a path
N_LIMIT_POINTS = 400  # points of the drawn limit
N_GRID = 80  # contour grid points per axis
GRID_MARGIN = 0.15  # the contour box extends the paths' box by this fraction on each side
ELLIPSE_POINTS = 60  # vertices of one drawn ellipse
STUDY_DELTA = 0.1  # δ of the convergence study's P(sup > δ) (reported, not drawn)
# Tolerances of the LNA's covariance solve: drawn ellipses need ~1e-4, not the package's 1e-11
# (the default costs ~1.5 s on the talk's regression, these ~0.1 s; covariances agree to 1e-4).
LNA_RTOL = 1e-5
LNA_ATOL = 1e-7
CACHE_SIZE = 32  # limit solutions and LNA covariances kept per process (the explorer's redraws)
SLOTS = ("optimizer", "compare")  # the config's optimizer tables, in drawing order
COLORS = ("#1f77b4", "#d62728")


# ------------------------------------------------------------------------------------------------
# Config


def view_records(config: dict) -> dict:
    """key -> optimizer record for ``optimizer`` and a non-empty ``compare`` (errors keyed)."""
    out = {}
    for key in SLOTS:
        table = config.get(key)
        if key == "compare" and not table:
            continue
        if not isinstance(table, dict) or "name" not in table:
            raise ExperimentError(f"{key} must be a table with a 'name' key (an optimizer of "
                                  "adam-ode list optimizers)")
        try:
            out[key] = make_optimizer(table)
        except ParameterError as err:
            raise ExperimentError(f"{key}: {err}") from None
    return out


def _problem(config):
    try:
        problem = make_problem(config["problem"])
    except ParameterError as err:
        raise ExperimentError(f"problem: {err}") from None
    if problem.dim != 2:
        raise ExperimentError(f"problem must be 2-D (the view is a contour plot), got "
                              f"{type(problem).__name__} with d = {problem.dim}")
    return problem


def check(config: dict) -> None:
    """Before any work: a 2-D problem, valid optimizer tables, x0 of length 2, counts and
    study step sizes in range (each error names its key)."""
    problem = _problem(config)
    records = view_records(config)
    x0 = config["x0"]
    if len(x0) != problem.dim:
        raise ExperimentError(f"x0 must hold {problem.dim} numbers, got {x0!r}")
    if config["n_shown"] > config["n_runs"]:
        raise ExperimentError(f"n_shown = {config['n_shown']} must be <= n_runs = "
                              f"{config['n_runs']}")
    if isinstance(config["sde"], bool) or not isinstance(config["sde"], int) \
            or config["sde"] < 0:
        raise ExperimentError(f"sde must be an integer >= 0 (SDE paths; 0: none), got "
                              f"{config['sde']!r}")
    for key, record in records.items():
        for i, g in enumerate(config["study_gammas"]):
            try:
                record.replace(**{record.step_field: float(g)})
            except ParameterError as err:
                raise ExperimentError(f"study_gammas[{i}] = {g!r}: {key}: {err}") from None


def estimate(config: dict):
    """Cost (:mod:`adam_ode.cost`): the runs of each optimizer, its SDE paths and the study."""
    from ..cost import PER_RUN_FLOATS, Cost, float_bytes

    records = view_records(config)
    run_steps, width, memory = 0, 0, 0
    for record in records.values():
        n = steps_to_reach(record, config["T"])
        w = record.n_slots * 2
        width = max(width, w)
        run_steps += (config["n_runs"] + config["sde"]) * n
        for g in config["study_gammas"]:
            run_steps += config["n_runs"] * steps_to_reach(
                record.replace(**{record.step_field: float(g)}), config["T"])
        memory += float_bytes((config["n_runs"] + config["sde"]) * (N_RECORD + 2) * w
                              + config["n_runs"] * PER_RUN_FLOATS)
    return Cost(run_steps, width, memory, ("n_runs", "T", "study_gammas"))


# ------------------------------------------------------------------------------------------------
# The view


def ellipse(center, cov, level: float = CHI2_95, points: int = ELLIPSE_POINTS) -> np.ndarray:
    """Vertices (points, 2) of {x : (x − c)ᵀ cov⁻¹ (x − c) = level}, closed (first = last)."""
    w, U = np.linalg.eigh(np.asarray(cov, dtype=float))
    radii = np.sqrt(np.maximum(w, 0.0) * level)
    s = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(s), np.sin(s)], axis=1)
    return np.asarray(center, dtype=float) + (circle * radii) @ U.T


_SOLVED: dict = {}  # key -> Trajectory or (t, P_xx, mean_x); see _cached


def _cached(kind: str, problem, limit, x0, T: float, make):
    """``make()`` once per (kind, problem config, limit, x0, T) in this process: moving γ keeps
    the limit (a, b, ε fixed), so the explorer's redraws reuse its solution and its LNA. The
    values are those ``make()`` returns in a fresh process (a run of the saved file)."""
    import json

    key = (kind, json.dumps(problem.config(), sort_keys=True, default=repr),
           json.dumps(limit.config(), sort_keys=True, default=repr),
           tuple(float(v) for v in x0), float(T))
    if key not in _SOLVED:
        if len(_SOLVED) >= CACHE_SIZE:
            _SOLVED.pop(next(iter(_SOLVED)))
        _SOLVED[key] = make()
    return _SOLVED[key]


def _reason(err) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def compute_view(problem, record, x0, T: float, n_runs: int, n_shown: int, seed: int, *,
                 lna: bool = True, sde: int = 0, study_gammas=(), workers: int | None = None,
                 progress=None, iterates: bool = True) -> dict:
    """The numbers of one optimizer's view (module docstring) as a dict of arrays and notes.

    Keys: ``limit_t``, ``limit_x`` (limit); ``record_t``, ``paths`` (n_shown, K, 2),
    ``mean_path`` (K, 2), ``sup_distance`` (n_runs,); ``lna_t``, ``lna_mean``, ``lna_cov``
    (N_ELLIPSES, 2, 2) when ``lna`` and supported; ``sde_t``, ``sde_paths``; ``energy_t``,
    ``energy_limit``, ``energy_iterates`` where the limit has an energy; ``study_gammas``,
    ``study_mean_sup``; and ``notes`` (str -> why a part is absent, plus warnings raised).
    ``progress(k)`` is called with increments of the study's finished runs. ``iterates=False``
    computes the limit's parts only (no kernels: the explorer's first view while they compile).

    The limit is solved on [0, max(T, t_N)] and the LNA on [0, T] (x block: Cov x_n =
    Δt·P_xx(nΔt), Δt = ``record.times(1)``), both cached per limit (:func:`_cached`).
    """
    x0 = np.asarray(x0, dtype=float)
    root = np.random.SeedSequence(int(seed))
    mc_seed, sde_seed, study_seed = root.spawn(3)
    notes = {}
    out = {}
    limit = record.limit()
    n_steps = steps_to_reach(record, T)
    horizon = float(record.times(n_steps))
    T_solve = max(float(T), horizon)
    traj = _cached("limit", problem, limit, x0, T_solve,
                   lambda: solve_limit(problem, limit, x0, T_solve))
    t_lim = np.linspace(0.0, horizon, N_LIMIT_POINTS)
    out["limit_t"] = t_lim
    z_lim = traj(t_lim)
    out["limit_x"] = record.from_limit_state(z_lim)[:, :problem.dim]

    every = max(1, n_steps // N_RECORD)
    if iterates:
        if record.uniform_steps:
            times = np.minimum(record.times(np.arange(n_steps + 1)), T_solve)
            reference = np.ascontiguousarray(
                record.from_limit_state(traj(times))[:, :problem.dim])
        else:  # iterates at t_n = Σ γ_k: the Monte Carlo solves the limit on its own times
            reference = "limit-x"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DivergenceWarning)
            mc = monte_carlo(problem, record, x0, n_steps, n_runs, mc_seed, reference=reference,
                             track_grad_norm=False, record_every=every, workers=workers)
        for w in caught:  # the runs' divergences (not the compiler's remarks)
            if issubclass(w.category, DivergenceWarning):
                notes.setdefault("warnings", []).append(_reason(w.message))
        rec = mc.record  # (R, K, width)
        out["record_t"] = np.asarray(mc.record_times, dtype=float)
        ok = ~mc.diverged
        out["sup_distance"] = np.asarray(mc.sup_distance, dtype=float)
    else:
        out["record_t"] = np.minimum(record.times(np.arange(0, n_steps + 1, every)), T_solve)
        rec = np.empty((0, out["record_t"].size, record.n_slots * problem.dim))
        ok = np.zeros(0, dtype=bool)
        out["sup_distance"] = np.empty(0)
    out["paths"] = rec[:n_shown, :, :problem.dim]
    out["mean_path"] = (rec[ok, :, :problem.dim].mean(axis=0) if ok.any()
                        else np.full(rec.shape[1:2] + (problem.dim,), np.nan))
    out["n_diverged"] = int(np.sum(~ok))

    if lna:
        from ..fluctuations import linear_noise

        t_ell = np.linspace(0.0, float(T), N_ELLIPSES + 1)[1:]
        d = problem.dim

        def solve_lna():
            ln = linear_noise(problem, record, x0, float(T), t_eval=t_ell, rtol=LNA_RTOL,
                              atol=LNA_ATOL)
            return ln.P[:, :d, :d].copy(), ln.mean[:, :d].copy()

        try:
            P_xx, mean_x = _cached("lna", problem, limit, x0, T, solve_lna)
            out["lna_t"] = t_ell
            out["lna_mean"] = mean_x
            out["lna_cov"] = float(record.times(1)) * P_xx
        except (ParameterError, NotImplementedError) as err:
            notes["lna"] = _reason(err)
    if sde and iterates:
        from ..fluctuations import simulate_sde

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = simulate_sde(problem, record, x0, horizon, sde, sde_seed,
                                   record_every=max(1, n_steps // N_RECORD), workers=workers)
            out["sde_t"] = np.asarray(res.record_times, dtype=float)
            out["sde_paths"] = res.record[:, :, :problem.dim]
        except (ParameterError, NotImplementedError) as err:
            notes["sde"] = _reason(err)
    if limit.has_energy:
        t_e = out["record_t"]
        try:
            with np.errstate(all="ignore"):
                out["energy_limit"] = np.asarray(limit.energy(t_e, traj(t_e), problem), float)
                z = record.to_limit_state(rec[ok])
                out["energy_iterates"] = (np.asarray(limit.energy(t_e, z, problem), float)
                                          .mean(axis=0) if ok.any()
                                          else np.full(t_e.shape, np.nan))
            out["energy_t"] = t_e
        except (ParameterError, NotImplementedError) as err:
            notes["energy"] = _reason(err)
    else:
        notes["energy"] = f"{type(limit).__name__} has no known energy"
    if len(study_gammas) and iterates:
        from ..analysis.weak_convergence import limit_convergence_study

        try:
            study = limit_convergence_study(problem, record, x0, horizon, list(study_gammas),
                                            n_runs, STUDY_DELTA,
                                            int(study_seed.generate_state(1)[0]),
                                            workers=workers, progress=progress)
            out["study_gammas"] = study.gammas
            out["study_mean_sup"] = study.column("mean_sup")
        except ParameterError as err:
            notes["study"] = _reason(err)
    out["notes"] = notes
    return out


def contour_grid(problem, views, x0, n: int = N_GRID):
    """(xs, ys, F) on a box holding x0, the limits, the drawn paths and the minimizer."""
    pts = [np.atleast_2d(np.asarray(x0, float))]
    for view in views:
        pts += [view["limit_x"], view["mean_path"], view["paths"].reshape(-1, 2)]
        if "lna_mean" in view:
            for c, cov in zip(view["lna_mean"], view["lna_cov"]):
                pts.append(ellipse(c, cov))
    if problem.minimizer is not None:
        pts.append(np.atleast_2d(problem.minimizer))
    allp = np.concatenate(pts)
    allp = allp[np.all(np.isfinite(allp), axis=1)]
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * np.maximum(1.0, np.abs(hi)))
    lo, hi = lo - GRID_MARGIN * span, hi + GRID_MARGIN * span
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    X, Y = np.meshgrid(xs, ys)
    F = problem.F(np.stack([X, Y], axis=-1))
    return xs, ys, np.asarray(F, dtype=float)


def flatten(views: dict, grid) -> dict:
    """The arrays of ``data.npz``: ``<key>_<name>`` per optimizer slot, and the contour grid."""
    arrays = {"grid_x": grid[0], "grid_y": grid[1], "grid_F": grid[2]}
    for key, view in views.items():
        for name, value in view.items():
            if name not in ("notes", "n_diverged"):
                arrays[f"{key}_{name}"] = np.asarray(value)
    return arrays


def summarize(records: dict, views: dict) -> dict:
    out = {}
    for key, view in views.items():
        sup = view["sup_distance"]
        finite = sup[np.isfinite(sup)]
        out[key] = {"record": records[key].config(),
                    "median_sup_distance": float(np.median(finite)) if finite.size else math.inf,
                    "n_diverged": view["n_diverged"], "notes": view["notes"]}
    return out


# ------------------------------------------------------------------------------------------------
# Runner


@register(EXPERIMENT)
def run(config: dict, ctx: RunContext) -> ExperimentResult:
    """The explorer's view for the config's optimizer (and ``compare``), figure and arrays."""
    check(config)
    problem = _problem(config)
    records = view_records(config)
    views = {}
    with ctx.progress(len(records), desc=EXPERIMENT) as bar:
        for key, record in records.items():
            views[key] = compute_view(problem, record, config["x0"], config["T"],
                                      config["n_runs"], config["n_shown"], config["seed"],
                                      lna=config["lna"], sde=config["sde"],
                                      study_gammas=config["study_gammas"], workers=ctx.workers)
            bar.update(1)
    grid = contour_grid(problem, views.values(), config["x0"])
    summary = summarize(records, views)
    table = "\n".join(f"{key} {records[key].name}: median sup_k ||x_k - X(t_k)|| = "
                      f"{s['median_sup_distance']:.4g} over {config['n_runs']} runs"
                      for key, s in summary.items())
    figure = plot(problem, records, views, grid)
    return ExperimentResult(summary=summary, arrays=flatten(views, grid), figure=figure,
                            table=table)


def plot(problem, records: dict, views: dict, grid):
    """The view as a matplotlib figure (contours with paths, limit, ellipses; energy; sup
    distances), one column of panels per optimizer."""
    from ._plot import pyplot

    plt = pyplot()
    n = len(records)
    fig, axes = plt.subplots(n, 3, figsize=(13.5, 4.2 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [1.3, 1.0, 1.0]})
    xs, ys, F = grid
    for row, (key, record) in enumerate(records.items()):
        view = views[key]
        color = COLORS[row % len(COLORS)]
        ax = axes[row, 0]
        ax.contour(xs, ys, F, levels=14, colors="0.75", linewidths=0.7)
        for p in view["paths"]:
            ax.plot(p[:, 0], p[:, 1], color=color, alpha=0.35, lw=0.7)
        if "sde_paths" in view:
            for p in view["sde_paths"]:
                ax.plot(p[:, 0], p[:, 1], color="tab:green", alpha=0.35, lw=0.7)
        ax.plot(*view["mean_path"].T, color=color, lw=1.6, label="mean of runs")
        ax.plot(*view["limit_x"].T, color="k", lw=1.4, ls="--", label="continuous limit")
        if "lna_mean" in view:
            for i, (c, cov) in enumerate(zip(view["lna_mean"], view["lna_cov"])):
                e = ellipse(c, cov)
                ax.plot(e[:, 0], e[:, 1], color="tab:orange", lw=1.0,
                        label="LNA 95 %" if i == 0 else None)
        ax.plot(*view["limit_x"][0], "ko", ms=4)
        ax.set_title(f"{record.name}, γ = {getattr(record, record.step_field):g}", fontsize=10)
        ax.legend(fontsize=7, loc="best")
        ax = axes[row, 1]
        if "energy_t" in view:
            ax.plot(view["energy_t"], view["energy_limit"], "k--", label="V along the limit")
            ax.plot(view["energy_t"], view["energy_iterates"], color=color,
                    label="mean V along the iterates")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, view["notes"].get("energy", "no energy"), ha="center",
                    va="center", wrap=True, fontsize=8, transform=ax.transAxes)
        ax.set_xlabel("t")
        ax.set_title("Lyapunov energy", fontsize=10)
        ax = axes[row, 2]
        if "study_gammas" in view:
            ax.loglog(view["study_gammas"], view["study_mean_sup"], "o-", color=color)
            ax.set_xlabel("γ")
            ax.set_title("mean sup_k ‖z_k − z(t_k)‖ against γ", fontsize=10)
        else:
            sup = view["sup_distance"]
            ax.hist(sup[np.isfinite(sup)], bins=15, color=color, alpha=0.7)
            ax.set_xlabel("sup_k ‖x_k − X(t_k)‖")
            ax.set_title(f"sup distance to the limit ({len(sup)} runs)", fontsize=10)
    fig.tight_layout()
    return fig
