"""Type-selected numba implementations: the mechanism behind the problem and optimizer protocols.

A generic function (``sample_grad``, ``update``, …) is a plain Python function that only exists to
be compiled into kernels. Each problem or optimizer module registers its implementation for its
own kernel-data ``NamedTuple`` class with :func:`register_overload`; when numba compiles a kernel
for a given data type it picks that implementation and inlines it. Kernels therefore never see an
integer code, and the on-disk cache works (the implementations are module-level functions and
the data types are importable classes).
"""

from __future__ import annotations

import inspect

from numba import types
from numba.extending import overload

__all__ = ["register_overload", "register_constant", "has_overload"]

_REGISTERED: dict = {}  # generic function -> the data classes it has an implementation for


def register_overload(generic, data_class):
    """Decorator: ``impl`` implements ``generic`` when its first argument is a ``data_class``.

    Shared by the problem and optimizer protocols. numba wants the typing function to have the
    generic function's own signature, so it is written for each generic function.
    """
    params = list(inspect.signature(generic).parameters)

    def decorator(impl):
        namespace = {"types": types, "data_class": data_class, "impl": impl}
        first = params[0]
        exec(f"def select({', '.join(params)}):\n"
             f"    if isinstance({first}, types.BaseNamedTuple) "
             f"and {first}.instance_class is data_class:\n"
             f"        return impl\n", namespace)
        overload(generic, inline="always")(namespace["select"])
        _REGISTERED.setdefault(generic, set()).add(data_class)
        return impl

    return decorator


def has_overload(generic, data_class) -> bool:
    """Whether an implementation of ``generic`` is registered for ``data_class``, i.e. whether a
    kernel calling ``generic`` compiles for that data type."""
    return data_class in _REGISTERED.get(generic, ())


def register_constant(generic, data_class, value):
    """Make ``generic(data)`` the compile-time constant ``value`` for ``data_class`` (e.g. an
    optimizer's slot count), so that loops bounded by it are unrolled."""
    namespace = {}
    exec(f"def constant(h):\n    return {value!r}\n", namespace)
    register_overload(generic, data_class)(namespace["constant"])
