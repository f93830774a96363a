r"""Fluctuations of the iterates around their continuous limit.

- :mod:`.moments`: exact moments of the stochastic gradient (Cov(g), Cov(g, g²), Var(g²), ∂S/∂x);
- :mod:`.noise`: drift Jacobian J and per-step noise covariance Q of each optimizer;
- :mod:`.lna`: the linear-noise approximation Cov z_n ≈ γP(nγ), Ṗ = JP + PJᵀ + Q;
- :mod:`.sde`: SDE paths (first order and the second-order modified equation), numba kernels;
- :mod:`.scaling`: scaling rules (SGD linear, Adam square root) derived from the LNA.

Their test problem, a quadratic with correlated Gaussian gradient noise, is
:class:`~adam_ode.problems.correlated_quadratic.CorrelatedQuadratic` (re-exported here).
"""

from ..problems.correlated_quadratic import CorrelatedQuadratic
from .lna import LinearNoise, linear_noise
from .moments import GradientMoments, gradient_moments
from .noise import NoiseModel, noise_model
from .scaling import ScaledHyperparameters, scale_hyperparameters
from .sde import SDEResult, simulate_sde

__all__ = ["CorrelatedQuadratic", "GradientMoments", "gradient_moments", "NoiseModel",
           "noise_model", "LinearNoise", "linear_noise", "SDEResult", "simulate_sde",
           "ScaledHyperparameters", "scale_hyperparameters"]
