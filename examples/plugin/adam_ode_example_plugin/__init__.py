r"""An example plug-in for adam-ode: SGD with coordinatewise gradient clipping, and Rosenbrock.

**ClippedSGD.** x_n = x_{n−1} − γ clip(g_n, c), clip(u, c)_i = max(−c, min(c, u_i)). Scaling
t = nγ with c fixed; noise-free limit ẋ = −clip(∇F(x), c), a Lipschitz (not smooth) field: the
exact-gradient iterates are its explicit Euler steps, order 1 in γ. With gradient noise the
iterates follow ẋ = −E clip(g, c) instead, which differs from clip(∇F, c) where |∂_iF| is within
a few noise widths of c. The gradient flow's energy F does not increase along it
(dF/dt = −Σ ∂_iF clip(∂_iF, c) ≤ 0).

**Rosenbrock.** F(x) = (α − x₁)² + β(x₂ − x₁²)², minimizer (α, α²), additive Gaussian gradient
noise N(0, σ²) per coordinate, so S(x) = ∇F(x)² + σ².

Every piece adam-ode needs is here: the record (a frozen dataclass with ``name``, ``slots``,
``args_class``, ``example()``), the numba step registered with ``@implements`` for its kernel
arguments, the NumPy transcription ``numpy_step``, the continuous limit; the problem's NumPy
evaluators and its numba evaluators registered with ``@evaluator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from adam_ode import ParameterError
from adam_ode.optimizers.base import (ContinuousLimit, Optimizer, at_x, implements,
                                      register_optimizer)
from adam_ode.problems.base import Problem, evaluator, register_problem
from adam_ode.streams import normal

__all__ = ["ClippedSGD", "ClippedFlow", "Rosenbrock"]


# ------------------------------------------------------------------------------------------------
# The optimizer


class ClippedArgs(NamedTuple):
    """Kernel arguments of :class:`ClippedSGD`: γ and the clipping threshold c."""

    gamma: float
    clip: float


@register_optimizer
@dataclass(frozen=True)
class ClippedSGD(Optimizer):
    """SGD with coordinatewise gradient clipping, x ← x − γ clip(g, c).

    Parameters
    ----------
    gamma : float > 0
        γ, the step (torch: ``lr``, with ``clip_grad_value_(params, c)`` before the step).
    clip : float > 0
        c, the clipping threshold.
    """

    gamma: float
    clip: float = 1.0
    name = "clipped-sgd"
    slots = ("x",)
    args_class = ClippedArgs
    scaling = "t = n*gamma, c fixed"
    no_fluctuations = "clipped SGD has no fluctuation model here (the clip is not smooth)"

    @classmethod
    def example(cls) -> "ClippedSGD":
        return cls(gamma=0.02, clip=1.5)

    def __post_init__(self):
        for name in ("gamma", "clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or value <= 0:
                raise ParameterError(f"{name} must be > 0 (allowed range (0, inf)), got "
                                     f"{value!r}")
            object.__setattr__(self, name, float(value))

    def kernel_args(self):
        return ClippedArgs(self.gamma, self.clip)

    def numpy_step(self, n, state, grad):
        g = np.clip(grad(state["x"]), -self.clip, self.clip)
        return {"x": state["x"] - self.gamma * g}

    def limit(self):
        return ClippedFlow(self.clip)


@dataclass(frozen=True)
class ClippedFlow(ContinuousLimit):
    """ẋ = −clip(∇F(x), c) from x0; energy F."""

    clip: float
    slots = ("x",)
    time = "t = n*gamma"
    has_energy = True
    no_fluctuations = ClippedSGD.no_fluctuations

    def field(self, t, z, problem):
        return -np.clip(problem.grad_F(z), -self.clip, self.clip)

    def energy(self, t, z, problem):
        return problem.F(z)


@implements("coefficients_start", ClippedArgs)
def _start(h):
    return (0.0,)


@implements("coefficients_next", ClippedArgs)
def _next(h, n, c):
    return c


implements("gradient_point", ClippedArgs)(at_x)


@implements("update", ClippedArgs)
def _update(h, c, state, g, d):
    for i in range(d):
        state[i] -= h.gamma * max(-h.clip, min(h.clip, g[i]))


# ------------------------------------------------------------------------------------------------
# The problem


class RosenbrockData(NamedTuple):
    """Kernel data of :class:`Rosenbrock`: α, β and the noise σ."""

    alpha: float
    beta: float
    sigma: float


@register_problem
class Rosenbrock(Problem):
    """Rosenbrock's valley F = (α − x₁)² + β(x₂ − x₁²)² with Gaussian gradient noise σ."""

    name = "rosenbrock"
    data_class = RosenbrockData

    @classmethod
    def example(cls) -> "Rosenbrock":
        return cls(alpha=1.0, beta=10.0, sigma=0.1)

    def example_start(self):
        return np.array([-1.0, 1.5])

    def __init__(self, alpha: float = 1.0, beta: float = 10.0, sigma: float = 0.1):
        if not beta > 0 or not sigma >= 0:
            raise ParameterError(f"rosenbrock needs beta > 0 and sigma >= 0, got beta = {beta!r}"
                                 f", sigma = {sigma!r}")
        self.alpha, self.beta, self.sigma = float(alpha), float(beta), float(sigma)
        self.dim = 2

    def F(self, x):
        x = np.asarray(x, dtype=float)
        return (self.alpha - x[..., 0]) ** 2 + self.beta * (x[..., 1] - x[..., 0] ** 2) ** 2

    def grad_F(self, x):
        x = np.asarray(x, dtype=float)
        r = x[..., 1] - x[..., 0] ** 2
        return np.stack([-2.0 * (self.alpha - x[..., 0]) - 4.0 * self.beta * x[..., 0] * r,
                         2.0 * self.beta * r], axis=-1)

    def S(self, x):
        return self.grad_F(x) ** 2 + self.sigma**2

    def sample_grad(self, x, rng):
        xi = np.array([rng.standard_normal() for _ in range(2)])  # the kernel's order
        return self.grad_F(x) + self.sigma * xi

    def critical_distance(self, x):
        return np.linalg.norm(np.asarray(x, dtype=float) - self.minimizer, axis=-1)

    @property
    def minimizer(self):
        return np.array([self.alpha, self.alpha**2])

    @property
    def kernel_data(self):
        return RosenbrockData(self.alpha, self.beta, self.sigma)

    def config(self):
        return {"name": self.name, "alpha": self.alpha, "beta": self.beta, "sigma": self.sigma}


@evaluator("exact_grad", RosenbrockData)
def _exact_grad(data, x, g):
    r = x[1] - x[0] * x[0]
    g[0] = -2.0 * (data.alpha - x[0]) - 4.0 * data.beta * x[0] * r
    g[1] = 2.0 * data.beta * r


@evaluator("sample_grad", RosenbrockData)
def _sample_grad(data, x, rng, g):
    r = x[1] - x[0] * x[0]
    g[0] = -2.0 * (data.alpha - x[0]) - 4.0 * data.beta * x[0] * r + data.sigma * normal(rng)
    g[1] = 2.0 * data.beta * r + data.sigma * normal(rng)


@evaluator("critical_distance", RosenbrockData)
def _critical_distance(data, x):
    return math.sqrt((x[0] - data.alpha) ** 2 + (x[1] - data.alpha**2) ** 2)


@evaluator("kernel_dim", RosenbrockData)
def _kernel_dim(data, x):
    return 2
