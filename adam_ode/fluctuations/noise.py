r"""Drift Jacobian J = ∂h/∂z and per-step noise covariance Q of each optimizer (the LNA's inputs).

In the regime t = nγ (α = 1 − aγ, β = 1 − bγ) one step of every optimizer below is

    z_n − z_{n−1} = γ h(t, z_{n−1}) + γ η_n + O(γ²),   E η_n = 0,   Cov η_n = Q(t, z_{n−1}),

with h the field of ``optimizer.limit()`` and Q of order 1 (derived, coordinatewise notation,
g = g_n, μ = ∇F, C = Cov(g), K = Cov(g, g²) with K_ij = Cov(g_i, g_j²), V = Cov(g²)):

===============  =========================================  ==========================================
optimizer        noise η                                    Q (blocks in slot order)
===============  =========================================  ==========================================
SGD              x: −(g − μ)                                 C
momentum SGD     m: a(g − μ); x: O(γ) (x uses m_n)           [[0, 0], [0, a²C]]
RMSProp          x: −D⁻¹(g − μ), v: b(g² − S)                [[D⁻¹CD⁻¹, −bD⁻¹K], [−bKᵀD⁻¹, b²V]]
Adam             m: a(g − μ), v: b(g² − S); x: O(γ)          [[0, 0, 0], [0, a²C, abK], [0, abKᵀ, b²V]]
===============  =========================================  ==========================================

D = diag(ε + sqrt(v̂)), v̂ = v/(1 − e^{−bt}) (v without bias correction). In Adam, x_n uses m_n,
whose noise is aγ(g − μ): the x-noise is γ²-small and drops out at this order (the same for
momentum). Jacobians (H = ∇²F, dS = ∂S/∂x, m̂ = m/(1 − e^{−at})):

- SGD: −H.  Momentum: [[0, −I], [aH, −aI]].
- RMSProp: ∂ẋ/∂x = −D⁻¹H, ∂ẋ/∂v = diag(μ / (2 D² sqrt(v̂) (1 − e^{−bt}))), ∂v̇ = [b dS, −bI].
- Adam: ∂ẋ/∂m = −diag(1/((1 − e^{−at}) D)), ∂ẋ/∂v = diag(m̂ / (2 D² sqrt(v̂) (1 − e^{−bt}))),
  ∂ṁ = [aH, −aI, 0], ∂v̇ = [b dS, 0, −bI].

Where v̂ = 0 (the autonomous start v(0) = 0) the ∂/∂v entry, 0·∞ there, is set to its limit 0.
"""

from __future__ import annotations

import numpy as np

from .._validation import ParameterError
from ..optimizers import SGD, Adam, MomentumSGD, RMSProp
from .moments import gradient_moments, is_separable

__all__ = ["NoiseModel", "noise_model", "SUPPORTED"]

SUPPORTED = (SGD, MomentumSGD, RMSProp, Adam)


def _bias(rate, t):
    # 1 − e^{−rate t}; t = inf gives the stationary value 1.
    return 1.0 if np.isinf(t) else float(-np.expm1(-rate * t))


class NoiseModel:
    """h, J and Q of one optimizer on one problem (see the module docstring).

    ``blocks`` (n_blocks, block) are the index groups of the state that the covariance ODE keeps
    coupled: one group with every index, or, on a separable problem, the d groups
    {i, d + i, 2d + i, …} of coordinate i.
    """

    def __init__(self, problem, optimizer):
        if type(optimizer) not in SUPPORTED:
            raise ParameterError(f"fluctuation models exist for "
                                 f"{', '.join(c.__name__ for c in SUPPORTED)}; "
                                 f"got {type(optimizer).__name__}")
        self.problem = problem
        self.optimizer = optimizer
        self.limit = optimizer.limit()
        self.d = problem.dim
        self.n_slots = optimizer.n_slots
        self.k = self.n_slots * self.d
        if is_separable(problem):
            self.blocks = np.array([[s * self.d + i for s in range(self.n_slots)]
                                    for i in range(self.d)])
        else:
            self.blocks = np.arange(self.k)[None, :]

    def field(self, t, z):
        return self.limit.field(t, z, self.problem)

    def _v_terms(self, t, v, debias, b, eps):
        c_b = _bias(b, t) if debias else 1.0
        v_hat = np.maximum(v, 0.0) / c_b
        root = np.sqrt(v_hat)
        D = eps + root
        with np.errstate(divide="ignore", invalid="ignore"):
            dv = np.where(root > 0, 1.0 / (2.0 * D**2 * np.where(root > 0, root, 1.0) * c_b), 0.0)
        return D, dv

    def jacobian_and_noise(self, t, z):
        """(J, Q), each (k, k), at time t (``np.inf``: the stationary coefficients) and state z."""
        opt, d = self.optimizer, self.d
        x = z[:d]
        mom = gradient_moments(self.problem, x)
        I = np.eye(d)
        Z = np.zeros((d, d))
        if isinstance(opt, SGD):
            return -mom.hessian, mom.cov.copy()
        if isinstance(opt, MomentumSGD):
            a = opt.a
            J = np.block([[Z, -I], [a * mom.hessian, -a * I]])
            Q = np.block([[Z, Z], [Z, a * a * mom.cov]])
            return J, Q
        if isinstance(opt, RMSProp):
            b = opt.b
            v = z[d:]
            D, dv = self._v_terms(t, v, opt.debias, b, opt.eps)
            Dinv = 1.0 / D
            J = np.block([[-Dinv[:, None] * mom.hessian, np.diag(mom.mean * dv)],
                          [b * mom.dS, -b * I]])
            Qxx = Dinv[:, None] * mom.cov * Dinv[None, :]
            Qxv = -b * Dinv[:, None] * mom.cov_g_g2
            Q = np.block([[Qxx, Qxv], [Qxv.T, b * b * mom.cov_g2]])
            return J, Q
        a, b = opt.a, opt.b
        m, v = z[d:2 * d], z[2 * d:]
        c_a = _bias(a, t) if opt.debias else 1.0
        D, dv = self._v_terms(t, v, opt.debias, b, opt.eps)
        m_hat = m / c_a
        J = np.block([[Z, -np.diag(1.0 / (c_a * D)), np.diag(m_hat * dv)],
                      [a * mom.hessian, -a * I, Z],
                      [b * mom.dS, Z, -b * I]])
        Q = np.block([[Z, Z, Z],
                      [Z, a * a * mom.cov, a * b * mom.cov_g_g2],
                      [Z, a * b * mom.cov_g_g2.T, b * b * mom.cov_g2]])
        return J, Q


def noise_model(problem, optimizer) -> NoiseModel:
    """The :class:`NoiseModel` of ``optimizer`` on ``problem``."""
    return NoiseModel(problem, optimizer)
