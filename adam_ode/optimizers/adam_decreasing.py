r"""Adam with decreasing steps (Barakat & Bianchi, Algorithm 5.1, Theorem 5.2).

γ_n = γ0 n^{−κ}, α_n = 1 − aγ_n, β_n = 1 − bγ_n, r_0 = r̄_0 = 0::

    m_n = α_n m_{n−1} + (1 − α_n) g_n,   v_n = β_n v_{n−1} + (1 − β_n) g_n²
    r_n = α_n r_{n−1} + (1 − α_n),       r̄_n = β_n r̄_{n−1} + (1 − β_n)
    x_n = x_{n−1} − γ_n (m_n / r_n) / (ε + sqrt(v_n / r̄_n))

For the first few n, aγ_n (or bγ_n) may be ≥ 1; α_n (β_n) is then clipped to 0, i.e. the moment
is replaced by the current gradient, which keeps α_n, β_n ∈ [0, 1) and r_n, r̄_n ∈ (0, 1].
Time map t_n = Σ_{k≤n} γ_k. On a fixed horizon the iterates follow the debiased ODE (3.3)
(r_n ≈ 1 − e^{−a t_n}); its long-time form is the autonomous ODE (7.1), the mean ODE of
Theorem 5.2 (which needs 0 < b < 4a). No peer implements this schedule (torch's Adam with an LR scheduler keeps β fixed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._validation import ParameterError, check_positive, warn_if_lyapunov_fails
from .adam import AdamLimit, adam_update
from .base import Optimizer, at_x, implements, register_optimizer

__all__ = ["AdamDecreasing", "AdamDecreasingArgs"]


class AdamDecreasingArgs(NamedTuple):
    """Kernel arguments of :class:`AdamDecreasing`: γ0, κ, a, b, ε."""

    gamma0: float
    kappa: float
    a: float
    b: float
    eps: float


@register_optimizer
@dataclass(frozen=True)
class AdamDecreasing(Optimizer):
    r"""Adam with decreasing steps (Algorithm 5.1; see the module docstring).

    Parameters
    ----------
    gamma0 : float > 0
        γ0, the first step.
    kappa : float in (1/2, 1]
        κ, the decay exponent (Σγ_n = ∞, Σγ_n² < ∞). Default 0.6.
    a, b : float > 0
        Moment rates, (1 − α_n)/γ_n → a, (1 − β_n)/γ_n → b; 0 < b < 4a in Theorem 5.2.
        Defaults 1 and 1.
    eps : float > 0
        ε, outside the square root. Default 1e-8.
    """

    gamma0: float
    kappa: float = 0.6
    a: float = 1.0
    b: float = 1.0
    eps: float = 1e-8
    name = "adam-decreasing"
    step_field = "gamma0"
    slots = ("x", "m", "v")
    args_class = AdamDecreasingArgs
    uniform_steps = False
    # Noise-free iterates vs eq. (3.3) at fixed t_n: the local errors O(γ_k²) add up to
    # γ0² Σ k^{−2κ}, finite for κ > 1/2, so the sup error is O(γ0²) — approached slowly
    # (measured local slopes 1.52, 1.65, 1.75, 1.82, 1.87 for γ0 = 0.1 … 0.003, κ = 0.6).
    limit_order = 2.0
    scaling = "gamma_n = gamma0 n^-kappa, alpha_n = 1 - a*gamma_n, beta_n = 1 - b*gamma_n, " \
              "t_n = sum_k gamma_k"

    no_fluctuations = (
        "AdamDecreasing has no linear-noise approximation here: the model assumes one "
        "constant time step, and its steps gamma_n = gamma0*n^(-kappa) decrease (the "
        "stochastic-approximation CLT, Cov z_n = gamma_n P with dP/dt = JP + PJ^T + Q - "
        "(d log gamma/dt) P, is not implemented)")

    @classmethod
    def example(cls) -> "AdamDecreasing":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma0=0.2, kappa=0.6, a=2.0, b=3.0)

    def __post_init__(self):
        object.__setattr__(self, "gamma0", check_positive("gamma0", self.gamma0))
        kappa = check_positive("kappa", self.kappa)
        if not 0.5 < kappa <= 1.0:
            raise ParameterError(f"kappa must lie in (0.5, 1] (allowed range (1/2, 1]), got "
                                 f"{self.kappa!r}")
        object.__setattr__(self, "kappa", kappa)
        object.__setattr__(self, "a", check_positive("a", self.a))
        object.__setattr__(self, "b", check_positive("b", self.b))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        warn_if_lyapunov_fails(self.a, self.b, stacklevel=4, strict=True)

    @property
    def gamma(self) -> float:
        return self.gamma0

    def times(self, steps) -> np.ndarray:
        """ODE time t_n = Σ_{k≤n} γ_k reached after n steps (γ_k = γ0 k^{−κ})."""
        steps = np.asarray(steps, dtype=np.int64)
        if steps.size == 0:
            return np.zeros(steps.shape)
        partial = np.concatenate([[0.0], np.cumsum(
            self.gamma0 * np.arange(1, int(steps.max()) + 1, dtype=float) ** -self.kappa)])
        return partial[steps]

    def kernel_args(self):
        return AdamDecreasingArgs(self.gamma0, self.kappa, self.a, self.b, self.eps)

    def numpy_start(self, x0):
        state = super().numpy_start(x0)
        state["r"] = state["r_bar"] = 0.0  # bookkeeping of Algorithm 5.1, not state slots
        return state

    def numpy_step(self, n, state, grad):
        gamma_n = self.gamma0 * n ** (-self.kappa)
        alpha_n = max(0.0, 1.0 - self.a * gamma_n)
        beta_n = max(0.0, 1.0 - self.b * gamma_n)
        g = grad(state["x"])
        m = alpha_n * state["m"] + (1.0 - alpha_n) * g
        v = beta_n * state["v"] + (1.0 - beta_n) * g**2
        r = alpha_n * state["r"] + (1.0 - alpha_n)
        r_bar = beta_n * state["r_bar"] + (1.0 - beta_n)
        x = state["x"] - gamma_n * (m / r) / (self.eps + np.sqrt(v / r_bar))
        return {"x": x, "m": m, "v": v, "r": r, "r_bar": r_bar}

    def limit(self):
        """The debiased Adam ODE (3.3) on the time t_n.

        On a fixed horizon (γ0 → 0 at fixed t_n), r_n = 1 − Π_{k≤n}(1 − aγ_k) ≈ 1 − e^{−a t_n}
        and r̄_n ≈ 1 − e^{−b t_n}: the bias corrections of Algorithm 5.1 are those of eq. (3.3)
        (measured: the noise-free sup distance to (3.3) falls like γ0, the one to (7.1) stays
        ~0.18). As t → ∞ they tend to 1 and the field is the autonomous eq. (7.1), the mean ODE
        of Theorem 5.2.
        """
        return AdamLimit(self.a, self.b, self.eps, debias=True)


@implements("coefficients_start", AdamDecreasingArgs)
def _start(h):
    return 0.0, 0.0, 0.0, 0.0, 0.0  # r_n, r̄_n, γ_n, α_n, β_n


@implements("coefficients_next", AdamDecreasingArgs)
def _next(h, n, c):
    gamma_n = h.gamma0 * n ** (-h.kappa)
    alpha_n = max(0.0, 1.0 - h.a * gamma_n)  # clipped to [0, 1) while aγ_n ≥ 1
    beta_n = max(0.0, 1.0 - h.b * gamma_n)
    r_m = alpha_n * c[0] + (1.0 - alpha_n)
    r_v = beta_n * c[1] + (1.0 - beta_n)
    return r_m, r_v, gamma_n, alpha_n, beta_n


implements("gradient_point", AdamDecreasingArgs)(at_x)


@implements("update", AdamDecreasingArgs)
def _update(h, c, state, g, d):
    adam_update(d, state, g, c[2], c[3], c[4], h.eps, 1.0 / c[0], 1.0 / c[1])
