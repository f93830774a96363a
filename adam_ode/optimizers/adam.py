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

from .._validation import ParameterError, check_positive, warn_if_lyapunov_fails
from .base import (ContinuousLimit, Optimizer, at_minimizer, at_x, bias, bias_at, check_rate,
                   column, implements, noise_slots, preconditioner_terms, rate_from_decay,
                   register_optimizer, split)

__all__ = ["Adam", "AdamArgs", "AdamLimit", "AdamRates", "adam_update", "bias_step",
           "register_bias_corrections", "BETA1", "BETA2", "adam_field", "debiased_moments",
           "debiased_field", "initial_velocity", "bias_rate", "metric", "metric_rate",
           "adam_energy", "adam_energy_rate", "adam_energy_rate_bound", "mass", "mass_rate",
           "friction", "hbf_residual", "HBF_FD_STEP", "pack", "unpack", "initial_state"]

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

    def numpy_moments(self, n, state, g):
        """Step n's moments m, v and the m̂, v̂ the step divides (debiased when ``debias``), in
        NumPy: the records' transcriptions share them."""
        alpha, beta = self.alpha, self.beta
        m = alpha * state["m"] + (1.0 - alpha) * g
        v = beta * state["v"] + (1.0 - beta) * g**2
        if self.debias:
            return m, v, m / (1.0 - alpha**n), v / (1.0 - beta**n)
        return m, v, m, v


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

    @classmethod
    def example(cls) -> "Adam":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.01, a=2.0, b=3.0)

    def __post_init__(self):
        self.check_rates()

    def kernel_args(self):
        return AdamArgs(self.gamma, self.alpha, self.beta, self.eps, self.debias)

    def numpy_step(self, n, state, grad):
        m, v, m_hat, v_hat = self.numpy_moments(n, state, grad(state["x"]))
        x = state["x"] - self.gamma * m_hat / (self.eps + np.sqrt(v_hat))
        return {"x": x, "m": m, "v": v}

    def limit(self) -> "AdamLimit":
        return AdamLimit(self.a, self.b, self.eps, self.debias)

    batch_scaling_rules = ("sqrt", "linear")

    sqrt_rule_times = ('gamma', 'a', 'b')
    sqrt_rule_divides = ('eps',)


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
    # The (x, m, v) kernels of adam_ode.fluctuations.sde: 1.4-3.8x faster than the generic one
    # on this limit (docs/benchmarks.md), and the only ones with the second-order equation.
    sde_kernel = "xmv-moments"

    @property
    def singular(self) -> bool:
        return self.debias

    @property
    def sde_orders(self) -> tuple:
        # The second-order modified equation is derived for eq. (7.1) only (paper_notes.md).
        return (1,) if self.debias else (1, 2)

    def field(self, t, z, problem):
        return adam_field(t, z, problem, self.a, self.b, self.eps, self.debias)

    def start_time(self, atol):
        return START_SCALE * atol ** (1.0 / 3.0) / max(1.0, self.a, self.b)

    def start(self, problem, x0, t_s):
        # Midpoint rule: m̂(t_s) ≈ ∇F(x(t_s/2)), v̂(t_s) ≈ S(x(t_s/2)) (see adam_ode.integrate).
        x_dot0 = initial_velocity(problem, x0, self.eps)
        x_half = x0 + 0.5 * t_s * x_dot0
        x_quarter = x0 + 0.25 * t_s * x_dot0
        return _pack(x0 + t_s * initial_velocity(problem, x_quarter, self.eps),
                     problem.grad_F(x_half), problem.S(x_half))

    def solver_field(self, t, w, problem):
        if not self.debias:
            return self.field(t, w, problem)
        return debiased_field(t, w, problem, self.a, self.b, self.eps)

    def to_state(self, t, w):
        if not self.debias:
            return w
        # debiased (x, m̂, v̂) -> (x, m, v): m = m̂ (1 − e^{−at}), v = v̂ (1 − e^{−bt})
        x, m_hat, v_hat = split(w, 3)
        tc = t[..., None] if np.ndim(t) else t
        return _pack(x, m_hat * bias(self.a, tc), v_hat * bias(self.b, tc))

    def energy(self, t, z, problem):
        return adam_energy(t, z, problem, self.a, self.b, self.eps, self.debias)

    def energy_condition(self):
        # Lemma 7.5 and Assumption 2.5: dV/dt <= -(eps/2)|x'|^2 when 0 < b <= 4a.
        return ("b_le_4a", bool(self.b <= 4.0 * self.a))

    def energy_parameters(self):
        return {"a": self.a, "b": self.b}

    def energy_rate(self, t, z, problem):
        """d/dt of :meth:`energy` along the flow (analytic, chain rule)."""
        return adam_energy_rate(t, z, problem, self.a, self.b, self.eps, self.debias)

    def energy_rate_bound(self, t, z, problem):
        """The dissipation bound of Lemma 7.5 that :meth:`energy_rate` stays below (b ≤ 4a)."""
        return adam_energy_rate_bound(t, z, problem, self.a, self.b, self.eps, self.debias)

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
# The Adam ODE in NumPy: fields (eq. 3.3, 7.1, the debiased form), energy (eqs. 3.4-3.5, Lemma 7.5)
# and the heavy-ball form (paper_notes.md, "Heavy ball with friction"). Fields take a single state (3d,)
# or a batch (..., 3d) with t broadcast against the batch shape.
# ------------------------------------------------------------------------------------------------

