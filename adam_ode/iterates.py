r"""Discrete iterates: one path of any optimizer record.

:func:`run_optimizer` runs one path of any optimizer of :mod:`adam_ode.optimizers` through the
generic kernel :func:`adam_ode.kernels.simulate` and returns z_0 … z_n with the optimizer's
state slots side by side (x in the first d columns). The paper's named wrappers (``run_adam``,
``run_sgd``, …) are in :mod:`adam_ode.paper`.

Random streams: ``seed`` is an int, a ``np.random.SeedSequence`` or a ready ``np.random.Generator``
(which is advanced); the draws are those of ``np.random.default_rng(seed)``. numba's Generator
methods give exactly NumPy's draws for the same state, so the optimizers' NumPy transcriptions
(:meth:`~adam_ode.optimizers.base.Optimizer.numpy_path`) reproduce these paths.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validation import DivergenceWarning, check_int, check_vector
from .kernels.simulate import DIVERGENCE_BOUND, NO_REFERENCE, kernel_inputs, kernels_for
from .optimizers import SGD, Adam, AdamDecreasing, MomentumSGD, Optimizer, RMSProp  # noqa: F401
from .streams import root_state

__all__ = ["run_optimizer", "as_generator", "DIVERGENCE_BOUND"]


def as_generator(seed) -> np.random.Generator:
    """``seed`` as a Generator: a Generator itself, else ``default_rng(seed)`` (int ≥ 0 or
    SeedSequence)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    seed = check_int("seed", seed, 0)
    return np.random.default_rng(seed)


def run_optimizer(problem, optimizer: Optimizer, x0, n_steps: int, seed,
                  noise: bool = True) -> np.ndarray:
    """Path z_0 … z_n of any optimizer record, shape (n_steps+1, n_slots·d), x first.

    Parameters
    ----------
    problem : Problem
    optimizer : Optimizer
        Any record of :data:`adam_ode.OPTIMIZERS` (its ``slots`` name the column blocks).
    x0 : array (d,)
        x_0; the other slots start at 0.
    n_steps : int ≥ 0
    seed : int ≥ 0, np.random.SeedSequence or np.random.Generator
        The draws are those of ``np.random.default_rng(seed)``.
    noise : bool
        False: exact gradients ∇F (no draws).

    A diverged path (an iterate non-finite or beyond ``problem.divergence_bound(x0)``) is NaN
    from the divergence step on, with a :class:`~adam_ode.DivergenceWarning` naming the step.
    """
    data, hyper = kernel_inputs(problem, optimizer)
    x0 = check_vector("x0", x0, problem.dim)
    n_steps = check_int("n_steps", n_steps, 0)
    simulate, _ = kernels_for(problem)
    if isinstance(seed, np.random.Generator) or not type(problem).kernel_cacheable:
        rng = as_generator(seed)  # a caller's Generator is advanced, as documented
    else:
        if not isinstance(seed, np.random.SeedSequence):
            seed = check_int("seed", seed, 0)
        rng = root_state(seed)  # the same bits as default_rng(seed), generated in the kernel
    width = optimizer.n_slots * problem.dim
    bound = problem.divergence_bound(x0)
    path = np.empty((1, n_steps + 1, width))
    final = np.empty((1, width))
    *_, div_step = simulate(data, hyper, x0, bool(noise), n_steps, rng,
                            NO_REFERENCE, -1.0, False, 0, 1, path, final, 0, bound)
    if div_step >= 0:
        warnings.warn(DivergenceWarning(
            f"{optimizer.name} diverged at step {div_step} (x or a moment is not finite, or "
            f"|x_i| exceeds {bound:g}); the path is NaN from that step on",
            count=1, total=1, first_steps=(int(div_step),)), stacklevel=2)
    return path[0]
