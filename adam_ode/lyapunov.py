r"""Lyapunov energy of the Adam ODE (eqs. 3.4–3.5, Lemma 7.5, Prop. 7.6).

U(t, v) = a (1 − e^{−at}) (ε + sqrt(v / (1 − e^{−bt}))),   V(t, z) = F(x) + ½ Σ_i m_i² / U_i(t, v)
U∞(v) = a (ε + sqrt(v)),                                    V∞(z)   = F(x) + ½ Σ_i m_i² / U∞_i(v)

If a, ε > 0 and 0 < b ≤ 4a then dV/dt ≤ −(ε/2) ‖a m / U‖² along the flow (Lemma 7.5) and
dV∞/dt ≤ −ε ‖a m / U∞‖² for the autonomous ODE. The energy is named ``energy`` rather than V so
that it does not collide with the moment v.
"""

from __future__ import annotations

import numpy as np

from .dynamics import (_column, adam_vector_field, autonomous_vector_field, bias_correction,
                       bias_correction_rate)
from .state import unpack

__all__ = ["U", "U_rate", "energy", "energy_rate", "energy_rate_bound"]


def _sqrt_vhat_and_rate(t, v, v_dot, b: float):
    """w = sqrt(v/(1 − e^{−bt})) and dw/dt, for t > 0."""
    B = bias_correction(b, t)
    w = np.sqrt(np.maximum(v, 0.0) / B)
    w_dot = (v_dot / B - v * bias_correction_rate(b, t) / B**2) / (2.0 * w)
    return w, w_dot


def U(t, v, a: float, b: float, eps: float, debias: bool = True):
    """The metric U(t, v) of eq. (3.4) (``debias=False``: U∞(v) = a(ε + sqrt(v)))."""
    v = np.asarray(v, dtype=float)
    if not debias:
        return a * (eps + np.sqrt(np.maximum(v, 0.0)))
    tc = _column(t, v)
    B = bias_correction(b, tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.sqrt(np.maximum(v, 0.0) / B)
    # At t = 0 the factor (1 − e^{−at}) vanishes and U = 0 whatever the finite limit of w.
    return a * bias_correction(a, tc) * (eps + np.where(tc > 0, w, 0.0))


def U_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """dU/dt along the flow of the ODE (v̇ = b(S(x) − v)); t = 0 uses the Lemma 7.3 limit."""
    x, m, v = unpack(z)
    v_dot = b * (problem.S(x) - v)
    if not debias:
        with np.errstate(divide="ignore", invalid="ignore"):
            return a * v_dot / (2.0 * np.sqrt(v))
    tc = np.broadcast_to(_column(t, x), x.shape)
    at_zero = tc == 0.0
    ts = np.where(at_zero, 1.0, tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        w, w_dot = _sqrt_vhat_and_rate(ts, v, v_dot, b)
        rate = a * (bias_correction_rate(a, ts) * (eps + w) + bias_correction(a, ts) * w_dot)
    # t = 0: U = a(1 − e^{−at})(ε + w) with w → sqrt(S(x0)), so dU/dt(0) = a²(ε + sqrt(S(x0))).
    return np.where(at_zero, a * a * (eps + np.sqrt(problem.S(x))), rate)


def energy(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""Lyapunov energy V(t, z) = F(x) + ½ Σ m²/U(t, v) (eq. 3.4); V∞(z) when ``debias=False``.

    At t = 0, V(0, (x, 0, v)) = F(x): the kinetic term vanishes like t along the flow.

    Parameters
    ----------
    t : float or array
        Time(s); broadcast against the batch shape of ``z``. Ignored when ``debias=False``.
    z : array (..., 3d)
        Packed state(s) (x, m, v).
    problem : Problem
    a, b, eps : float
        Moment rates and ε of the ODE.
    debias : bool
        True for the non-autonomous ODE (3.3), False for the autonomous one (7.1).
    """
    x, m, _ = unpack(z)
    u = U(t, unpack(z)[2], a, b, eps, debias)
    kinetic = np.divide(m**2, u, out=np.where(m == 0.0, 0.0, np.inf), where=u > 0)
    return problem.F(x) + 0.5 * np.sum(kinetic, axis=-1)


def energy_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""Analytic d/dt V(t, z(t)) along the ODE flow, by the chain rule:

    dV/dt = ∇F(x)·ẋ + Σ m ṁ / U − ½ Σ m² U̇ / U².

    At t = 0 (non-autonomous) the limit is −½ Σ ∇F(x0)²/(ε + sqrt(S(x0))) (derived from
    Lemma 7.3).
    """
    field = adam_vector_field if debias else autonomous_vector_field
    x, m, v = unpack(z)
    x_dot, m_dot, _ = unpack(field(t, z, problem, a, b, eps))
    u = U(t, v, a, b, eps, debias)
    u_dot = U_rate(t, z, problem, a, b, eps, debias)
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


def energy_rate_bound(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    r"""The dissipation bound of Lemma 7.5: −(ε/2) ‖a m/U‖² (autonomous: −ε ‖a m/U∞‖²).

    Since a m/U = −ẋ, this is −(ε/2)‖ẋ‖², finite at t = 0. If b ≤ 4a then
    ``energy_rate <= energy_rate_bound`` along the flow.
    """
    field = adam_vector_field if debias else autonomous_vector_field
    x_dot = unpack(field(t, z, problem, a, b, eps))[0]
    factor = 0.5 * eps if debias else eps
    return -factor * np.sum(x_dot**2, axis=-1)
