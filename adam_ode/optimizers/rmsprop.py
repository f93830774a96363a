r"""RMSProp (Hinton et al. 2012): Adam without momentum, and its limit.

Discrete rule: v_n = β v_{n−1} + (1 − β) g_n², x_n = x_{n−1} − γ g_n / (ε + sqrt(v̂_n)) with
v̂_n = v_n/(1 − βⁿ) (``debias=True``) or v_n. Scaling β = 1 − bγ, t = nγ. Limit on (x, v)
*(derived: Adam's eq. 3.3 with m replaced by ∇F)*::

    ẋ = −∇F(x) / (ε + sqrt(v̂)),   v̇ = b (S(x) − v),   v̂ = v/(1 − e^{−bt}) (or v)

from (x0, 0). With bias correction v̂(0+) = S(x0): the field has a finite limit at t = 0 and is
integrated, like Adam's, in (x, v̂) from a midpoint Taylor start. Without it v(t) ≈ bS(x0)t, so
ẋ ≈ −∇F/(ε + sqrt(bSt)) is singular like t^{−1/2} (for ε ≪ 1): the start uses the closed form of
the frozen-x solution, x(t) − x0 = −(2∇F/(bS)) [sqrt(bSt) − ε log(1 + sqrt(bSt)/ε)]. F is
nonincreasing along both limits: dF/dt = −Σ ∇F²/(ε + sqrt(v̂)) ≤ 0 (its energy).

=========  ==========  =====================================  ======================
symbol     argument    torch.optim.RMSprop                    optax.rmsprop
=========  ==========  =====================================  ======================
γ          ``gamma``   ``lr``                                 ``learning_rate``
β = 1−bγ   ``b``       ``alpha`` = 1 − bγ                     ``decay``
ε          ``eps``     ``eps`` (outside the root)             ``eps`` (outside; eps_in_sqrt=False)
debias     ``debias``  no bias correction: ``debias=False``   ``bias_correction``
=========  ==========  =====================================  ======================

The state's m slot of earlier versions (which held g_n) is gone: the state is (x, v).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import check_positive
from .adam import bias_step, clip_slot
from .base import (ContinuousLimit, Optimizer, at_minimizer, at_x, bias, bias_at, check_rate,
                   column, implements, noise_slots, preconditioner_terms, rate_from_decay,
                   register_optimizer, split)

__all__ = ["RMSProp", "RMSPropArgs", "RMSPropLimit"]


class RMSPropArgs(NamedTuple):
    """Kernel arguments of :class:`RMSProp`: γ, β, ε, debias."""

    gamma: float
    beta: float
    eps: float
    debias: bool


@register_optimizer
@dataclass(frozen=True)
class RMSProp(Optimizer):
    """RMSProp (see the module docstring).

    Parameters
    ----------
    gamma : float > 0
        γ.
    b : float in (0, 1/γ)
        β = 1 − bγ (torch's ``alpha``). Default (1 − 0.99)/γ: torch's alpha = 0.99.
    eps : float > 0
        ε, outside the square root. Default 1e-8.
    debias : bool
        Bias correction 1/(1 − βⁿ) on v (default True; torch and optax default: none).
    """

    gamma: float
    b: float | None = None
    eps: float = 1e-8
    debias: bool = True
    name = "rmsprop"
    slots = ("x", "v")
    args_class = RMSPropArgs
    scaling = "beta = 1 - b*gamma, t = n*gamma"

    @classmethod
    def example(cls) -> "RMSProp":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.01, b=3.0)

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        b = rate_from_decay(0.99, gamma) if self.b is None else self.b
        object.__setattr__(self, "b", check_rate("b", b, gamma, "beta"))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        object.__setattr__(self, "debias", bool(self.debias))

    @property
    def beta(self) -> float:
        return 1.0 - self.b * self.gamma

    def kernel_args(self):
        return RMSPropArgs(self.gamma, self.beta, self.eps, self.debias)

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])
        v = self.beta * state["v"] + (1.0 - self.beta) * g**2
        v_hat = v / (1.0 - self.beta**n) if self.debias else v
        return {"x": state["x"] - self.gamma * g / (self.eps + np.sqrt(v_hat)), "v": v}

    def limit(self):
        return RMSPropLimit(self.b, self.eps, self.debias)

    batch_scaling_rules = ("sqrt", "linear")

    sqrt_rule_times = ('gamma', 'b')
    sqrt_rule_divides = ('eps',)


@dataclass(frozen=True)
class RMSPropLimit(ContinuousLimit):
    """The RMSProp limit on (x, v) (module docstring); energy F."""

    b: float
    eps: float
    debias: bool = True
    slots = ("x", "v")
    time = "t = n*gamma"
    singular = True
    has_energy = True

    def field(self, t, z, problem):
        x, v = split(z, 2)
        tc = np.broadcast_to(column(t, x), x.shape)
        if self.debias:
            at_zero = tc == 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                v_hat = np.where(at_zero, problem.S(x), v / np.where(at_zero, 1.0, bias(self.b, tc)))
        else:
            v_hat = v
        x_dot = -problem.grad_F(x) / (self.eps + np.sqrt(np.maximum(v_hat, 0.0)))
        return np.concatenate([x_dot, self.b * (problem.S(x) - v)], axis=-1)

    def start_time(self, atol):
        return atol ** (1.0 / 3.0) / max(1.0, self.b)

    def start(self, problem, x0, t_s):
        if self.debias:
            # Midpoint rule as for Adam: v̂(t_s) ≈ S(x(t_s/2)).
            x_dot0 = -problem.grad_F(x0) / (self.eps + np.sqrt(problem.S(x0)))
            x_half = x0 + 0.5 * t_s * x_dot0
            x_quarter = x0 + 0.25 * t_s * x_dot0
            x_s = x0 - t_s * problem.grad_F(x_quarter) / (self.eps
                                                           + np.sqrt(problem.S(x_quarter)))
            return np.concatenate([x_s, problem.S(x_half)])
        return self._frozen(problem, x0, t_s)

    # Fluctuations: x's noise is −(g − ∇F)/D, D = ε + sqrt(v̂), and v's is b(g² − S).
    def jacobian(self, t, z, problem, moments):
        v = split(z, 2)[1]
        D, dv = preconditioner_terms(v, bias_at(self.b, t, self.debias), self.eps)
        return np.block([[-moments.hessian / D[:, None], np.diag(moments.mean * dv)],
                         [self.b * moments.dS, -self.b * np.eye(problem.dim)]])

    def noise_map(self, t, z, problem, moments):
        if self.debias and t == 0.0:  # v̂(0+) = S, as the field's t = 0 limit
            D = self.eps + np.sqrt(moments.second)
        else:
            D, _ = preconditioner_terms(split(z, 2)[1], bias_at(self.b, t, self.debias),
                                        self.eps)
        B = noise_slots(2, problem.dim)
        B[0, 0] = -1.0 / D
        B[1, 1] = self.b
        return B

    def rest_state(self, problem):
        return at_minimizer(problem, lambda x: [problem.S(x)])

    def project(self, z):
        x, v = split(z, 2)
        return np.concatenate([x, np.maximum(v, 0.0)], axis=-1)

    def kernel_args(self):
        return RMSPropLimitArgs(self.b, self.eps, self.debias)

    def _frozen(self, problem, x0, t):
        """The frozen-x solution from (x0, 0) at time(s) t (module docstring)."""
        grad, S = problem.grad_F(x0), problem.S(x0)
        tc = column(t, grad)
        root = np.sqrt(self.b * S * tc)
        shift = -(2.0 * grad / (self.b * S)) * (root - self.eps * np.log1p(root / self.eps))
        return np.concatenate([x0 + shift, S * bias(self.b, tc) + 0.0 * shift], axis=-1)

    def early(self, t, problem, x0, z0, z_s, t_s):
        """z on [0, t_s]: the frozen-x solution without bias correction (√t start), else the
        default quadratic (see :func:`adam_ode.integrate.solve_limit`)."""
        if self.debias:
            return None
        return self._frozen(problem, x0, t)

    def solver_field(self, t, w, problem):
        if not self.debias:
            return self.field(t, w, problem)
        x, v_hat = split(w, 2)
        tc = column(t, x)
        x_dot = -problem.grad_F(x) / (self.eps + np.sqrt(np.maximum(v_hat, 0.0)))
        return np.concatenate([x_dot, (self.b / bias(self.b, tc)) * (problem.S(x) - v_hat)],
                              axis=-1)

    def to_state(self, t, w):
        if not self.debias:
            return w
        x, v_hat = split(w, 2)
        return np.concatenate([x, v_hat * bias(self.b, column(t, x))], axis=-1)

    def energy(self, t, z, problem):
        return problem.F(split(z, 2)[0])


class RMSPropLimitArgs(NamedTuple):
    """Kernel arguments of :class:`RMSPropLimit`: b, ε, debias."""

    b: float
    eps: float
    debias: bool


@implements("limit_field", RMSPropLimitArgs)
def _limit_field(la, t, z, mu, s, out, d):
    c_b = -math.expm1(-la.b * t) if la.debias and t > 0.0 else 1.0
    for i in range(d):
        v = z[d + i]
        v_hat = s[i] if la.debias and t == 0.0 else v / c_b  # t = 0: v̂(0+) = S
        out[i] = -mu[i] / (la.eps + math.sqrt(max(v_hat, 0.0)))
        out[d + i] = la.b * (s[i] - v)


@implements("limit_noise", RMSPropLimitArgs)
def _limit_noise(la, t, z, mu, s, B, d):
    c_b = -math.expm1(-la.b * t) if la.debias and t > 0.0 else 1.0
    for i in range(d):
        v_hat = s[i] if la.debias and t == 0.0 else z[d + i] / c_b  # as the field at t = 0
        B[0, 0, i] = -1.0 / (la.eps + math.sqrt(max(v_hat, 0.0)))
        B[1, 1, i] = la.b


@implements("limit_project", RMSPropLimitArgs)
def _limit_project(la, z, d):
    clip_slot(z, 1, d)


@njit(cache=True, nogil=True, error_model="numpy")
def _rmsprop_update(d, state, g, gamma, beta, eps, v_scale):
    """v_n = β v + (1−β) g², x −= γ g/(ε + sqrt(v̂)); slots (x, v)."""
    for i in range(d):
        v = beta * state[d + i] + (1.0 - beta) * (g[i] * g[i])
        state[d + i] = v
        state[i] -= gamma * g[i] / (eps + math.sqrt(v * v_scale))


@implements("coefficients_start", RMSPropArgs)
def _start(h):
    return 1.0, 1.0, not h.debias


@implements("coefficients_next", RMSPropArgs)
def _next(h, n, c):
    return bias_step(h.beta, c[0], c[1], c[2])


implements("gradient_point", RMSPropArgs)(at_x)


@implements("update", RMSPropArgs)
def _update(h, c, state, g, d):
    _rmsprop_update(d, state, g, h.gamma, h.beta, h.eps, c[1])
