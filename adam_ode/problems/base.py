r"""The problem protocol: NumPy evaluators for the ODEs and the tests, numba evaluators for kernels.

A problem F(x) = E f(x, ξ) is one module of :mod:`adam_ode.problems` holding one subclass of
:class:`Problem`. The class gives, on the NumPy side, the exact objective ``F``, its gradient
``grad_F``, the second moment of the stochastic gradient ``S(x) = E[∇f(x, ξ)²]`` (coordinatewise,
noise included), a sampler ``sample_grad(x, rng)`` and the distance to the critical set
𝒮 = {∇F = 0}; ``F``, ``grad_F`` and ``S`` accept one point ``(d,)`` or a batch ``(..., d)``.

For the numba kernels the same module describes the problem as plain data: a ``NamedTuple``
returned by :attr:`Problem.kernel_data`, and, next to the NumPy methods, the numba evaluators of
that data type, registered for the generic functions of this module with :func:`evaluator`:

- ``sample_grad(data, x, rng, g)``: write one stochastic gradient ∇f(x, ξ) into ``g``, drawing ξ
  from ``rng`` in the same order as the NumPy ``sample_grad`` (so that the pure-NumPy references
  reproduce the kernels bit for bit);
- ``exact_grad(data, x, g)``: write ∇F(x) into ``g``;
- ``critical_distance(data, x)``: d(x, 𝒮);
- ``kernel_dim(data, x)``: the dimension d, a compile-time constant where the problem fixes it
  (LinearRegression2D: 2, which lets LLVM unroll every coordinate loop).

numba selects the evaluators by the type of ``data`` when it compiles a kernel, so every
(problem, optimizer) pair gets its own machine code with the problem's code inlined; nothing is
dispatched at run time and no integer codes exist. A data type without evaluators cannot reach a
kernel: :func:`kernel_data_of` raises :class:`~adam_ode.ParameterError` first.

The fluctuation models (:mod:`adam_ode.fluctuations`) also need the exact moments of the
stochastic gradient g = ∇f(x, ξ). A problem that knows them implements, on the NumPy side,
:meth:`Problem.gradient_moments` (a :class:`GradientMoments`) and sets ``separable_moments`` when
they are diagonal at every x, and may register two more numba evaluators for the SDE kernels:

- ``noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2)``: write ∇F, S, Cov(g), Cov(g, g²) and
  Cov(g²) at x (:func:`has_kernel_moments` tells whether a problem has it);
- ``diagonal_moments(data, i, x_i)``: for a separable problem, the tuple (∇F_i, S_i, Var g_i,
  Cov(g_i, g_i²), Var g_i²) at coordinate x_i (:func:`has_diagonal_moments`).

Gaussian gradient noise g ~ N(μ, Σ) has, by Isserlis' theorem,

    Cov(g_i, g_j²) = 2 μ_j Σ_ij,   Cov(g_i², g_j²) = 2 Σ_ij² + 4 μ_i μ_j Σ_ij;

:func:`gaussian_moments` and the numba helpers :func:`gaussian_coordinate_moments`,
:func:`write_gaussian_coordinate` evaluate these for the problems with Gaussian noise.

A mini-batch gradient ĝ, the mean of B per-sample gradients G_k (k uniform in {1, …, n}, drawn
with replacement: B i.i.d. copies of G), has with μ = E G = ∇F, δ = G − μ of covariance Σ₁,
third moment κ_ijj = E δ_iδ_j² and fourth moment E δ_i²δ_j² (means over the n samples), by
expanding ĝ = μ + δ̄ with δ̄ the mean of B i.i.d. copies of δ,

    Cov(ĝ) = Σ₁/B,   Cov(ĝ_i, ĝ_j²) = 2μ_jΣ₁_ij/B + κ_ijj/B²,
    Cov(ĝ_i², ĝ_j²) = 4μ_iμ_jΣ₁_ij/B + 2(μ_iκ_ijj + μ_jκ_jii)/B²
                      + E[δ_i²δ_j²]/B³ + (B − 1)(Σ₁_iiΣ₁_jj + 2Σ₁_ij²)/B³ − Σ₁_iiΣ₁_jj/B²,

and S = μ² + (S₁ − μ²)/B with S₁ = E G², so with D = 2 diag(μ) ∇²F = ∂(μ²)/∂x,
∂S/∂x = D + (∂S₁/∂x − D)/B; :func:`minibatch_moments` evaluates these from the matrix of the G_k.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from numba import njit

from .._overloads import has_overload, register_overload
from .._validation import ParameterError

__all__ = [
    "Problem",
    "PROBLEMS",
    "register_problem",
    "evaluator",
    "kernel_data_of",
    "sample_grad",
    "exact_grad",
    "critical_distance",
    "kernel_dim",
    "noise_moments",
    "diagonal_moments",
    "has_kernel_moments",
    "has_diagonal_moments",
    "projected_distance",
    "GradientMoments",
    "gaussian_moments",
    "separable_gaussian_moments",
    "minibatch_moments",
    "gaussian_coordinate_moments",
    "write_gaussian_coordinate",
]

# A run has diverged once |x_i| exceeds DIVERGENCE_FACTOR × max(1, ‖x0‖∞, ‖x*‖∞) (and never
# beyond DIVERGENCE_CEILING, where squares of the iterates would overflow).
DIVERGENCE_FACTOR = 1e6
DIVERGENCE_CEILING = 1e150

HVP_STEP = 1e-6  # relative step of the default central-difference Hessian-vector product


# ------------------------------------------------------------------------------------------------
# Generic numba-level functions: each problem module registers its implementations with
# `evaluator`. Called from Python they raise; they exist to be compiled into kernels.
# ------------------------------------------------------------------------------------------------

def sample_grad(data, x, rng, g):
    """Write one stochastic gradient ∇f(x, ξ) into ``g`` (numba kernels only)."""
    raise NotImplementedError("sample_grad is compiled into kernels; call Problem.sample_grad")


def exact_grad(data, x, g):
    """Write ∇F(x) into ``g`` (numba kernels only)."""
    raise NotImplementedError("exact_grad is compiled into kernels; call Problem.grad_F")


def critical_distance(data, x):
    """d(x, 𝒮) (numba kernels only)."""
    raise NotImplementedError("critical_distance is compiled into kernels")


def kernel_dim(data, x):
    """Dimension d of the problem for the kernel loops (numba kernels only)."""
    raise NotImplementedError("kernel_dim is compiled into kernels")


def noise_moments(data, x, mu, s, cov, cov_g_g2, cov_g2):
    """Write ∇F, S, Cov(g), Cov(g, g²), Cov(g²) at x (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only; call gradient_moments")


def diagonal_moments(data, i, x_i):
    """(∇F_i, S_i, Var g_i, Cov(g_i, g_i²), Var g_i²) at coordinate x_i of a separable problem
    (numba kernels only): the diagonal of what :func:`noise_moments` writes, the same arithmetic."""
    raise NotImplementedError("compiled into kernels only; call gradient_moments")


@njit(cache=True, nogil=True)
def projected_distance(projector, x, center):
    """‖P (x − c)‖ (numba): the distance to an affine critical set c + ker P⊥, e.g. the
    least-squares solutions x⁺ + ker A with P the projector on the row space of A."""
    d = x.shape[0]
    acc = 0.0
    for i in range(d):
        s = 0.0
        for k in range(d):
            s += projector[i, k] * (x[k] - center[k])
        acc += s * s
    return math.sqrt(acc)


_GENERIC = {f.__name__: f for f in (sample_grad, exact_grad, critical_distance, kernel_dim,
                                     noise_moments, diagonal_moments)}


def evaluator(name: str, data_class):
    """Register a numba implementation of generic function ``name`` for ``data_class``.

    The decorated function is the implementation itself (same arguments as the generic
    function); it is IR-inlined into each kernel (``inline="always"``): called as a separate
    function, a sampler taking a Generator costs ~80 ns instead of ~7 ns (numba 0.68).
    """
    return register_overload(_GENERIC[name], data_class)


def has_kernel_moments(problem) -> bool:
    """Whether the SDE kernels support ``problem`` (a numba :func:`noise_moments` exists)."""
    return has_overload(noise_moments, type(problem.kernel_data))


def has_diagonal_moments(problem) -> bool:
    """Whether the separable SDE kernels apply (:func:`diagonal_moments` exists): the noise of
    g_i depends on x_i only and the coordinates are independent (block-diagonal (m, v) noise)."""
    return has_overload(diagonal_moments, type(problem.kernel_data))


# ------------------------------------------------------------------------------------------------
# Exact moments of the stochastic gradient g (the fluctuation models' input).
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GradientMoments:
    """The exact moments of the stochastic gradient g = ∇f(x, ξ) at one point x (d,).

    Attributes
    ----------
    mean : (d,)
        ∇F(x) = E g.
    second : (d,)
        S(x) = E g² (coordinatewise).
    cov : (d, d)
        Cov(g).
    cov_g_g2 : (d, d)
        [i, j] = Cov(g_i, g_j²).
    cov_g2 : (d, d)
        [i, j] = Cov(g_i², g_j²).
    hessian : (d, d)
        ∇²F(x).
    dS : (d, d)
        [i, j] = ∂S_i/∂x_j.
    """

    mean: np.ndarray
    second: np.ndarray
    cov: np.ndarray
    cov_g_g2: np.ndarray
    cov_g2: np.ndarray
    hessian: np.ndarray
    dS: np.ndarray


def gaussian_moments(mu, sigma, hessian, dS) -> GradientMoments:
    """The moments of g ~ N(μ, Σ) (Isserlis, see the module docstring), with ∇²F and ∂S/∂x."""
    mu = np.asarray(mu, dtype=float)
    second = mu**2 + np.diag(sigma)
    return GradientMoments(mu, second, sigma.copy(), 2.0 * sigma * mu[None, :],
                           2.0 * sigma**2 + 4.0 * np.outer(mu, mu) * sigma, hessian, dS)


def separable_gaussian_moments(problem, x, sigma2) -> GradientMoments:
    """:func:`gaussian_moments` for g_i ~ N(∂_iF(x), σ_i²) independent, F separable (diagonal
    Hessian), so S_i = (∂_iF)² + σ_i² and ∂S/∂x = diag(2 ∂_iF ∂_i²F)."""
    mu = problem.grad_F(x)
    h = problem.hessian_vector(x, np.ones_like(x))  # diagonal Hessian: H·1 = diag H
    return gaussian_moments(mu, np.diag(sigma2), np.diag(h), np.diag(2.0 * mu * h))


def minibatch_moments(G, batch_size, hessian, dS1) -> GradientMoments:
    """The moments of the mean ĝ of B rows of ``G`` (n, d) drawn uniformly with replacement
    (see the module docstring), given ∇²F and ``dS1`` = ∂S₁/∂x, S₁ = (1/n) Σ_k G_k²."""
    B = batch_size
    mu = G.mean(axis=0)
    delta = G - mu
    n = G.shape[0]
    sigma1 = delta.T @ delta / n
    kappa = delta.T @ delta**2 / n  # κ[i, j] = E δ_i δ_j²
    fourth = (delta**2).T @ delta**2 / n
    dd = np.diag(sigma1)
    cov = sigma1 / B
    cov_g_g2 = 2.0 * sigma1 * mu[None, :] / B + kappa / B**2
    cov_g2 = (4.0 * np.outer(mu, mu) * sigma1 / B
              + 2.0 * (mu[:, None] * kappa + (mu[:, None] * kappa).T) / B**2
              + fourth / B**3 + (B - 1) * (np.outer(dd, dd) + 2.0 * sigma1**2) / B**3
              - np.outer(dd, dd) / B**2)
    second = mu**2 + dd / B
    # S = μ² + (S₁ − μ²)/B.
    dmu2 = 2.0 * mu[:, None] * hessian
    dS = dmu2 + (dS1 - dmu2) / B
    return GradientMoments(mu, second, cov, cov_g_g2, cov_g2, hessian, dS)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def gaussian_coordinate_moments(mu_i, sigma2):
    """(μ_i, S_i, Var g_i, Cov(g_i, g_i²), Var g_i²) of g_i ~ N(μ_i, σ²) (numba): the
    ``diagonal_moments`` of a problem with independent Gaussian noise."""
    return (mu_i, mu_i * mu_i + sigma2, sigma2, 2.0 * mu_i * sigma2,
            2.0 * sigma2 * sigma2 + 4.0 * mu_i * mu_i * sigma2)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def write_gaussian_coordinate(i, mu_i, sigma2, mu, s, cov, cov_g_g2, cov_g2):
    """Write row and column i of the moments of g_i ~ N(μ_i, σ²) independent of the others
    (numba; a ``noise_moments`` writes every i)."""
    d = mu.shape[0]
    for j in range(d):
        cov[i, j] = 0.0
        cov_g_g2[i, j] = 0.0
        cov_g2[i, j] = 0.0
    mu[i] = mu_i
    s[i] = mu_i * mu_i + sigma2
    cov[i, i] = sigma2
    cov_g_g2[i, i] = 2.0 * mu_i * sigma2
    cov_g2[i, i] = 2.0 * sigma2 * sigma2 + 4.0 * mu_i * mu_i * sigma2


# ------------------------------------------------------------------------------------------------
# The NumPy side.
# ------------------------------------------------------------------------------------------------

PROBLEMS: dict = {}  # config name -> Problem subclass, filled by register_problem


def register_problem(cls):
    """Class decorator: add a :class:`Problem` subclass to :data:`PROBLEMS` under ``cls.name``."""
    if cls.name in PROBLEMS and PROBLEMS[cls.name] is not cls:
        from .._validation import PluginError

        taken = PROBLEMS[cls.name]
        raise PluginError(f"problem {cls.__module__}.{cls.__qualname__}: the name "
                          f"{cls.name!r} is taken by {taken.__module__}.{taken.__qualname__}")
    PROBLEMS[cls.name] = cls
    return cls


def kernel_data_of(problem):
    """``problem.kernel_data``, checked to be the data of a registered problem.

    ``data_class`` is normally a class attribute; a problem whose evaluators are built per
    instance (user-supplied numba functions) sets it on the instance and registers its
    evaluators for that class itself.
    """
    if not isinstance(problem, Problem) or PROBLEMS.get(type(problem).name) is not type(problem):
        raise ParameterError(f"problem must be an instance of a registered problem "
                             f"({', '.join(c.__name__ for c in PROBLEMS.values())}), "
                             f"got {type(problem).__name__}")
    data = problem.kernel_data
    if problem.data_class is None or type(data) is not problem.data_class:
        expected = getattr(problem.data_class, "__name__", None)
        raise ParameterError(f"{type(problem).__name__}.kernel_data must be a {expected}, "
                             f"got {type(data).__name__}")
    return data


class Problem(ABC):
    """A stochastic problem: exact F, ∇F, S, a gradient sampler and its critical set.

    Subclasses set ``name`` (the config name), ``data_class`` (the kernel data ``NamedTuple``)
    and ``dim``, and are registered with :func:`register_problem`.
    """

    name: str = "problem"
    data_class: type | None = None
    dim: int
    # Kernels may advance two runs of this problem in one loop (see adam_ode.kernels): worth it
    # for cheap, latency-bound steps; each problem that asks for it costs compile time.
    kernel_pairs: bool = False
    # False for problems whose kernel data type is made at run time (user numba functions): numba
    # cannot cache their kernels on disk, so they are compiled in every process.
    kernel_cacheable: bool = True
    # g = A x + L ξ with ξ ~ N(0, I) and kernel data holding A and L: the common-draw couplings
    # of adam_ode.fluctuations.coupled apply.
    linear_gaussian: bool = False
    # True when the gradient moments, ∇²F and ∂S/∂x are diagonal at every x and the field is
    # coordinatewise: the fluctuation models then split into d independent blocks.
    separable_moments: bool = False

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
    def kernel_data(self):
        """The problem as plain arrays and scalars (a ``NamedTuple`` of ``data_class``)."""

    def hessian_vector(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """∇²F(x) u; this default is a central difference of ``grad_F`` (problems override it
        with the exact product)."""
        x = np.asarray(x, dtype=float)
        u = np.asarray(u, dtype=float)
        scale = np.sqrt(np.sum(u * u, axis=-1, keepdims=True))
        h = HVP_STEP * (1.0 + np.sqrt(np.sum(x * x, axis=-1, keepdims=True)))
        h = np.where(scale > 0, h / np.where(scale > 0, scale, 1.0), 0.0)
        safe = np.where(h > 0, h, 1.0)
        out = (self.grad_F(x + h * u) - self.grad_F(x - h * u)) / (2.0 * safe)
        return np.where(h > 0, out, 0.0)

    def gradient_moments(self, x: np.ndarray) -> GradientMoments:
        """The exact moments of g = ∇f(x, ξ) at one point ``x`` (d,), with ∇²F and ∂S/∂x.

        Raises
        ------
        NotImplementedError
            For a problem class without known moments (this default).
        """
        raise NotImplementedError(f"no exact gradient-noise moments for {type(self).__name__}: "
                                  "the fluctuation models need Cov(g), Cov(g, g²), Var(g²), "
                                  "∂S/∂x")

    @property
    def minimizer(self) -> np.ndarray | None:
        """The unique minimizer when there is one, else ``None``."""
        return None

    @classmethod
    def example(cls) -> "Problem":
        """An instance suited to the generic tests and demos (every problem class defines it)."""
        raise NotImplementedError(f"{cls.__name__} defines no example()")

    def example_start(self) -> np.ndarray:
        """A start x0 for :meth:`example` (away from the minimizer; ones by default)."""
        return np.ones(self.dim)

    def divergence_bound(self, x0) -> float:
        """The box |x_i| ≤ bound outside which a run of this problem from ``x0`` has diverged:
        :data:`DIVERGENCE_FACTOR` times the scale of the start and of the minimizer (iterates
        a million times farther out than both are no optimization any more)."""
        scale = max(1.0, float(np.max(np.abs(np.asarray(x0, dtype=float)), initial=0.0)))
        x_star = self.minimizer
        if x_star is not None:
            scale = max(scale, float(np.max(np.abs(x_star), initial=0.0)))
        return min(DIVERGENCE_FACTOR * scale, DIVERGENCE_CEILING)

    @property
    def min_value(self) -> float | None:
        """F* = min F when known, else ``None``."""
        x_star = self.minimizer
        return None if x_star is None else float(self.F(x_star))

    @abstractmethod
    def config(self) -> dict:
        """JSON-serialisable description, saved with every result."""

    @classmethod
    def from_config(cls, **params) -> "Problem":
        """Build from the parameters of a config table (default: the constructor)."""
        return cls(**params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"
