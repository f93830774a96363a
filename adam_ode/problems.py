r"""Stochastic optimization problems F(x) = E f(x, ξ).

Each problem gives the exact objective ``F``, its gradient ``grad_F``, the second moment of the
stochastic gradient ``S(x) = E[∇f(x, ξ)²]`` (coordinatewise, noise included), a NumPy sampler of
``∇f(x, ξ)`` and the distance to its critical set 𝒮 = {∇F = 0}. ``F``, ``grad_F`` and ``S``
accept one point of shape ``(d,)`` or a batch of shape ``(..., d)``.

The numba kernels do not call these methods: they call :func:`adam_ode.sampling.sample_grad`,
which dispatches on :attr:`Problem.kernel_args` ``(kind, params, A, y)``. Both samplers consume the
random stream in the same order, so given the same ``np.random.Generator`` state they return the
same gradient (tested), which is what lets the pure-NumPy reference reproduce the kernels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np

from ._validation import ParameterError, check_int, check_nonnegative, check_open_interval, check_vector

__all__ = [
    "Problem",
    "KernelArgs",
    "LinearRegression2D",
    "StochasticQuadratic",
    "DoubleWell",
    "LeastSquares",
    "KIND_LINEAR_REGRESSION_2D",
    "KIND_STOCHASTIC_QUADRATIC",
    "KIND_DOUBLE_WELL",
    "KIND_LEAST_SQUARES",
    "PROBLEMS",
    "make_problem",
]

# Problem kinds understood by the numba dispatch in adam_ode.sampling.
KIND_LINEAR_REGRESSION_2D = 0
KIND_STOCHASTIC_QUADRATIC = 1
KIND_DOUBLE_WELL = 2
KIND_LEAST_SQUARES = 3

_EMPTY_MATRIX = np.zeros((0, 0))
_EMPTY_VECTOR = np.zeros(0)


class KernelArgs(NamedTuple):
    """Plain arrays and scalars describing a problem to the numba kernels (no Python objects)."""

    kind: int
    params: np.ndarray  # float64, meaning depends on kind (see adam_ode.sampling)
    A: np.ndarray  # float64 (n, d) data matrix for finite sums, else (0, 0)
    y: np.ndarray  # float64 (n,) targets for finite sums, else (0,)


class Problem(ABC):
    """A stochastic problem: exact F, ∇F, S, a gradient sampler and its critical set."""

    dim: int

    @abstractmethod
    def F(self, x: np.ndarray) -> np.ndarray:
        """Objective F(x) = E f(x, ξ); shape ``x.shape[:-1]``."""

    @abstractmethod
    def grad_F(self, x: np.ndarray) -> np.ndarray:
        """Gradient ∇F(x); same shape as ``x``."""

    @abstractmethod
    def S(self, x: np.ndarray) -> np.ndarray:
        """Second moment S(x) = E[∇f(x, ξ)²] (coordinatewise); same shape as ``x``."""

    @abstractmethod
    def sample_grad(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One stochastic gradient ∇f(x, ξ) at a single point ``x`` of shape ``(d,)``."""

    @abstractmethod
    def critical_distance(self, x: np.ndarray) -> np.ndarray:
        """Euclidean distance d(x, 𝒮) from ``x`` (shape ``(..., d)``) to the critical set."""

    @property
    @abstractmethod
    def kernel_args(self) -> KernelArgs:
        """Arrays and scalars that describe the problem to the numba kernels."""

    @property
    def minimizer(self) -> np.ndarray | None:
        """The unique minimizer when there is one, else ``None``."""
        return None

    @abstractmethod
    def config(self) -> dict:
        """JSON-serialisable description, saved with every result."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class LinearRegression2D(Problem):
    r"""The talk's 2D linear regression (Barakat & Bianchi, seed talk, 'Régression linéaire 2D').

    ξ = (X, Y) with X ~ Bernoulli(p), Y = X x1* + (1 − X) x2* + σ N(0, 1) and
    f(x, ξ) = ½ (⟨(X, 1 − X), x⟩ − Y)². Closed forms:

    F(x)  = ½ [p (x1 − x1*)² + (1 − p)(x2 − x2*)²] + σ²/2
    ∇F(x) = (p (x1 − x1*), (1 − p)(x2 − x2*))
    S(x)  = (p [(x1 − x1*)² + σ²], (1 − p)[(x2 − x2*)² + σ²])

    Parameters
    ----------
    p : float in (0, 1)
        Probability that a sample informs the first coordinate.
    sigma : float >= 0
        Standard deviation of the label noise.
    x_star : pair of floats
        The minimizer (x1*, x2*).
    """

    dim = 2

    def __init__(self, p: float = 0.3, sigma: float = 1.0, x_star=(3.0, 1.0)):
        self.p = check_open_interval("p", p, 0.0, 1.0)
        self.sigma = check_nonnegative("sigma", sigma)
        self.x_star = check_vector("x_star", x_star, 2)
        self._weights = np.array([self.p, 1.0 - self.p])

    def F(self, x):
        e = np.asarray(x, dtype=float) - self.x_star
        return 0.5 * np.sum(self._weights * e**2, axis=-1) + 0.5 * self.sigma**2

    def grad_F(self, x):
        return self._weights * (np.asarray(x, dtype=float) - self.x_star)

    def S(self, x):
        e = np.asarray(x, dtype=float) - self.x_star
        return self._weights * (e**2 + self.sigma**2)

    def sample_grad(self, x, rng):
        # Same draw order as sampling.sample_grad: uniform for X, then one normal for the noise.
        X = 1.0 if rng.random() < self.p else 0.0
        e = np.asarray(x, dtype=float) - self.x_star
        r = X * e[0] + (1.0 - X) * e[1] - self.sigma * rng.standard_normal()
        return np.array([X * r, (1.0 - X) * r])

    def critical_distance(self, x):
        return np.linalg.norm(np.asarray(x, dtype=float) - self.x_star, axis=-1)

    @property
    def minimizer(self):
        return self.x_star.copy()

    @property
    def kernel_args(self):
        params = np.array([self.p, self.sigma, self.x_star[0], self.x_star[1]])
        return KernelArgs(KIND_LINEAR_REGRESSION_2D, params, _EMPTY_MATRIX, _EMPTY_VECTOR)

    def config(self):
        return {"name": "linear-regression-2d", "p": self.p, "sigma": self.sigma,
                "x_star": self.x_star.tolist()}


class StochasticQuadratic(Problem):
    r"""Quadratic with additive Gaussian gradient noise in any dimension d.

    f(x, ξ) = ½ Σ h_i x_i² + ⟨σ ⊙ ξ, x⟩ with ξ ~ N(0, I_d), so
    F(x) = ½ Σ h_i x_i², ∇F(x) = h ⊙ x, S(x) = (h ⊙ x)² + σ², 𝒮 = {0}.

    Parameters
    ----------
    h : array of d floats > 0, optional
        Curvatures. Default (:data:`DEFAULT_DIM` = 100): ``h_i`` log-spaced from 1e-2 to 1, an
        ill-conditioned problem (condition number 100) like the talk's dimension-100 example.
    sigma : float >= 0 or array of d floats >= 0
        Noise standard deviation per coordinate (a scalar is broadcast). Default 0.5.
    """

    DEFAULT_DIM = 100

    def __init__(self, h=None, sigma=0.5):
        if h is None:
            h = np.logspace(-2.0, 0.0, self.DEFAULT_DIM)
        h_arr = np.atleast_1d(np.asarray(h, dtype=float))
        if h_arr.ndim != 1 or h_arr.size == 0:
            raise ParameterError(f"h must be a non-empty 1-D array, got shape {h_arr.shape}")
        if not np.all(np.isfinite(h_arr)) or np.any(h_arr <= 0):
            raise ParameterError(f"h must be > 0 and finite (allowed range (0, inf)), got {h_arr}")
        self.dim = h_arr.size
        self.h = h_arr
        sig = np.broadcast_to(np.asarray(sigma, dtype=float), (self.dim,)).copy() \
            if np.ndim(sigma) == 0 else np.asarray(sigma, dtype=float)
        if sig.shape != (self.dim,):
            raise ParameterError(f"sigma must be a scalar or have shape ({self.dim},), got {sig.shape}")
        if not np.all(np.isfinite(sig)) or np.any(sig < 0):
            raise ParameterError(f"sigma must be >= 0 and finite (allowed range [0, inf)), got {sigma!r}")
        self.sigma = sig

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return 0.5 * np.sum(self.h * x**2, axis=-1)

    def grad_F(self, x):
        return self.h * np.asarray(x, dtype=float)

    def S(self, x):
        return (self.h * np.asarray(x, dtype=float)) ** 2 + self.sigma**2

    def sample_grad(self, x, rng):
        x = np.asarray(x, dtype=float)
        xi = np.array([rng.standard_normal() for _ in range(self.dim)])
        return self.h * x + self.sigma * xi

    def critical_distance(self, x):
        return np.linalg.norm(np.asarray(x, dtype=float), axis=-1)

    @property
    def minimizer(self):
        return np.zeros(self.dim)

    @property
    def kernel_args(self):
        return KernelArgs(KIND_STOCHASTIC_QUADRATIC, np.concatenate([self.h, self.sigma]),
                          _EMPTY_MATRIX, _EMPTY_VECTOR)

    def config(self):
        return {"name": "stochastic-quadratic", "h": self.h.tolist(), "sigma": self.sigma.tolist()}


class DoubleWell(Problem):
    r"""Separable non-convex double well with saddles.

    F(x) = Σ (x_i² − 1)² / 4, ∇F(x) = x³ − x, gradient noise additive N(0, σ²) per coordinate,
    so S(x) = (x³ − x)² + σ². Critical set {−1, 0, 1}^d: 2^d minima, the rest saddles or the
    maximum at 0.

    Parameters
    ----------
    d : int >= 1
        Dimension.
    sigma : float >= 0
        Standard deviation of the gradient noise.
    """

    def __init__(self, d: int = 2, sigma: float = 0.5):
        self.dim = check_int("d", d, 1)
        self.sigma = check_nonnegative("sigma", sigma)

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return 0.25 * np.sum((x**2 - 1.0) ** 2, axis=-1)

    def grad_F(self, x):
        x = np.asarray(x, dtype=float)
        return x**3 - x

    def S(self, x):
        return self.grad_F(x) ** 2 + self.sigma**2

    def sample_grad(self, x, rng):
        x = np.asarray(x, dtype=float)
        xi = np.array([rng.standard_normal() for _ in range(self.dim)])
        return x**3 - x + self.sigma * xi

    def critical_distance(self, x):
        x = np.asarray(x, dtype=float)
        # Coordinatewise nearest point of {-1, 0, 1}.
        gap = np.minimum(np.minimum(np.abs(x + 1.0), np.abs(x)), np.abs(x - 1.0))
        return np.linalg.norm(gap, axis=-1)

    @property
    def kernel_args(self):
        return KernelArgs(KIND_DOUBLE_WELL, np.array([self.sigma]), _EMPTY_MATRIX, _EMPTY_VECTOR)

    def config(self):
        return {"name": "double-well", "d": self.dim, "sigma": self.sigma}


class LeastSquares(Problem):
    r"""Finite-sum least squares on user data, sampled by uniform mini-batches with replacement.

    F(x) = (1/2n) Σ_i (a_i·x − y_i)², ∇F(x) = Aᵀ(Ax − y)/n. A mini-batch gradient averages
    ``batch_size`` per-sample gradients a_i (a_i·x − y_i) with i uniform in {0, …, n−1}, drawn
    with replacement, so with S_1(x) = (1/n) Σ_i (a_i (a_i·x − y_i))²:

    S(x) = ∇F(x)² + (S_1(x) − ∇F(x)²) / batch_size   (exact for any batch size).

    The critical set is the affine set of least-squares solutions x⁺ + ker A, with x⁺ the
    minimum-norm solution; it is a single point when A has full column rank.

    Parameters
    ----------
    A : array (n, d)
        Features, one row per sample.
    y : array (n,)
        Targets.
    batch_size : int >= 1
        Mini-batch size B.
    """

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
        self._row_projector = np.linalg.pinv(self.A) @ self.A

    def _residual(self, x):
        return np.asarray(x, dtype=float) @ self.A.T - self.y

    def F(self, x):
        return 0.5 * np.mean(self._residual(x) ** 2, axis=-1)

    def grad_F(self, x):
        return self._residual(x) @ self.A / self.n

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

    def critical_distance(self, x):
        e = np.asarray(x, dtype=float) - self._x_plus
        return np.linalg.norm(e @ self._row_projector.T, axis=-1)

    @property
    def minimizer(self):
        if np.linalg.matrix_rank(self.A) == self.dim:
            return self._x_plus.copy()
        return None

    @property
    def kernel_args(self):
        params = np.concatenate([[float(self.batch_size)], self._x_plus,
                                 self._row_projector.ravel()])
        return KernelArgs(KIND_LEAST_SQUARES, params, self.A, self.y)

    def config(self):
        return {"name": "least-squares", "n": self.n, "d": self.dim,
                "batch_size": self.batch_size}


def _synthetic_least_squares(n: int = 200, d: int = 5, noise: float = 0.5, seed: int = 0,
                             batch_size: int = 1) -> LeastSquares:
    """A reproducible random regression data set (Gaussian features, linear labels + noise)."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    A = rng.standard_normal((check_int("n", n, 1), check_int("d", d, 1)))
    y = A @ np.linspace(-1.0, 1.0, d) + check_nonnegative("noise", noise) * rng.standard_normal(n)
    return LeastSquares(A, y, batch_size)


