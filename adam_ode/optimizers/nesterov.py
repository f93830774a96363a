r"""Nesterov's accelerated gradient (seed 002, Théorème 5) and its limits, t = k·sqrt(γ).

Discrete rule (seed 002), with the gradient taken at the look-ahead point y_k::

    y_k     = θ_k + μ_k (θ_k − θ_{k−1})
    θ_{k+1} = y_k − γ ∇f(y_k, ξ_{k+1})

from θ_{−1} = θ_0 = x0 (the first step is a gradient step). The kernel's step n = 1, 2, …
produces θ_n with the momentum μ_{n−1} of index k = n − 1. Three momentum schedules:

``"sbc"``
    μ_k = (k − 1)/(k + 2) (Su, Boyd & Candès 2016). Limit, with t = k·sqrt(γ)::

        Ẍ + (3/t) Ẋ + ∇F(X) = 0,   X(0) = x0,  Ẋ(0) = 0

    singular at t = 0 (:class:`SBCLimit`); for convex F the energy
    E(t) = t²(F(X) − F*) + 2‖X − x* + tẊ/2‖² is nonincreasing, so F(X(t)) − F* ≤ 2‖x0 − x*‖²/t².
``"thm5"``
    μ_k = (y_k − 1)/y_{k+1}, y_{k+1} = (1 + sqrt(1 + 4y_k²))/2, y_0 = 0 (seed 002, Théorème 5).
    y_k = k/2 + (log k)/4 + O(1), so 1 − μ_k = 3/(k + O(log k)): the same limit as ``"sbc"``, with
    a friction perturbed by O(sqrt(γ) log(1/γ)) at fixed t (see paper_notes.md).
``"constant"``
    μ = 1 − c·sqrt(γ). Limit Ẍ + cẊ + ∇F(X) = 0 from (x0, 0) (:class:`FrictionLimit`), energy
    F(X) + ½‖Ẋ‖² (d/dt = −c‖Ẋ‖² ≤ 0).

State slots ``("x", "dx")``: θ_k and the displacement θ_k − θ_{k−1}. The kernel starts every slot
but x at zero, and dx_0 = 0 *is* the algorithm's start θ_{−1} = θ_0 (an ``x_prev`` slot would start
at 0 instead of x0, and row 0 would disagree with the limit by ‖x0‖). dx_k is stored as the
float x_k − x_{k−1}, so the arithmetic is that of the (θ_k, θ_{k−1}) form. The limit's state is
(X, V = Ẋ); :meth:`Nesterov.from_limit_state` maps it to (X, sqrt(γ)·V) ≈ (θ_k, θ_k − θ_{k−1}).
Discrete vs limit: O(sqrt(γ)) in sup norm on a fixed horizon (one order in the time step
h = sqrt(γ): the friction term is a backward difference), ``limit_order = 0.5``.

Symbols ↔ arguments ↔ peers
---------------------------
==============  ==============  ===========================================  ======================
symbol          argument        torch.optim.SGD                              optax.sgd
==============  ==============  ===========================================  ======================
γ (η)           ``gamma``       ``lr``                                       ``learning_rate``
μ = 1 − c√γ     ``c``           ``momentum`` = μ, ``dampening=0``,           ``momentum`` = μ,
                                ``nesterov=True``                            ``nesterov=True``
μ_k schedule    ``schedule``    constant only                                constant only
==============  ==============  ===========================================  ======================

torch's rule (torch/optim/sgd.py: ``buf`` starts at g_1, then ``buf.mul_(momentum).add_(g)``,
Nesterov ``d_p = g + momentum·buf``, ``p −= lr·d_p``) and optax's ``trace(decay, nesterov=True)``
(new_trace = g + decay·trace, update g + decay·new_trace) keep the *look-ahead* point as their
parameter: with lr = γ and momentum = μ their iterates are p_k = y_k = θ_k + μ(θ_k − θ_{k−1}),
with buf_k = −(θ_k − θ_{k−1})/γ (derivation in paper_notes.md; tested to 1e-12 after 1 000 exact
steps against a transcription of torch's rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import ParameterError, check_positive
from .base import (ContinuousLimit, Optimizer, at_minimizer, column, implements, noise_slots,
                   register_optimizer, split, unconstrained)

__all__ = ["Nesterov", "NesterovArgs", "SBCLimit", "FrictionLimit", "SCHEDULES",
           "thm5_sequence"]

# Momentum schedules; the kernel receives the index (a branch once per step on a plain int).
SCHEDULES = ("sbc", "thm5", "constant")
_SBC, _THM5, _CONSTANT = range(3)

# SBC start: Taylor series to t⁴ in X (t³ in Ẋ) at t_s = atol**START_EXPONENT. The first term
# left out is c₃t⁶ with c₃ = −H³(x0 − x*)/9216 on a quadratic (Bessel series, paper_notes.md):
# at t_s = atol**(1/4) it is ~atol^{1.5}·‖H‖³/9216, far below atol for curvatures up to ~1e3.
START_EXPONENT = 0.25


class NesterovArgs(NamedTuple):
    """Kernel arguments of :class:`Nesterov`: γ, the constant μ and the schedule index."""

    gamma: float
    mu: float
    schedule: int


def thm5_next(y: float) -> float:
    """y_{k+1} = (1 + sqrt(1 + 4 y_k²))/2 (seed 002, Théorème 5), as the kernel computes it."""
    return 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * (y * y)))


def thm5_sequence(n: int) -> np.ndarray:
    """y_0 … y_n of Théorème 5 (y_0 = 0)."""
    y = np.zeros(n + 1)
    for k in range(n):
        y[k + 1] = thm5_next(y[k])
    return y


@register_optimizer
@dataclass(frozen=True)
class Nesterov(Optimizer):
    r"""Nesterov's accelerated gradient (see the module docstring for the peers' names).

    ``Nesterov(gamma=0.01)`` is the Su–Boyd–Candès scheme.

    Parameters
    ----------
    gamma : float > 0
        γ (η in seed 002), the step; limit time t = k·sqrt(γ).
    schedule : {"sbc", "thm5", "constant"}
        Momentum μ_k: (k − 1)/(k + 2) (default), the sequence of seed 002's Théorème 5, or the
        constant 1 − c·sqrt(γ).
    c : float > 0
        Friction of the ``"constant"`` schedule, μ = 1 − c·sqrt(γ) with c·sqrt(γ) < 1; limit
        Ẍ + cẊ + ∇F = 0. Default 2 (critical damping at unit curvature). Unused otherwise.
    """

    gamma: float
    schedule: str = "sbc"
    c: float = 2.0
    name = "nesterov"
    slots = ("x", "dx")
    args_class = NesterovArgs
    scaling = ("t = k*sqrt(gamma); mu_k = (k-1)/(k+2) (sbc), Theorem 5 sequence (thm5) or "
               "mu = 1 - c*sqrt(gamma) (constant)")
    limit_order = 0.5

    @classmethod
    def example(cls) -> "Nesterov":
        """An instance for the generic tests (hyperparameters in the scaling regime)."""
        return cls(gamma=0.01)

    def __post_init__(self):
        gamma = check_positive("gamma", self.gamma)
        object.__setattr__(self, "gamma", gamma)
        if self.schedule not in SCHEDULES:
            raise ParameterError(f"schedule must be one of {', '.join(map(repr, SCHEDULES))}, "
                                 f"got {self.schedule!r}")
        c = check_positive("c", self.c)
        if self.schedule == "constant" and not c * math.sqrt(gamma) < 1.0:
            raise ParameterError(f"c*sqrt(gamma) must be < 1 so that mu = 1 - c*sqrt(gamma) lies "
                                 f"in (0, 1) (allowed range: c in (0, 1/sqrt(gamma)) = "
                                 f"(0, {1.0 / math.sqrt(gamma):g})), got c = {self.c!r}, "
                                 f"gamma = {gamma!r}")
        object.__setattr__(self, "c", c)

    @property
    def mu(self) -> float:
        """The constant momentum 1 − c·sqrt(γ) (schedule ``"constant"``)."""
        return 1.0 - self.c * math.sqrt(self.gamma)

    def momentum(self, n: int) -> float:
        """μ_{n−1}, the momentum of kernel step n (index k = n − 1), as the kernel computes it.

        At n = 1 its value is irrelevant (dx_0 = 0): −1/2 for ``"sbc"``, −1 for ``"thm5"``.
        """
        if self.schedule == "sbc":
            return (n - 2.0) / (n + 1.0)  # (k − 1)/(k + 2), k = n − 1
        if self.schedule == "thm5":
            y = thm5_sequence(n)
            return (y[n - 1] - 1.0) / y[n]  # (y_k − 1)/y_{k+1}
        return self.mu

    def kernel_args(self):
        return NesterovArgs(self.gamma, self.mu, SCHEDULES.index(self.schedule))

    def times(self, steps):
        return np.asarray(steps) * math.sqrt(self.gamma)

    def numpy_step(self, n, state, grad):
        x, dx = state["x"], state["dx"]
        y = x + self.momentum(n) * dx  # look-ahead θ_k + μ_k(θ_k − θ_{k−1})
        x_new = y - self.gamma * grad(y)
        return {"x": x_new, "dx": x_new - x}

    def numpy_path(self, problem, x0, n_steps, seed, noise=True):
        # Same as the base class but with the Théorème 5 sequence computed once, not per step.
        if self.schedule != "thm5":
            return super().numpy_path(problem, x0, n_steps, seed, noise)
        y = thm5_sequence(max(n_steps, 1))
        rng = np.random.default_rng(seed)
        state = self.numpy_start(x0)
        path = [np.concatenate([state["x"], state["dx"]])]
        for n in range(1, n_steps + 1):
            mu = (y[n - 1] - 1.0) / y[n]
            point = state["x"] + mu * state["dx"]
            g = problem.sample_grad(point, rng) if noise else problem.grad_F(point)
            x_new = point - self.gamma * g
            state = {"x": x_new, "dx": x_new - state["x"]}
            path.append(np.concatenate([state["x"], state["dx"]]))
        return np.array(path)

    def limit(self):
        return FrictionLimit(self.c) if self.schedule == "constant" else SBCLimit()

    batch_scaling_rules = ("linear",)

    def scaled_for_batch(self, kappa, rule):
        # Linear in the time step sqrt(γ) → κ sqrt(γ), i.e. γ → κ²γ; c and the schedule fixed.
        if rule == "sqrt":
            raise ParameterError("the square-root rule applies to adaptive methods (Adam, "
                                 "AdamW, RMSProp); use rule='linear' for Nesterov")
        self._check_rule(rule)
        return self.replace(gamma=kappa * kappa * self.gamma), 1.0

    def from_limit_state(self, z_limit):
        X, V = split(z_limit, 2)
        return np.concatenate([X, math.sqrt(self.gamma) * V], axis=-1)


def _require_minimum(problem):
    x_star, f_star = problem.minimizer, problem.min_value
    if x_star is None or f_star is None:
        raise ParameterError(f"the SBC energy t²(F − F*) + 2‖X − x* + tẊ/2‖² needs the "
                             f"minimizer x* and F*: {type(problem).__name__} has no unique "
                             f"minimizer (problem.minimizer is None)")
    return np.asarray(x_star, dtype=float), float(f_star)


@dataclass(frozen=True)
class SBCLimit(ContinuousLimit):
    r"""Su–Boyd–Candès: Ẍ + (3/t)Ẋ + ∇F(X) = 0 on (X, V = Ẋ) from (x0, 0); t = k·sqrt(γ).

    The friction 3/t is singular at t = 0. The solution is even in t and analytic:
    X = x0 − t²∇F(x0)/8 + t⁴∇²F(x0)∇F(x0)/192 + O(t⁶) (the coefficient of t^{2j} gains the
    factor 1/(4j(j + 1)) per order), so V̇(0) = −∇F(x0)/4. The solver starts at
    t_s = atol^{1/4} from that series (also the dense output on [0, t_s]) and integrates the
    regular field for t ≥ t_s. Energy (convex F): E(t) = t²(F(X) − F*) + 2‖X − x* + tV/2‖²,
    dE/dt = 2t(F − F* − ⟨∇F, X − x*⟩) ≤ 0.
    """

    slots = ("x", "v")
    time = "t = k*sqrt(gamma)"
    singular = True
    has_energy = True

    def field(self, t, z, problem):
        X, V = split(z, 2)
        tc = np.broadcast_to(column(t, X), X.shape)
        at_zero = tc == 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            friction = np.where(at_zero, 0.0, 3.0 * V / np.where(at_zero, 1.0, tc))
        # At t = 0 the friction term tends to 3/4 ∇F(x0) along the solution: V̇(0) = −∇F/4.
        grad = problem.grad_F(X)
        V_dot = np.where(at_zero, -0.25 * grad, -friction - grad)
        return np.concatenate([V, V_dot], axis=-1)

    def start_time(self, atol):
        return atol ** START_EXPONENT

    def _series(self, problem, x0, t):
        g = problem.grad_F(x0)
        Hg = problem.hessian_vector(x0, g)
        tc = column(np.asarray(t, dtype=float), g)
        X = x0 - tc**2 * g / 8.0 + tc**4 * Hg / 192.0
        V = -tc * g / 4.0 + tc**3 * Hg / 48.0
        return np.concatenate([X, V], axis=-1)

    def start(self, problem, x0, t_s):
        return self._series(problem, np.asarray(x0, dtype=float), t_s)

    def early(self, t, problem, x0, z0, z_s, t_s):
        """z on [0, t_s]: the Taylor series of :meth:`start`."""
        return self._series(problem, np.asarray(x0, dtype=float), t)

    # Fluctuations (Δt = sqrt(γ)): V_{k+1} = μV_k − sqrt(γ) g(y_k), so V's noise is
    # Δt·(−(g − ∇F)) and X's (Δt²) drops out; J = [[0, I], [−H, −(3/t)I]] (0 friction at t = ∞:
    # no stable rest point).
    def jacobian(self, t, z, problem, moments):
        if t == 0:
            raise ParameterError("the SBC Jacobian is singular at t = 0 (friction 3/t): "
                                 "evaluate it at t > 0")
        friction = 0.0 if np.isinf(t) else 3.0 / t
        return _second_order_jacobian(moments.hessian, friction)

    def noise_map(self, t, z, problem, moments):
        return _velocity_noise(problem.dim)

    def kernel_args(self):
        return SBCArgs()

    def energy(self, t, z, problem):
        x_star, f_star = _require_minimum(problem)
        X, V = split(z, 2)
        t = np.asarray(t, dtype=float)
        u = X - x_star + 0.5 * column(t, X) * V
        return t**2 * (problem.F(X) - f_star) + 2.0 * np.sum(u * u, axis=-1)


@dataclass(frozen=True)
class FrictionLimit(ContinuousLimit):
    """Ẍ + cẊ + ∇F(X) = 0 on (X, V = Ẋ) from (x0, 0); energy F(X) + ½‖V‖² (d/dt = −c‖V‖²)."""

    c: float
    slots = ("x", "v")
    time = "t = k*sqrt(gamma)"
    has_energy = True

    def field(self, t, z, problem):
        X, V = split(z, 2)
        return np.concatenate([V, -self.c * V - problem.grad_F(X)], axis=-1)

    def energy(self, t, z, problem):
        X, V = split(z, 2)
        return problem.F(X) + 0.5 * np.sum(V * V, axis=-1)

    # Fluctuations: as :class:`SBCLimit`'s, with the constant friction c.
    def jacobian(self, t, z, problem, moments):
        return _second_order_jacobian(moments.hessian, self.c)

    def noise_map(self, t, z, problem, moments):
        return _velocity_noise(problem.dim)

    def rest_state(self, problem):
        return at_minimizer(problem, lambda x: [np.zeros_like(x)])

    def kernel_args(self):
        return FrictionArgs(self.c)


class SBCArgs(NamedTuple):
    """Kernel arguments of :class:`SBCLimit` (none: the friction is 3/t)."""


class FrictionArgs(NamedTuple):
    """Kernel arguments of :class:`FrictionLimit`: the friction c."""

    c: float


@implements("limit_field", SBCArgs)
def _sbc_field(la, t, z, mu, s, out, d):
    for i in range(d):
        out[i] = z[d + i]
        # t = 0: V̇(0) = −∇F/4 along the solution (SBCLimit.field)
        out[d + i] = -0.25 * mu[i] if t == 0.0 else -3.0 * z[d + i] / t - mu[i]


@implements("limit_field", FrictionArgs)
def _friction_field(la, t, z, mu, s, out, d):
    for i in range(d):
        out[i] = z[d + i]
        out[d + i] = -la.c * z[d + i] - mu[i]


def _velocity_noise_kernel(la, t, z, mu, s, B, d):
    """``limit_noise`` of both Nesterov limits: −(g − ∇F) on V."""
    for i in range(d):
        B[1, 0, i] = -1.0


for _args in (SBCArgs, FrictionArgs):
    implements("limit_noise", _args)(_velocity_noise_kernel)
    implements("limit_project", _args)(unconstrained)


def _second_order_jacobian(hessian, friction):
    """∂(V, −friction·V − ∇F)/∂(X, V)."""
    d = hessian.shape[0]
    return np.block([[np.zeros((d, d)), np.eye(d)], [-hessian, -friction * np.eye(d)]])


def _velocity_noise(d):
    """Noise −(g − ∇F) on V only (see :meth:`SBCLimit.jacobian`)."""
    B = noise_slots(2, d)
    B[1, 0] = -1.0
    return B


# ------------------------------------------------------------------------------------------------
# Kernel.
# ------------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def _look_ahead(d, state, y, mu):
    """y = θ_k + μ_k (θ_k − θ_{k−1}) from slots (x, dx)."""
    for i in range(d):
        y[i] = state[i] + mu * state[d + i]


@njit(cache=True, nogil=True, error_model="numpy")
def _nesterov_update(d, state, g, gamma, mu):
    """θ_{k+1} = y_k − γ g, dx ← θ_{k+1} − θ_k (y_k recomputed: the same float as the point)."""
    for i in range(d):
        x = state[i]
        x_new = (x + mu * state[d + i]) - gamma * g[i]
        state[i] = x_new
        state[d + i] = x_new - x


@implements("coefficients_start", NesterovArgs)
def _start(h):
    return 0.0, 0.0  # (μ, y_k of Théorème 5 with y_0 = 0)


@implements("coefficients_next", NesterovArgs)
def _next(h, n, c):
    if h.schedule == _SBC:
        return (n - 2.0) / (n + 1.0), 0.0
    if h.schedule == _THM5:
        y = c[1]
        y_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * (y * y)))
        return (y - 1.0) / y_next, y_next
    return h.mu, 0.0


@implements("gradient_point", NesterovArgs)
def _gradient_point(h, c, x, state, y, d):
    _look_ahead(d, state, y, c[0])
    return y


@implements("update", NesterovArgs)
def _update(h, c, state, g, d):
    _nesterov_update(d, state, g, h.gamma, c[0])