def pack(x, m, v) -> np.ndarray:
    """z = (x, m, v) of shape ``(..., 3d)`` from its slots, each ``(..., d)``."""
    return np.concatenate([np.asarray(x, float), np.asarray(m, float), np.asarray(v, float)],
                          axis=-1)


_pack = pack


def unpack(z) -> tuple:
    """Views x, m, v ``(..., d)`` of z ``(..., 3d)``."""
    z = np.asarray(z, dtype=float)
    if z.shape[-1] % 3:
        raise ParameterError(f"z must have a last axis of length 3d, got {z.shape[-1]}")
    return split(z, 3)


def initial_state(x0) -> np.ndarray:
    """z_0 = (x0, 0, 0), the start of Algorithm 2.1 and of the ODE (3.3)."""
    x0 = np.asarray(x0, dtype=float)
    return pack(x0, np.zeros_like(x0), np.zeros_like(x0))


def bias_rate(rate: float, t):
    """d/dt (1 − e^{−rate·t}) = rate · e^{−rate·t}."""
    return rate * np.exp(-rate * np.asarray(t, dtype=float))


def debiased_moments(t, z, problem, a: float, b: float):
    r"""m̂ = m/(1 − e^{−at}) and v̂ = v/(1 − e^{−bt}), with their t = 0 limits ∇F(x), S(x).

    Lemma 7.3: along the solution from (x0, 0, 0), m(t) ~ a∇F(x0) t and v(t) ~ b S(x0) t, so the
    ratios have the finite limits ∇F(x0) and S(x0) at t = 0.
    """
    x, m, v = split(z, 3)
    tc = np.broadcast_to(column(t, x), x.shape)
    at_zero = tc == 0.0
    A = bias(a, tc)
    B = bias(b, tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = np.where(at_zero, 0.0, m / np.where(at_zero, 1.0, A))
        v_hat = np.where(at_zero, 0.0, v / np.where(at_zero, 1.0, B))
    if np.any(at_zero):
        m_hat = np.where(at_zero, problem.grad_F(x), m_hat)
        v_hat = np.where(at_zero, problem.S(x), v_hat)
    return m_hat, v_hat


def adam_field(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""The Adam field h(t, z): eq. (3.3) with bias corrections, eq. (7.1) without.

    ẋ = −m̂/(ε + sqrt(v̂)),  ṁ = a(∇F(x) − m),  v̇ = b(S(x) − v), with m̂ = m/(1 − e^{−at}),
    v̂ = v/(1 − e^{−bt}) (m, v for eq. 7.1, where t is ignored). At t = 0 eq. (3.3) is 0/0; its
    limit (Lemma 7.3) is ẋ(0) = −∇F(x)/(ε + sqrt(S(x))).
    """
    x, m, v = split(z, 3)
    if debias:
        m_hat, v_hat = debiased_moments(t, z, problem, a, b)
    else:
        m_hat, v_hat = m, v
    x_dot = -m_hat / (eps + np.sqrt(np.maximum(v_hat, 0.0)))
    return _pack(x_dot, a * (problem.grad_F(x) - m), b * (problem.S(x) - v))


def debiased_field(t, w, problem, a: float, b: float, eps: float) -> np.ndarray:
    r"""Eq. (3.3) in the debiased variables w = (x, m̂, v̂), valid for t > 0 (derived):

    ẋ = −m̂/(ε + sqrt(v̂)),  dm̂/dt = a/(1 − e^{−at}) (∇F − m̂),  dv̂/dt = b/(1 − e^{−bt}) (S − v̂).

    The variables stay O(1) as t ↓ 0 (m̂ → ∇F(x0), v̂ → S(x0)), which is why the solver works
    in them; the coefficients are singular at t = 0 itself.
    """
    x, m_hat, v_hat = split(w, 3)
    tc = column(t, x)
    x_dot = -m_hat / (eps + np.sqrt(np.maximum(v_hat, 0.0)))
    m_dot = (a / bias(a, tc)) * (problem.grad_F(x) - m_hat)
    v_dot = (b / bias(b, tc)) * (problem.S(x) - v_hat)
    return _pack(x_dot, m_dot, v_dot)


def initial_velocity(problem, x0, eps: float) -> np.ndarray:
    """Lemma 7.3: ẋ(0) = −∇F(x0) / (ε + sqrt(S(x0))) for the non-autonomous ODE."""
    return -problem.grad_F(x0) / (eps + np.sqrt(problem.S(x0)))


def _sqrt_vhat_and_rate(t, v, v_dot, b: float):
    """w = sqrt(v/(1 − e^{−bt})) and dw/dt, for t > 0."""
    B = bias(b, t)
    w = np.sqrt(np.maximum(v, 0.0) / B)
    w_dot = (v_dot / B - v * bias_rate(b, t) / B**2) / (2.0 * w)
    return w, w_dot


def metric(t, v, a: float, b: float, eps: float, debias: bool = True):
    """U(t, v) = a(1 − e^{−at})(ε + sqrt(v/(1 − e^{−bt}))) of eq. (3.4); U∞(v) = a(ε + sqrt(v))
    without bias correction."""
    v = np.asarray(v, dtype=float)
    if not debias:
        return a * (eps + np.sqrt(np.maximum(v, 0.0)))
    tc = column(t, v)
    B = bias(b, tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.sqrt(np.maximum(v, 0.0) / B)
    # At t = 0 the factor (1 − e^{−at}) vanishes and U = 0 whatever the finite limit of w.
    return a * bias(a, tc) * (eps + np.where(tc > 0, w, 0.0))


def metric_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """dU/dt along the flow (v̇ = b(S(x) − v)); t = 0 uses the Lemma 7.3 limit."""
    x, m, v = split(z, 3)
    v_dot = b * (problem.S(x) - v)
    if not debias:
        with np.errstate(divide="ignore", invalid="ignore"):
            return a * v_dot / (2.0 * np.sqrt(v))
    tc = np.broadcast_to(column(t, x), x.shape)
    at_zero = tc == 0.0
    ts = np.where(at_zero, 1.0, tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        w, w_dot = _sqrt_vhat_and_rate(ts, v, v_dot, b)
        rate = a * (bias_rate(a, ts) * (eps + w) + bias(a, ts) * w_dot)
    # t = 0: U = a(1 − e^{−at})(ε + w) with w → sqrt(S(x0)), so dU/dt(0) = a²(ε + sqrt(S(x0))).
    return np.where(at_zero, a * a * (eps + np.sqrt(problem.S(x))), rate)


def adam_energy(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""Lyapunov energy V(t, z) = F(x) + ½ Σ m²/U(t, v) (eq. 3.4); V∞(z) without bias
    correction. At t = 0, V(0, (x, 0, v)) = F(x): the kinetic term vanishes like t."""
    x, m, v = split(z, 3)
    u = metric(t, v, a, b, eps, debias)
    kinetic = np.divide(m**2, u, out=np.where(m == 0.0, 0.0, np.inf), where=u > 0)
    return problem.F(x) + 0.5 * np.sum(kinetic, axis=-1)


def adam_energy_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""Analytic d/dt V(t, z(t)) along the flow: ∇F(x)·ẋ + Σ m ṁ/U − ½ Σ m² U̇/U².

    At t = 0 (non-autonomous) the limit is −½ Σ ∇F(x0)²/(ε + sqrt(S(x0))) (from Lemma 7.3).
    """
    x, m, v = split(z, 3)
    x_dot, m_dot, _ = split(adam_field(t, z, problem, a, b, eps, debias), 3)
    u = metric(t, v, a, b, eps, debias)
    u_dot = metric_rate(t, z, problem, a, b, eps, debias)
    with np.errstate(divide="ignore", invalid="ignore"):
        kinetic_rate = m * m_dot / u - 0.5 * m**2 * u_dot / u**2
    # Where m = 0 (the start of the flow) the kinetic term and its rate vanish: m² U̇ → 0 there
    # even though U̇ may blow up (autonomous case: d sqrt(v)/dt ~ t^{-1/2}).
    kinetic_rate = np.where(m == 0.0, 0.0, kinetic_rate)
    rate = np.sum(problem.grad_F(x) * x_dot + kinetic_rate, axis=-1)
    if debias:
        at_zero = np.asarray(t) == 0.0
        if np.any(at_zero):
            limit = -0.5 * np.sum(problem.grad_F(x) ** 2 / (eps + np.sqrt(problem.S(x))), axis=-1)
            rate = np.where(at_zero, limit, rate)
    return rate


def adam_energy_rate_bound(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""Lemma 7.5's dissipation bound −(ε/2)‖a m/U‖² = −(ε/2)‖ẋ‖² (autonomous: −ε‖ẋ‖²)."""
    x_dot = split(adam_field(t, z, problem, a, b, eps, debias), 3)[0]
    factor = 0.5 * eps if debias else eps
    return -factor * np.sum(x_dot**2, axis=-1)


# Relative step of the central differences used by hbf_residual: balances the O(h²) truncation
# error against the O(tol/h) amplification of the dense-output error (tol ~ 1e-10).
HBF_FD_STEP = 1e-4


def mass(t, z, a: float, b: float, eps: float, debias: bool = True):
    """Mass M(t) = U(t, v)/a² of the heavy-ball form (coordinatewise), shape ``(..., d)``."""
    return metric(t, split(z, 3)[2], a, b, eps, debias) / a**2


def mass_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """Ṁ = U̇/a² along the flow."""
    return metric_rate(t, z, problem, a, b, eps, debias) / a**2


def friction(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """Viscosity c2(t) = a M(t) + Ṁ(t) of the heavy-ball form M ẍ + c2 ẋ + ∇F(x) = 0."""
    return a * mass(t, z, a, b, eps, debias) + mass_rate(t, z, problem, a, b, eps, debias)


def hbf_residual(solution, t, problem, a: float, b: float, eps: float, debias: bool = True,
                 step: float = HBF_FD_STEP):
    r"""Residual M ẍ + c2 ẋ + ∇F(x) of the heavy-ball form along a solved Adam trajectory.

    ẋ is the field on the dense solution; ẍ its central difference with step
    ``h = step * max(t, 1)``: a check of the heavy-ball algebra (mass, Ṁ, c2) against the
    trajectory, of the size of the finite-difference error. Times must satisfy 0 < t < T.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if np.any(t <= 0.0) or np.any(t >= solution.T):
        raise ParameterError(f"t must lie in (0, T) = (0, {solution.T:g}), got {t}")
    h = np.minimum(step * np.maximum(t, 1.0), 0.5 * np.minimum(t, solution.T - t))

    def x_dot(s):
        return split(adam_field(s, solution(s), problem, a, b, eps, debias), 3)[0]

    z = solution(t)
    x_ddot = (x_dot(t + h) - x_dot(t - h)) / (2.0 * h[:, None])
    c1 = mass(t, z, a, b, eps, debias)
    c2 = friction(t, z, problem, a, b, eps, debias)
    return c1 * x_ddot + c2 * x_dot(t) + problem.grad_F(split(z, 3)[0])


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
