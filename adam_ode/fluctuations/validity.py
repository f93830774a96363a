r"""Validity of the SDE against the discrete iterates: Var ratios and mean z-scores per case.

:func:`validity_table` runs, for each case, the discrete Monte Carlo
(:func:`adam_ode.monte_carlo`) and :func:`~.sde.simulate_sde` (one variant) from the same x0 to the
same time, and reports per final coordinate x_i the ratio Var_SDE/Var_discrete, its standard
error (for independent samples of size R from near-Gaussian laws, Var of a sample variance is
≈ 2σ⁴/(R − 1), so SE(ratio) ≈ ratio·sqrt(2/(R_SDE − 1) + 2/(R_MC − 1)); heavier tails make it
larger, using the sample kurtosis κ: (κ − 1)/R in place of 2/(R − 1)), and the z-score of the
mean difference. :data:`CASES` are the rows of the issue that motivated the ``hybrid`` variant
(paper_notes.md "SDE from the first step").
"""

from __future__ import annotations

import numpy as np

from .._validation import ParameterError

__all__ = ["CASES", "validity_case", "validity_table"]


def _cases():
    from ..optimizers import Adam, AdamW, RMSProp
    from ..problems.correlated_quadratic import CorrelatedQuadratic
    from ..problems.linear_regression_2d import LinearRegression2D

    lr, cq = LinearRegression2D(), CorrelatedQuadratic()
    x_lr = np.array([-1.0, 4.0])
    x_cq = CorrelatedQuadratic.example_start(cq)
    return {
        "adam-lr-1e-2": (lr, Adam(1e-2, a=4.0, b=1.0, eps=1e-2), x_lr, 10.0),
        "adam-lr-1e-3": (lr, Adam(1e-3, a=4.0, b=1.0, eps=1e-2), x_lr, 10.0),
        "adam-nodebias-lr-1e-2": (lr, Adam(1e-2, a=4.0, b=1.0, eps=1e-2, debias=False), x_lr,
                                  10.0),
        "adam-nodebias-lr-1e-3": (lr, Adam(1e-3, a=4.0, b=1.0, eps=1e-2, debias=False), x_lr,
                                  10.0),
        "rmsprop-lr": (lr, RMSProp(2e-3, b=1.0, eps=1e-2), x_lr, 5.0),
        "adamw-lr": (lr, AdamW(2e-3, a=4.0, b=1.0, eps=1e-2, weight_decay=0.1), x_lr, 5.0),
        "adam-cq-early": (cq, Adam(2e-3, eps=0.1), x_cq, 0.3),
        "rmsprop-cq-early": (cq, RMSProp(2e-3, eps=0.1), x_cq, 0.3),
        "adam-lr-eps1e-8": (lr, Adam(1e-2, a=4.0, b=1.0, eps=1e-8), x_lr, 10.0),
        "rmsprop-lr-eps1e-8": (lr, RMSProp(2e-3, b=1.0, eps=1e-8), x_lr, 5.0),
    }


CASES = tuple(_cases())  # the names; validity_case(name) builds one


def validity_case(name):
    """(problem, optimizer, x0, T) of the case ``name`` (one of :data:`CASES`)."""
    cases = _cases()
    if name not in cases:
        raise ParameterError(f"case must be one of {', '.join(CASES)}, got {name!r}")
    return cases[name]


def _var_se(x):
    """Var of each column and the relative variance of the sample variance ((κ − 1)/R)."""
    n = x.shape[0]
    c = x - x.mean(axis=0)
    var = (c ** 2).sum(axis=0) / (n - 1)
    kurt = (c ** 4).mean(axis=0) / np.maximum((c ** 2).mean(axis=0) ** 2, 1e-300)
    return var, (kurt - 1.0) / n


def compare(mc_x, sde_x):
    """Per coordinate: Var ratio, its standard error, and the z-score of the mean difference."""
    mc_x, sde_x = np.asarray(mc_x, float), np.asarray(sde_x, float)
    v_mc, r_mc = _var_se(mc_x)
    v_sde, r_sde = _var_se(sde_x)
    ratio = v_sde / v_mc
    se = ratio * np.sqrt(r_mc + r_sde)
    diff = sde_x.mean(axis=0) - mc_x.mean(axis=0)
    z = diff / np.sqrt(v_mc / mc_x.shape[0] + v_sde / sde_x.shape[0])
    return ratio, se, z, diff


def validity_table(cases=None, n_paths: int = 4000, seed: int = 0, variant: str = "auto",
                   workers: int | None = None) -> list[dict]:
    """One row per case and coordinate: ``case``, ``coordinate``, ``var_ratio``, ``ratio_se``,
    ``mean_z``, ``mean_diff``, ``mean_se`` (its standard error), ``gamma`` (the mean tolerance of the issue is 4 standard errors
    + 2γ), ``diverged`` (SDE paths not finite, left out of the statistics), ``variant``.

    The Monte Carlo uses seed ``seed`` and the SDE ``seed + 1`` (independent samples).
    """
    from ..montecarlo import monte_carlo
    from .sde import simulate_sde

    names = CASES if cases is None else tuple(cases)
    rows = []
    for name in names:
        problem, opt, x0, T = validity_case(name)
        n_steps = int(round(T / opt.gamma))
        mc = monte_carlo(problem, opt, x0, n_steps, n_paths, seed, track_grad_norm=False,
                         workers=workers)
        res = simulate_sde(problem, opt, x0, T, n_paths, seed + 1, variant=variant,
                           workers=workers)
        ok = ~res.diverged
        ratio, se, z, diff = compare(mc.final_x, res.final_x[ok])
        for i in range(problem.dim):
            rows.append({"case": name, "coordinate": i + 1, "var_ratio": float(ratio[i]),
                         "ratio_se": float(se[i]), "mean_z": float(z[i]),
                         "mean_diff": float(diff[i]),
                         "mean_se": float(abs(diff[i] / z[i])) if z[i] != 0 else 0.0,
                         "gamma": float(opt.gamma),
                         "diverged": int((~ok).sum()),
                         "variant": res.config.get("variant", "gaussian")})
    return rows
