r"""Momentum SGD (heavy ball, seed 002 eq. 2) and its limit ẍ + aẋ + a∇F = 0.

Discrete rule: m_n = α m_{n−1} + (1 − α) g_n, x_n = x_{n−1} − γ m_n. Scaling α = 1 − aγ,
t = nγ; limit on (x, m): ẋ = −m, ṁ = a(∇F(x) − m), i.e. ẍ + aẋ + a∇F(x) = 0 (the classical
heavy ball with friction a and gradient scale a), from (x0, 0). Energy F(x) + ‖m‖²/(2a)
(d/dt = −‖m‖² ≤ 0).

Peers: torch.optim.SGD(lr, momentum=μ, dampening=τ) keeps buf_n = μ buf_{n−1} + (1 − τ) g_n
(buf_1 = g_1) and steps x −= lr·buf_n. With μ = α, τ = 0 and lr = γ(1 − α) its iterates are
exactly these (change of variables m_n = (1 − α) buf_n; torch's first step buf_1 = g_1 is then
m_1 = (1 − α) g_1, ours); optax.sgd(learning_rate=γ(1 − α), momentum=α) likewise (its trace is
buf). With dampening τ = α and lr = γ, torch's first step differs (buf_1 = g_1 instead of
(1 − α) g_1).

=========  ==========  ==============================
symbol     argument    torch.optim.SGD
=========  ==========  ==============================
γ          ``gamma``   ``lr`` = γ(1 − α)
α = 1−aγ   ``a``       ``momentum`` = α, ``dampening`` = 0
=========  ==========  ==============================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import ParameterError, check_positive
from .base import (ContinuousLimit, Optimizer, at_minimizer, at_x, check_rate, implements,
                   noise_slots, rate_from_decay, register_optimizer, split, unconstrained)

__all__ = ["MomentumSGD", "MomentumArgs", "HeavyBallLimit", "ClassicalHeavyBall",
           "classical_heavy_ball_field"]


class MomentumArgs(NamedTuple):
    """Kernel arguments of :class:`MomentumSGD`: γ and α."""

    gamma: float
    alpha: float


@register_optimizer
@dataclass(frozen=True)
class MomentumSGD(Optimizer):
    """Momentum SGD: m_n = α m_{n−1} + (1−α) g_n, x_n = x_{n−1} − γ m_n.

    Parameters
    ----------
    gamma : float > 0
        γ.
    a : float in (0, 1/γ)
        Momentum rate, α = 1 − aγ. Default (1 − 0.9)/γ: α = 0.9.
    """

    gamma: float
    a: float | None = None
    name = "momentum-sgd"
    slots = ("x", "m")
    args_class = MomentumArgs
    scaling = "alpha = 1 - a*gamma, t = n*gamma"

    @classmethod
    def example(cls) -> "MomentumSGD":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.02, a=4.0)

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        a = rate_from_decay(0.9, gamma) if self.a is None else self.a
        object.__setattr__(self, "a", check_rate("a", a, gamma, "alpha"))

    @property
    def alpha(self) -> float:
        return 1.0 - self.a * self.gamma

    def kernel_args(self):
        return MomentumArgs(self.gamma, self.alpha)

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])
        m = self.alpha * state["m"] + (1.0 - self.alpha) * g
        return {"x": state["x"] - self.gamma * m, "m": m}

    def limit(self):
        return HeavyBallLimit(self.a)

    batch_scaling_rules = ("linear",)

    def scaled_for_batch(self, kappa, rule):
        # γ → κγ and 1 − α → κ(1 − α): a, hence the limit, unchanged; the noise level is γ/B.
        if rule == "sqrt":
            raise ParameterError("the square-root rule applies to adaptive methods (Adam, "
                                 "AdamW, RMSProp); use rule='linear' for MomentumSGD")
        self._check_rule(rule)
        return self._linear_rule(kappa)


@dataclass(frozen=True)
class HeavyBallLimit(ContinuousLimit):
    """ẋ = −m, ṁ = a(∇F(x) − m) on (x, m) from (x0, 0); energy F(x) + ‖m‖²/(2a)."""

    a: float
    slots = ("x", "m")
    time = "t = n*gamma"
    has_energy = True

    def field(self, t, z, problem):
        x, m = split(z, 2)
        return np.concatenate([-m, self.a * (problem.grad_F(x) - m)], axis=-1)

    def energy(self, t, z, problem):
        x, m = split(z, 2)
        return problem.F(x) + 0.5 * np.sum(m * m, axis=-1) / self.a

    # Fluctuations: m's noise is aγ(g − ∇F); x_n uses m_n, so its noise is O(γ²) and drops out.
    def jacobian(self, t, z, problem, moments):
        d = problem.dim
        I, Z = np.eye(d), np.zeros((d, d))
        return np.block([[Z, -I], [self.a * moments.hessian, -self.a * I]])

    def noise_map(self, t, z, problem, moments):
        B = noise_slots(2, problem.dim)
        B[1, 0] = self.a
        return B

    def rest_state(self, problem):
        return at_minimizer(problem, lambda x: [np.zeros_like(x)])

    def kernel_args(self):
        return HeavyBallArgs(self.a)


def classical_heavy_ball_field(t, y, problem, damping: float, gradient_scale: float = 1.0):
    """ẍ + λẋ + κ∇F(x) = 0 as a first-order field on y = (x, ẋ)."""
    y = np.asarray(y, dtype=float)
    d = y.shape[-1] // 2
    x, x_dot = y[..., :d], y[..., d:]
    return np.concatenate([x_dot, -damping * x_dot - gradient_scale * problem.grad_F(x)], axis=-1)


@dataclass(frozen=True)
class ClassicalHeavyBall(ContinuousLimit):
    """The classical heavy ball ẍ + λẋ + κ∇F(x) = 0 on y = (x, ẋ) from (x0, v0) (v0 = 0 by
    default): :class:`HeavyBallLimit` in the velocity ẋ = −m when λ = κ = a. Energy
    κF(x) + ½‖ẋ‖² (its rate is −λ‖ẋ‖² ≤ 0)."""

    damping: float
    gradient_scale: float = 1.0
    v0: tuple | None = None
    slots = ("x", "x_dot")
    time = "t"
    has_energy = True

    def __post_init__(self):
        from .._validation import check_nonnegative

        object.__setattr__(self, "damping", check_nonnegative("damping", self.damping))
        object.__setattr__(self, "gradient_scale",
                           check_positive("gradient_scale", self.gradient_scale))
        if self.v0 is not None:
            object.__setattr__(self, "v0", tuple(float(v) for v in np.ravel(self.v0)))

    def initial_state(self, problem, x0):
        from .._validation import check_vector

        x0 = np.asarray(x0, dtype=float)
        v0 = np.zeros_like(x0) if self.v0 is None else check_vector("v0", self.v0, x0.size)
        return np.concatenate([x0, v0])

    def field(self, t, z, problem):
        return classical_heavy_ball_field(t, z, problem, self.damping, self.gradient_scale)

    def energy(self, t, z, problem):
        x, x_dot = split(z, 2)
        return self.gradient_scale * problem.F(x) + 0.5 * np.sum(x_dot * x_dot, axis=-1)


class HeavyBallArgs(NamedTuple):
    """Kernel arguments of :class:`HeavyBallLimit`: a."""

    a: float


@implements("limit_field", HeavyBallArgs)
def _limit_field(la, t, z, mu, s, out, d):
    for i in range(d):
        out[i] = -z[d + i]
        out[d + i] = la.a * (mu[i] - z[d + i])


@implements("limit_noise", HeavyBallArgs)
def _limit_noise(la, t, z, mu, s, B, d):
    for i in range(d):
        B[1, 0, i] = la.a


implements("limit_project", HeavyBallArgs)(unconstrained)


@njit(cache=True, nogil=True, error_model="numpy")
def _momentum_update(d, state, g, gamma, alpha):
    for i in range(d):
        m = alpha * state[d + i] + (1.0 - alpha) * g[i]
        state[d + i] = m
        state[i] -= gamma * m


@implements("coefficients_start", MomentumArgs)
def _start(h):
    return (0.0,)


@implements("coefficients_next", MomentumArgs)
def _next(h, n, c):
    return c


implements("gradient_point", MomentumArgs)(at_x)


@implements("update", MomentumArgs)
def _update(h, c, state, g, d):
    _momentum_update(d, state, g, h.gamma, h.alpha)
