r"""Estimators of the weak-error study: control-variate means, time bases and fitted orders.

**Control variates.** A Monte Carlo mean of y (one value per path) is estimated as the mean of
y − Yβ, where the columns of Y are zero-mean functionals of the path's noise (martingale
transforms Σ_n w(t_n)·η_n, built by the path kernels of :mod:`adam_ode.fluctuations.coupled`
and :mod:`adam_ode.fluctuations.independent`). Any fixed β leaves the mean unchanged;
:func:`control_variate_mean` fits β by least squares on the *other* half of the paths (two-fold
cross-fitting), so the estimate is exactly unbiased, and its standard error is that of the mean
of the residuals. :func:`time_basis` gives the weights w(t_n): Legendre polynomials in t/T (a
smooth response over the whole horizon) and decaying exponentials of the time to go T − t (the
memory of a state that has reached stationarity).

**Orders.** The weak error of a scheme of order p has the expansion
e(γ) = C γ^p (1 + Dγ + O(γ²)) (Talay–Tubaro). :func:`fit_order` fits either the pure power law
C γ^p or the corrected model C γ^p (1 + Dγ) to the signed errors by weighted least squares with
the Monte Carlo standard errors as known σ (``absolute_sigma``), and reports χ²/dof and its
p-value, which say whether the model describes the points within their error bars.
:func:`local_slopes` gives log(e_i/e_{i+1})/log(γ_i/γ_{i+1}) between neighbours.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .._validation import ParameterError

__all__ = ["MODELS", "OrderFit", "control_variate_mean", "difference_of_means", "fit_order",
           "local_slopes", "time_basis"]

MODELS = ("power", "corrected")  # C γ^p and C γ^p (1 + Dγ)
MIN_POINTS = {"power": 3, "corrected": 4}  # one degree of freedom left for χ²
MAX_FEV = 20000  # curve_fit evaluations: the models are smooth, this is never reached in practice


def control_variate_mean(y, controls=None) -> tuple[float, float]:
    """(mean, standard error) of y with zero-mean control variates, two-fold cross-fitted.

    Parameters
    ----------
    y : array (n,)
        One value per path (finite).
    controls : array (n, k), optional
        Zero-mean functionals of each path's noise (k may be 0). Paths 0 … n/2 − 1 and n/2 … n − 1
        form the two folds: the coefficients used on one fold are the least-squares fit of y on
        (1, controls) over the other fold, so they are independent of the fold they correct.

    Returns
    -------
    (float, float)
        The mean of the corrected values and their standard deviation over √n. With no
        controls (or k ≥ n/4: too few paths to fit them) the plain mean and its standard error.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.size < 2:
        raise ParameterError(f"y must be a 1-D array of >= 2 values, got shape {y.shape}")
    n = y.size
    if controls is None or np.size(controls) == 0 or 4 * np.shape(controls)[1] >= n:
        return float(y.mean()), float(y.std(ddof=1) / math.sqrt(n))
    Y = np.asarray(controls, dtype=float)
    if Y.shape[0] != n:
        raise ParameterError(f"controls must have {n} rows, got {Y.shape[0]}")
    half = n // 2
    folds = (np.arange(half), np.arange(half, n))
    corrected = np.empty(n)
    for use, fit in (folds, folds[::-1]):
        X = np.column_stack([np.ones(fit.size), Y[fit]])
        beta = np.linalg.lstsq(X, y[fit], rcond=None)[0][1:]
        corrected[use] = y[use] - Y[use] @ beta
    return float(corrected.mean()), float(corrected.std(ddof=1) / math.sqrt(n))


def difference_of_means(a, b) -> tuple[float, float]:
    """(a − b, se) for two independent (mean, se) estimates."""
    return a[0] - b[0], math.hypot(a[1], b[1])


def time_basis(n_steps: int, T: float, n_legendre: int = 4, decay_rates=()) -> np.ndarray:
    r"""Weights w_q(t_n) (n_basis, n_steps) at the step midpoints t_n = (n + ½)T/N.

    Rows: the Legendre polynomials P_0 … P_{n_legendre−1} of s = 2t/T − 1, then
    exp(−r (T − t)) for each r in ``decay_rates`` (per unit of t).
    """
    if n_steps < 1:
        raise ParameterError(f"n_steps must be >= 1, got {n_steps!r}")
    t = (np.arange(n_steps) + 0.5) * (T / n_steps)
    s = 2.0 * t / T - 1.0
    rows = [np.polynomial.legendre.Legendre.basis(q)(s) for q in range(int(n_legendre))]
    rows += [np.exp(-float(r) * (T - t)) for r in decay_rates]
    if not rows:
        return np.zeros((0, n_steps))
    return np.ascontiguousarray(rows, dtype=float)


