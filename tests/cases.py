"""Test cases shared by the test modules, taken from the registries: every registered problem's
``example()`` at its ``example_start()``, plus one variant (a mini-batch of 4).

Problems whose kernels cannot use numba's disk cache (``kernel_cacheable = False``: a
``CustomProblem`` compiles its kernels in every process, seconds per optimizer) are left out of
the shared cases and tested in their own module (``test_custom_problem.py``).
"""

import numpy as np

from adam_ode import PROBLEMS as REGISTRY
from adam_ode import LeastSquares


def registry_cases() -> dict:
    """name -> (problem, x0) for every registered problem with cacheable kernels."""
    cases = {}
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        if not cls.kernel_cacheable:
            continue
        problem = cls.example()
        cases[name] = (problem, np.asarray(problem.example_start(), dtype=float))
    return cases


PROBLEMS = registry_cases()
# A mini-batch variant: the same data, B = 4 (the moments and the sampler change with B).
_batch = LeastSquares.example(batch_size=4)
PROBLEMS["least-squares-b4"] = (_batch, np.full(_batch.dim, 0.5))
