r"""Adamax (Kingma & Ba 2015, §7.1; seed 003) in torch's convention, and its noise-free limit.

Discrete rule, coordinatewise, g_n = ∇f(x_{n−1}, ξ_n)::

    m_n = α m_{n−1} + (1 − α) g_n,      u_n = max(β u_{n−1}, |g_n| + ε)
    x_n = x_{n−1} − γ [m_n / (1 − αⁿ)] / u_n

from u_0 = 0 (so u_n ≥ ε > 0); ``debias=False`` drops 1/(1 − αⁿ). u is never bias-corrected.
Scaling: α = 1 − aγ, β = 1 − bγ, t = nγ.

Noise-free limit *(derived)*: unrolled, u_n = max_{k≤n} β^{n−k}(|g_k| + ε), so with exact
gradients and β^{n−k} → e^{−b(t−s)}

    u(t) = sup_{0<s≤t} e^{−b(t−s)} w(s),  w = |∇F(x)| + ε,
    ẋ = −m̂/u,   ṁ = a(∇F − m),   m̂ = m/(1 − e^{−at}) (or m).

u jumps at t = 0 (u_0 = 0, u(0+) = w(x0)); m̂ is 0/0 at t = 0 as Adam's (Lemma 7.3: m̂(0+) =
∇F(x0), so ẋ(0+) = −∇F(x0)/(|∇F(x0)| + ε), a sign-like start). Both are handled by a short
Taylor start t_s (the midpoint rule of Adam's start, u(t_s) = max(w(x(t_s)), e^{−bt_s} w(x0)));
on [0, t_s] the dense output is the quadratic for (x, m) and u = w(x0) for t > 0. For t ≥ t_s
the solver integrates (x, m̂, W, U) (or (x, m, W, U)), W an integrated copy of w and U = u,
with the non-smooth rule

    u > w:  u̇ = −b u          (u detached, decaying)
    u ≤ w:  u̇ = max(ẇ, −b w)  (u = w tracks w while w decays slower than e^{−bt}),
    ẇ = sign(∇F) ⊙ ∇²F ẋ     (``problem.hessian_vector``),

and the denominator is max(U, W). Because W is integrated (not re-evaluated as w(x)), U and W
have the same derivative formula while tracking and stay equal bit for bit; comparing U with
w(x) chatters between the branches at the rounding level. :meth:`AdamaxLimit.to_state` reports
u = max(U, W). The field is discontinuous where u = w and
ẇ < −bw switches off (u detaches) or where u catches up with w again: DOP853's step control
handles these by rejection (no event location); a solve at 100× tighter tolerances agrees to
≲1e-7 (tested). The discrete scheme converges to this limit at first order in γ (measured).

Noise: with unbounded gradient noise (e.g. Gaussian) u_n is the running maximum of |g_k| + ε
over the last ~1/(bγ) samples (weights β^{n−k} ≥ e^{−1} there), which grows like
σ sqrt(2 log(1/(bγ))) as γ → 0: Adamax has *no* γ → 0 limit of the t = nγ kind under noise
(its u, hence its effective step, depends on γ at every fixed t; measured in the tests and
paper_notes.md). No energy is known.

Symbols ↔ arguments ↔ peers
---------------------------
=========  ==========  ====================================  ===========================
symbol     argument    torch.optim.Adamax                    optax.adamax
=========  ==========  ====================================  ===========================
γ          ``gamma``   ``lr``                                ``learning_rate``
α = 1−aγ   ``a``       ``betas[0]`` = 1 − aγ                 ``b1``
β = 1−bγ   ``b``       ``betas[1]`` = 1 − bγ                 ``b2``
ε          ``eps``     ``eps``: max(βu, |g| + ε)             ``eps``: added to u (differs)
debias     ``debias``  always True (on m only)               always True (on m only)
=========  ==========  ====================================  ===========================

torch (``torch/optim/adamax.py``, ``_single_tensor_adamax``, read for this module):
``exp_avg.lerp_(grad, 1 - beta1)``; ``torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps),
out=exp_inf)`` (older versions: ``torch.amax`` of the two stacked); ``clr = lr / (1 - beta1 **
step)``; ``param.addcdiv_(exp_avg, exp_inf, value=-clr)``. Same values as ours to rounding
(tested to 1e-12 after 1 000 exact-gradient steps against a NumPy transcription). optax's
``adamax`` keeps u = max(βu, |g|) and divides by u + ε: a different ε placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .adam import START_SCALE, AdamRates, bias_step
from .base import (ContinuousLimit, Optimizer, at_x, bias, column, implements,
                   register_optimizer, split)

__all__ = ["Adamax", "AdamaxArgs", "AdamaxLimit"]



class AdamaxArgs(NamedTuple):
    """Kernel arguments of :class:`Adamax`: γ, α, β, ε and whether to debias m."""

    gamma: float
    alpha: float
    beta: float
    eps: float
    debias: bool


@register_optimizer
@dataclass(frozen=True)
class Adamax(AdamRates, Optimizer):
    r"""Adamax (torch's ``Adamax``; see the module docstring).

    Parameters
    ----------
    gamma : float > 0
        γ, the step size (torch's ``lr``).
    a : float in (0, 1/γ)
        α = 1 − aγ (torch's β1). Default (1 − 0.9)/γ: torch's β1 = 0.9.
    b : float in (0, 1/γ)
        β = 1 − bγ (torch's β2), the decay of the running maximum u. Default (1 − 0.999)/γ:
        torch's β2 = 0.999.
    eps : float > 0
        ε, inside the maximum: u_n = max(βu_{n−1}, |g_n| + ε). Default 1e-8.
    debias : bool
        Bias correction 1/(1 − αⁿ) of m (default True, as torch; u is never corrected).
    """

    gamma: float
    a: float | None = None
    b: float | None = None
    eps: float = 1e-8
    debias: bool = True
    name = "adamax"
    slots = ("x", "m", "u")
    args_class = AdamaxArgs
    scaling = "alpha = 1 - a*gamma, beta = 1 - b*gamma, t = n*gamma (noise-free limit only)"

    @classmethod
    def example(cls) -> "Adamax":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.01, a=2.0, b=3.0)

    def __post_init__(self):
        self.check_rates(lyapunov=False)  # no Lyapunov analysis of Adamax's limit

    def kernel_args(self):
        return AdamaxArgs(self.gamma, self.alpha, self.beta, self.eps, self.debias)

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])
        alpha = self.alpha
        m = alpha * state["m"] + (1.0 - alpha) * g
        u = np.maximum(self.beta * state["u"], np.abs(g) + self.eps)
        m_hat = m / (1.0 - alpha**n) if self.debias else m
        return {"x": state["x"] - self.gamma * m_hat / u, "m": m, "u": u}

    def limit(self) -> "AdamaxLimit":
        return AdamaxLimit(self.a, self.b, self.eps, self.debias)


@dataclass(frozen=True)
class AdamaxLimit(ContinuousLimit):
    r"""The noise-free Adamax limit on z = (x, m, u) (module docstring). Valid for problems
    without gradient noise (S = (∇F)²); with noise there is no limit."""

    a: float
    b: float
    eps: float
    debias: bool = True
    slots = ("x", "m", "u")
    time = "t = n*gamma"
    singular = True  # u jumps at t = 0 (and m̂ is 0/0 there with bias correction)
    no_fluctuations = (
        "Adamax has no linear-noise approximation: under gradient noise u_n is a running "
        "maximum of |g_k| + eps, driven by extremes of the noise, not by its moments (and it "
        "has no gamma -> 0 limit; see adam_ode.optimizers.adamax)")

    def _w(self, problem, x):
        return np.abs(problem.grad_F(x)) + self.eps

    def _rates(self, problem, x, m_hat, u, w):
        """(ẋ, ẇ, u̇) given x, m̂, u and w (the non-smooth rule of the module docstring)."""
        grad = problem.grad_F(x)
        x_dot = -m_hat / np.maximum(u, w)
        w_dot = np.sign(grad) * problem.hessian_vector(x, x_dot)
        active = (u <= w) & (w_dot > -self.b * w)
        u_dot = np.where(active, w_dot, -self.b * u)
        return x_dot, w_dot, u_dot

    def field(self, t, z, problem):
        x, m, u = split(z, 3)
        tc = np.broadcast_to(column(t, x), x.shape)
        at_zero = tc == 0.0
        if self.debias:
            m_hat = np.where(at_zero, problem.grad_F(x), m / np.where(at_zero, 1.0, bias(self.a, tc)))
        else:
            m_hat = m
        # At t = 0 the state is the discrete z_0 (u = 0): use u(0+) = w(x0).
        w = self._w(problem, x)
        u = np.where(at_zero, np.maximum(u, w), u)
        x_dot, _, u_dot = self._rates(problem, x, m_hat, u, w)
        return np.concatenate([x_dot, self.a * (problem.grad_F(x) - m), u_dot], axis=-1)

    def start_time(self, atol):
        return START_SCALE * atol ** (1.0 / 3.0) / max(1.0, self.a, self.b)

    def start(self, problem, x0, t_s):
        # Adam's midpoint rule (adam.AdamLimit.start) with u ≈ w(x0) on [0, t_s].
        w0 = self._w(problem, x0)

        def velocity(x):
            return -problem.grad_F(x) / np.maximum(w0, self._w(problem, x))

        x_half = x0 + 0.5 * t_s * velocity(x0)
        x_quarter = x0 + 0.25 * t_s * velocity(x0)
        x_s = x0 + t_s * velocity(x_quarter)
        m_s = problem.grad_F(x_half)
        if not self.debias:
            m_s = m_s * bias(self.a, t_s)
            # m(t) ≈ a∇F t: x moves like −a∇F t²/(2 w0) (second order), not like t.
            x_s = x0 - 0.5 * self.a * t_s**2 * problem.grad_F(x0) / w0
        u_s = np.maximum(self._w(problem, x_s), np.exp(-self.b * t_s) * w0)
        return np.concatenate([x_s, m_s, self._w(problem, x_s), u_s])

    def early(self, t, problem, x0, z0, z_s, t_s):
        """z on [0, t_s]: (x, m) quadratic through z(0), z(t_s) with slope field(0); u = w(x0)
        for t > 0 and u = 0 at t = 0 (the discrete z_0)."""
        t = np.asarray(t, dtype=float)
        tc = t[..., None] if t.ndim else t
        z_dot0 = self.field(0.0, z0, problem)
        curvature = ((z_s - z0) / t_s - z_dot0) / t_s
        z = z0 + tc * z_dot0 + tc**2 * curvature
        d = x0.shape[-1]
        u = np.where(tc > 0.0, self._w(problem, x0), 0.0)
        return np.concatenate([z[..., :2 * d], np.broadcast_to(u, z[..., 2 * d:].shape)],
                              axis=-1)

    def solver_field(self, t, w, problem):
        # Solver variables (x, m̂ or m, W, U): W integrates w = |∇F(x)| + ε, U is u. In the
        # tracking regime U and W have the same derivative formula, so U ≡ W bit for bit
        # (comparing U with a re-evaluated w(x) instead chatters between the two branches at
        # the rounding level and costs O(h) per step).
        x, m_var, w_var, u = split(w, 4)
        x_dot, w_dot, u_dot = self._rates(problem, x, m_var, u, w_var)
        rate = self.a / bias(self.a, column(t, x)) if self.debias else self.a
        m_dot = rate * (problem.grad_F(x) - m_var)
        return np.concatenate([x_dot, m_dot, w_dot, u_dot], axis=-1)

    def to_state(self, t, w):
        x, m_var, w_var, u = split(w, 4)
        m = m_var * bias(self.a, column(t, x)) if self.debias else m_var
        return np.concatenate([x, m, np.maximum(u, w_var)], axis=-1)


# ------------------------------------------------------------------------------------------------
# Kernel.
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _adamax_update(d, state, g, gamma, alpha, beta, eps, m_scale):
    """Slots (x, m, u): m = αm + (1−α)g, u = max(βu, |g| + ε), x −= γ m̂/u."""
    for i in range(d):
        m = alpha * state[d + i] + (1.0 - alpha) * g[i]
        u = beta * state[2 * d + i]
        w = abs(g[i]) + eps
        if w > u:
            u = w
        state[d + i] = m
        state[2 * d + i] = u
        state[i] -= gamma * (m * m_scale) / u


@implements("coefficients_start", AdamaxArgs)
def _start(h):
    return 1.0, 1.0, not h.debias


@implements("coefficients_next", AdamaxArgs)
def _next(h, n, c):
    return bias_step(h.alpha, c[0], c[1], c[2])


implements("gradient_point", AdamaxArgs)(at_x)


@implements("update", AdamaxArgs)
def _update(h, c, state, g, d):
    _adamax_update(d, state, g, h.gamma, h.alpha, h.beta, h.eps, c[1])
