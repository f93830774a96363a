"""The packed Adam state z = (x, m, v) ∈ R^{3d}: the one place that packs and unpacks it."""

from __future__ import annotations

import numpy as np

from ._validation import ParameterError

__all__ = ["pack", "unpack", "initial_state"]


def pack(x, m, v) -> np.ndarray:
    """Concatenate x, m, v (each ``(..., d)``) into z of shape ``(..., 3d)``."""
    return np.concatenate([np.asarray(x, float), np.asarray(m, float), np.asarray(v, float)],
                          axis=-1)


def unpack(z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split z of shape ``(..., 3d)`` into views x, m, v of shape ``(..., d)``."""
    z = np.asarray(z, dtype=float)
    d, rest = divmod(z.shape[-1], 3)
    if rest:
        raise ParameterError(f"z must have a last axis of length 3d, got {z.shape[-1]}")
    return z[..., :d], z[..., d:2 * d], z[..., 2 * d:]


def initial_state(x0) -> np.ndarray:
    """z_0 = (x0, 0, 0), the start of Algorithm 2.1 and of the ODE (3.3)."""
    x0 = np.asarray(x0, dtype=float)
    return pack(x0, np.zeros_like(x0), np.zeros_like(x0))