@dataclass(frozen=True)
class OrderFit:
    """A fitted order: e(γ) ≈ C γ^slope (model "power") or C γ^slope (1 + Dγ) ("corrected").

    ``stderr`` comes from the fit's covariance with the Monte Carlo errors taken as known
    (not rescaled by χ²/dof); ``chi2_dof`` and ``p_value`` say whether the model fits within
    those errors (p < 0.01: it does not, and the standard error understates the uncertainty).
    """

    model: str
    slope: float
    stderr: float
    C: float
    D: float | None
    chi2_dof: float
    p_value: float
    n_points: int

    def as_dict(self) -> dict:
        return {"model": self.model, "slope": self.slope, "stderr": self.stderr, "C": self.C,
                "D": self.D, "chi2_dof": self.chi2_dof, "p_value": self.p_value,
                "n_points": self.n_points}


def _power(g, C, p):
    return C * g**p


def _corrected(g, C, p, D):
    return C * g**p * (1.0 + D * g)


def fit_order(gammas, err, se, model: str = "corrected") -> OrderFit:
    """Weighted least-squares fit of the signed errors ``err`` ± ``se`` against γ.

    The start is the weighted log-log line through the points (|err| > 0); the fit itself is in
    e-space, so points whose error is within its standard error of 0 count for what they are.

    Raises
    ------
    ParameterError
        Fewer than :data:`MIN_POINTS` points, a non-positive γ or se, or an unknown model.
    """
    if model not in MODELS:
        raise ParameterError(f"model must be one of {MODELS}, got {model!r}")
    g, e, s = (np.asarray(v, dtype=float) for v in (gammas, err, se))
    if not (g.shape == e.shape == s.shape) or g.ndim != 1:
        raise ParameterError("gammas, err and se must be 1-D arrays of the same length")
    if g.size < MIN_POINTS[model]:
        raise ParameterError(f"the {model} fit needs >= {MIN_POINTS[model]} points, got {g.size}")
    if not (np.all(np.isfinite(g) & np.isfinite(e) & np.isfinite(s)) and np.all(g > 0)
            and np.all(s > 0)):
        raise ParameterError("gammas and se must be finite and > 0, err finite")
    nz = np.abs(e) > 0
    lg, le = np.log(g[nz]), np.log(np.abs(e[nz]))
    p0, c0 = np.polyfit(lg, le, 1, w=np.abs(e[nz]) / s[nz]) if nz.sum() >= 2 else (1.0, 0.0)
    sign = np.sign(e[np.argmin(g)]) or 1.0
    start = [sign * math.exp(c0), p0]
    f = _power if model == "power" else _corrected
    if model == "corrected":
        start.append(0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        popt, pcov = optimize.curve_fit(f, g, e, p0=start, sigma=s, absolute_sigma=True,
                                        maxfev=MAX_FEV)
    chi2 = float((((e - f(g, *popt)) / s) ** 2).sum())
    dof = g.size - len(popt)
    var = pcov[1, 1]
    return OrderFit(model, float(popt[1]),
                    float(math.sqrt(var)) if np.isfinite(var) and var >= 0 else float("inf"),
                    float(popt[0]), float(popt[2]) if model == "corrected" else None,
                    chi2 / dof, float(stats.chi2.sf(chi2, dof)), int(g.size))


def local_slopes(gammas, err) -> list:
    """log|e_i/e_{i+1}| / log(γ_i/γ_{i+1}) for neighbouring points (None where an error is 0)."""
    g, e = np.asarray(gammas, dtype=float), np.abs(np.asarray(err, dtype=float))
    out = []
    for i in range(g.size - 1):
        ok = e[i] > 0 and e[i + 1] > 0 and np.isfinite(e[i]) and np.isfinite(e[i + 1])
        out.append(float(np.log(e[i] / e[i + 1]) / np.log(g[i] / g[i + 1])) if ok else None)
    return out
