r"""Adam with constant step (Barakat & Bianchi, Algorithm 2.1) and its ODE (eq. 3.3 / eq. 7.1).

Discrete rule, coordinatewise, g_n = ∇f(x_{n−1}, ξ_n)::

    m_n = α m_{n−1} + (1 − α) g_n,      v_n = β v_{n−1} + (1 − β) g_n²
    x_n = x_{n−1} − γ [m_n / (1 − αⁿ)] / (ε + sqrt(v_n / (1 − βⁿ)))

(``debias=False``: no bias corrections.) Scaling: α = 1 − aγ, β = 1 − bγ with a, b, ε fixed,
t = nγ. Limit: the non-autonomous ODE (3.3), singular at t = 0 (Lemma 7.3), or without bias
correction the autonomous ODE (7.1); energy V(t, z) of eq. (3.4), nonincreasing when b ≤ 4a.

Symbols ↔ arguments ↔ peers
---------------------------
=========  ==========  ==========================  ==========================
symbol     argument    torch.optim.Adam            optax.adam
=========  ==========  ==========================  ==========================
γ          ``gamma``   ``lr``                      ``learning_rate``
α = 1−aγ   ``a``       ``betas[0]`` = 1 − aγ       ``b1``
β = 1−bγ   ``b``       ``betas[1]`` = 1 − bγ       ``b2``
ε          ``eps``     ``eps`` (outside the root)  ``eps`` (outside the root)
debias     ``debias``  always True                 always True
=========  ==========  ==========================  ==========================

torch computes the same step as ``x -= (γ/(1−αⁿ)) · m / (sqrt(v)/sqrt(1−βⁿ) + ε)`` and updates
m by ``lerp`` (m + (1−α)(g − m)); the values agree to rounding (tested to 1e-12 after 1 000
exact-gradient steps against a transcription of torch's rule, and against torch itself when it is
installed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import check_positive, warn_if_lyapunov_fails
from ..dynamics import (adam_vector_field, autonomous_vector_field, bias_correction,
                        debiased_vector_field, initial_velocity)
from ..lyapunov import energy
from ..state import pack, unpack
from .base import (ContinuousLimit, Optimizer, at_minimizer, at_x, bias_at, check_rate,
                   implements, noise_slots, preconditioner_terms, rate_from_decay,
                   register_optimizer, split)

__all__ = ["Adam", "AdamArgs", "AdamLimit", "AdamRates", "adam_update", "bias_step",
           "register_bias_corrections", "BETA1", "BETA2"]

BETA1 = 0.9  # torch's and Kingma–Ba's default decay rates: the defaults of a and b
BETA2 = 0.999
# The Taylor start of eq. (3.3): t_s = START_SCALE · atol^{1/3} / max(1, a, b) (see
# adam_ode.integrate: the start errs by O(t_s³) in x, O((1 + a + b) t_s²) in (m̂, v̂)).
START_SCALE = 1.0


class AdamArgs(NamedTuple):
    """Kernel arguments of :class:`Adam`: γ, α, β, ε and whether to debias."""

    gamma: float
    alpha: float
    beta: float
    eps: float
    debias: bool


class AdamRates:
    """The hyperparameters the Adam family shares: γ, a, b (defaults from torch's β1, β2), ε,
    debias; validated by :meth:`check_rates`, with α = 1 − aγ and β = 1 − bγ."""

    def check_rates(self, lyapunov: bool = True) -> None:
        """Validate and normalise gamma, a, b, eps, debias (frozen-dataclass fields)."""
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        a = rate_from_decay(BETA1, gamma) if self.a is None else self.a
        b = rate_from_decay(BETA2, gamma) if self.b is None else self.b
        object.__setattr__(self, "a", check_rate("a", a, gamma, "alpha"))
        object.__setattr__(self, "b", check_rate("b", b, gamma, "beta"))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        object.__setattr__(self, "debias", bool(self.debias))
        if lyapunov:
            warn_if_lyapunov_fails(self.a, self.b, stacklevel=5)

    @property
    def alpha(self) -> float:
        return 1.0 - self.a * self.gamma

    @property
    def beta(self) -> float:
        return 1.0 - self.b * self.gamma


@register_optimizer
@dataclass(frozen=True)
class Adam(AdamRates, Optimizer):
    r"""Adam with constant step (Algorithm 2.1; see the module docstring for the peers' names).

    Parameters
    ----------
    gamma : float > 0
        γ, the step size.
    a : float in (0, 1/γ)
        Momentum rate; α = 1 − aγ (torch's β1). Default (1 − 0.9)/γ: Kingma–Ba's and torch's
        β1 = 0.9 (a = 100 at γ = 1e-3).
    b : float in (0, 1/γ)
        Second-moment rate; β = 1 − bγ (torch's β2). Default (1 − 0.999)/γ: β2 = 0.999 (b = 1
        at γ = 1e-3). b ≤ 4a for the Lyapunov guarantee (a :class:`~adam_ode.LyapunovWarning`
        otherwise). With the defaults, ``Adam(gamma=lr)`` is ``torch.optim.Adam(lr=lr)``.
    eps : float > 0
        ε, added outside the square root. Default 1e-8.
    debias : bool
        Bias corrections (1 − αⁿ), (1 − βⁿ) (True, Algorithm 2.1) or none (False).
    """

    gamma: float
    a: float | None = None
    b: float | None = None
    eps: float = 1e-8
    debias: bool = True
    name = "adam"
    slots = ("x", "m", "v")
    args_class = AdamArgs
    scaling = "alpha = 1 - a*gamma, beta = 1 - b*gamma, t = n*gamma"
    kernel_pairs = True

    def __post_init__(self):
        self.check_rates()

    def kernel_args(self):
        return AdamArgs(self.gamma, self.alpha, self.beta, self.eps, self.debias)

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])
        alpha, beta = self.alpha, self.beta
        m = alpha * state["m"] + (1.0 - alpha) * g
        v = beta * state["v"] + (1.0 - beta) * g**2
        if self.debias:
            m_hat, v_hat = m / (1.0 - alpha**n), v / (1.0 - beta**n)
        else:
            m_hat, v_hat = m, v
        x = state["x"] - self.gamma * m_hat / (self.eps + np.sqrt(v_hat))
        return {"x": x, "m": m, "v": v}

    def limit(self) -> "AdamLimit":
        return AdamLimit(self.a, self.b, self.eps, self.debias)


@dataclass(frozen=True)
class AdamLimit(ContinuousLimit):
    r"""The Adam ODE on z = (x, m, v): eq. (3.3) (``debias``) or the autonomous eq. (7.1).

    ẋ = −m̂/(ε + sqrt(v̂)), ṁ = a(∇F − m), v̇ = b(S − v), with m̂ = m/(1 − e^{−at}),
    v̂ = v/(1 − e^{−bt}) (or m, v without bias correction). Eq. (3.3) is 0/0 at t = 0: it is
    integrated in the debiased variables (x, m̂, v̂) from a midpoint Taylor start at
    t_s = atol^{1/3}/max(1, a, b) (see :mod:`adam_ode.integrate`); its energy is V(t, z) of
    eq. (3.4) (V∞ for eq. 7.1).
    """

    a: float
    b: float
    eps: float
    debias: bool = True
    slots = ("x", "m", "v")
    time = "t = n*gamma"
    has_energy = True

    @property
    def singular(self) -> bool:
        return self.debias

    def field(self, t, z, problem):
        f = adam_vector_field if self.debias else autonomous_vector_field
        return f(t, z, problem, self.a, self.b, self.eps)

    def start_time(self, atol):
        return START_SCALE * atol ** (1.0 / 3.0) / max(1.0, self.a, self.b)

    def start(self, problem, x0, t_s):
        # Midpoint rule: m̂(t_s) ≈ ∇F(x(t_s/2)), v̂(t_s) ≈ S(x(t_s/2)) (see adam_ode.integrate).
        x_dot0 = initial_velocity(problem, x0, self.eps)
        x_half = x0 + 0.5 * t_s * x_dot0
        x_quarter = x0 + 0.25 * t_s * x_dot0
        return pack(x0 + t_s * initial_velocity(problem, x_quarter, self.eps),
                    problem.grad_F(x_half), problem.S(x_half))

    def solver_field(self, t, w, problem):
        if not self.debias:
            return self.field(t, w, problem)
        return debiased_vector_field(t, w, problem, self.a, self.b, self.eps)

    def to_state(self, t, w):
        if not self.debias:
            return w
        # debiased (x, m̂, v̂) -> (x, m, v): m = m̂ (1 − e^{−at}), v = v̂ (1 − e^{−bt})
        x, m_hat, v_hat = unpack(w)
        tc = t[..., None] if np.ndim(t) else t
        return pack(x, m_hat * bias_correction(self.a, tc), v_hat * bias_correction(self.b, tc))

    def energy(self, t, z, problem):
        return energy(t, z, problem, self.a, self.b, self.eps, self.debias)

    # Fluctuations: m's noise is a(g − ∇F), v's b(g² − S); x_n uses m_n, v_n, so its noise is
    # O(γ²) and drops out. With m̂ = m/c_a, D = ε + sqrt(v̂): ∂ẋ/∂m = −1/(c_a D),
    # ∂ẋ/∂v = m̂/(2D² sqrt(v̂) c_b), ∂ṁ = [aH, −aI, 0], ∂v̇ = [b ∂S/∂x, 0, −bI].
    def jacobian(self, t, z, problem, moments):
        d = problem.dim
        m, v = z[d:2 * d], z[2 * d:]
        c_a = bias_at(self.a, t, self.debias)
        D, dv = preconditioner_terms(v, bias_at(self.b, t, self.debias), self.eps)
        I, Z = np.eye(d), np.zeros((d, d))
        return np.block([[Z, -np.diag(1.0 / (c_a * D)), np.diag((m / c_a) * dv)],
                         [self.a * moments.hessian, -self.a * I, Z],
                         [self.b * moments.dS, Z, -self.b * I]])

    def noise_map(self, t, z, problem, moments):
        B = noise_slots(3, problem.dim)
        B[1, 0] = self.a
        B[2, 1] = self.b
        return B

    def rest_state(self, problem):
        return at_minimizer(problem, lambda x: [np.zeros_like(x), problem.S(x)])

    def project(self, z):
        x, m, v = split(z, 3)
        return np.concatenate([x, m, np.maximum(v, 0.0)], axis=-1)

    def kernel_args(self):
        return AdamLimitArgs(self.a, self.b, self.eps, self.debias, 0.0)


class AdamLimitArgs(NamedTuple):
    """Kernel arguments of :class:`AdamLimit` (and AdamW's, with its decay λ; 0 for Adam)."""

    a: float
    b: float
    eps: float
    debias: bool
    weight_decay: float


@njit(cache=True, nogil=True, error_model="numpy")
def adam_limit_field(a, b, eps, debias, weight_decay, t, z, mu, s, out, d):
    """Eq. (3.3) (``debias``, with Lemma 7.3's m̂ = ∇F, v̂ = S at t = 0) or eq. (7.1), plus −λx."""
    c_a = 1.0
    c_b = 1.0
    if debias and t > 0.0:
        c_a = -math.expm1(-a * t)
        c_b = -math.expm1(-b * t)
    for i in range(d):
        m, v = z[d + i], z[2 * d + i]
        if debias and t == 0.0:
            m_hat, v_hat = mu[i], s[i]
        else:
            m_hat, v_hat = m / c_a, v / c_b
        out[i] = -m_hat / (eps + math.sqrt(max(v_hat, 0.0))) - weight_decay * z[i]
        out[d + i] = a * (mu[i] - m)
        out[2 * d + i] = b * (s[i] - v)


@implements("limit_field", AdamLimitArgs)
def _limit_field(la, t, z, mu, s, out, d):
    adam_limit_field(la.a, la.b, la.eps, la.debias, la.weight_decay, t, z, mu, s, out, d)


@implements("limit_noise", AdamLimitArgs)
def _limit_noise(la, t, z, mu, s, B, d):
    for i in range(d):
        B[1, 0, i] = la.a
        B[2, 1, i] = la.b


@njit(cache=True, nogil=True, error_model="numpy")
def clip_slot(z, slot, d):
    """z_slot ← max(z_slot, 0): the SDE's v is kept nonnegative by projection."""
    for i in range(d):
        if z[slot * d + i] < 0.0:
            z[slot * d + i] = 0.0


@implements("limit_project", AdamLimitArgs)
def _limit_project(la, z, d):
    clip_slot(z, 2, d)


# ------------------------------------------------------------------------------------------------
# Kernel: shared by the Adam family (AdamDecreasing, AdamW, AMSGrad reuse these helpers).
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def reciprocal_bias(power):
    """1/(1 − αⁿ) given αⁿ (1 once 1 − αⁿ rounds to 1; the kernel then stops calling it)."""
    c = 1.0 - power
    return 1.0 / c if c != 1.0 else 1.0


@njit(nogil=True, error_model="numpy", inline="always")
def bias_step(rate, power, scale, settled):
    """Next bias correction 1/(1 − rateⁿ) from rateⁿ⁻¹: returns (rateⁿ, scale, settled).

    rateⁿ (a running product, rounded) is nonincreasing, so once a correction rounds to 1 it
    stays 1 for every later n: it is then no longer recomputed. Same values, and the divider
    (shared with the square roots) is the step's bottleneck: skipping settled divisions saves
    ~10 ns per LinearRegression2D step.
    """
    if not settled:
        power *= rate
        scale = reciprocal_bias(power)
        settled = scale == 1.0
    return power, scale, settled


@njit(cache=True, nogil=True, error_model="numpy")
def adam_update(d, state, g, gamma, alpha, beta, eps, m_scale, v_scale):
    """Algorithm 2.1 (and 5.1 with γ_n, r_n, r̄_n) on slots (x, m, v): m_scale = 1/(1−αⁿ)."""
    for i in range(d):
        m = alpha * state[d + i] + (1.0 - alpha) * g[i]
        v = beta * state[2 * d + i] + (1.0 - beta) * (g[i] * g[i])
        state[d + i] = m
        state[2 * d + i] = v
        # ε outside the square root (Algorithm 2.1); the denominators are > 0 since ε > 0.
        state[i] -= gamma * (m * m_scale) / (eps + math.sqrt(v * v_scale))


def _start(h):
    settled = not h.debias
    return 1.0, 1.0, settled, 1.0, 1.0, settled


def _next(h, n, c):
    alpha_pow, m_scale, m_settled, beta_pow, v_scale, v_settled = c
    alpha_pow, m_scale, m_settled = bias_step(h.alpha, alpha_pow, m_scale, m_settled)
    beta_pow, v_scale, v_settled = bias_step(h.beta, beta_pow, v_scale, v_settled)
    return alpha_pow, m_scale, m_settled, beta_pow, v_scale, v_settled


def register_bias_corrections(args_class):
    """Register Algorithm 2.1's coefficients for ``args_class`` (fields ``alpha``, ``beta``,
    ``debias``): c = (αⁿ, 1/(1−αⁿ), settled, βⁿ, 1/(1−βⁿ), settled), gradient at x_{n−1}."""
    implements("coefficients_start", args_class)(_start)
    implements("coefficients_next", args_class)(_next)
    implements("gradient_point", args_class)(at_x)


register_bias_corrections(AdamArgs)


@implements("update", AdamArgs)
def _update(h, c, state, g, d):
    adam_update(d, state, g, h.gamma, h.alpha, h.beta, h.eps, c[1], c[4])
