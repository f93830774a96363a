r"""The optimizer spec: one record per optimizer, its numba step, its NumPy transcription, its limit.

An optimizer is one module of :mod:`adam_ode.optimizers` describing it once:

- a **record**, a frozen dataclass subclass of :class:`Optimizer` (hyperparameters validated in
  ``__post_init__``, errors naming the parameter and its range), with ``slots`` (names of the
  state slots, x first: the kernel state is ``len(slots) · d`` floats), ``scaling`` (the scaling
  of the hyperparameters with γ under which a continuous limit exists) and :meth:`Optimizer.times`
  (the time map n ↦ t_n of that limit);
- its **kernel arguments**, a ``NamedTuple`` (:meth:`Optimizer.kernel_args`), and for that type
  the numba implementations of the generic functions below, registered with
  :func:`implements` (module-level functions: the on-disk cache works);
- its **NumPy transcription** :meth:`Optimizer.numpy_step`, written from the algorithm's text
  (the tests' reference: same random draws, equal to rounding);
- its **continuous limit** :meth:`Optimizer.limit`, a :class:`ContinuousLimit`: vector field,
  initial state, the treatment of a singular start, and an energy where one is known.

Generic kernel functions (numba; each optimizer registers one implementation per function):

``coefficients_start(h)``
    The per-run scalars carried from step to step (a tuple), e.g. the running products αⁿ of
    the bias corrections.
``coefficients_next(h, n, c)``
    Those scalars for step n from those of step n − 1. They depend on n only, not on the
    gradients, so two runs advanced together share them.
``gradient_point(h, c, x, state, y, d)``
    Where step n evaluates its gradient: ``x`` (x_{n−1}) for most optimizers; Nesterov writes
    its look-ahead point into ``y`` and returns it.
``update(h, c, state, g, d)``
    The discrete update of the state buffer (slot k at ``state[k*d:(k+1)*d]``) with g_n in ``g``.
``slot_count(h)``
    ``len(slots)`` as a compile-time constant (registered automatically).

A record's ``kernel_args()`` type selects these implementations when a kernel is compiled; no
integer codes exist above or inside the kernels.
"""

from __future__ import annotations

from dataclasses import asdict, fields

import math

import numpy as np

from .._overloads import register_constant, register_overload
from .._validation import ParameterError, check_positive

__all__ = [
    "Optimizer",
    "ContinuousLimit",
    "OPTIMIZERS",
    "register_optimizer",
    "implements",
    "check_rate",
    "rate_from_decay",
    "coefficients_start",
    "coefficients_next",
    "gradient_point",
    "update",
    "slot_count",
    "limit_field",
    "limit_noise",
    "limit_project",
]


# ------------------------------------------------------------------------------------------------
# Generic kernel functions (compiled into kernels only).
# ------------------------------------------------------------------------------------------------

