r"""The paper's named functions, as thin wrappers over the generic API (no formula lives here).

Barakat & Bianchi write the Adam ODE, its energy and its heavy-ball form with the moment rates
(a, b) and ε as explicit arguments; these are those functions, in the paper's names, each built
on an optimizer record or its continuous limit:

==============================  ==========================================================
paper's name                    generic form
==============================  ==========================================================
``adam_vector_field``           ``Adam(...).limit().field(t, z, problem)`` (eq. 3.3)
``autonomous_vector_field``     the same with ``debias=False`` (eq. 7.1)
``debiased_vector_field``       ``AdamLimit.solver_field`` (the debiased variables)
``energy`` (V), ``U``           ``AdamLimit.energy``, the metric of eq. (3.4)
``mass``, ``friction``          the heavy-ball form of :mod:`adam_ode.optimizers.adam`
``solve_ode``                   ``solve_limit(problem, Adam(...).limit(), x0, T)``
``solve_heavy_ball``            ``solve_limit`` of ``ClassicalHeavyBall`` (momentum's module)
``solve_gradient_flow``         ``solve_limit(problem, SGD(...).limit(), x0, T)``
``run_adam``, ``run_sgd``, …    ``run_optimizer(problem, Adam(...), x0, n, seed)``
``monte_carlo_adam``            ``monte_carlo(problem, Adam(...), ...)``
``sup_distance``                ``monte_carlo(..., reference=reference_path(...)).sup_distance``
``pack``, ``unpack``            the slots (x, m, v) of the Adam state
==============================  ==========================================================
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._validation import ParameterError, check_positive, warn_if_lyapunov_fails
from .analysis.lyapunov import (N_TIMES, LyapunovPhaseDiagram, LyapunovRecord,
                                energy_phase_diagram, verify_energy)
from .analysis.weak_convergence import (WeakConvergenceStudy, check_gammas,
                                        limit_convergence_study)
from .continuous import ATOL, RTOL, AdamTrajectory, Trajectory, solve_limit
from .iterates import run_optimizer
from .montecarlo import MonteCarloResult, _check_reference, monte_carlo, steps_for_horizon
from .optimizers import SGD, Adam, AdamDecreasing, MomentumSGD, RMSProp
from .optimizers.adam import (AdamLimit, adam_energy, adam_energy_rate, adam_energy_rate_bound,
                              adam_field, bias_rate, debiased_field, debiased_moments,
                              friction, hbf_residual, initial_state, initial_velocity, mass,
                              mass_rate, metric, metric_rate, pack, unpack)
from .optimizers.base import bias
from .optimizers.momentum import ClassicalHeavyBall, classical_heavy_ball_field
from .optimizers.sgd import GradientFlow

__all__ = [
    "pack", "unpack", "initial_state",
    "bias_correction", "bias_correction_rate", "debiased_moments", "adam_vector_field",
    "autonomous_vector_field", "debiased_vector_field", "initial_velocity",
    "U", "U_rate", "energy", "energy_rate", "energy_rate_bound",
    "mass", "mass_rate", "friction", "hbf_residual", "heavy_ball_vector_field",
    "gradient_flow_vector_field",
    "solve_ode", "solve_heavy_ball", "solve_gradient_flow",
    "run_adam", "run_adam_decreasing", "run_sgd", "run_momentum_sgd", "run_rmsprop",
    "monte_carlo_adam", "reference_path", "sup_distance",
    "verify_lyapunov", "lyapunov_phase_diagram", "weak_convergence_study",
]

# ------------------------------------------------------------------------------------------------
# Fields, energy, heavy-ball form (Section 3, eqs. 3.3-3.5, Lemma 7.5)


def bias_correction(rate: float, t):
    """1 − e^{−rate·t}, as ``-expm1(-rate t)``."""
    return bias(rate, t)


def bias_correction_rate(rate: float, t):
    """d/dt (1 − e^{−rate·t})."""
    return bias_rate(rate, t)


def adam_vector_field(t, z, problem, a: float, b: float, eps: float) -> np.ndarray:
    """The non-autonomous Adam field of eq. (3.3) (t = 0: its Lemma 7.3 limit)."""
    return adam_field(t, z, problem, a, b, eps, True)


def autonomous_vector_field(t, z, problem, a: float, b: float, eps: float) -> np.ndarray:
    """The autonomous Adam field of eq. (7.1) (no bias correction; ``t`` is ignored)."""
    return adam_field(t, z, problem, a, b, eps, False)


def debiased_vector_field(t, w, problem, a: float, b: float, eps: float) -> np.ndarray:
    """Eq. (3.3) in the debiased variables w = (x, m̂, v̂), for t > 0."""
    return debiased_field(t, w, problem, a, b, eps)


def U(t, v, a: float, b: float, eps: float, debias: bool = True):
    """The metric U(t, v) of eq. (3.4) (U∞(v) with ``debias=False``)."""
    return metric(t, v, a, b, eps, debias)


def U_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """dU/dt along the flow."""
    return metric_rate(t, z, problem, a, b, eps, debias)


def energy(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """The Lyapunov energy V(t, z) of eq. (3.4) (V∞ with ``debias=False``)."""
    return adam_energy(t, z, problem, a, b, eps, debias)


def energy_rate(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """d/dt V(t, z(t)) along the flow (analytic)."""
    return adam_energy_rate(t, z, problem, a, b, eps, debias)


def energy_rate_bound(t, z, problem, a: float, b: float, eps: float, debias: bool = True):
    """Lemma 7.5's bound −(ε/2)‖ẋ‖² on :func:`energy_rate` (b ≤ 4a)."""
    return adam_energy_rate_bound(t, z, problem, a, b, eps, debias)


