r"""AMSGrad (Reddi, Kale & Kumar 2018) in torch's convention, and its non-smooth limit.

Discrete rule, coordinatewise, g_n = ∇f(x_{n−1}, ξ_n)::

    m_n = α m_{n−1} + (1 − α) g_n,      v_n = β v_{n−1} + (1 − β) g_n²
    v_max,n = max(v_max,n−1, v_n)                       (the *biased* v, as torch)
    x_n = x_{n−1} − γ [m_n / (1 − αⁿ)] / (ε + sqrt(v_max,n / (1 − βⁿ)))

(``debias=False``: no bias corrections.) Scaling: α = 1 − aγ, β = 1 − bγ, t = nγ. While v is
nondecreasing (v_n ≥ v_max,n−1) v_max = v and the step is Adam's, with the same arithmetic: the
iterates are Adam's bit for bit up to the first step where some v_n decreases.

Continuous limit *(derived)* on z = (x, m, v, u), u the limit of v_max::

    ẋ = −m̂/(ε + sqrt(û)),   ṁ = a(∇F − m),   v̇ = b(S − v),   u(t) = max_{s≤t} v(s)

with m̂ = m/(1 − e^{−at}), û = u/(1 − e^{−bt}) (or m, u without bias correction); u̇ = v̇ where
u = v and v̇ > 0 ("active"), u̇ = 0 otherwise. The field is continuous but not C¹ in z at the
switches (u̇ jumps from v̇ to 0 when v starts to decrease, i.e. when S(x) = v), so the solution is
C¹ but not C² there; the one-step discrepancy v_max − v_n at such a step is O(γ²), the limit is
still first order (measured).

Integration: with bias correction, in the debiased variables w = (x, m̂, v̂, û) (Adam's Lemma 7.3
start, û(t_s) = v̂(t_s): v̇ = bS(x0) > 0 near t = 0, the active regime)::

    active (v̂ ≥ û and S(x) > v̂ (1 − e^{−bt})):   dû/dt = dv̂/dt = b/(1 − e^{−bt}) (S − v̂)
    otherwise (u constant):                       dû/dt = −û b e^{−bt}/(1 − e^{−bt})

and the denominator is ε + sqrt(max(û, v̂)) (so that a v̂ overshooting û by a solver error is
still the running maximum). Starting at û = v̂ the active-regime Runge–Kutta stages compute
identical values for û and v̂, so û ≡ v̂ bit for bit until the first switch. The switch is
handled by the adaptive step control (DOP853 rejects the steps straddling it; no event location):
a solve at 100× tighter tolerances agrees to ≲1e-7 (tested). Without bias correction the field
is regular at t = 0 and is integrated in z from t = 0.

Energy *(derived)*: without bias correction E(z) = F(x) + ½ Σ m²/(a(ε + sqrt(u))) satisfies
dE/dt = −Σ m²/(ε + sqrt(u)) − Σ m² u̇/(4a sqrt(u)(ε + sqrt(u))²) ≤ 0 since u̇ ≥ 0 — for every
a, b (Adam's eq. 7.1 energy needs b ≤ 4a because v̇ can be negative; u̇ cannot). With bias
correction the factor 1/(1 − e^{−bt}) makes û decrease when inactive (dû/dt ~ −û/t for small t),
and no energy is claimed.

Symbols ↔ arguments ↔ peers
---------------------------
=========  ==========  ======================================  ======================
symbol     argument    torch.optim.Adam(amsgrad=True)          optax.amsgrad
=========  ==========  ======================================  ======================
γ          ``gamma``   ``lr``                                  ``learning_rate``
α = 1−aγ   ``a``       ``betas[0]`` = 1 − aγ                   ``b1``
β = 1−bγ   ``b``       ``betas[1]`` = 1 − bγ                   ``b2``
ε          ``eps``     ``eps`` (outside the root)              ``eps``
v_max      slot        ``max_exp_avg_sq`` (max of biased v)    ``nu_max`` (of debiased ν̂)
debias     ``debias``  always True                             always True
=========  ==========  ======================================  ======================

torch (``torch/optim/adam.py``, ``_single_tensor_adam``, read for this module):
``exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)`` (``lerp_`` in later versions);
``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``;
``torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])``;
``denom = (max_exp_avg_sqs[i].sqrt() / sqrt(1 - beta2**step)).add_(eps)``;
``param.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**step))``. Same values as ours to rounding
(tested to 1e-12 after 1 000 exact-gradient steps against a NumPy transcription). optax's
``amsgrad`` takes the maximum of the *debiased* ν̂ instead: a different scheme whenever the bias
correction matters (its ν̂_max never decreases, ours decreases like 1/(1 − βⁿ) when v stalls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .adam import AdamLimit, AdamRates, register_bias_corrections
from .base import (ContinuousLimit, Optimizer, bias, column, implements,
                   register_optimizer, split)

__all__ = ["AMSGrad", "AMSGradArgs", "AMSGradLimit"]


class AMSGradArgs(NamedTuple):
    """Kernel arguments of :class:`AMSGrad`: γ, α, β, ε and whether to debias."""

    gamma: float
    alpha: float
    beta: float
    eps: float
    debias: bool


@register_optimizer
@dataclass(frozen=True)
class AMSGrad(AdamRates, Optimizer):
    r"""AMSGrad (torch's ``Adam(amsgrad=True)``; see the module docstring).

    Parameters
    ----------
    gamma : float > 0
        γ, the step size (torch's ``lr``).
    a : float in (0, 1/γ)
        α = 1 − aγ (torch's β1). Default (1 − 0.9)/γ: torch's β1 = 0.9.
    b : float in (0, 1/γ)
        β = 1 − bγ (torch's β2). Default (1 − 0.999)/γ: torch's β2 = 0.999.
    eps : float > 0
        ε, outside the square root. Default 1e-8.
    debias : bool
        Bias corrections 1/(1 − αⁿ) on m and 1/(1 − βⁿ) on v_max (default True, as torch).
    """

    gamma: float
    a: float | None = None
    b: float | None = None
    eps: float = 1e-8
    debias: bool = True
    name = "amsgrad"
    slots = ("x", "m", "v", "v_max")
    args_class = AMSGradArgs
    scaling = "alpha = 1 - a*gamma, beta = 1 - b*gamma, t = n*gamma"

    @classmethod
    def example(cls) -> "AMSGrad":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.01, a=2.0, b=3.0)

    def __post_init__(self):
        # The debiased limit shares Adam's Lyapunov analysis only where u = v.
        self.check_rates(lyapunov=bool(self.debias))

    def kernel_args(self):
        return AMSGradArgs(self.gamma, self.alpha, self.beta, self.eps, self.debias)

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])
        alpha, beta = self.alpha, self.beta
        m = alpha * state["m"] + (1.0 - alpha) * g
        v = beta * state["v"] + (1.0 - beta) * g**2
        v_max = np.maximum(state["v_max"], v)
        if self.debias:
            m_hat, u_hat = m / (1.0 - alpha**n), v_max / (1.0 - beta**n)
        else:
            m_hat, u_hat = m, v_max
        x = state["x"] - self.gamma * m_hat / (self.eps + np.sqrt(u_hat))
        return {"x": x, "m": m, "v": v, "v_max": v_max}

    def limit(self) -> "AMSGradLimit":
        return AMSGradLimit(self.a, self.b, self.eps, self.debias)


@dataclass(frozen=True)
class AMSGradLimit(ContinuousLimit):
    r"""The AMSGrad limit on z = (x, m, v, u), u = max_{s≤t} v(s) (module docstring)."""

    a: float
    b: float
    eps: float
    debias: bool = True
    slots = ("x", "m", "v", "v_max")
    time = "t = n*gamma"
    no_fluctuations = (
        "AMSGrad has no linear-noise approximation: v_max is the running maximum of v, which "
        "ratchets up v's O(sqrt(gamma)) fluctuations (not Gaussian, and not stationary at a "
        "rest point)")

    @property
    def singular(self) -> bool:
        return self.debias

    @property
    def has_energy(self) -> bool:
        return not self.debias

    def field(self, t, z, problem):
        x, m, v, u = split(z, 4)
        S = problem.S(x)
        v_dot = self.b * (S - v)
        if self.debias:
            tc = np.broadcast_to(column(t, x), x.shape)
            at_zero = tc == 0.0
            A = np.where(at_zero, 1.0, bias(self.a, tc))
            B = np.where(at_zero, 1.0, bias(self.b, tc))
            # Lemma 7.3: m̂ → ∇F(x0), v̂ = û → S(x0) at t = 0.
            m_hat = np.where(at_zero, problem.grad_F(x), m / A)
            u_hat = np.where(at_zero, S, np.maximum(u, v) / B)
        else:
            m_hat, u_hat = m, np.maximum(u, v)
        x_dot = -m_hat / (self.eps + np.sqrt(np.maximum(u_hat, 0.0)))
        active = (v >= u) & (v_dot > 0.0)
        u_dot = np.where(active, v_dot, 0.0)
        return np.concatenate([x_dot, self.a * (problem.grad_F(x) - m), v_dot, u_dot], axis=-1)

    def start_time(self, atol):
        return AdamLimit(self.a, self.b, self.eps).start_time(atol)

    def start(self, problem, x0, t_s):
        # Adam's midpoint start; active regime on [0, t_s]: û(t_s) = v̂(t_s).
        w = AdamLimit(self.a, self.b, self.eps).start(problem, x0, t_s)
        return np.concatenate([w, split(w, 3)[2]])

    def solver_field(self, t, w, problem):
        if not self.debias:
            return self.field(t, w, problem)
        x, m_hat, v_hat, u_hat = split(w, 4)
        tc = column(t, x)
        A, B = bias(self.a, tc), bias(self.b, tc)
        S = problem.S(x)
        x_dot = -m_hat / (self.eps + np.sqrt(np.maximum(np.maximum(u_hat, v_hat), 0.0)))
        m_dot = (self.a / A) * (problem.grad_F(x) - m_hat)
        v_dot = (self.b / B) * (S - v_hat)
        active = (v_hat >= u_hat) & (S > v_hat * B)
        u_dot = np.where(active, v_dot, -u_hat * (self.b * np.exp(-self.b * tc) / B))
        return np.concatenate([x_dot, m_dot, v_dot, u_dot], axis=-1)

    def to_state(self, t, w):
        if not self.debias:
            return w
        x, m_hat, v_hat, u_hat = split(w, 4)
        tc = column(t, x)
        A, B = bias(self.a, tc), bias(self.b, tc)
        return np.concatenate([x, m_hat * A, v_hat * B, np.maximum(u_hat, v_hat) * B], axis=-1)

    def energy(self, t, z, problem):
        """E(z) = F(x) + ½ Σ m²/(a(ε + sqrt(u))), without bias correction (module docstring)."""
        if self.debias:
            raise NotImplementedError("no energy is known for the bias-corrected AMSGrad limit")
        x, m, v, u = split(z, 4)
        u = np.maximum(u, v)
        return problem.F(x) + 0.5 * np.sum(m**2 / (self.a * (self.eps + np.sqrt(u))), axis=-1)


# ------------------------------------------------------------------------------------------------
# Kernel.
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _amsgrad_update(d, state, g, gamma, alpha, beta, eps, m_scale, v_scale):
    """Slots (x, m, v, v_max); the arithmetic of adam.adam_update with v_max in the root."""
    for i in range(d):
        m = alpha * state[d + i] + (1.0 - alpha) * g[i]
        v = beta * state[2 * d + i] + (1.0 - beta) * (g[i] * g[i])
        state[d + i] = m
        state[2 * d + i] = v
        v_max = state[3 * d + i]
        if v > v_max:
            v_max = v
        state[3 * d + i] = v_max
        state[i] -= gamma * (m * m_scale) / (eps + math.sqrt(v_max * v_scale))


register_bias_corrections(AMSGradArgs)


@implements("update", AMSGradArgs)
def _update(h, c, state, g, d):
    _amsgrad_update(d, state, g, h.gamma, h.alpha, h.beta, h.eps, c[1], c[4])
