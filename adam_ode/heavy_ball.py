"""The heavy-ball forms under their earlier module name.

Kept so that earlier imports keep working: the functions live in
:mod:`adam_ode.optimizers.adam` and :mod:`adam_ode.optimizers.momentum` and, under these
names, in :mod:`adam_ode.paper` (and at the top level of :mod:`adam_ode`).
"""

from .optimizers.adam import HBF_FD_STEP, friction, hbf_residual, mass, mass_rate
from .optimizers.momentum import classical_heavy_ball_field as heavy_ball_vector_field


def gradient_flow_vector_field(t, x, problem):
    """ẋ = −∇F(x); see :class:`adam_ode.optimizers.sgd.GradientFlow`."""
    from .optimizers.sgd import GradientFlow

    return GradientFlow().field(t, x, problem)

__all__ = ["mass", "mass_rate", "friction", "hbf_residual", "heavy_ball_vector_field",
           "gradient_flow_vector_field", "HBF_FD_STEP"]
