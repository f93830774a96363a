r"""Binary logistic regression on user data, sampled by uniform mini-batches with replacement.

With labels y_i ∈ {−1, 1} (0/1 accepted: 0 becomes −1), margins z_i = y_i a_i·x and λ = ``l2``:

    F(x)  = (1/n) Σ_i log(1 + exp(−z_i)) + (λ/2)‖x‖²,
    ∇F(x) = (1/n) Σ_i c_i a_i + λx,   c_i = −y_i σ(−z_i),   σ(t) = 1/(1 + e^{−t}),
    ∇²F(x) = (1/n) Σ_i σ(z_i)σ(−z_i) a_i a_iᵀ + λI.

log(1 + e^{−z}) is evaluated as ``logaddexp(0, −z)`` and σ without overflow for either sign of
its argument, so margins of 10⁴ (or 10³⁰⁰) give exact 0 and |z| terms instead of inf/NaN. A
mini-batch gradient averages B per-sample gradients c_i a_i (i uniform, with replacement) and
adds λx, so with S_1(x) = (1/n) Σ_i (c_i a_i + λx)²

    S(x) = ∇F(x)² + (S_1(x) − ∇F(x)²) / B     (exact for any batch size, B > n included).

Gradient moments: the sampler returns the mean of B per-sample gradients G_k = c_k a_k + λx (the
penalty's gradient added once to the mean is the mean of the shifted G_k), k uniform with
replacement, so the mini-batch closed forms of :mod:`adam_ode.problems.base` hold with these G_k.
With w_k = σ(z_k)σ(−z_k), ∂c_k/∂x = w_k a_k (y_k² = 1), hence ∂G_ki/∂x_j = w_k A_ki A_kj + λδ_ij,
∇²F = (1/n) Σ_k w_k a_k a_kᵀ + λI and

    ∂S_1,i/∂x_j = (2/n) Σ_k G_ki ∂G_ki/∂x_j = (2/n) Σ_k w_k G_ki A_ki A_kj + 2λ ∂_iF δ_ij.

Critical set 𝒮 = {∇F = 0}:

- λ > 0: F is strongly convex, 𝒮 = {x*}; x* is computed once (Newton trust region, gradient
  norm below :data:`MINIMIZER_GTOL`) and d(x, 𝒮) = ‖x − x*‖.
- λ = 0, data not linearly separable: F is convex with minimizers x* + ker A (x* in the row
  space of A, a single point when A has full column rank); d(x, 𝒮) = ‖P(x − x*)‖ with P the
  projector on the row space.
- λ = 0, data linearly separable (some x has all margins > 0): F > 0 has infimum 0 and **no
  minimizer** (F decreases along the separating direction forever), so 𝒮 = ∅ and d(x, 𝒮) is
  +inf (the infimum over the empty set); ``minimizer`` is None and ``min_value`` is 0, the
  infimum. Kernels then count every step as "outside 𝒮"; use ‖∇F‖ (``track_grad_norm``) to
  follow convergence. Separability is decided by a linear program (margins ≥ 1 feasible).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.special import expit

from .._validation import ParameterError, check_int, check_nonnegative
from ..streams import integer
from .base import (
    Problem,
    evaluator,
    minibatch_moments,
    projected_distance,
    register_problem,
)

__all__ = ["LogisticRegression", "LogisticRegressionData", "MINIMIZER_GTOL"]

MINIMIZER_GTOL = 1e-11  # ‖∇F(x*)‖ reached by the minimizer computation (relative to ‖∇F(0)‖ + 1)
NEWTON_POLISH_STEPS = 20  # at most this many Newton steps after the trust-region solve
RANK_RTOL = 1e-12  # singular values below this fraction of the largest span ker A


class LogisticRegressionData(NamedTuple):
    """Kernel data: A (n, d), y (n,) in {−1, 1}, B, λ, x* (d,), the projector P (d, d) and
    whether 𝒮 is empty (separable data without penalty)."""

    A: np.ndarray
    y: np.ndarray
    batch_size: int
    l2: float
    x_star: np.ndarray
    projector: np.ndarray
    no_minimizer: bool


@register_problem
class LogisticRegression(Problem):
    r"""Finite-sum logistic regression (see the module docstring).

    Parameters
    ----------
    A : array (n, d)
        Features, one row per sample.
    y : array (n,)
        Labels in {−1, 1}, or {0, 1} (0 is read as −1).
    batch_size : int >= 1
        Mini-batch size B (with replacement: B > n is allowed).
    l2 : float >= 0
        λ of the penalty (λ/2)‖x‖².
    """

    name = "logistic-regression"
    data_class = LogisticRegressionData

    @classmethod
    def example(cls) -> "LogisticRegression":
        """An instance for the generic tests: 40 synthetic rows in d = 3, l2 = 0.1 (a unique
        minimizer), mini-batches of 4."""
        rng = np.random.default_rng(7)
        A = rng.standard_normal((40, 3))
        y = np.where(A @ np.array([1.0, -1.0, 0.5]) + 0.5 * rng.standard_normal(40) > 0, 1, -1)
        return cls(A, y, batch_size=4, l2=0.1)

    def example_start(self):
        return np.zeros(self.dim)

    def __init__(self, A, y, batch_size: int = 1, l2: float = 0.0, *, source: str | None = None):
        A = np.array(A, dtype=float)
        y = np.array(y, dtype=float)
        where = f"{self.name}" + (f" ({source})" if source else "")
        if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
            raise ParameterError(f"{where}: A must be a non-empty 2-D array (n, d), got shape "
                                 f"{A.shape}")
        if y.shape != (A.shape[0],):
            raise ParameterError(f"{where}: y must have shape ({A.shape[0]},) to match A of "
                                 f"shape {A.shape}, got {y.shape}")
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(y))):
            raise ParameterError(f"{where}: A and y must be finite (NaN or inf found)")
        labels = set(np.unique(y).tolist())
        if not labels <= {-1.0, 0.0, 1.0} or {-1.0, 0.0} <= labels:
            raise ParameterError(f"{where}: labels must be in {{-1, 1}} or {{0, 1}}, got values "
                                 f"{sorted(labels)[:6]}")
        try:
            self.batch_size = check_int("batch_size", batch_size, 1)
            self.l2 = check_nonnegative("l2", l2)
        except ParameterError as err:
            raise ParameterError(f"{where}: {err}") from None
        self.source = source
        self.A = np.ascontiguousarray(A)
        self.y = np.ascontiguousarray(np.where(y > 0, 1.0, -1.0))
        self.n, self.dim = A.shape
        self._solve_minimizer()

    # -- construction helpers -----------------------------------------------------------------
    @classmethod
    def from_config(cls, **params):
        """``dataset`` (a bundled name, default ``"breast-cancer"``, standardised) or ``data``
        (a .csv with the label in the last column, or a .npz with A and y; used as given unless
        ``standardize = true``), plus ``batch_size``, ``l2``, ``columns`` (the feature columns
        to keep, 0-based) and ``intercept`` (append a column of ones after standardising). ``n``
        and ``d``, as :meth:`config` writes them, must match the data."""
        from ..datasets import check_design, load_dataset, read_table, select_columns, standardize

        batch_size = params.pop("batch_size", 1)
        l2 = params.pop("l2", 0.0)
        intercept = bool(params.pop("intercept", False))
        data = params.pop("data", None)
        dataset = params.pop("dataset", None)
        scale = params.pop("standardize", None)
        columns = params.pop("columns", None)
        expected = {key: params.pop(key) for key in ("n", "d") if key in params}
        if params:
            raise TypeError(f"unexpected parameters {sorted(params)}")
        if data is not None and dataset is not None:
            raise ParameterError(f"{cls.name}: give either data or dataset, not both")
        if data is not None:
            source = f"data file {str(data)!r}"
            A, y = read_table(data, cls.name)
            check_design(A, f"{cls.name}: {source}")
            if scale:
                A = standardize(A)
        else:
            dataset = "breast-cancer" if dataset is None else dataset
            source = f"dataset {dataset!r}"
            A, y = load_dataset(dataset, standardized=True if scale is None else bool(scale))
        A = select_columns(A, columns, f"{cls.name}: {source}")
        if intercept:
            A = np.hstack([A, np.ones((A.shape[0], 1))])
        for key, value in expected.items():
            actual = A.shape[0] if key == "n" else A.shape[1]
            if value != actual:
                raise ParameterError(f"{cls.name}: {key} = {value!r} does not match the "
                                     f"{source} ({key} = {actual})")
        _check_labels(y, f"{cls.name}: {source}")
        problem = cls(A, y, batch_size, l2, source=source)
        problem._config_source = {"data": str(data)} if data is not None else \
            {"dataset": dataset}
        if columns is not None:
            problem._config_source["columns"] = list(columns)
        if intercept:
            problem._config_source["intercept"] = True
        return problem

    def _solve_minimizer(self):
        """x*, the row-space projector and separability (module docstring)."""
        from scipy.optimize import linprog, minimize

        _, s, vt = np.linalg.svd(self.A, full_matrices=False)
        rank = int(np.sum(s > RANK_RTOL * s[0])) if s[0] > 0 else 0
        if self.l2 > 0:
            basis = np.eye(self.dim)
            self._separable = None  # not needed: λ > 0 always has a unique minimizer
        else:
            basis = vt[:rank].T  # orthonormal basis of the row space
            # Separable iff y_i a_i·x >= 1 for all i is feasible.
            lp = linprog(np.zeros(self.dim), A_ub=-(self.y[:, None] * self.A),
                         b_ub=-np.ones(self.n), bounds=[(None, None)] * self.dim,
                         method="highs")
            self._separable = bool(lp.status == 0)
        self._projector = np.ascontiguousarray(basis @ basis.T)
        if self.l2 == 0 and self._separable:
            self._x_star = np.zeros(self.dim)
            return
        gtol = MINIMIZER_GTOL * (1.0 + np.linalg.norm(self.grad_F(np.zeros(self.dim))))
        res = minimize(lambda r: float(self.F(basis @ r)), np.zeros(basis.shape[1]),
                       jac=lambda r: basis.T @ self.grad_F(basis @ r),
                       hess=lambda r: basis.T @ self._hessian(basis @ r) @ basis,
                       method="trust-exact", options={"gtol": 1e3 * gtol, "maxiter": 1000})
        # Newton polish on the gradient alone (the trust region compares F values, which stall
        # at rounding level before ∇F does).
        r = res.x
        for _ in range(NEWTON_POLISH_STEPS):
            g_r = basis.T @ self.grad_F(basis @ r)
            if np.linalg.norm(g_r) <= gtol:
                break
            r = r - np.linalg.solve(basis.T @ self._hessian(basis @ r) @ basis, g_r)
        x_star = basis @ r
        if not np.linalg.norm(self.grad_F(x_star)) <= 10 * gtol:
            raise RuntimeError(f"{self.name}: the minimizer computation failed ({res.message}, "
                               f"|grad F| = {np.linalg.norm(self.grad_F(x_star)):.3g})")
        self._x_star = x_star

    # -- NumPy evaluators ---------------------------------------------------------------------
    def _margins(self, x):
        return (np.asarray(x, dtype=float) @ self.A.T) * self.y

    def _coefficients(self, x):
        """c_i = −y_i σ(−z_i) (shape (..., n))."""
        return -self.y * expit(-self._margins(x))

    def F(self, x):
        x = np.asarray(x, dtype=float)
        loss = np.mean(np.logaddexp(0.0, -self._margins(x)), axis=-1)
        return loss + 0.5 * self.l2 * np.sum(x * x, axis=-1)

    def grad_F(self, x):
        x = np.asarray(x, dtype=float)
        return self._coefficients(x) @ self.A / self.n + self.l2 * x

    def _hessian(self, x):
        z = self._margins(x)
        w = expit(z) * expit(-z)
        return (self.A.T * w) @ self.A / self.n + self.l2 * np.eye(self.dim)

    def hessian_vector(self, x, u):
        x = np.asarray(x, dtype=float)
        u = np.broadcast_to(np.asarray(u, dtype=float), x.shape)
        z = self._margins(x)
        w = expit(z) * expit(-z)
        return (w * (u @ self.A.T)) @ self.A / self.n + self.l2 * u

    def S(self, x):
        x = np.asarray(x, dtype=float)
        c = self._coefficients(x)
        mean_ca = c @ self.A / self.n
        g = mean_ca + self.l2 * x
        # S_1 = (1/n) Σ (c_i a_i + λx)², expanded so that batches of points stay (..., d).
        s1 = (c * c) @ (self.A * self.A) / self.n + 2.0 * self.l2 * x * mean_ca \
            + (self.l2 * x) ** 2
        return g * g + (s1 - g * g) / self.batch_size

    def sample_grad(self, x, rng):
        x = np.asarray(x, dtype=float)
        g = np.zeros(self.dim)
        for _ in range(self.batch_size):
            i = rng.integers(0, self.n)
            g += (-self.y[i] * expit(-self.y[i] * (self.A[i] @ x))) * self.A[i]
        return g / self.batch_size + self.l2 * x

    def gradient_moments(self, x):
        x = np.asarray(x, dtype=float)
        G = self._coefficients(x)[:, None] * self.A + self.l2 * x  # per-sample gradients (n, d)
        z = self._margins(x)
        w = expit(z) * expit(-z)
        H = self._hessian(x)
        # ∂S₁_i/∂x_j = (2/n) Σ_k w_k G_ki A_ki A_kj + 2λ μ_i δ_ij (module docstring).
        dS1 = 2.0 * (w[:, None] * G * self.A).T @ self.A / self.n \
            + 2.0 * self.l2 * np.diag(G.mean(axis=0))
        return minibatch_moments(G, self.batch_size, H, dS1)

    def critical_distance(self, x):
        e = np.asarray(x, dtype=float) - self._x_star
        dist = np.linalg.norm(e @ self._projector.T, axis=-1)
        if self.no_minimizer:
            return np.full_like(dist, np.inf)
        return dist

    @property
    def no_minimizer(self) -> bool:
        """True when 𝒮 is empty: λ = 0 and linearly separable data."""
        return self.l2 == 0 and bool(self._separable)

    @property
    def separable(self) -> bool | None:
        """Linear separability of the data (decided only when λ = 0, else None)."""
        return self._separable

    @property
    def minimizer(self):
        if self.no_minimizer or np.trace(self._projector) < self.dim - 0.5:
            return None
        return self._x_star.copy()

    @property
    def min_value(self):
        return 0.0 if self.no_minimizer else float(self.F(self._x_star))

    @property
    def smoothness(self) -> float:
        """A smoothness constant of F: λ_max(AᵀA)/(4n) + λ (σσ' ≤ 1/4)."""
        return float(np.linalg.eigvalsh(self.A.T @ self.A)[-1] / (4 * self.n) + self.l2)

    @property
    def kernel_data(self):
        return LogisticRegressionData(self.A, self.y, self.batch_size, self.l2, self._x_star,
                                      self._projector, self.no_minimizer)

    def config(self):
        out = {"name": self.name, **getattr(self, "_config_source", {}), "n": self.n,
               "d": self.dim, "batch_size": self.batch_size, "l2": self.l2}
        return out


def _check_labels(y, where):
    labels = set(np.unique(y).tolist())
    if not labels <= {-1.0, 0.0, 1.0} or {-1.0, 0.0} <= labels:
        raise ParameterError(f"{where}: labels (last column) must be in {{-1, 1}} or {{0, 1}}, "
                             f"got values {sorted(labels)[:6]}"
                             + (" ..." if len(labels) > 6 else ""))


# ------------------------------------------------------------------------------------------------
# numba evaluators
# ------------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _expit(t):
    """σ(t) without overflow: exp of a non-positive number only."""
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@evaluator("sample_grad", LogisticRegressionData)
def _sample_grad(data, x, rng, g):
    d = x.shape[0]
    batch = data.batch_size
    n = data.A.shape[0]
    for i in range(d):
        g[i] = 0.0
    for _ in range(batch):
        j = integer(rng, n)
        z = 0.0
        for i in range(d):
            z += data.A[j, i] * x[i]
        c = -data.y[j] * _expit(-data.y[j] * z)
        for i in range(d):
            g[i] += c * data.A[j, i]
    for i in range(d):
        g[i] = g[i] / batch + data.l2 * x[i]


@evaluator("exact_grad", LogisticRegressionData)
def _exact_grad(data, x, g):
    d = x.shape[0]
    n = data.A.shape[0]
    for i in range(d):
        g[i] = 0.0
    for j in range(n):
        z = 0.0
        for i in range(d):
            z += data.A[j, i] * x[i]
        c = -data.y[j] * _expit(-data.y[j] * z)
        for i in range(d):
            g[i] += c * data.A[j, i]
    for i in range(d):
        g[i] = g[i] / n + data.l2 * x[i]


@evaluator("critical_distance", LogisticRegressionData)
def _critical_distance(data, x):
    if data.no_minimizer:
        return math.inf  # 𝒮 = ∅ (module docstring)
    return projected_distance(data.projector, x, data.x_star)


@evaluator("kernel_dim", LogisticRegressionData)
def _kernel_dim(data, x):
    return x.shape[0]