def heavy_ball_vector_field(t, y, problem, damping: float, gradient_scale: float = 1.0):
    """The classical heavy ball ẍ + λẋ + κ∇F(x) = 0 on y = (x, ẋ)."""
    return classical_heavy_ball_field(t, y, problem, damping, gradient_scale)


def gradient_flow_vector_field(t, x, problem):
    """The gradient flow ẋ = −∇F(x), the limit of SGD."""
    return GradientFlow().field(t, x, problem)


# ------------------------------------------------------------------------------------------------
# Solves


def solve_ode(problem, x0, a: float, b: float, eps: float, T: float, debias: bool = True, *,
              t_eval=None, rtol: float | None = None, atol: float | None = None,
              method: str | None = None, solver=None) -> AdamTrajectory:
    r"""The Adam ODE from z(0) = (x0, 0, 0) on [0, T]: eq. (3.3), or eq. (7.1) with
    ``debias=False``. ``solve_limit`` of ``AdamLimit(a, b, eps, debias)``; b > 4a warns
    (:class:`~adam_ode.LyapunovWarning`: the energy may then increase).

    Returns an :class:`~adam_ode.AdamTrajectory` (``.t``, ``.x``, ``.m``, ``.v``; ``traj(t)``).
    """
    a = check_positive("a", a)
    b = check_positive("b", b)
    eps = check_positive("eps", eps)
    warn_if_lyapunov_fails(a, b)
    traj = solve_limit(problem, AdamLimit(a, b, eps, bool(debias)), x0, T, t_eval=t_eval,
                       solver=solver, rtol=rtol, atol=atol, method=method)
    config = {"problem": problem.config(), "x0": traj.config["x0"], "a": a, "b": b, "eps": eps,
              "T": traj.T, "debias": debias, "rtol": traj.config["rtol"],
              "atol": traj.config["atol"], "method": traj.config["method"]}
    return AdamTrajectory(traj.t, traj.y, traj.T, traj._dense, traj.nfev, config, traj.dim)


def solve_heavy_ball(problem, x0, damping: float, T: float, gradient_scale: float = 1.0,
                     v0=None, *, t_eval=None, rtol: float | None = None,
                     atol: float | None = None, method: str | None = None,
                     solver=None) -> Trajectory:
    """The classical heavy ball ẍ + λẋ + κ∇F(x) = 0 on y = (x, ẋ) from (x0, v0) (v0 = 0):
    with λ = κ = a, the limit of momentum SGD in the variable ẋ = −m."""
    limit = ClassicalHeavyBall(damping, gradient_scale, v0)
    return solve_limit(problem, limit, x0, T, t_eval=t_eval, solver=solver, rtol=rtol,
                       atol=atol, method=method)