def coefficients_start(h):
    """Per-run scalars before step 1 (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def coefficients_next(h, n, c):
    """Per-run scalars of step n (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def gradient_point(h, c, x, state, y, d):
    """The point where step n evaluates its gradient (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def update(h, c, state, g, d):
    """The discrete update of the state buffer (numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


def slot_count(h):
    """The number of state slots, a compile-time constant (registered from the record's
    ``slots`` by :func:`register_optimizer`; numba kernels only)."""
    raise NotImplementedError("compiled into kernels only")


# Continuous-limit side, for the SDE kernels of adam_ode.fluctuations (each limit with a
# fluctuation model registers these for the NamedTuple of ContinuousLimit.kernel_args()).

def limit_field(la, t, z, mu, s, out, d):
    """Write the limit's field h(t, z) into ``out`` given μ = ∇F(x) and S(x) (numba kernels
    only; t = 0 is the field's own t = 0 limit)."""
    raise NotImplementedError("compiled into kernels only")


def limit_noise(la, t, z, mu, s, B, d):
    """Write the noise map B (n_slots, 2, d) of :meth:`ContinuousLimit.noise_map` given
    μ = ∇F(x) and S(x) (numba kernels only; ``B`` arrives zeroed)."""
    raise NotImplementedError("compiled into kernels only")


def limit_project(la, z, d):
    """Keep the state in the limit's domain after a noisy step, e.g. v ← max(v, 0) (numba
    kernels only)."""
    raise NotImplementedError("compiled into kernels only")


_GENERIC = {f.__name__: f for f in (coefficients_start, coefficients_next, gradient_point,
                                    update, limit_field, limit_noise, limit_project)}


def implements(name: str, args_class):
    """Register the numba implementation of generic function ``name`` for ``args_class``."""
    return register_overload(_GENERIC[name], args_class)


def at_x(h, c, x, state, y, d):
    """``gradient_point`` of every optimizer that evaluates g_n at x_{n−1}."""
    return x


def unconstrained(la, z, d):
    """``limit_project`` of the limits whose state has no constraint."""
    return None


# ------------------------------------------------------------------------------------------------
# Records.
# ------------------------------------------------------------------------------------------------

OPTIMIZERS: dict = {}  # name -> record class, filled by register_optimizer


def register_optimizer(cls):
    """Class decorator: add an :class:`Optimizer` record class to :data:`OPTIMIZERS`."""
    if cls.name in OPTIMIZERS and OPTIMIZERS[cls.name] is not cls:
        from .._validation import PluginError

        taken = OPTIMIZERS[cls.name]
        raise PluginError(f"optimizer {cls.__module__}.{cls.__qualname__}: the name "
                          f"{cls.name!r} is taken by {taken.__module__}.{taken.__qualname__}")
    if cls.args_class is None:
        raise RuntimeError(f"optimizer {cls.name!r} has no kernel argument class")
    register_constant(slot_count, cls.args_class, len(cls.slots))
    OPTIMIZERS[cls.name] = cls
    return cls


def rate_from_decay(decay: float, gamma: float) -> float:
    """The rate r with 1 − rγ = ``decay`` (a default taken from torch's β's), rounded to 12
    significant digits so that configs read a = 10, not 9.999999999999998."""
    return float(f"{(1.0 - decay) / gamma:.12g}")


def check_rate(name: str, rate, gamma: float, symbol: str) -> float:
    """A moment rate r > 0 with rγ < 1, so that 1 − rγ ∈ (0, 1)."""
    rate = check_positive(name, rate)
    if 1.0 - rate * gamma == 1.0:
        # α = 1 − rγ would round to exactly 1: the bias correction 1 − αⁿ is then 0 (0/0 steps).
        raise ParameterError(f"{name}*gamma = {rate * gamma:g} is below float64 resolution: "
                             f"{symbol} = 1 - {name}*gamma rounds to 1 (allowed range: "
                             f"{name}*gamma in [{np.finfo(float).epsneg:.3g}, 1))")
    if not rate * gamma < 1.0:
        raise ParameterError(f"{name}*gamma must be < 1 so that {symbol} = 1 - {name}*gamma lies "
                             f"in (0, 1) (allowed range: {name} in (0, 1/gamma) = "
                             f"(0, {1.0 / gamma:g})), got {name} = {rate!r}, gamma = {gamma!r}")
    return rate


class Optimizer:
    """Base of the hyperparameter records (frozen dataclasses, one module each).

    Rate defaults follow torch's decay rates (e.g. Adam's a = 0.1/γ, b = 0.001/γ), so they
    change with γ: a study of γ → 0 at a fixed limit must give a and b explicitly.

    Class attributes set by each record: ``name`` (registry key), ``slots`` (state slot names,
    x first), ``args_class`` (kernel argument ``NamedTuple``), ``scaling`` (text: the scaling of
    the hyperparameters with γ of its continuous limit) and ``kernel_pairs`` (kernels may
    advance two runs in one loop).
    """

    name = "optimizer"
    slots: tuple = ("x",)
    args_class = None
    scaling = "t = n·gamma"
    kernel_pairs = False
    uniform_steps = True  # iterate k sits at t_k = k·(time step); False for decreasing steps
    step_field = "gamma"  # the field holding the step size (AdamDecreasing: gamma0)
    # Order in γ of the sup distance between noise-free iterates and the limit on a fixed
    # horizon (derived per optimizer, measured as a log-log slope by the tests).
    limit_order = 1.0
    # Why the scheme has no linear-noise approximation, when that is a property of the scheme
    # rather than of its limit (see ContinuousLimit.no_fluctuations).
    no_fluctuations: str | None = None
    gamma: float

    @classmethod
    def example(cls) -> "Optimizer":
        """An instance for the generic tests: its own γ and hyperparameters in the scaling
        regime (every record class defines it)."""
        raise NotImplementedError(f"{cls.__name__} defines no example()")

    # -- kernel side ------------------------------------------------------------------------
    def kernel_args(self):
        """The hyperparameters as the kernel's ``NamedTuple`` (plain floats and bools)."""
        raise NotImplementedError

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    # -- time map ---------------------------------------------------------------------------
    def times(self, steps) -> np.ndarray:
        """Limit time t_n reached after n steps (an array for an array): nγ by default."""
        return np.asarray(steps) * self.gamma

    # -- NumPy transcription ----------------------------------------------------------------
    def numpy_start(self, x0) -> dict:
        """The state z_0 as a dict slot -> array (x0, zeros elsewhere)."""
        x0 = np.array(x0, dtype=float)
        return {name: (x0.copy() if name == "x" else np.zeros_like(x0)) for name in self.slots}

    def numpy_step(self, n: int, state: dict, grad) -> dict:
        """One step of the algorithm as written: ``grad(point)`` returns g_n at ``point``."""
        raise NotImplementedError

    def numpy_path(self, problem, x0, n_steps: int, seed, noise: bool = True) -> np.ndarray:
        """z_0 … z_n (n_steps + 1, n_slots·d) by :meth:`numpy_step` in plain NumPy; the draws
        are those of ``np.random.default_rng(seed)``, as in the kernels."""
        rng = np.random.default_rng(seed)

        def grad(point):
            return problem.sample_grad(point, rng) if noise else problem.grad_F(point)

        state = self.numpy_start(x0)
        path = [np.concatenate([state[s] for s in self.slots])]
        for n in range(1, n_steps + 1):
            state = self.numpy_step(n, state, grad)
            path.append(np.concatenate([state[s] for s in self.slots]))
        return np.array(path)

    # -- continuous limit -------------------------------------------------------------------
    def limit(self) -> "ContinuousLimit":
        """The continuous-time limit of the scheme under :attr:`scaling`."""
        raise NotImplementedError(f"{type(self).__name__} has no continuous limit")

    def to_limit_state(self, z) -> np.ndarray:
        """This scheme's state (..., width) in its limit's variables (the inverse of
        :meth:`from_limit_state`; the identity unless the slots are rescaled)."""
        return np.asarray(z, dtype=float)

    def from_limit_state(self, z_limit) -> np.ndarray:
        """The limit's state (..., width) in this scheme's state variables (identity unless the
        scheme's slots are scaled versions of the limit's, e.g. AdaGrad's w = W/γ²)."""
        return np.asarray(z_limit, dtype=float)

    # -- scaling rules (batch size B -> kappa*B) ---------------------------------------------
    # The rules this record supports (paper_notes.md, "Fluctuations"): "linear" or "sqrt".
    batch_scaling_rules: tuple = ()

    # The square-root rule's fields (records whose batch_scaling_rules hold "sqrt"): multiplied
    # by √κ (γ and the rates) and divided by √κ (ε).
    sqrt_rule_times: tuple = ()
    sqrt_rule_divides: tuple = ()

    def scaled_for_batch(self, kappa: float, rule: str):
        """(record, time factor) for batch size κB under ``rule``: the record that keeps the
        limit and the fluctuation level, and t' = factor·t in its own time (n → n/κ steps).
        The default applies :attr:`batch_scaling_rules` ("linear", "sqrt"); a record with
        another rule overrides this."""
        if not self.batch_scaling_rules:
            raise ParameterError(f"no scaling rule for {type(self).__name__}")
        self._check_rule(rule)
        return self._linear_rule(kappa) if rule == "linear" else self._sqrt_rule(kappa)

    def _sqrt_rule(self, kappa: float):
        """Square-root rule (Malladi et al. 2022): γ and the rates × √κ, ε / √κ, so that the
        limit in t' = t/√κ is unchanged."""
        r = math.sqrt(kappa)
        changes = {name: r * getattr(self, name) for name in self.sqrt_rule_times}
        changes.update({name: getattr(self, name) / r for name in self.sqrt_rule_divides})
        return self.replace(**changes), 1.0 / r

    def _linear_rule(self, kappa: float):
        """γ → κγ with every rate (1 − α)/γ fixed, so 1 − α → κ(1 − α): the limit is unchanged."""
        return self.replace(gamma=kappa * self.gamma), 1.0

    def _check_rule(self, rule: str) -> None:
        if rule not in self.batch_scaling_rules:
            raise ParameterError(f"{type(self).__name__} has no {rule!r} scaling rule; its "
                                 f"rules: {', '.join(self.batch_scaling_rules) or 'none'}")

    # -- bookkeeping ------------------------------------------------------------------------
    def config(self) -> dict:
        return {"name": self.name, **asdict(self)}

    def replace(self, **changes):
        """A copy with some hyperparameters changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return type(self)(**values)


# ------------------------------------------------------------------------------------------------
# Continuous limits.
# ------------------------------------------------------------------------------------------------

class ContinuousLimit:
    r"""A continuous-time limit: a vector field on a state whose first d entries are x.

    Subclasses set ``slots`` (state slot names, x first; width ``len(slots) · d``) and
    ``time`` (how the limit's time relates to the step index), and define
    :meth:`field` (with its t = 0 limit) and :meth:`initial_state`. A limit whose field is
    singular at t = 0 sets ``singular = True`` and provides the solver-side pieces used by
    :func:`adam_ode.continuous.solve_limit`:

    - :meth:`start_time`: the short start t_s given the absolute tolerance;
    - :meth:`start`: the solver variables w(t_s) from a Taylor expansion at t = 0;
    - :meth:`solver_field`: dw/dt in the solver variables (regular for t ≥ t_s);
    - :meth:`to_state`: the state z from (t, w).

    On [0, t_s] the solution is the quadratic through z(0) with slope field(0, z(0)) and through
    z(t_s). Non-singular limits are integrated in z from t = 0 (``solver_field = field``).
    :meth:`energy` is a Lyapunov function where one is known (``has_energy``).
    """

    slots: tuple = ("x",)
    time = "t = n·gamma"
    singular = False
    has_energy = False

    def initial_state(self, problem, x0) -> np.ndarray:
        x0 = np.asarray(x0, dtype=float)
        return np.concatenate([x0] + [np.zeros_like(x0)] * (len(self.slots) - 1))

    def field(self, t, z, problem) -> np.ndarray:
        raise NotImplementedError

    # Solver side (singular limits override these).
    def start_time(self, atol: float) -> float:
        raise NotImplementedError

    def start(self, problem, x0, t_s: float) -> np.ndarray:
        raise NotImplementedError

    def solver_field(self, t, w, problem) -> np.ndarray:
        return self.field(t, w, problem)

    def to_state(self, t, w) -> np.ndarray:
        return w

    # Switching fields (adam_ode.continuous; paper_notes.md, "Switching fields and sliding
    # modes"). A limit whose field switches on surfaces σ_i(t, w) = 0 (a sign, a running max)
    # sets ``has_switches`` and defines :meth:`switching` and :meth:`field_on` in its solver
    # variables w (= z for a regular limit); the solver integrates a smooth field between
    # switches and Filippov's sliding field on attracting surfaces.
    has_switches = False

    def switching(self, t, w, problem) -> np.ndarray:
        """σ (n,): the surfaces whose sign changes switch the field (none by default)."""
        return np.zeros(0)

    def field_on(self, t, w, problem, signs) -> np.ndarray:
        """The solver field with sign(σ_i) replaced by ``signs[i]`` ∈ [−1, 1]: ±1 are the
        one-sided fields, a value in between their convex combination (affine in each
        ``signs[i]``; the sliding field is this at the equivalent control)."""
        raise NotImplementedError(f"{type(self).__name__} has no switched field")

    def switching_jacobian(self, t, w, problem):
        """(∂σ/∂w (n, k), ∂σ/∂t (n,)), or None for central differences."""
        return None

    @property
    def trajectory_slots_as_properties(self) -> bool:
        """Solutions are :class:`~adam_ode.AdamTrajectory` (attributes z, x, m, v of the packed
        Adam state) rather than the generic trajectory (each slot an attribute)."""
        return tuple(self.slots) == ("x", "m", "v")

    def energy(self, t, z, problem):
        raise NotImplementedError(f"{type(self).__name__} has no known energy")

    def energy_condition(self) -> tuple:
        """(name, holds): the sufficient condition under which :meth:`energy` is nonincreasing
        along the flow, e.g. Adam's ``("b_le_4a", b <= 4a)``; unconditional by default."""
        return ("guaranteed", True)

    def energy_parameters(self) -> dict:
        """The parameters that label an energy study of this limit (its scalar fields by
        default; Adam: a and b)."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, (int, float, bool))}

    # Fluctuations (the linear-noise approximation of :mod:`adam_ode.fluctuations`). In the
    # limit's variables one step of the scheme is z_n − z_{n−1} = Δt·(h(t, z) + η_n) + o(Δt),
    # Δt = ``optimizer.times(1)``, with per-step noise η_n of covariance Q = O(1) given to leading
    # order by :meth:`noise_map`; the drift's Jacobian is :meth:`jacobian`. A limit for which no
    # such model holds says why in ``no_fluctuations``.
    no_fluctuations: str | None = None
    # Orders of the SDE models of this limit: 1 (Euler–Maruyama of the diffusion); 2 where a
    # second-order modified equation is derived (autonomous Adam).
    sde_orders: tuple = (1,)
    # A specialised SDE kernel of adam_ode.fluctuations that runs this limit faster than the
    # generic Euler–Maruyama kernel (None: the generic one), e.g. "xmv-moments" for eq. (3.3).
    sde_kernel: str | None = None

    def noise_map(self, t, z, problem, moments) -> np.ndarray:
        r"""B (n_slots, 2, d): slot s, coordinate i of the per-step noise is
        B[s, 0, i]·(g_i − ∇F_i) + B[s, 1, i]·(g_i² − S_i) to leading order (every optimizer of
        the family is coordinatewise). ``moments`` is the problem's
        :class:`~adam_ode.fluctuations.GradientMoments` at x; t = ``np.inf`` gives the
        stationary coefficients (bias corrections 1)."""
        raise NotImplementedError(self.no_fluctuations
                                  or f"{type(self).__name__} has no fluctuation model")

    def jacobian(self, t, z, problem, moments) -> np.ndarray:
        """J = ∂h/∂z (k, k) at (t, z) (t = ``np.inf``: the stationary coefficients), from the
        Hessian and ∂S/∂x in ``moments``."""
        raise NotImplementedError(self.no_fluctuations
                                  or f"{type(self).__name__} has no drift Jacobian")

    def project(self, z) -> np.ndarray:
        """Keep a state (..., k) in the limit's domain after a noisy step (the NumPy twin of the
        numba :func:`limit_project`): the identity unless a limit says otherwise."""
        return np.asarray(z, dtype=float)

    def kernel_args(self):
        """The limit's parameters as the ``NamedTuple`` that selects its numba
        :func:`limit_field`, :func:`limit_noise` and :func:`limit_project` (SDE kernels)."""
        raise NotImplementedError(f"{type(self).__name__} has no numba field (no SDE kernel)")

    def rest_state(self, problem):
        """The stable rest point of the t → ∞ field where the iterates settle (None if unknown
        or if there is none, e.g. when the friction vanishes as t → ∞)."""
        return None

    def config(self) -> dict:
        return {"limit": type(self).__name__, **asdict(self)}


def split(z, n_slots: int):
    """Views of the slots of z (..., n_slots·d), each (..., d)."""
    z = np.asarray(z, dtype=float)
    d, rest = divmod(z.shape[-1], n_slots)
    if rest:
        raise ParameterError(f"state must have a last axis of length {n_slots}·d, "
                             f"got {z.shape[-1]}")
    return tuple(z[..., k * d:(k + 1) * d] for k in range(n_slots))


def bias(rate: float, t):
    """1 − e^{−rate·t} as ``-expm1(-rate t)`` (accurate for small t)."""
    return -np.expm1(-rate * np.asarray(t, dtype=float))


def bias_at(rate: float, t, debias: bool = True) -> float:
    """1 − e^{−rate·t} at one time (1 at t = ∞ and without bias correction)."""
    if not debias or np.isinf(t):
        return 1.0
    return float(-np.expm1(-rate * t))


def preconditioner_terms(v, c_b: float, eps: float):
    """(D, −∂(1/D)/∂v) of D = ε + sqrt(v/c_b): D and 1/(2D² sqrt(v̂) c_b), v̂ = v/c_b.

    Where v̂ = 0 the second is +∞; it is set to 0 there. That is harmless where it is used: Adam
    multiplies it by m (m·dv → 0 along a start from (x0, 0, 0)), and RMSProp without bias
    correction has P(0) = 0 while the true ∂ẋ/∂v ~ t^{−1/2} is integrable."""
    v_hat = np.maximum(v, 0.0) / c_b
    root = np.sqrt(v_hat)
    D = eps + root
    with np.errstate(divide="ignore", invalid="ignore"):
        dv = np.where(root > 0, 1.0 / (2.0 * D**2 * np.where(root > 0, root, 1.0) * c_b), 0.0)
    return D, dv


def at_minimizer(problem, slots):
    """The rest state (x*, slots(x*)...) at the problem's minimizer, or None without one:
    ``slots(x_star)`` gives the other slots, e.g. ``lambda x: [0 * x, problem.S(x)]``."""
    if problem.minimizer is None:
        return None
    x_star = np.asarray(problem.minimizer, dtype=float)
    return np.concatenate([x_star, *slots(x_star)])


def noise_slots(n_slots: int, d: int) -> np.ndarray:
    """A zero noise map B (n_slots, 2, d) (see :meth:`ContinuousLimit.noise_map`)."""
    return np.zeros((n_slots, 2, d))


def column(t, like):
    """``t`` broadcastable against ``like`` (..., d)."""
    t = np.asarray(t, dtype=float)
    return t[..., None] if t.ndim else t

