r"""Numba-callable problem evaluation: stochastic gradient, exact gradient, distance to 𝒮.

Kernels receive a problem as plain arrays, :class:`adam_ode.problems.KernelArgs`
``(kind, params, A, y)``, and dispatch on ``kind`` here with module-level functions: passing jitted
functions as arguments would miss numba's on-disk cache in every new process.

``params`` layout per kind (d = len(x)):

- ``KIND_LINEAR_REGRESSION_2D`` (0): ``(p, sigma, x1*, x2*)``
- ``KIND_STOCHASTIC_QUADRATIC`` (1): ``(h_1..h_d, sigma_1..sigma_d)``
- ``KIND_DOUBLE_WELL`` (2): ``(sigma,)``
- ``KIND_LEAST_SQUARES`` (3): ``(batch_size, x⁺_1..x⁺_d, P_11..P_dd)`` with ``A``, ``y`` the data

The random draws happen in the same order as in the problems' NumPy ``sample_grad``.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["sample_grad", "exact_grad", "critical_distance"]


@njit(cache=True, nogil=True)
def sample_grad(kind, params, A, y, x, rng, g):
    """Write one stochastic gradient ∇f(x, ξ) into ``g``, drawing ξ from ``rng``."""
    d = x.shape[0]
    if kind == 0:
        X = 1.0 if rng.random() < params[0] else 0.0
        r = X * (x[0] - params[2]) + (1.0 - X) * (x[1] - params[3]) \
            - params[1] * rng.standard_normal()
        g[0] = X * r
        g[1] = (1.0 - X) * r
    elif kind == 1:
        for i in range(d):
            g[i] = params[i] * x[i] + params[d + i] * rng.standard_normal()
    elif kind == 2:
        for i in range(d):
            g[i] = x[i] * x[i] * x[i] - x[i] + params[0] * rng.standard_normal()
    else:
        batch = int(params[0])
        n = A.shape[0]
        for i in range(d):
            g[i] = 0.0
        for _ in range(batch):
            j = rng.integers(0, n)
            r = -y[j]
            for i in range(d):
                r += A[j, i] * x[i]
            for i in range(d):
                g[i] += A[j, i] * r
        for i in range(d):
            g[i] /= batch


@njit(cache=True, nogil=True)
def exact_grad(kind, params, A, y, x, g):
    """Write the exact gradient ∇F(x) into ``g`` (the noise-free mean field)."""
    d = x.shape[0]
    if kind == 0:
        g[0] = params[0] * (x[0] - params[2])
        g[1] = (1.0 - params[0]) * (x[1] - params[3])
    elif kind == 1:
        for i in range(d):
            g[i] = params[i] * x[i]
    elif kind == 2:
        for i in range(d):
            g[i] = x[i] * x[i] * x[i] - x[i]
    else:
        n = A.shape[0]
        for i in range(d):
            g[i] = 0.0
        for j in range(n):
            r = -y[j]
            for i in range(d):
                r += A[j, i] * x[i]
            for i in range(d):
                g[i] += A[j, i] * r
        for i in range(d):
            g[i] /= n


@njit(cache=True, nogil=True)
def critical_distance(kind, params, A, y, x):
    """Euclidean distance from ``x`` to the critical set 𝒮 = {∇F = 0}."""
    d = x.shape[0]
    acc = 0.0
    if kind == 0:
        acc = (x[0] - params[2]) ** 2 + (x[1] - params[3]) ** 2
    elif kind == 1:
        for i in range(d):
            acc += x[i] * x[i]
    elif kind == 2:
        for i in range(d):
            gap = min(abs(x[i] + 1.0), abs(x[i]), abs(x[i] - 1.0))
            acc += gap * gap
    else:
        # ‖P (x − x⁺)‖ with P the projector on the row space of A.
        for i in range(d):
            s = 0.0
            for k in range(d):
                s += params[1 + d + i * d + k] * (x[k] - params[1 + k])
            acc += s * s
    return math.sqrt(acc)
