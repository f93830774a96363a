"""The Adam ODE's vector fields under their earlier module name.

Kept so that earlier imports keep working: the functions live in :mod:`adam_ode.optimizers.adam`
and, under these names, in :mod:`adam_ode.paper` (and at the top level of :mod:`adam_ode`).
"""

from .paper import (adam_vector_field, autonomous_vector_field, bias_correction,
                    bias_correction_rate, debiased_moments, debiased_vector_field,
                    initial_velocity)

__all__ = ["bias_correction", "bias_correction_rate", "debiased_moments", "adam_vector_field",
           "autonomous_vector_field", "debiased_vector_field", "initial_velocity"]