def solve_gradient_flow(problem, x0, T: float, *, t_eval=None, rtol: float | None = None,
                        atol: float | None = None, method: str | None = None,
                        solver=None) -> Trajectory:
    """The gradient flow ẋ = −∇F(x) from x0 on [0, T] (the limit of SGD)."""
    return solve_limit(problem, GradientFlow(), x0, T, t_eval=t_eval, solver=solver, rtol=rtol,
                       atol=atol, method=method)


# ------------------------------------------------------------------------------------------------
# Iterates and Monte Carlo


def run_adam(problem, x0, gamma, a, b, eps, n_steps, seed, debias=True, *,
             noise: bool = True) -> np.ndarray:
    """Adam (Algorithm 2.1): z_0 … z_n, shape (n_steps+1, 3d), packed (x, m, v)."""
    return run_optimizer(problem, Adam(gamma, a, b, eps, debias), x0, n_steps, seed, noise=noise)


def run_adam_decreasing(problem, x0, gamma0, kappa, a, b, eps, n_steps, seed, *,
                        noise: bool = True) -> np.ndarray:
    """Decreasing-step Adam (Algorithm 5.1), γ_n = γ0 n^{−κ}: z_0 … z_n, (n_steps+1, 3d)."""
    return run_optimizer(problem, AdamDecreasing(gamma0, kappa, a, b, eps), x0, n_steps, seed,
                         noise=noise)


def run_sgd(problem, x0, gamma, n_steps, seed, *, noise: bool = True) -> np.ndarray:
    """SGD x_n = x_{n−1} − γ g_n: x_0 … x_n, shape (n_steps+1, d)."""
    return run_optimizer(problem, SGD(gamma), x0, n_steps, seed, noise=noise)


def run_momentum_sgd(problem, x0, gamma, a, n_steps, seed, *, noise: bool = True) -> np.ndarray:
    """Momentum SGD, α = 1 − aγ: (x, m), shape (n_steps+1, 2d)."""
    return run_optimizer(problem, MomentumSGD(gamma, a), x0, n_steps, seed, noise=noise)


def run_rmsprop(problem, x0, gamma, b, eps, n_steps, seed, debias=True, *,
                noise: bool = True) -> np.ndarray:
    """RMSProp, β = 1 − bγ: (x, v), shape (n_steps+1, 2d)."""
    return run_optimizer(problem, RMSProp(gamma, b, eps, debias), x0, n_steps, seed, noise=noise)


def monte_carlo_adam(problem, x0, gamma, a, b, eps, n_steps, n_runs, seed, debias=True,
                     **options) -> MonteCarloResult:
    """:func:`~adam_ode.monte_carlo` for Adam (Algorithm 2.1); ``options`` are its keywords."""
    return monte_carlo(problem, Adam(gamma, a, b, eps, debias), x0, n_steps, n_runs, seed,
                       **options)


def reference_path(problem, x0, gamma, a, b, eps, T, debias: bool = True, *,
                   solver=None) -> np.ndarray:
    """The Adam ODE solution (:func:`solve_ode`, options ``solver``) on the grid kγ,
    k = 0 … N = floor(T/γ): an array (N+1, 3d) to reuse across runs and calls."""
    gamma = check_positive("gamma", gamma)
    n = steps_for_horizon(T, gamma)
    traj = solve_ode(problem, x0, a, b, eps, T, debias=debias, solver=solver)
    times = np.minimum(np.arange(n + 1) * gamma, float(T))
    return np.ascontiguousarray(traj(times), dtype=np.float64)


