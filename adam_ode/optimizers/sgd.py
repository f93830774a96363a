r"""SGD and mini-batch SGD, x_n = x_{n−1} − γ ĝ_n, and their limit, the gradient flow ẋ = −∇F.

Mini-batches are a property of the problem (e.g. ``LeastSquares(batch_size=B)``: same mean ∇F,
second moment S_B); the rule and its limit do not change. Scaling: t = nγ.

=========  ==========  ==================  ===============
symbol     argument    torch.optim.SGD     optax.sgd
=========  ==========  ==================  ===============
γ          ``gamma``   ``lr``              ``learning_rate``
=========  ==========  ==================  ===============

With exact gradients the iterates are explicit Euler on the gradient flow, so they converge to it
at order 1 in γ; F is nonincreasing along the flow (dF/dt = −‖∇F‖²), its energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .._validation import ParameterError, check_positive
from .base import (ContinuousLimit, Optimizer, at_minimizer, at_x, implements, noise_slots,
                   register_optimizer, unconstrained)

__all__ = ["SGD", "SGDArgs", "GradientFlow"]


class SGDArgs(NamedTuple):
    """Kernel arguments of :class:`SGD`: the step γ."""

    gamma: float


@register_optimizer
@dataclass(frozen=True)
class SGD(Optimizer):
    """Plain (or mini-batch) SGD, x_n = x_{n−1} − γ g_n. ``gamma``: γ > 0."""

    gamma: float
    name = "sgd"
    slots = ("x",)
    args_class = SGDArgs
    scaling = "t = n*gamma"

    @classmethod
    def example(cls) -> "SGD":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.02)

    def __post_init__(self):
        object.__setattr__(self, "gamma", check_positive("gamma", self.gamma))

    def kernel_args(self):
        return SGDArgs(self.gamma)

    def numpy_step(self, n, state, grad):
        return {"x": state["x"] - self.gamma * grad(state["x"])}

    def limit(self):
        return GradientFlow()

    batch_scaling_rules = ("linear",)

    def scaled_for_batch(self, kappa, rule):
        # The gradient flow does not depend on γ; the LNA covariance γP, P ∝ C, depends on γ/B.
        if rule == "sqrt":
            raise ParameterError("the square-root rule applies to adaptive methods (Adam, "
                                 "AdamW, RMSProp); use rule='linear' for SGD")
        self._check_rule(rule)
        return self._linear_rule(kappa)


@dataclass(frozen=True)
class GradientFlow(ContinuousLimit):
    """ẋ = −∇F(x) from x(0) = x0; energy F (dF/dt = −‖∇F‖² ≤ 0)."""

    slots = ("x",)
    time = "t = n*gamma"
    has_energy = True

    def field(self, t, z, problem):
        return -problem.grad_F(z)

    def energy(self, t, z, problem):
        return problem.F(z)

    # Fluctuations: x_n − x_{n−1} = −γ∇F − γ(g − ∇F), so η = −(g − ∇F), Q = Cov(g).
    def jacobian(self, t, z, problem, moments):
        return -moments.hessian

    def noise_map(self, t, z, problem, moments):
        B = noise_slots(1, problem.dim)
        B[0, 0] = -1.0
        return B

    def rest_state(self, problem):
        return at_minimizer(problem, lambda x: [])

    def kernel_args(self):
        return GradientFlowArgs()


class GradientFlowArgs(NamedTuple):
    """Kernel arguments of :class:`GradientFlow` (none)."""


@implements("limit_field", GradientFlowArgs)
def _limit_field(la, t, z, mu, s, out, d):
    for i in range(d):
        out[i] = -mu[i]


@implements("limit_noise", GradientFlowArgs)
def _limit_noise(la, t, z, mu, s, B, d):
    for i in range(d):
        B[0, 0, i] = -1.0


implements("limit_project", GradientFlowArgs)(unconstrained)


@implements("coefficients_start", SGDArgs)
def _start(h):
    return (0.0,)


@implements("coefficients_next", SGDArgs)
def _next(h, n, c):
    return c


implements("gradient_point", SGDArgs)(at_x)


@implements("update", SGDArgs)
def _update(h, c, state, g, d):
    for i in range(d):
        state[i] -= h.gamma * g[i]


