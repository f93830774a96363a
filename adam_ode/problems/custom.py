r"""A user's own stochastic problem from ``numba.njit`` functions.

:class:`CustomProblem` wraps four functions a user writes with ``@numba.njit``:

- ``sample_grad(x, rng, out)``: write one stochastic gradient ∇f(x, ξ) into ``out``, drawing ξ
  from the ``np.random.Generator`` ``rng`` (required);
- ``grad_F(x)``: return ∇F(x) as a new array (required);
- ``S(x)``: return S(x) = E[∇f(x, ξ)²] coordinatewise (optional, see below);
- ``F(x)``: return F(x) as a float (optional; needed only by what evaluates F: energies,
  contour plots, loss curves).

They run inside every kernel (the generic loop of :mod:`adam_ode.kernels` inlines them like a
built-in problem's evaluators), in the continuous limits (``S`` and ``grad_F`` from Python) and in
the experiments.

**Without S.** S(x) is then the Monte Carlo estimate (1/K) Σ_k ∇f(x, ξ_k)² over K =
``n_S_samples`` draws from a *fixed* stream (a new ``default_rng(S_seed)`` at every call): the
same ξ_1 … ξ_K at every x (common random numbers), so x ↦ S(x) is as smooth as x ↦ ∇f(x, ξ) and
the ODE solvers see a smooth field. It is a biased-by-sampling version of S: its relative error
is about sqrt(Var(g²)/K)/S (≈ sqrt(2/K) = 3 % for Gaussian noise and the default K = 2000), the
same at every x. This requires ``sample_grad`` to draw the same number of values at every x.

**Critical set.** With ``x_star`` given (the minimizer or any known critical point), d(x, 𝒮) is
‖x − x*‖; without it, the kernels' "distance to 𝒮" is the proxy ‖∇F(x)‖ (zero exactly on 𝒮,
not a distance).

**Compile cost.** numba cannot cache code that calls functions handed over at run time, so each
``CustomProblem`` instance gets its own kernel data type (a ``NamedTuple`` class made in
:meth:`CustomProblem.__init__`) and the kernels for it are compiled in every process, once per
(instance, optimizer) pair (``kernel_cacheable = False``; measured in paper_notes.md,
"Lecture experiments").

**From a TOML config.** A config cannot hold Python functions: ``problem = {name = "custom",
factory = "my_problem.py:make_problem", ...}`` runs the Python file ``my_problem.py`` (a path
relative to the TOML file that names it, or to the current directory for ``--set``) and calls
its ``make_problem(**rest)``, which must return a :class:`CustomProblem`. Only a file the user
names is ever run: a module name (``os:mkdir``, an installed package) is refused before anything
is imported or called, so running someone else's config cannot call code they chose from the
standard library or an installed package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validation import ParameterError, check_int
from .base import Problem, evaluator, register_problem

__all__ = ["CustomProblem", "DEFAULT_S_SAMPLES"]

DEFAULT_S_SAMPLES = 2000  # K of the Monte Carlo S (≈ 3 % relative error for Gaussian noise)
_COUNTER = itertools.count()  # distinct names of the per-instance data classes


def _probe(dim, sample_grad, grad_F, F, S):
    """Call each user function once at x = 0 so that a wrong signature or return shape is a
    clear error here, not a traceback inside a kernel or an ODE solve."""
    x = np.zeros(dim)

    def call(name, signature, func, *args):
        try:
            return func(*args)
        except Exception as err:  # numba typing errors are not TypeErrors
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ParameterError(f"CustomProblem: {name} must be a numba.njit function "
                                 f"{signature}; calling it with x of shape ({dim},) failed: "
                                 f"{first}") from None

    def finite(name, value):
        # NaN or inf at x = 0 would only surface later as NaN iterates or a failed ODE solve.
        if not np.all(np.isfinite(value)):
            raise ParameterError(f"CustomProblem: {name} at x = 0 is not finite "
                                 f"({np.asarray(value).tolist()}); it must return finite numbers")

    out = np.zeros(dim)
    call("sample_grad", "(x, rng, out) -> None", sample_grad, x, np.random.default_rng(0), out)
    finite("sample_grad(x, rng, out)", out)
    for name, func in (("grad_F", grad_F), ("S", S)):
        if func is not None:
            value = np.asarray(call(name, "(x) -> array (d,)", func, x))
            if value.shape != (dim,):
                raise ParameterError(f"CustomProblem: {name}(x) must return an array of shape "
                                     f"({dim},), got shape {value.shape}")
            finite(f"{name}(x)", value)
    if F is not None:
        value = call("F", "(x) -> float", F, x)
        if np.ndim(value) != 0:
            raise ParameterError("CustomProblem: F(x) must return a float")
        finite("F(x)", value)


_EXAMPLE_H = np.array([1.0, 4.0])  # curvatures of CustomProblem.example()
_EXAMPLE_SIGMA = 0.5


@njit(cache=True)
def _example_grad_F(x):
    return _EXAMPLE_H * x


@njit(cache=True)
def _example_sample_grad(x, rng, out):
    for i in range(x.shape[0]):
        out[i] = _EXAMPLE_H[i] * x[i] + _EXAMPLE_SIGMA * rng.standard_normal()


@njit(cache=True)
def _example_F(x):
    return 0.5 * np.sum(_EXAMPLE_H * x * x)


@njit(cache=True)
def _example_S(x):
    return (_EXAMPLE_H * x) ** 2 + _EXAMPLE_SIGMA**2


_FACTORY_FORM = ('factory = "FILE.py:function" (a Python file of yours, its path relative to the '
                 'config file, and a function in it returning a CustomProblem)')
_LOADED: dict = {}  # resolved file path -> its module, run once per process


def load_factory(factory):
    """The function named by ``"FILE.py:function"``: the file is run (once per process) as a
    module of its own; a module name or anything else is refused before anything runs."""
    if not isinstance(factory, str) or ":" not in factory:
        raise ParameterError(f"problem 'custom' needs {_FACTORY_FORM}; got {factory!r}")
    path_text, _, func = factory.rpartition(":")
    if not path_text.endswith(".py") or not func.isidentifier():
        raise ParameterError(f"problem 'custom': {factory!r} does not name a Python file: "
                             f"only {_FACTORY_FORM} is accepted, never an importable module")
    from pathlib import Path

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ParameterError(f"problem 'custom': factory file {path_text} not found (a path "
                             "relative to the config file, or to the current directory for "
                             "--set)")
    key = str(path.resolve())
    module = _LOADED.get(key)
    if module is None:
        name = "_adam_ode_factory_" + hashlib.sha256(key.encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, key)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            raise ParameterError(f"problem 'custom': running {path_text} failed: "
                                 f"{type(err).__name__}: {err}") from None
        _LOADED[key] = module
    make = getattr(module, func, None)
    if not callable(make):
        raise ParameterError(f"problem 'custom': {path_text} defines no function {func!r}")
    return make


@register_problem
class CustomProblem(Problem):
    r"""A problem given by the user's numba functions (see the module docstring).

    Parameters
    ----------
    dim : int >= 1
        Dimension d.
    sample_grad : numba.njit function (x, rng, out) -> None
        One stochastic gradient into ``out``.
    grad_F : numba.njit function (x) -> array (d,)
    F : numba.njit function (x) -> float, optional
    S : numba.njit function (x) -> array (d,), optional
        Without it, a Monte Carlo estimate on a fixed stream.
    x_star : array (d,), optional
        A known minimizer: d(x, 𝒮) = ‖x − x*‖ (else the proxy ‖∇F(x)‖).
    n_S_samples : int >= 1
        K of the Monte Carlo S.
    S_seed : int >= 0
        Seed of its fixed stream.
    label : str
        Shown in configs and figure titles.
    """

    name = "custom"
    kernel_cacheable = False

    @classmethod
    def example(cls) -> "CustomProblem":
        """An instance for the generic tests: F = ½(x1² + 4x2²) with N(0, 0.25) gradient noise,
        given as numba functions like a user's."""
        return cls(2, _example_sample_grad, _example_grad_F, F=_example_F, S=_example_S,
                   x_star=[0.0, 0.0], label="example quadratic")

    def example_start(self):
        return np.array([1.0, -1.0])

    def __init__(self, dim, sample_grad, grad_F, F=None, S=None, *, x_star=None,
                 n_S_samples: int = DEFAULT_S_SAMPLES, S_seed: int = 0, label: str = "custom"):
        self.dim = check_int("dim", dim, 1)
        for arg, func in (("sample_grad", sample_grad), ("grad_F", grad_F), ("F", F), ("S", S)):
            if func is not None and not hasattr(func, "py_func"):
                raise ParameterError(f"CustomProblem: {arg} must be a numba.njit function "
                                     f"(decorate it with @numba.njit), got {func!r}")
        self._user = {"sample_grad": sample_grad, "grad_F": grad_F, "F": F, "S": S}
        self.n_S_samples = check_int("n_S_samples", n_S_samples, 1)
        self.S_seed = check_int("S_seed", S_seed, 0)
        self.label = str(label)
        self._x_star = None if x_star is None else np.array(x_star, dtype=float)
        if self._x_star is not None and self._x_star.shape != (self.dim,):
            raise ParameterError(f"CustomProblem: x_star must have shape ({self.dim},), got "
                                 f"{self._x_star.shape}")
        _probe(self.dim, sample_grad, grad_F, F, S)
        self.data_class = _make_data_class(sample_grad, grad_F)
        self._mc_S = None if S is not None else _make_mc_S(sample_grad)

    @classmethod
    def from_config(cls, **params):
        """``factory = "FILE.py:function"`` plus the function's keyword arguments."""
        factory = params.pop("factory", None)
        make = load_factory(factory)
        problem = make(**params)
        if not isinstance(problem, CustomProblem):
            raise ParameterError(f"problem 'custom': {factory} returned "
                                 f"{type(problem).__name__}, not a CustomProblem")
        problem._factory = {"factory": factory, **params}
        return problem

    # -- NumPy side: the user's functions, point by point -------------------------------------
    def _pointwise(self, func, x, scalar=False):
        x = np.asarray(x, dtype=float)
        flat = np.ascontiguousarray(x.reshape(-1, self.dim))
        out = np.array([func(row) for row in flat], dtype=float)
        return out.reshape(x.shape[:-1] if scalar else x.shape)

    def F(self, x):
        if self._user["F"] is None:
            raise ParameterError(f"CustomProblem {self.label!r}: F was not given (pass F= to "
                                 f"evaluate the objective)")
        return self._pointwise(self._user["F"], x, scalar=True)

    def grad_F(self, x):
        return self._pointwise(self._user["grad_F"], x)

    def S(self, x):
        if self._user["S"] is not None:
            return self._pointwise(self._user["S"], x)
        K, seed = self.n_S_samples, self.S_seed

        def mc(row):  # the fixed stream: the same draws at every x
            out = np.empty(self.dim)
            self._mc_S(row, np.random.default_rng(seed), K, out)
            return out

        return self._pointwise(mc, x)

    def sample_grad(self, x, rng):
        out = np.empty(self.dim)
        self._user["sample_grad"](np.ascontiguousarray(x, dtype=float), rng, out)
        return out

    def critical_distance(self, x):
        x = np.asarray(x, dtype=float)
        if self._x_star is not None:
            return np.linalg.norm(x - self._x_star, axis=-1)
        return np.linalg.norm(self.grad_F(x), axis=-1)

    @property
    def minimizer(self):
        return None if self._x_star is None else self._x_star.copy()

    @property
    def min_value(self):
        if self._x_star is None or self._user["F"] is None:
            return None
        return float(self.F(self._x_star))

    @property
    def kernel_data(self):
        has_star = self._x_star is not None
        x_star = self._x_star if has_star else np.zeros(self.dim)
        return self.data_class(x_star, has_star)

    def config(self):
        out = {"name": self.name, "label": self.label, "d": self.dim,
               "S": "given" if self._user["S"] is not None else
               f"monte-carlo (K={self.n_S_samples}, seed={self.S_seed})"}
        out.update(getattr(self, "_factory", {}))
        return out


