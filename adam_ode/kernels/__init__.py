"""The numba kernels: one generic loop over any (problem, optimizer) pair, streaming statistics.

:mod:`adam_ode.kernels.simulate` holds the loops; they are compiled once per (problem data type,
optimizer argument type) and cached on disk. Python code above this layer hands in records and
problems through :func:`adam_ode.kernels.simulate.kernel_inputs` and never sees a kernel type.
"""

from .simulate import (DIVERGENCE_BOUND, ceiling_loop, kernel_inputs, kernels_for, sampling_only,
                       simulate, simulate_chunk, simulate_chunk_pairs, simulate_pair)

__all__ = ["DIVERGENCE_BOUND", "kernel_inputs", "kernels_for", "simulate", "simulate_pair",
           "simulate_chunk", "simulate_chunk_pairs", "sampling_only", "ceiling_loop"]