def _least_squares_from_file(data: str, batch_size: int = 1) -> LeastSquares:
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


PROBLEMS = {
    "linear-regression-2d": LinearRegression2D,
    "stochastic-quadratic": StochasticQuadratic,
    "double-well": DoubleWell,
    "least-squares": None,  # built by make_problem from data or synthetic parameters
}


def make_problem(spec) -> Problem:
    """Build a problem from a config value: a name, or a table ``{name = ..., **parameters}``.

    Names: ``linear-regression-2d`` (p, sigma, x_star), ``stochastic-quadratic`` (h or d, sigma),
    ``double-well`` (d, sigma), ``least-squares`` (``data`` = path to .npz with arrays A, y or a
    .csv whose last column is y, and ``batch_size``; without ``data``, a synthetic set from
    n, d, noise, seed).
    """
    if isinstance(spec, Problem):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise ParameterError(f"problem must be a name or a table with a 'name' key, got {spec!r}")
    params = dict(spec)
    name = params.pop("name")
    if name not in PROBLEMS:
        raise ParameterError(f"unknown problem {name!r}; known problems: {', '.join(PROBLEMS)}")
    try:
        if name == "least-squares":
            if "data" in params:
                return _least_squares_from_file(**params)
            return _synthetic_least_squares(**params)
        if name == "stochastic-quadratic" and "d" in params:
            d = check_int("d", params.pop("d"), 1)
            if "h" in params and np.size(params["h"]) != d:
                raise ParameterError(f"d = {d} and h of length {np.size(params['h'])} disagree: "
                                     "give h, or d for the default log-spaced curvatures")
            params.setdefault("h", np.logspace(-2.0, 0.0, d) if d > 1 else [1.0])
        return PROBLEMS[name](**params)
    except TypeError as err:
        raise ParameterError(f"bad parameters for problem {name!r}: {err}") from None