def _make_data_class(user_sample_grad, user_grad_F):
    """A fresh kernel-data ``NamedTuple`` class and its four evaluators, calling the user's
    functions (closures: numba freezes them into each kernel, which is why nothing is cached)."""
    cls = NamedTuple(f"CustomProblemData{next(_COUNTER)}",
                     [("x_star", np.ndarray), ("has_star", bool)])

    @evaluator("sample_grad", cls)
    def _sample_grad(data, x, rng, g):
        user_sample_grad(x, rng, g)

    @evaluator("exact_grad", cls)
    def _exact_grad(data, x, g):
        r = user_grad_F(x)
        for i in range(x.shape[0]):
            g[i] = r[i]

    @evaluator("critical_distance", cls)
    def _critical_distance(data, x):
        acc = 0.0
        if data.has_star:
            for i in range(x.shape[0]):
                acc += (x[i] - data.x_star[i]) ** 2
        else:
            r = user_grad_F(x)
            for i in range(x.shape[0]):
                acc += r[i] * r[i]
        return math.sqrt(acc)

    @evaluator("kernel_dim", cls)
    def _kernel_dim(data, x):
        return x.shape[0]

    return cls


def _make_mc_S(user_sample_grad):
    """The Monte Carlo S on a given stream, compiled on first use."""

    @njit
    def mc_S(x, rng, n_samples, out):
        d = x.shape[0]
        g = np.empty(d)
        for i in range(d):
            out[i] = 0.0
        for _ in range(n_samples):
            user_sample_grad(x, rng, g)
            for i in range(d):
                out[i] += g[i] * g[i]
        for i in range(d):
            out[i] /= n_samples

    return mc_S
