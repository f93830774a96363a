r"""AdaGrad (Duchi et al. 2011; seeds 002–004) and its limit on the time τ = nγ².

Discrete rule, coordinatewise, g_n = ∇f(x_{n−1}, ξ_n), w_0 = 0::

    w_n = w_{n−1} + g_n²,      x_n = x_{n−1} − γ g_n / (sqrt(w_n) + ε)

Scaling: w grows like n, so at fixed t = nγ the steps γ/sqrt(w_n) ~ γ/sqrt(n) vanish (AdaGrad
freezes). The limit lives on τ = nγ² with W = γ²w and ε̃ = γε::

    dx/dτ = −∇F(x) / (sqrt(W) + ε̃),    dW/dτ = S(x),    x(0) = x0, W(0) = 0

Singular start: W ≈ τS(x0), so dx/dτ ≈ −∇F/sqrt(S τ): x moves like sqrt(τ),
x(τ) − x0 ≈ −(2∇F/S)[R − ε̃ log(1 + R/ε̃)], R = sqrt(S(x0)τ) (→ −2 sqrt(τ)∇F/sqrt(S) as ε̃ → 0).
The start at τ_s = atol^{2/3} (s_s = sqrt(τ_s) = atol^{1/3}) is a Taylor expansion in
s = sqrt(τ): W = τŴ where Ŵ(s), the average of S(x(s')) with weight 2s'/s² (Ŵ(0+) = S(x0),
dŴ/ds = 2(S − Ŵ)/s, like Adam's debiased moments), is taken as S(x(2s/3)) (the weight's centre);
x(s) follows the frozen form above with ∇F at x(s/2) and S at x(s/3) (the midpoint of dx/ds, with
Ŵ(s/2) ≈ S(x(s/3))): O(s_s³) in x. From τ_s on the solver integrates (x, W) itself: that field is
regular for τ > 0 and not stiff (dx/dτ ~ τ^{−1/2}), whereas Ŵ relaxes at the rate 1/τ and
made scipy's first trial steps overflow. F is nonincreasing along the limit,
dF/dτ = −Σ ∇F²/(sqrt(W) + ε̃) ≤ 0 (its energy).

Discrete vs limit: O(γ) in x on a fixed τ-horizon, ``limit_order = 1`` (one half in the time
step γ²). With exact gradients and x frozen, x_n − x0 = −γ sign(∇F) Σ_{k≤n} k^{−1/2} while the limit
gives −2γ sqrt(n) sign(∇F): Σ k^{−1/2} = 2 sqrt(n) + ζ(1/2) + O(n^{−1/2}), ζ(1/2) = −1.4604, so
the discrete path lags the limit by |ζ(1/2)|·γ·|∇F|/sqrt(S) from the first steps on, and the flow
carries that O(γ) offset (paper_notes.md; measured by tests/test_adagrad.py).

Symbols ↔ arguments ↔ peers
---------------------------
=========  ==========  =========================================  ==========================
symbol     argument    torch.optim.Adagrad                        optax.adagrad
=========  ==========  =========================================  ==========================
γ          ``gamma``   ``lr`` (with ``lr_decay=0``)               ``learning_rate``
w_0 = 0    —           ``initial_accumulator_value=0`` (default)  ``initial_accumulator_value=0``
ε          ``eps``     ``eps`` (outside the root; default 1e-10)  ``eps`` is *inside* the root
=========  ==========  =========================================  ==========================

torch (torch/optim/adagrad.py, ``_single_tensor_adagrad``): ``state_sum.addcmul_(grad, grad)``,
``std = state_sum.sqrt().add_(eps)``, ``param.addcdiv_(grad, std, value=-clr)`` with
clr = lr/(1 + (step − 1)·lr_decay): exactly this rule for lr_decay = 0 and a zero initial
accumulator. optax's ``scale_by_rss`` multiplies by rsqrt(w + eps) (default w_0 = 0.1,
eps = 1e-7): the same rule only for eps = 0 and w_0 = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import ParameterError, check_positive
from .base import (ContinuousLimit, Optimizer, at_x, column, implements, register_optimizer,
                   split)

__all__ = ["AdaGrad", "AdaGradArgs", "AdaGradLimit"]

# Taylor start at s_s = sqrt(τ_s) = atol**(1/3): the start errs by O(s_s³) in x (see the module
# docstring) and an error δ = O(s_s²) in Ŵ = W/τ is averaged out like (s_s/s)², moving x by
# O(s_s·δ) = O(s_s³).
START_EXPONENT = 2.0 / 3.0  # τ_s = atol**START_EXPONENT


class AdaGradArgs(NamedTuple):
    """Kernel arguments of :class:`AdaGrad`: γ and ε."""

    gamma: float
    eps: float


@register_optimizer
@dataclass(frozen=True)
class AdaGrad(Optimizer):
    r"""AdaGrad, w_n = w_{n−1} + g_n², x_n = x_{n−1} − γ g_n/(sqrt(w_n) + ε) (module docstring).

    Parameters
    ----------
    gamma : float > 0
        γ, the step (torch's ``lr``); limit time τ = nγ².
    eps : float > 0
        ε, added outside the square root. Default 1e-10 (torch's default). The limit sees
        ε̃ = γε.
    """

    gamma: float
    eps: float = 1e-10
    name = "adagrad"
    slots = ("x", "w")
    args_class = AdaGradArgs
    scaling = "tau = n*gamma**2, W = gamma**2 * w, eps_tilde = gamma*eps"
    limit_order = 1.0

    @classmethod
    def example(cls) -> "AdaGrad":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.05, eps=1e-8)

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        eps = check_positive("eps", self.eps)
        if not gamma * eps > 0.0 or not gamma**2 > 0.0:
            raise ParameterError(f"eps*gamma and gamma**2 must not underflow to 0 (the limit's "
                                 f"eps_tilde = gamma*eps, tau = n*gamma**2), got eps = {eps!r}, "
                                 f"gamma = {gamma!r}")
        object.__setattr__(self, "eps", eps)

    def kernel_args(self):
        return AdaGradArgs(self.gamma, self.eps)

    def times(self, steps):
        return np.asarray(steps) * self.gamma**2

    def numpy_step(self, n, state, grad):
        g = grad(state["x"])
        w = state["w"] + g**2
        return {"x": state["x"] - self.gamma * g / (np.sqrt(w) + self.eps), "w": w}

    def limit(self):
        return AdaGradLimit(self.gamma * self.eps)

    def from_limit_state(self, z_limit):
        x, W = split(z_limit, 2)
        return np.concatenate([x, W / self.gamma**2], axis=-1)

    def to_limit_state(self, z):
        x, w = split(z, 2)
        return np.concatenate([x, w * self.gamma**2], axis=-1)


def _frozen_shift(g, S, s, eps_tilde):
    """x(s) − x0 with x frozen at a point where ∇F = g, S = S: −(2g/S)[R − ε̃ log(1 + R/ε̃)],
    R = s·sqrt(S); −g s²/ε̃ where S = 0 (then dx/dτ = −g/ε̃)."""
    positive = S > 0.0
    S_safe = np.where(positive, S, 1.0)
    R = s * np.sqrt(S_safe)
    moving = -(2.0 * g / S_safe) * (R - eps_tilde * np.log1p(R / eps_tilde))
    return np.where(positive, moving, -g * s**2 / eps_tilde)


@dataclass(frozen=True)
class AdaGradLimit(ContinuousLimit):
    r"""dx/dτ = −∇F/(sqrt(W) + ε̃), dW/dτ = S on (x, W) from (x0, 0); τ = nγ², ε̃ = γε.

    Singular at τ = 0 (x moves like sqrt(τ)): integrated in (x, W) from a Taylor start at τ_s
    (module docstring), which is also the dense output on [0, τ_s]. Energy: F (nonincreasing).
    """

    eps_tilde: float
    slots = ("x", "W")
    time = "tau = n*gamma**2"
    singular = True
    has_energy = True
    no_fluctuations = (
        "AdaGrad has no linear-noise approximation: the x-noise of step n, "
        "gamma*(g - grad F)/sqrt(w_n), has variance ~ gamma^2 C/(n S), so Cov x_n ~ "
        "gamma^2 (C/S) log n = gamma^2 (C/S)(log tau + 2 log(1/gamma)): not gamma^2 times a "
        "limit P(tau) (the Q ~ 1/tau of the covariance ODE is not integrable at tau = 0)")

    def field(self, t, z, problem):
        x, W = split(z, 2)
        x_dot = -problem.grad_F(x) / (np.sqrt(np.maximum(W, 0.0)) + self.eps_tilde)
        return np.concatenate([x_dot, problem.S(x)], axis=-1)

    def start_time(self, atol):
        return atol ** START_EXPONENT

    def _taylor(self, problem, x0, tau):
        """Solver variables (x, Ŵ) at τ (scalar or array) from the start of the module docstring."""
        x0 = np.asarray(x0, dtype=float)
        s = column(np.sqrt(np.asarray(tau, dtype=float)), x0)
        g0, S0 = problem.grad_F(x0), problem.S(x0)

        def predictor(fraction):
            return x0 + _frozen_shift(g0, S0, fraction * s, self.eps_tilde)

        x_half, x_third = predictor(0.5), predictor(1.0 / 3.0)
        x = x0 + _frozen_shift(problem.grad_F(x_half), problem.S(x_third), s, self.eps_tilde)
        W_hat = problem.S(predictor(2.0 / 3.0))
        return np.concatenate([x, W_hat], axis=-1)

    def _taylor_state(self, problem, x0, tau):
        x, W_hat = split(self._taylor(problem, x0, tau), 2)
        return np.concatenate([x, column(np.asarray(tau, dtype=float), x) * W_hat], axis=-1)

    def start(self, problem, x0, t_s):
        return self._taylor_state(problem, x0, t_s)

    def early(self, t, problem, x0, z0, z_s, t_s):
        """z on [0, τ_s]: the Taylor start at each τ."""
        return self._taylor_state(problem, x0, t)

    def energy(self, t, z, problem):
        return problem.F(split(z, 2)[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _adagrad_update(d, state, g, gamma, eps):
    """w += g², x −= γ g/(sqrt(w) + ε); slots (x, w)."""
    for i in range(d):
        w = state[d + i] + g[i] * g[i]
        state[d + i] = w
        state[i] -= gamma * g[i] / (math.sqrt(w) + eps)


@implements("coefficients_start", AdaGradArgs)
def _start(h):
    return (0.0,)


@implements("coefficients_next", AdaGradArgs)
def _next(h, n, c):
    return c


implements("gradient_point", AdaGradArgs)(at_x)


@implements("update", AdaGradArgs)
def _update(h, c, state, g, d):
    _adagrad_update(d, state, g, h.gamma, h.eps)
