r"""Optimizers and problems from other packages: entry points, checked when they register.

A package adds an optimizer or a problem by declaring an entry point in its ``pyproject.toml``::

    [project.entry-points."adam_ode.optimizers"]
    clipped-sgd = "my_package:ClippedSGD"

    [project.entry-points."adam_ode.problems"]
    rosenbrock = "my_package:Rosenbrock"

Importing :mod:`adam_ode` loads every entry point of the two groups (:func:`load_plugins`): the
object named is a record class (a frozen dataclass subclass of
:class:`~adam_ode.optimizers.base.Optimizer`) or a problem class (a subclass of
:class:`~adam_ode.problems.base.Problem`), registered with ``@register_optimizer`` /
``@register_problem`` or left for the loader to register. The registries then list it, TOML
configs find it by name, ``adam-ode list optimizers`` / ``adam-ode list problems`` show it.

A class is checked before it is used (:func:`check_optimizer`, :func:`check_problem`): the
pieces the kernels and the tests need, each missing one named in one line
(``plug-in 'clipped-sgd' (my_package:ClippedSGD): no numba 'update' registered for
ClippedArgs; add @implements("update", ClippedArgs)``), never a numba traceback. A plug-in that
fails to load or to check is left out of the registries; its line is kept in
:data:`PLUGIN_ERRORS` and printed as a warning by the command line. The same checks run for a
class defined in a user's own code the first time it reaches a kernel.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect

from ._validation import PluginError

__all__ = ["PluginError", "load_plugins", "check_optimizer", "check_problem", "PLUGIN_ERRORS",
           "GROUPS"]

GROUPS = ("adam_ode.optimizers", "adam_ode.problems")
# The numba functions every optimizer's kernel arguments must implement, and every problem's data.
OPTIMIZER_KERNEL_FUNCTIONS = ("coefficients_start", "coefficients_next", "gradient_point",
                              "update")
PROBLEM_KERNEL_FUNCTIONS = ("sample_grad", "exact_grad", "critical_distance", "kernel_dim")
PLUGIN_ERRORS: list = []  # one line per plug-in that could not be loaded or checked
_CHECKED: set = set()


def _overridden(cls, base, method: str) -> bool:
    return getattr(cls, method, None) is not getattr(base, method, None)


def _arity(func) -> int:
    return len([p for p in inspect.signature(func).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])


def check_optimizer(cls, origin: str | None = None) -> None:
    """Raise :class:`PluginError` (one line) unless ``cls`` is a complete optimizer record."""
    from ._overloads import has_overload
    from .optimizers import base

    where = origin or f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__name__', cls)!s}"

    def fail(what):
        raise PluginError(f"plug-in {where}: {what}")

    if not (isinstance(cls, type) and issubclass(cls, base.Optimizer)):
        fail(f"{cls!r} is not a subclass of adam_ode.optimizers.base.Optimizer")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or name == base.Optimizer.name:
        fail(f"{cls.__name__} needs a class attribute name = \"...\" (its registry key)")
    if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):
        fail(f"{cls.__name__} must be a frozen dataclass (@dataclass(frozen=True))")
    slots = getattr(cls, "slots", None)
    if not (isinstance(slots, tuple) and slots and slots[0] == "x" and
            len(set(slots)) == len(slots)):
        fail(f"{cls.__name__}.slots must be a tuple of distinct slot names starting with "
             f"'x', got {slots!r}")
    args = getattr(cls, "args_class", None)
    if not (isinstance(args, type) and issubclass(args, tuple) and hasattr(args, "_fields")):
        fail(f"{cls.__name__}.args_class must be a NamedTuple of kernel arguments")
    for method, arity in (("numpy_step", 4), ("limit", 1), ("kernel_args", 1)):
        if not _overridden(cls, base.Optimizer, method):
            fail(f"{cls.__name__} defines no {method}()")
        if _arity(getattr(cls, method)) != arity:
            fail(f"{cls.__name__}.{method} must take {arity - 1} argument(s) after self, "
                 f"got the signature {inspect.signature(getattr(cls, method))}")
    for func in OPTIMIZER_KERNEL_FUNCTIONS:
        if not has_overload(getattr(base, func), args):
            fail(f"no numba {func!r} registered for {args.__name__}; add "
                 f"@implements({func!r}, {args.__name__}) to a module-level function")
    if not _overridden(cls, base.Optimizer, "example"):
        fail(f"{cls.__name__} defines no example() (an instance for the generic tests)")
    try:
        record = cls.example()
        kernel_args = record.kernel_args()
        limit = record.limit()
    except Exception as err:  # a broken piece must say which
        fail(f"{cls.__name__}.example(), kernel_args() or limit() failed: "
             f"{type(err).__name__}: {err}")
    if not isinstance(kernel_args, args):
        fail(f"{cls.__name__}.kernel_args() must return a {args.__name__}, "
             f"got {type(kernel_args).__name__}")
    if not isinstance(limit, base.ContinuousLimit):
        fail(f"{cls.__name__}.limit() must return a ContinuousLimit, got {type(limit).__name__}")


def check_problem(cls, origin: str | None = None) -> None:
    """Raise :class:`PluginError` (one line) unless ``cls`` is a complete problem class."""
    from ._overloads import has_overload
    from .problems import base

    where = origin or f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__name__', cls)!s}"

    def fail(what):
        raise PluginError(f"plug-in {where}: {what}")

    if not (isinstance(cls, type) and issubclass(cls, base.Problem)):
        fail(f"{cls!r} is not a subclass of adam_ode.problems.base.Problem")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        fail(f"{cls.__name__} needs a class attribute name = \"...\" (its registry key)")
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        fail(f"{cls.__name__} does not define {', '.join(missing)}")
    if not _overridden(cls, base.Problem, "example"):
        fail(f"{cls.__name__} defines no example() (an instance for the generic tests)")
    try:
        problem = cls.example()
    except Exception as err:
        fail(f"{cls.__name__}.example() failed: {type(err).__name__}: {err}")
    data_class = getattr(problem, "data_class", None)
    if data_class is None:
        fail(f"{cls.__name__}.data_class must name its kernel-data NamedTuple")
    for func in PROBLEM_KERNEL_FUNCTIONS:
        if not has_overload(getattr(base, func), data_class):
            fail(f"no numba {func!r} registered for {data_class.__name__}; add "
                 f"@evaluator({func!r}, {data_class.__name__}) to a module-level function")


def checked(kind: str, cls) -> None:
    """Check ``cls`` once per process (before a kernel compiles for it); the package's own
    classes are checked by its test suite instead."""
    if cls in _CHECKED or cls.__module__.startswith("adam_ode."):
        return
    (check_optimizer if kind == "optimizer" else check_problem)(cls)
    _CHECKED.add(cls)


def _register(group: str, obj, origin: str) -> None:
    from .optimizers.base import OPTIMIZERS, register_optimizer
    from .problems.base import PROBLEMS, register_problem

    if group == "adam_ode.optimizers":
        registry, register, check = OPTIMIZERS, register_optimizer, check_optimizer
    else:
        registry, register, check = PROBLEMS, register_problem, check_problem
    name = getattr(obj, "name", None)
    clash = registry.get(name)
    if clash is not None and clash is not obj:
        raise PluginError(f"plug-in {origin}: the name {name!r} is taken by "
                          f"{clash.__module__}.{clash.__qualname__}")
    check(obj, origin)
    if clash is None:
        register(obj)
    _CHECKED.add(obj)


def load_plugins(entry_points=None) -> list:
    """Load and register the optimizers and problems of the installed entry points.

    ``entry_points`` (for tests): an iterable of ``importlib.metadata.EntryPoint``; default the
    installed ones of :data:`GROUPS`. Returns the error lines of the plug-ins left out (also
    appended to :data:`PLUGIN_ERRORS`).
    """
    if entry_points is None:
        entry_points = [ep for group in GROUPS
                        for ep in importlib.metadata.entry_points(group=group)]
    errors = []
    for ep in entry_points:
        origin = f"{ep.name!r} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as err:  # an import error of someone else's package: report it
            errors.append(f"plug-in {origin}: cannot be loaded: {type(err).__name__}: {err}")
            continue
        if ep.group not in GROUPS:
            errors.append(f"plug-in {origin}: unknown entry-point group {ep.group!r}")
            continue
        try:
            _register(ep.group, obj, origin)
        except PluginError as err:
            errors.append(str(err))
    PLUGIN_ERRORS.extend(errors)
    return errors
