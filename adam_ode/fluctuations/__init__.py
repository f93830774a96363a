r"""Fluctuations of the iterates around their continuous limit.

- :mod:`.moments`: exact moments of the stochastic gradient (Cov(g), Cov(g, g²), Var(g²), ∂S/∂x);
- :mod:`.noise`: drift Jacobian J and per-step noise covariance Q of an optimizer, assembled from
  what its limit states (``jacobian``, ``noise_map``; optimizers without a model say why);
- :mod:`.lna`: the linear-noise approximation Cov z_n ≈ Δt·P(nΔt), Ṗ = JP + PJᵀ + Q;
- :mod:`.sde`: Adam's SDE paths (first order and the second-order modified equation), numba
  kernels, and :func:`simulate_sde`, which runs :mod:`.sde_family`'s generic first-order kernel
  for the other optimizers, and (:mod:`.sde_family`) the variants valid from the first step of
  Adam, RMSProp and AdamW (default ``hybrid``: the discrete recursion until v has left 0);
- :mod:`.validity`: :func:`validity_table`, the SDE against the discrete iterates (Var ratios,
  mean z-scores) on the cases where the Gaussian SDE from v = 0 fails;
- :mod:`.scaling`: scaling rules (SGD, momentum, Nesterov linear; Adam, AdamW, RMSProp square
  root) derived from the LNA.

Their test problem, a quadratic with correlated Gaussian gradient noise, is
:class:`~adam_ode.problems.correlated_quadratic.CorrelatedQuadratic` (re-exported here).
"""

from ..problems.correlated_quadratic import CorrelatedQuadratic
from .lna import LinearNoise, linear_noise
from .moments import GradientMoments, gradient_moments
from .noise import NoiseModel, noise_model, supports_fluctuations
from .scaling import ScaledHyperparameters, scale_hyperparameters
from .sde import SDEResult, simulate_sde
from .validity import validity_table

__all__ = ["CorrelatedQuadratic", "GradientMoments", "gradient_moments", "NoiseModel",
           "noise_model", "supports_fluctuations", "LinearNoise", "linear_noise",
           "SDEResult", "simulate_sde", "validity_table", "ScaledHyperparameters", "scale_hyperparameters"]