def sup_distance(problem, x0, gamma, a, b, eps, T, n_runs, seed, workers=None, *,
                 debias: bool = True, reference=None, noise: bool = True,
                 progress=None, solver=None) -> np.ndarray:
    r"""sup_{n ≤ T/γ} ‖z_n − z(nγ)‖ over ``n_runs`` independent Adam runs (Theorem 4.3).

    ``reference`` (N+1, 3d) is :func:`reference_path`'s array, solved here when omitted; run i
    draws from ``SeedSequence(seed).spawn(n_runs)[i]`` whatever ``workers``. Returns (n_runs,),
    ``inf`` for diverged runs (with a :class:`~adam_ode.DivergenceWarning` naming them).
    ``solver``: options of the reference solve.
    """
    optimizer = Adam(gamma, a, b, eps, debias)
    n = steps_for_horizon(T, optimizer.gamma)
    if reference is None:
        reference = reference_path(problem, x0, gamma, a, b, eps, T, debias, solver=solver)
    else:
        reference = _check_reference(reference, problem.dim)
        if reference.shape != (n + 1, 3 * problem.dim):
            raise ParameterError(f"reference must have shape (N+1, 3d) = ({n + 1}, "
                                 f"{3 * problem.dim}) for T = {T!r}, gamma = {gamma!r}, got "
                                 f"{reference.shape}")
    result = monte_carlo(problem, optimizer, x0, n, n_runs, seed, noise=noise,
                         reference=reference, track_grad_norm=False, workers=workers,
                         progress=progress)
    return result.sup_distance


# ------------------------------------------------------------------------------------------------
# The energy studies in the paper's parameters (a, b, ε)


def _adam_limit(a, b, eps) -> AdamLimit:
    return AdamLimit(check_positive("a", a), check_positive("b", b), check_positive("eps", eps))


def verify_lyapunov(problem, x0, a: float, b: float, eps: float, T: float, *,
                    n_times: int = N_TIMES, rtol: float = RTOL,
                    atol: float = ATOL) -> LyapunovRecord:
    """Whether V(t, z(t)) is nonincreasing along the Adam ODE (3.3) on [0, T]
    (:func:`~adam_ode.analysis.lyapunov.verify_energy` of ``AdamLimit(a, b, eps)``; b > 4a is
    the point of the study and does not warn)."""
    return verify_energy(problem, _adam_limit(a, b, eps), x0, T, n_times=n_times, rtol=rtol,
                         atol=atol)


def lyapunov_phase_diagram(problem, x0, a_values, b_values, eps: float, T: float, *,
                           n_times: int = N_TIMES, rtol: float = RTOL, atol: float = ATOL,
                           callback=None) -> LyapunovPhaseDiagram:
    """:func:`verify_lyapunov` over the grid ``b_values × a_values`` (rows b, columns a)."""
    eps = check_positive("eps", eps)
    return energy_phase_diagram(problem, x0, lambda a, b: _adam_limit(a, b, eps), a_values,
                                b_values, T, n_times=n_times, rtol=rtol, atol=atol,
                                callback=callback)


def weak_convergence_study(problem, x0, a: float, b: float, eps: float, T: float, gammas,
                           n_runs: int, delta: float, seed=0, *, debias: bool = True,
                           workers: int | None = None, progress=None) -> WeakConvergenceStudy:
    r"""Monte Carlo estimate of the law of sup_{nγ ≤ T} ‖z_n − z(nγ)‖ for each γ.

    Parameters
    ----------
    problem : Problem
    x0 : array (d,)
        Start of both the iterates and the ODE, z_0 = (x0, 0, 0).
    a, b : float > 0
        α = 1 − aγ, β = 1 − bγ; aγ < 1 and bγ < 1 are required for every γ.
    eps : float > 0
        ε (outside the square root).
    T : float > 0
        Horizon of the sup.
    gammas : sequence of float > 0
        Step sizes, at least two (for the slope).
    n_runs : int >= 1
        Runs per γ.
    delta : float > 0
        Threshold of P(sup > δ).
    seed : int >= 0
        Root of the random streams.
    debias : bool
        Adam with bias correction vs ODE (3.3) (True), or without vs ODE (7.1) (False).
    workers : int >= 1, optional
        Threads; default all cores. Results do not depend on it.
    progress : callable, optional
        ``progress(k)`` each time k more runs have finished (over all γ).
    """
    a = check_positive("a", a)
    b = check_positive("b", b)
    eps = check_positive("eps", eps)
    gammas = check_gammas(gammas)
    study = limit_convergence_study(problem, Adam(gammas[0], a, b, eps, debias), x0, T, gammas,
                                    n_runs, delta, seed, workers=workers, progress=progress)
    config = {"problem": problem.config(), "x0": study.config["x0"], "a": a, "b": b, "eps": eps,
              "T": study.T, "delta": study.delta, "gammas": gammas, "n_runs": n_runs,
              "seed": seed, "debias": debias}
    return replace(study, config=config)
