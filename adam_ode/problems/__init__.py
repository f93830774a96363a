r"""Stochastic optimization problems F(x) = E f(x, ξ), one module each.

Every module holds one :class:`~adam_ode.problems.base.Problem` subclass with its NumPy
evaluators (F, ∇F, S, the sampler, d(x, 𝒮), ∇²F·u) and, side by side, the numba evaluators of
its kernel data (see :mod:`adam_ode.problems.base`). Adding a problem is adding a module here:
it is imported below and registered in :data:`PROBLEMS` by its ``name``.

=======================  ==================================  ========================================
config name              class                               module
=======================  ==================================  ========================================
``linear-regression-2d`` :class:`LinearRegression2D`         :mod:`~.linear_regression_2d`
``stochastic-quadratic`` :class:`StochasticQuadratic`        :mod:`~.stochastic_quadratic`
``double-well``          :class:`DoubleWell`                 :mod:`~.double_well`
``least-squares``        :class:`LeastSquares`               :mod:`~.least_squares`
``correlated-quadratic`` :class:`CorrelatedQuadratic`        :mod:`~.correlated_quadratic`
``logistic-regression``  :class:`LogisticRegression`         :mod:`~.logistic_regression`
``custom``               :class:`CustomProblem`              :mod:`~.custom`
=======================  ==================================  ========================================
"""

from __future__ import annotations

import importlib
import pkgutil

from .._validation import ParameterError
from .base import PROBLEMS, Problem, kernel_data_of, register_problem

for _info in pkgutil.iter_modules(__path__):
    if _info.name not in ("base",) and not _info.name.startswith("_"):
        importlib.import_module(f".{_info.name}", __name__)

from .correlated_quadratic import CorrelatedQuadratic  # noqa: E402
from .custom import CustomProblem  # noqa: E402
from .double_well import DoubleWell  # noqa: E402
from .least_squares import LeastSquares  # noqa: E402
from .linear_regression_2d import LinearRegression2D  # noqa: E402
from .logistic_regression import LogisticRegression  # noqa: E402
from .stochastic_quadratic import StochasticQuadratic  # noqa: E402

__all__ = [
    "Problem",
    "PROBLEMS",
    "register_problem",
    "kernel_data_of",
    "make_problem",
    "LinearRegression2D",
    "StochasticQuadratic",
    "DoubleWell",
    "LeastSquares",
    "CorrelatedQuadratic",
    "LogisticRegression",
    "CustomProblem",
]


def make_problem(spec) -> Problem:
    """Build a problem from a config value: a name, or a table ``{name = ..., **parameters}``.

    Names are the keys of :data:`PROBLEMS`; the parameters are those of the class's
    ``from_config`` (its constructor unless documented otherwise, e.g. ``stochastic-quadratic``
    takes ``d`` or ``h``, ``least-squares`` a ``data`` file or synthetic ``n``, ``d``, ``noise``,
    ``seed``).
    """
    if isinstance(spec, Problem):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise ParameterError(f"problem must be a name or a table with a 'name' key, got {spec!r}")
    params = dict(spec)
    name = params.pop("name")
    if name not in PROBLEMS:
        raise ParameterError(f"unknown problem {name!r}; known problems: {', '.join(PROBLEMS)}")
    try:
        return PROBLEMS[name].from_config(**params)
    except TypeError as err:
        raise ParameterError(f"bad parameters for problem {name!r}: {err}") from None
