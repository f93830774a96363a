r"""Adam as a heavy ball with friction (the talk's "generalized HBF", derived in MATH.md).

With the coordinatewise mass M(t) = U(t, v(t))/a², the first component of eq. (3.3) reads
m = −a M ẋ, and the ODE is equivalent to

    d/dt (M ẋ) + a M ẋ + ∇F(x) = 0   ⇔   M ẍ + c2(t) ẋ + ∇F(x) = 0,   c2 = a M + Ṁ,

so c1(t) = M(t) is a time-dependent mass and c2(t) a time-dependent viscosity; the Lyapunov
energy is the mechanical energy V = F(x) + ½ Σ M ẋ². The classical HBF ẍ + λ ẋ + κ∇F(x) = 0
(continuous limit of momentum SGD with λ = κ = a) and the gradient flow ẋ = −∇F(x) (limit of SGD)
are here as vector fields; :mod:`adam_ode.integrate` solves them.
"""

from __future__ import annotations

import numpy as np

from ._validation import ParameterError
from .dynamics import adam_vector_field, autonomous_vector_field
from .lyapunov import U, U_rate
from .state import unpack

__all__ = [
    "mass",
    "mass_rate",
    "friction",
    "hbf_residual",
    "heavy_ball_vector_field",
    "gradient_flow_vector_field",
]

# Relative step of the central differences used by hbf_residual: balances the O(h²) truncation
# error against the O(tol/h) amplification of the dense-output error (tol ~ 1e-10).
HBF_FD_STEP = 1e-4


def mass(t, z, a: float, b: float, eps: float, debias: bool = True):
    """Mass M(t) = U(t, v)/a² (coordinatewise), shape ``(..., d)``."""
    return U(t, unpack(z)[2], a, b, eps, debias) / a**2


def mass_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """Ṁ = U̇/a² along the ODE flow."""
    return U_rate(t, z, problem, a, b, eps, debias) / a**2


def friction(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """Viscosity c2(t) = a M(t) + Ṁ(t) of the generalized heavy ball."""
    return a * mass(t, z, a, b, eps, debias) + mass_rate(t, z, problem, a, b, eps, debias)


def hbf_residual(solution, t, problem, a: float, b: float, eps: float, debias: bool = True,
                 step: float = HBF_FD_STEP):
    r"""Residual M ẍ + c2 ẋ + ∇F(x) of the heavy-ball form along a solved Adam trajectory.

    ẋ is the ODE field evaluated on the dense solution; ẍ is its central difference with step
    ``h = step * max(t, 1)``, so the residual is a check of the HBF algebra (mass, Ṁ, c2) against
    the trajectory, of the size of the finite-difference error. Near the ends of [0, T] the step
    shrinks to stay inside the solution's interval; times must satisfy 0 < t < T.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if np.any(t <= 0.0) or np.any(t >= solution.T):
        raise ParameterError(f"t must lie in (0, T) = (0, {solution.T:g}), got {t}")
    h = np.minimum(step * np.maximum(t, 1.0), 0.5 * np.minimum(t, solution.T - t))
    field = adam_vector_field if debias else autonomous_vector_field

    def x_dot(s):
        return unpack(field(s, solution(s), problem, a, b, eps))[0]

    z = solution(t)
    x_ddot = (x_dot(t + h) - x_dot(t - h)) / (2.0 * h[:, None])
    c1 = mass(t, z, a, b, eps, debias)
    c2 = friction(t, z, problem, a, b, eps, debias)
    return c1 * x_ddot + c2 * x_dot(t) + problem.grad_F(unpack(z)[0])


def heavy_ball_vector_field(t, y, problem, damping: float, gradient_scale: float = 1.0):
    """Classical HBF ẍ + λ ẋ + κ ∇F(x) = 0 as a first-order field on y = (x, ẋ)."""
    y = np.asarray(y, dtype=float)
    d = y.shape[-1] // 2
    x, x_dot = y[..., :d], y[..., d:]
    return np.concatenate([x_dot, -damping * x_dot - gradient_scale * problem.grad_F(x)], axis=-1)


def gradient_flow_vector_field(t, x, problem):
    """Gradient flow ẋ = −∇F(x), the small-step limit of SGD."""
    return -problem.grad_F(x)
