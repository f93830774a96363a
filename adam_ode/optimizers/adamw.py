r"""AdamW (Loshchilov & Hutter 2019; seeds 002, 004): Adam with decoupled weight decay λ.

Discrete rule, coordinatewise, g_n = ∇f(x_{n−1}, ξ_n) at the *old* point, in torch's order
(decay first, then Adam's step)::

    x'  = x_{n−1} (1 − γλ)
    m_n = α m_{n−1} + (1 − α) g_n,      v_n = β v_{n−1} + (1 − β) g_n²
    x_n = x' − γ [m_n / (1 − αⁿ)] / (ε + sqrt(v_n / (1 − βⁿ)))

i.e. x_n = x_{n−1} − γ(m̂_n/(ε + sqrt(v̂_n)) + λ x_{n−1}) (``debias=False``: no bias
corrections). Scaling: α = 1 − aγ, β = 1 − bγ, λ fixed, t = nγ. With λ = 0 the kernel performs
Adam's arithmetic exactly (x·1.0 = x), so AdamW(weight_decay=0) equals Adam bit for bit.

Continuous limit *(derived: the decay is an O(γ) drift −γλx per step)*: Adam's ODE (3.3) with
a linear pull to the origin,

    ẋ = −m̂/(ε + sqrt(v̂)) − λx,   ṁ = a(∇F − m),   v̇ = b(S − v),

singular at t = 0 exactly like Adam's (Lemma 7.3, ẋ(0) = −∇F(x0)/(ε + sqrt(S(x0))) − λx0) and
integrated the same way in (x, m̂, v̂). Its rest points (m̂ = ∇F, v̂ = S) solve

    ∇F(x)/(ε + sqrt(S(x))) = −λx,

not ∇F(x) + λx = 0 (the minimizer of F + (λ/2)‖x‖², where Adam on the L2-penalised loss would
go): the penalty acts on the *normalised* gradient, so coordinates with large sqrt(S) are decayed
relatively more. :func:`rest_point` solves the equation; the two agree only where both vanish
(e.g. x* = 0 with ∇F(0) = 0: on :class:`~adam_ode.StochasticQuadratic` both are 0). No energy
is known: F + (λ/2)‖x‖² is not a Lyapunov function since its critical points are not the rest
points.

Symbols ↔ arguments ↔ peers
---------------------------
=========  ================  ================================  ===========================
symbol     argument          torch.optim.AdamW                 optax.adamw
=========  ================  ================================  ===========================
γ          ``gamma``         ``lr``                            ``learning_rate``
α = 1−aγ   ``a``             ``betas[0]`` = 1 − aγ             ``b1``
β = 1−bγ   ``b``             ``betas[1]`` = 1 − bγ             ``b2``
ε          ``eps``           ``eps`` (outside the root)        ``eps`` (outside the root)
λ          ``weight_decay``  ``weight_decay`` (decay lr·λ)     ``weight_decay`` (times lr)
debias     ``debias``        always True                       always True
=========  ================  ================================  ===========================

torch (``torch/optim/adamw.py``, ``_single_tensor_adamw``, read for this module): ``step_t += 1;
param.mul_(1 - lr * weight_decay); exp_avg.lerp_(grad, 1 - beta1);
exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2); denom = (exp_avg_sq.sqrt() /
sqrt(1 - beta2**step)).add_(eps); param.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**step))``.
The gradient was computed before the step, at x_{n−1}. Same values as ours to rounding (tested
to 1e-12 after 1 000 exact-gradient steps against a NumPy transcription of that rule). Note that
torch's ``Adam(weight_decay=λ)`` is the *coupled* L2 rule g ← g + λx, a different scheme.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import ParameterError, check_nonnegative, check_positive
from .adam import AdamLimit, AdamLimitArgs, AdamRates, adam_update, register_bias_corrections
from .base import Optimizer, implements, register_optimizer, split

__all__ = ["AdamW", "AdamWArgs", "AdamWLimit", "rest_point"]


class AdamWArgs(NamedTuple):
    """Kernel arguments of :class:`AdamW`: γ, α, β, ε, debias and the shrink factor 1 − γλ."""

    gamma: float
    alpha: float
    beta: float
    eps: float
    debias: bool
    shrink: float


@register_optimizer
@dataclass(frozen=True)
class AdamW(AdamRates, Optimizer):
    r"""AdamW: Adam with decoupled weight decay (see the module docstring for the peers' names).

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
    weight_decay : float in [0, 1/γ)
        λ; each step first multiplies x by 1 − γλ. Default 1e-2 (torch's default).
    debias : bool
        Bias corrections (default True, as torch).
    """

    gamma: float
    a: float | None = None
    b: float | None = None
    eps: float = 1e-8
    weight_decay: float = 1e-2
    debias: bool = True
    name = "adamw"
    slots = ("x", "m", "v")
    args_class = AdamWArgs
    scaling = "alpha = 1 - a*gamma, beta = 1 - b*gamma, weight_decay fixed, t = n*gamma"

    @classmethod
    def example(cls) -> "AdamW":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.01, a=2.0, b=3.0, weight_decay=0.1)

    def __post_init__(self):
        self.check_rates()
        gamma = self.gamma
        lam = check_nonnegative("weight_decay", self.weight_decay)
        if not lam * gamma < 1.0:
            raise ParameterError(f"weight_decay*gamma must be < 1 so that 1 - gamma*weight_decay "
                                 f"> 0 (allowed range: weight_decay in [0, 1/gamma) = "
                                 f"[0, {1.0 / gamma:g})), got weight_decay = {lam!r}")
        object.__setattr__(self, "weight_decay", lam)

    def kernel_args(self):
        # 1 − γλ rounded once, as torch's `1 - lr * weight_decay`.
        return AdamWArgs(self.gamma, self.alpha, self.beta, self.eps, self.debias,
                         1.0 - self.gamma * self.weight_decay)

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])  # at x_{n−1}, before the decay
        x = state["x"] * (1.0 - self.gamma * self.weight_decay)
        m, v, m_hat, v_hat = self.numpy_moments(n, state, g)
        return {"x": x - self.gamma * m_hat / (self.eps + np.sqrt(v_hat)), "m": m, "v": v}

    def limit(self) -> "AdamWLimit":
        return AdamWLimit(self.a, self.b, self.eps, self.debias, self.weight_decay)

    batch_scaling_rules = ("sqrt", "linear")

    sqrt_rule_times = ('gamma', 'a', 'b', 'weight_decay')
    sqrt_rule_divides = ('eps',)

    def rest_point(self, problem, x0):
        """The rest point of the limit near ``x0`` (see :func:`rest_point`)."""
        return rest_point(problem, x0, self.weight_decay, self.eps)


@dataclass(frozen=True)
class AdamWLimit(AdamLimit):
    r"""Adam's ODE with decoupled decay: ẋ = −m̂/(ε + sqrt(v̂)) − λx (module docstring).

    Same singular start as :class:`~adam_ode.optimizers.adam.AdamLimit` (x-velocity with −λx
    added), same solver variables (x, m̂, v̂). No known energy.
    """

    weight_decay: float = 0.0
    has_energy = False
    sde_kernel = None  # the (x, m, v) kernels have no decay term: the generic kernel runs AdamW
    sde_orders = (1,)

    def _decay(self, z):
        x = split(z, 3)[0]
        return np.concatenate([-self.weight_decay * x, np.zeros_like(x), np.zeros_like(x)],
                              axis=-1)

    def field(self, t, z, problem):
        return super().field(t, z, problem) + self._decay(z)

    def solver_field(self, t, w, problem):
        return super().solver_field(t, w, problem) + self._decay(w)

    def start(self, problem, x0, t_s):
        # Adam's midpoint start (adam.AdamLimit.start) with ẋ(0) = −∇F/(ε + sqrt(S)) − λx.
        def velocity(x):
            return -problem.grad_F(x) / (self.eps + np.sqrt(problem.S(x))) - self.weight_decay * x

        x_half = x0 + 0.5 * t_s * velocity(x0)
        x_quarter = x0 + 0.25 * t_s * velocity(x0)
        x_s = x0 + t_s * velocity(x_quarter)
        # (Only used with debias: the autonomous limit is regular and integrated from t = 0.)
        return np.concatenate([x_s, problem.grad_F(x_half), problem.S(x_half)])

    # Fluctuations: Adam's noise; the decay adds −λI to ∂ẋ/∂x. Rest point: :func:`rest_point`.
    def jacobian(self, t, z, problem, moments):
        J = super().jacobian(t, z, problem, moments)
        d = problem.dim
        J[:d, :d] -= self.weight_decay * np.eye(d)
        return J

    def kernel_args(self):
        return AdamLimitArgs(self.a, self.b, self.eps, self.debias, self.weight_decay)

    def rest_state(self, problem):
        x_hint = problem.minimizer if problem.minimizer is not None else np.zeros(problem.dim)
        x_r = rest_point(problem, x_hint, self.weight_decay, self.eps)
        return np.concatenate([x_r, problem.grad_F(x_r), problem.S(x_r)])

    def energy(self, t, z, problem):
        raise NotImplementedError("AdamWLimit has no known energy: F + (λ/2)‖x‖² is not "
                                  "nonincreasing (its critical points are not the rest points)")


# Root finding: the rest-point equation is smooth where S > 0 (MINPACK `hybr`); a root is
# accepted when |G| is below REST_RESIDUAL relative to 1 + ‖∇F/(ε+√S)‖ + λ‖x‖ (hybr's own
# success flag is unreliable at xtol near rounding: it may report "no progress" at a root).
REST_XTOL = 1e-13
REST_RESIDUAL = 1e-9


def rest_point(problem, x0, weight_decay: float, eps: float = 1e-8) -> np.ndarray:
    r"""A rest point of the AdamW limit: a root of G(x) = ∇F(x)/(ε + sqrt(S(x))) + λx near x0.

    (x, ∇F(x), S(x)) is then an equilibrium of the autonomous limit and the t → ∞ state of the
    non-autonomous one. Raises if the root finder fails.
    """
    from scipy.optimize import root

    lam = check_nonnegative("weight_decay", weight_decay)
    eps = check_positive("eps", eps)
    x0 = np.asarray(x0, dtype=float)

    def G(x):
        return problem.grad_F(x) / (eps + np.sqrt(problem.S(x))) + lam * x

    sol = root(G, x0, method="hybr", options={"xtol": REST_XTOL})
    x = sol.x
    scale = 1.0 + np.linalg.norm(G(x) - lam * x) + lam * np.linalg.norm(x)
    if not np.linalg.norm(G(x)) <= REST_RESIDUAL * scale:
        raise RuntimeError(f"rest_point: the root finder failed from x0 = {x0}: {sol.message} "
                           f"(|G| = {np.linalg.norm(G(x)):.3g})")
    return x


# ------------------------------------------------------------------------------------------------
# Kernel: decay, then Adam's update (adam.adam_update; same arithmetic, x·1.0 = x for λ = 0).
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _adamw_update(d, state, g, gamma, alpha, beta, eps, m_scale, v_scale, shrink):
    for i in range(d):
        state[i] *= shrink  # torch: param.mul_(1 - lr * weight_decay), before the Adam step
    adam_update(d, state, g, gamma, alpha, beta, eps, m_scale, v_scale)


register_bias_corrections(AdamWArgs)


@implements("update", AdamWArgs)
def _update(h, c, state, g, d):
    _adamw_update(d, state, g, h.gamma, h.alpha, h.beta, h.eps, c[1], c[4], h.shrink)
