r"""Finite-sum least squares on user data, sampled by uniform mini-batches with replacement.

F(x) = (1/2n) Σ_i (a_i·x − y_i)², ∇F(x) = Aᵀ(Ax − y)/n. A mini-batch gradient averages B
per-sample gradients a_i (a_i·x − y_i) with i uniform in {0, …, n−1}, drawn with replacement,
so with S_1(x) = (1/n) Σ_i (a_i (a_i·x − y_i))²:

    S(x) = ∇F(x)² + (S_1(x) − ∇F(x)²) / B   (exact for any batch size).

Gradient moments: those of a mean of B per-sample gradients G_k = a_k r_k (r_k = a_k·x − y_k)
drawn with replacement (closed forms in :mod:`adam_ode.problems.base`), with ∇²F = AᵀA/n and
∂S_1,i/∂x_j = (2/n) Σ_k A_ki² r_k A_kj.

The critical set is the affine set of least-squares solutions x⁺ + ker A, with x⁺ the
minimum-norm solution; it is a single point when A has full column rank.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import ParameterError, check_int, check_nonnegative
from ..streams import integer
from .base import (
    Problem,
    evaluator,
    minibatch_moments,
    projected_distance,
    register_problem,
)

__all__ = ["LeastSquares", "LeastSquaresData"]


class LeastSquaresData(NamedTuple):
    """Kernel data: A (n, d), y (n,), batch size B, x⁺ (d,) and the row-space projector (d, d)."""

    A: np.ndarray
    y: np.ndarray
    batch_size: int
    x_plus: np.ndarray
    projector: np.ndarray


@register_problem
class LeastSquares(Problem):
    r"""Finite-sum least squares (see the module docstring).

    Parameters
    ----------
    A : array (n, d)
        Features, one row per sample.
    y : array (n,)
        Targets.
    batch_size : int >= 1
        Mini-batch size B.
    """

    name = "least-squares"
    data_class = LeastSquaresData

    @classmethod
    def example(cls, batch_size: int = 1) -> "LeastSquares":
        """An instance for the generic tests: 30 synthetic rows in d = 3."""
        rng = np.random.default_rng(42)
        A = rng.standard_normal((30, 3))
        y = A @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(30)
        return cls(A, y, batch_size=batch_size)

    def example_start(self):
        return np.zeros(self.dim)

    def __init__(self, A, y, batch_size: int = 1):
        A = np.array(A, dtype=float)
        y = np.array(y, dtype=float)
        if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
            raise ParameterError(f"A must be a non-empty 2-D array (n, d), got shape {A.shape}")
        if y.shape != (A.shape[0],):
            raise ParameterError(f"y must have shape ({A.shape[0]},) to match A of shape {A.shape}, "
                                 f"got {y.shape}")
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(y))):
            raise ParameterError("A and y must be finite")
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.A = np.ascontiguousarray(A)
        self.y = np.ascontiguousarray(y)
        self.n, self.dim = A.shape
        self._x_plus, *_ = np.linalg.lstsq(self.A, self.y, rcond=None)
        # Orthogonal projector on the row space of A: d(x, 𝒮) = ‖P (x − x⁺)‖.
        self._row_projector = np.ascontiguousarray(np.linalg.pinv(self.A) @ self.A)

    @classmethod
    def from_config(cls, **params):
        """``dataset`` (a bundled name of :data:`adam_ode.datasets.DATASETS`, standardised) or
        ``data`` (a .npz with arrays A, y or a .csv whose last column is y), and ``batch_size``;
        with neither, a synthetic set from ``n``, ``d``, ``noise``, ``seed``."""
        if "data" in params and "dataset" in params:
            raise ParameterError(f"{cls.name}: give either data or dataset, not both")
        if "dataset" in params:
            return _from_dataset(**params)
        if "data" in params:
            return _from_file(**params)
        return _synthetic(**params)

    def _residual(self, x):
        return np.asarray(x, dtype=float) @ self.A.T - self.y

    def F(self, x):
        return 0.5 * np.mean(self._residual(x) ** 2, axis=-1)

    def grad_F(self, x):
        return self._residual(x) @ self.A / self.n

    def hessian_vector(self, x, u):
        u = np.broadcast_to(np.asarray(u, dtype=float), np.shape(x))
        return (u @ self.A.T) @ self.A / self.n

    def S(self, x):
        r = self._residual(x)
        g = r @ self.A / self.n
        s1 = r**2 @ self.A**2 / self.n
        return g**2 + (s1 - g**2) / self.batch_size

    def sample_grad(self, x, rng):
        x = np.asarray(x, dtype=float)
        g = np.zeros(self.dim)
        for _ in range(self.batch_size):
            i = rng.integers(0, self.n)
            g += self.A[i] * (self.A[i] @ x - self.y[i])
        return g / self.batch_size

    def gradient_moments(self, x):
        A = self.A
        r = A @ np.asarray(x, dtype=float) - self.y
        G = A * r[:, None]  # per-sample gradients (n, d)
        n = A.shape[0]
        H = A.T @ A / n
        # S₁_i = (1/n) Σ_k A_ki² r_k²: ∂S₁_i/∂x_j = (2/n) Σ_k A_ki² r_k A_kj.
        dS1 = 2.0 * (A**2 * r[:, None]).T @ A / n
        return minibatch_moments(G, self.batch_size, H, dS1)

    def critical_distance(self, x):
        e = np.asarray(x, dtype=float) - self._x_plus
        return np.linalg.norm(e @ self._row_projector.T, axis=-1)

    @property
    def minimizer(self):
        if np.linalg.matrix_rank(self.A) == self.dim:
            return self._x_plus.copy()
        return None

    @property
    def min_value(self):
        return float(self.F(self._x_plus))

    @property
    def kernel_data(self):
        return LeastSquaresData(self.A, self.y, self.batch_size, self._x_plus,
                                self._row_projector)

    def config(self):
        source = getattr(self, "_config_source", None)
        if source is not None:  # rebuilt from its data set by make_problem
            return {"name": self.name, **source, "batch_size": self.batch_size}
        return {"name": self.name, "n": self.n, "d": self.dim, "batch_size": self.batch_size}


def _synthetic(n: int = 200, d: int = 5, noise: float = 0.5, seed: int = 0,
               batch_size: int = 1) -> LeastSquares:
    """A reproducible random regression data set (Gaussian features, linear labels + noise)."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    A = rng.standard_normal((check_int("n", n, 1), check_int("d", d, 1)))
    y = A @ np.linspace(-1.0, 1.0, d) + check_nonnegative("noise", noise) * rng.standard_normal(n)
    return LeastSquares(A, y, batch_size)


