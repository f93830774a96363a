r"""Drift Jacobian J = ∂h/∂z and per-step noise covariance Q of an optimizer (the LNA's inputs).

Every optimizer of the family describes its own fluctuations on its continuous limit
(:class:`~adam_ode.optimizers.base.ContinuousLimit`): in the limit's variables one step is

    z_n − z_{n−1} = Δt·(h(t, z_{n−1}) + η_n) + o(Δt),   E η_n = 0,   Cov η_n = Q(t, z_{n−1}),

with Δt = ``optimizer.times(1)`` the time of one step (γ for t = nγ, sqrt(γ) for Nesterov),
h the limit's field, J = ``limit.jacobian`` and η given to leading order by ``limit.noise_map``:
slot s, coordinate i of η is B[s, 0, i](g_i − ∇F_i) + B[s, 1, i](g_i² − S_i). Hence, with the
joint covariance of (g, g²) of the problem (C = Cov g, K_ij = Cov(g_i, g_j²), V = Cov g²),

    Q[(s, i), (s', j)] = Σ_{c, c'} B[s, c, i] M_{cc'}[i, j] B[s', c', j],
    M = [[C, K], [Kᵀ, V]].

The maps, derived in each optimizer module and in paper_notes.md "Fluctuations"
(D = ε + sqrt(v̂); x_n uses m_n in momentum and Adam, whose x-noise is then O(Δt²) and drops):

===============  ===================================  ============================================
optimizer        η                                    J
===============  ===================================  ============================================
SGD              x: −(g − μ)                          −H
momentum SGD     m: a(g − μ)                          [[0, −I], [aH, −aI]]
Nesterov         V: −(g − μ)  (Δt = sqrt(γ))          [[0, I], [−H, −cI]]  (c = 3/t for SBC)
RMSProp          x: −(g − μ)/D, v: b(g² − S)          [[−H/D, μ/(2D²√v̂ c_b)], [b ∂S, −bI]]
Adam, AdamW      m: a(g − μ), v: b(g² − S)            eq. (3.3)'s; AdamW adds −λI to ∂ẋ/∂x
===============  ===================================  ============================================

AdaGrad, AMSGrad, Adamax and decreasing-step Adam have no such model; each says why
(``no_fluctuations``), and :class:`NoiseModel` raises with that reason.

The covariance of the optimizer's own state: its slots may be a linear image E·z of the limit's
(``optimizer.from_limit_state``, e.g. Nesterov's dx = sqrt(γ)·V), so Cov z_n ≈ Δt·E P Eᵀ.
"""

from __future__ import annotations

import numpy as np

from .._validation import ParameterError
from ..optimizers.base import ContinuousLimit
from ..problems.base import Problem
from .moments import gradient_moments, is_separable

__all__ = ["NoiseModel", "noise_model", "supports_fluctuations"]


def _reason(optimizer, limit) -> str | None:
    """Why ``optimizer`` has no fluctuation model (None when it has one)."""
    if optimizer.no_fluctuations:
        return optimizer.no_fluctuations
    if limit.no_fluctuations:
        return limit.no_fluctuations
    if type(limit).noise_map is ContinuousLimit.noise_map:
        return (f"{type(optimizer).__name__} has no fluctuation model "
                f"(its limit defines no noise_map)")
    return None


def supports_fluctuations(optimizer) -> bool:
    """Whether :class:`NoiseModel` (hence ``linear_noise``) supports ``optimizer``."""
    try:
        limit = optimizer.limit()
    except NotImplementedError:
        return False
    return _reason(optimizer, limit) is None


class NoiseModel:
    """h, J and Q of one optimizer on one problem (see the module docstring).

    Attributes: ``limit``, ``step`` (Δt, the time of one step: Cov z_n ≈ Δt·P), ``embed`` (E,
    the linear map from the limit's state to the optimizer's, or None for the identity) and
    ``blocks`` (n_blocks, block), the index groups of the state that the covariance ODE keeps
    coupled: one group with every index, or, on a separable problem, the d groups
    {i, d + i, 2d + i, …} of coordinate i.
    """

    def __init__(self, problem, optimizer):
        try:
            limit = optimizer.limit()
        except NotImplementedError as exc:
            raise ParameterError(f"no fluctuation model: {exc}") from None
        reason = _reason(optimizer, limit)
        if reason is not None:
            raise ParameterError(reason)
        if type(problem).gradient_moments is Problem.gradient_moments:
            raise ParameterError(f"{type(problem).__name__} has no exact gradient-noise moments "
                                 f"(Cov g, Cov(g, g²), Var g², ∂S/∂x): the fluctuation models "
                                 f"need them (built-in problems and LogisticRegression have "
                                 f"them)")
        self.problem = problem
        self.optimizer = optimizer
        self.limit = limit
        self.d = problem.dim
        self.n_slots = len(limit.slots)
        self.k = self.n_slots * self.d
        self.step = float(optimizer.times(1))
        E = np.asarray(optimizer.from_limit_state(np.eye(self.k)), dtype=float).T
        self.embed = None if np.array_equal(E, np.eye(self.k)) else E
        if is_separable(problem):
            self.blocks = np.array([[s * self.d + i for s in range(self.n_slots)]
                                    for i in range(self.d)])
        else:
            self.blocks = np.arange(self.k)[None, :]

    def field(self, t, z):
        return self.limit.field(t, z, self.problem)

    def noise_cov(self, t, z, moments=None) -> np.ndarray:
        """Q (k, k) at (t, z) from the limit's noise map and the problem's moments."""
        mom = gradient_moments(self.problem, z[:self.d]) if moments is None else moments
        B = self.limit.noise_map(t, z, self.problem, mom)
        M = np.array([[mom.cov, mom.cov_g_g2], [mom.cov_g_g2.T, mom.cov_g2]])
        Q = np.einsum("sci,cdij,tdj->sitj", B, M, B)
        return Q.reshape(self.k, self.k)

    def jacobian_and_noise(self, t, z):
        """(J, Q), each (k, k), at time t (``np.inf``: the stationary coefficients) and state z
        (the limit's variables)."""
        mom = gradient_moments(self.problem, z[:self.d])
        return self.limit.jacobian(t, z, self.problem, mom), self.noise_cov(t, z, mom)

    def to_state_cov(self, P) -> np.ndarray:
        """Δt·E P Eᵀ: the covariance of the optimizer's state from P (..., k, k)."""
        if self.embed is None:
            return self.step * P
        return self.step * (self.embed @ P @ self.embed.T)

    def to_state_mean(self, z) -> np.ndarray:
        return z if self.embed is None else np.asarray(self.optimizer.from_limit_state(z))


def noise_model(problem, optimizer) -> NoiseModel:
    """The :class:`NoiseModel` of ``optimizer`` on ``problem``."""
    return NoiseModel(problem, optimizer)
