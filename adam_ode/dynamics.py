r"""Vector fields of the continuous-time Adam dynamics (Barakat & Bianchi 2021, Section 3).

All fields have the signature ``f(t, z, problem, a, b, eps)`` on the packed state z = (x, m, v)
(:mod:`adam_ode.state`) and accept a single state ``(3d,)`` or a batch ``(..., 3d)`` with ``t``
broadcast against the batch shape. Symbols: ``a`` and ``b`` are the moment rates of the scaling
regime α = 1 − aγ, β = 1 − bγ; ``eps`` is ε, added outside the square root.
"""

from __future__ import annotations

import numpy as np

from .state import pack, unpack

__all__ = [
    "bias_correction",
    "bias_correction_rate",
    "debiased_moments",
    "adam_vector_field",
    "autonomous_vector_field",
    "debiased_vector_field",
    "initial_velocity",
]


def _column(t, like: np.ndarray) -> np.ndarray:
    """``t`` as an array broadcastable against ``like`` of shape (..., d)."""
    t = np.asarray(t, dtype=float)
    return t[..., None] if t.ndim else t


def bias_correction(rate: float, t):
    """1 − e^{−rate·t}, computed as ``-expm1(-rate t)`` (accurate for small t)."""
    return -np.expm1(-rate * np.asarray(t, dtype=float))


def bias_correction_rate(rate: float, t):
    """d/dt (1 − e^{−rate·t}) = rate · e^{−rate·t}."""
    return rate * np.exp(-rate * np.asarray(t, dtype=float))


def debiased_moments(t, z, problem, a: float, b: float):
    r"""m̂ = m/(1 − e^{−at}) and v̂ = v/(1 − e^{−bt}), with their t = 0 limits ∇F(x), S(x).

    Lemma 7.3: along the solution from (x0, 0, 0), m(t) ~ a∇F(x0) t and v(t) ~ b S(x0) t, so the
    ratios have the finite limits ∇F(x0) and S(x0) at t = 0.
    """
    x, m, v = unpack(z)
    tc = np.broadcast_to(_column(t, x), x.shape)
    at_zero = tc == 0.0
    A = bias_correction(a, tc)
    B = bias_correction(b, tc)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = np.where(at_zero, 0.0, m / np.where(at_zero, 1.0, A))
        v_hat = np.where(at_zero, 0.0, v / np.where(at_zero, 1.0, B))
    if np.any(at_zero):
        m_hat = np.where(at_zero, problem.grad_F(x), m_hat)
        v_hat = np.where(at_zero, problem.S(x), v_hat)
    return m_hat, v_hat


def adam_vector_field(t, z, problem, a: float, b: float, eps: float) -> np.ndarray:
    r"""The non-autonomous Adam field h(t, z) of eq. (3.3).

    ẋ = −[m/(1 − e^{−at})] / (ε + sqrt(v/(1 − e^{−bt}))),  ṁ = a(∇F(x) − m),  v̇ = b(S(x) − v).

    At t = 0 the first component is 0/0; it is replaced by its limit (Lemma 7.3)
    ẋ(0) = −∇F(x)/(ε + sqrt(S(x))).
    """
    x, m, v = unpack(z)
    m_hat, v_hat = debiased_moments(t, z, problem, a, b)
    x_dot = -m_hat / (eps + np.sqrt(np.maximum(v_hat, 0.0)))
    return pack(x_dot, a * (problem.grad_F(x) - m), b * (problem.S(x) - v))


def autonomous_vector_field(t, z, problem, a: float, b: float, eps: float) -> np.ndarray:
    r"""The autonomous Adam field (eq. 7.1, no bias correction): ẋ = −m/(ε + sqrt(v)).

    ``t`` is accepted for a uniform signature and ignored. Equilibria: {(x, 0, S(x)) : x ∈ 𝒮}.
    """
    x, m, v = unpack(z)
    x_dot = -m / (eps + np.sqrt(np.maximum(v, 0.0)))
    return pack(x_dot, a * (problem.grad_F(x) - m), b * (problem.S(x) - v))


def debiased_vector_field(t, w, problem, a: float, b: float, eps: float) -> np.ndarray:
    r"""Eq. (3.3) in the debiased variables w = (x, m̂, v̂), valid for t > 0 (derived):

    ẋ = −m̂/(ε + sqrt(v̂)),  dm̂/dt = a/(1 − e^{−at}) (∇F − m̂),  dv̂/dt = b/(1 − e^{−bt}) (S − v̂).

    The variables stay O(1) as t ↓ 0 (m̂ → ∇F(x0), v̂ → S(x0)), which is why the reference
    integrator works in them; the coefficients are singular at t = 0 itself.
    """
    x, m_hat, v_hat = unpack(w)
    tc = _column(t, x)
    x_dot = -m_hat / (eps + np.sqrt(np.maximum(v_hat, 0.0)))
    m_dot = (a / bias_correction(a, tc)) * (problem.grad_F(x) - m_hat)
    v_dot = (b / bias_correction(b, tc)) * (problem.S(x) - v_hat)
    return pack(x_dot, m_dot, v_dot)


def initial_velocity(problem, x0, eps: float) -> np.ndarray:
    """Lemma 7.3: ẋ(0) = −∇F(x0) / (ε + sqrt(S(x0))) for the non-autonomous ODE."""
    return -problem.grad_F(x0) / (eps + np.sqrt(problem.S(x0)))