def _from_dataset(dataset: str, batch_size: int = 1, columns=None) -> LeastSquares:
    """The bundled data set ``dataset`` (standardised features and target, see
    :func:`adam_ode.datasets.load_dataset`), or its feature ``columns``; an unknown name raises
    ParameterError."""
    from ..datasets import DATASETS, load_dataset, select_columns

    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise ParameterError(f"least-squares: unknown dataset {dataset!r}; bundled datasets: "
                             f"{', '.join(DATASETS)}")
    A, y = load_dataset(dataset)
    problem = LeastSquares(select_columns(A, columns, f"least-squares, dataset {dataset!r}"), y,
                           batch_size)
    problem._config_source = {"dataset": dataset,
                              **({} if columns is None else {"columns": list(columns)})}
    return problem


def _from_file(data: str, batch_size: int = 1) -> LeastSquares:
    """Load ``A`` and ``y`` from a ``.npz`` file (arrays named A and y) or a ``.csv`` (y last)."""
    try:
        if str(data).endswith(".npz"):
            with np.load(data) as f:
                return LeastSquares(f["A"], f["y"], batch_size)
        table = np.loadtxt(data, delimiter=",", ndmin=2)
    except OSError as err:
        raise ParameterError(f"data: cannot read {data!r}: {err}") from None
    except KeyError as err:
        raise ParameterError(f"data: {data!r} must hold arrays named 'A' and 'y' ({err})") \
            from None
    return LeastSquares(table[:, :-1], table[:, -1], batch_size)


@evaluator("sample_grad", LeastSquaresData)
def _sample_grad(data, x, rng, g):
    d = x.shape[0]
    batch = data.batch_size
    n = data.A.shape[0]
    for i in range(d):
        g[i] = 0.0
    for _ in range(batch):
        j = integer(rng, n)
        r = -data.y[j]
        for i in range(d):
            r += data.A[j, i] * x[i]
        for i in range(d):
            g[i] += data.A[j, i] * r
    for i in range(d):
        g[i] /= batch


@evaluator("exact_grad", LeastSquaresData)
def _exact_grad(data, x, g):
    d = x.shape[0]
    n = data.A.shape[0]
    for i in range(d):
        g[i] = 0.0
    for j in range(n):
        r = -data.y[j]
        for i in range(d):
            r += data.A[j, i] * x[i]
        for i in range(d):
            g[i] += data.A[j, i] * r
    for i in range(d):
        g[i] /= n


@evaluator("critical_distance", LeastSquaresData)
def _critical_distance(data, x):
    # ‖P (x − x⁺)‖ with P the projector on the row space of A.
    return projected_distance(data.projector, x, data.x_plus)


@evaluator("kernel_dim", LeastSquaresData)
def _kernel_dim(data, x):
    return x.shape[0]
