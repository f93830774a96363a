r"""The linear-noise approximation (LNA): mean and covariance of the iterates around the limit.

With z_n − z_{n−1} = Δt·(h(t, z_{n−1}) + η_n) (:mod:`.noise`; Δt = γ for the t = nγ schemes),
write z_n = z(nΔt) + √Δt ζ_n. Then ζ_n − ζ_{n−1} = ΔtJ(t)ζ_{n−1} + √Δt·√Δt η_n + O(Δt^{3/2}),
the Euler scheme of dζ = Jζ dt + Q^{1/2}dW, so Cov z_n = ΔtP(nΔt) + o(Δt) with

    Ṗ = J P + P Jᵀ + Q,   J = ∂h/∂z and Q along the limit z(t),   P(0) = 0.

At a stable rest point z* (J(∞, z*) Hurwitz) the stationary P∞ solves the continuous Lyapunov
equation J P∞ + P∞ Jᵀ + Q = 0 (``scipy.linalg.solve_continuous_lyapunov``).

Singular starts (Adam's eq. 3.3, debiased RMSProp, Nesterov's SBC friction 3/t). J has 1/t
entries: Adam's ∂ẋ/∂m = −1/((1 − e^{−at})D) ≈ −1/(atD). Writing J = J₋₁/t + O(1),
P(t) = tP₁ + O(t²) with

    P₁ = J₋₁P₁ + P₁J₋₁ᵀ + Q(0),   i.e.  (J₋₁ − I/2)P₁ + P₁(J₋₁ − I/2)ᵀ + Q(0) = 0,

a Lyapunov equation, solvable when J₋₁ − I/2 is stable: for Adam J₋₁ only couples x to (m, v),
so its eigenvalues are 0; for SBC J₋₁ = diag(0, −3I). Example: Adam's P_xx(t) ≈ 2t·C/D², which
is the variance of γΣ_k m̂_k/D with m̂_k the mean of k gradients. The covariance ODE is started at the limit's own t_s
(``limit.start_time(ATOL)``) from t_s·P₁, with J₋₁ ≈ t_s·J(t_s) (error O(t_s)); on [0, t_s],
P(t) = (t/t_s)P(t_s). Regular limits start from P(0) = 0.

On a separable problem (:func:`~.moments.is_separable`) the ODE runs on d independent blocks
(coordinate i of each slot), e.g. 100 blocks of 3×3 for Adam on the d = 100 quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_continuous_lyapunov

from .._validation import check_positive, check_vector
from ..continuous import resolve, solve_limit, solve_system
from .noise import NoiseModel

__all__ = ["LinearNoise", "linear_noise", "DEFAULT_POINTS", "QUANTILE_DRAWS"]

DEFAULT_POINTS = 201  # default output grid: uniform on [0, T]
QUANTILE_DRAWS = 20_000  # Gaussian draws per time for the quantiles of ‖x − x*‖ (seeded)
STABILITY_MARGIN = 0.0  # a rest point counts as stable when max Re λ(J) < −margin


@dataclass(frozen=True, eq=False)
class LinearNoise:
    """The LNA prediction on a time grid (see the module docstring).

    Attributes
    ----------
    t : (n,)
        Limit times (t = nγ; t = n·sqrt(γ) for Nesterov): iterate n sits at ``optimizer.times(n)``.
    mean : (n, k)
        The limit z(t) in the optimizer's state variables (the predicted mean of z_n at first
        order).
    cov : (n, k, k)
        Δt·E P(t) Eᵀ (γP(t) for the t = nγ schemes): the predicted covariance of z_n itself;
        state order of the optimizer's slots, x first ((x, m, v) for Adam).
    P : (n, k, k)
        P(t) in the limit's variables.
    stationary_cov : (k, k) or None
        The same at the rest point ``rest_state`` (None when there is none or it is unstable).
    gamma : float
        The optimizer's γ.
    step : float
        Δt, the limit time of one step (γ, or sqrt(γ) for Nesterov).
    """

    t: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    P: np.ndarray
    gamma: float
    step: float
    stationary_cov: np.ndarray | None
    stationary_P: np.ndarray | None
    rest_state: np.ndarray | None
    dim: int
    nfev: int
    _P_of: object = field(repr=False)
    _mean_of: object = field(repr=False)
    _model: object = field(repr=False)
    config: dict = field(default_factory=dict)

    def cov_at(self, t):
        """The predicted covariance at any time(s) in [0, T]: (k, k) or (len(t), k, k)."""
        return self._model.to_state_cov(self._P_of(t))

    def mean_at(self, t):
        return self._mean_of(t)

    @property
    def x_std(self) -> np.ndarray:
        """Predicted standard deviations of the coordinates of x_n, (n, d)."""
        d = self.dim
        return np.sqrt(np.maximum(np.diagonal(self.cov[:, :d, :d], axis1=1, axis2=2), 0.0))

    def distance_quantiles(self, levels, center=None, n_draws: int = QUANTILE_DRAWS,
                           seed: int = 0) -> np.ndarray:
        """Quantiles of ‖x_n − center‖ under x_n ~ N(mean_x, cov_xx), (n, len(levels)).

        ``center`` defaults to the minimizer of the problem (from the config). The norm of a
        Gaussian vector has no closed-form quantiles: they are taken over ``n_draws`` seeded
        draws (relative error ~ 1/sqrt(n_draws) per quantile).
        """
        d = self.dim
        center = np.asarray(self.config["center"] if center is None else center, dtype=float)
        rng = np.random.default_rng(seed)
        normals = rng.standard_normal((n_draws, d))
        out = np.empty((len(self.t), len(levels)))
        for i in range(len(self.t)):
            w, U = np.linalg.eigh(self.cov[i, :d, :d])
            root = U * np.sqrt(np.maximum(w, 0.0))
            sample = self.mean[i, :d] - center + normals @ root.T
            out[i] = np.quantile(np.linalg.norm(sample, axis=1), levels)
        return out


def _blocks_of(M, blocks):
    return M[blocks[:, :, None], blocks[:, None, :]]


def _assemble(Pb, blocks, k):
    """Full (..., k, k) from blocks (..., n_blocks, s, s)."""
    out = np.zeros(Pb.shape[:-3] + (k, k))
    out[..., blocks[:, :, None], blocks[:, None, :]] = Pb
    return out


def stationary(model: NoiseModel, z_rest) -> np.ndarray | None:
    """P∞ solving J P + P Jᵀ + Q = 0 at z_rest with the t = ∞ coefficients (None if unstable)."""
    J, Q = model.jacobian_and_noise(np.inf, z_rest)
    if np.max(np.linalg.eigvals(J).real) >= -STABILITY_MARGIN:
        return None
    Jb, Qb = _blocks_of(J, model.blocks), _blocks_of(Q, model.blocks)
    Pb = np.stack([solve_continuous_lyapunov(Jb[i], -Qb[i]) for i in range(len(Jb))])
    P = _assemble(Pb, model.blocks, model.k)
    return 0.5 * (P + P.T)


def linear_noise(problem, optimizer, x0, T: float, *, t_eval=None, rtol: float | None = None,
                 atol: float | None = None, solver=None) -> LinearNoise:
    r"""Predicted mean and covariance of the iterates z_n of ``optimizer`` (the LNA).

    Parameters
    ----------
    problem : Problem
        A problem with exact noise moments (:func:`~.moments.gradient_moments`).
    optimizer : optimizer record
        Any record whose limit has a fluctuation model (SGD, MomentumSGD, Nesterov, RMSProp,
        Adam, AdamW; the others raise :class:`~adam_ode.ParameterError` saying why). Its time
        step Δt = ``optimizer.times(1)`` scales the covariance; its limit gives the mean.
    x0 : array (d,)
    T : float > 0
        Horizon in the limit's time (t = nγ; t = k·sqrt(γ) for Nesterov).
    t_eval : array, optional
        Output times (default :data:`DEFAULT_POINTS` uniform points on [0, T]).
    rtol, atol : float
        Tolerances of both solves (they override ``solver``'s).
    solver : SolverOptions, optional
        Options of both solves (default: :func:`adam_ode.continuous.current_defaults`).

    Returns
    -------
    LinearNoise
        ``.t``, ``.mean``, ``.cov`` (Δt·E P Eᵀ: the covariance of z_n), ``.stationary_cov``.
    """
    T = check_positive("T", T)
    x0 = check_vector("x0", x0, problem.dim)
    model = NoiseModel(problem, optimizer)
    limit = model.limit
    options = resolve(solver, rtol=rtol, atol=atol)
    rtol, atol = options.rtol, options.atol
    traj = solve_limit(problem, limit, x0, T, solver=options)
    blocks, k = model.blocks, model.k
    n_b, s = blocks.shape

    if limit.singular:
        t_s = min(limit.start_time(atol), 0.5 * T)
        J, Q = model.jacobian_and_noise(t_s, traj(t_s))
        Jb, Qb = _blocks_of(t_s * J, blocks), _blocks_of(Q, blocks)
        half = 0.5 * np.eye(s)
        P1 = np.stack([solve_continuous_lyapunov(Jb[i] - half, -Qb[i]) for i in range(n_b)])
        P_s = t_s * P1
    else:
        t_s = 0.0
        P_s = np.zeros((n_b, s, s))

    def rhs(t, y):
        J, Q = model.jacobian_and_noise(t, traj(t))
        Jb, Qb = _blocks_of(J, blocks), _blocks_of(Q, blocks)
        Pb = y.reshape(n_b, s, s)
        JP = Jb @ Pb
        return (JP + JP.transpose(0, 2, 1) + Qb).ravel()

    sol = solve_system(rhs, (t_s, T), P_s.ravel(), solver=options,
                       what=f"linear_noise({type(optimizer).__name__})")

    def P_of(t):
        t = np.asarray(t, dtype=float)
        tt = np.atleast_1d(t)
        late = sol.sol(np.maximum(tt, t_s)).T.reshape(len(tt), n_b, s, s)
        if t_s > 0:
            early = (tt / t_s)[:, None, None, None] * P_s[None]
            late = np.where((tt < t_s)[:, None, None, None], early, late)
        full = _assemble(late, blocks, k)
        full = 0.5 * (full + np.swapaxes(full, -1, -2))
        return full if t.ndim else full[0]

    t_out = np.linspace(0.0, T, DEFAULT_POINTS) if t_eval is None else \
        np.asarray(t_eval, dtype=float)
    P = P_of(t_out)
    z_rest = limit.rest_state(problem)
    P_inf = None if z_rest is None else stationary(model, z_rest)
    center = problem.minimizer if problem.minimizer is not None else np.zeros(problem.dim)
    config = {"problem": problem.config(), "optimizer": optimizer.config(), "x0": x0.tolist(),
              "T": T, "rtol": rtol, "atol": atol, "start_time": t_s,
              "center": np.asarray(center).tolist()}
    return LinearNoise(t_out, model.to_state_mean(traj(t_out)), model.to_state_cov(P), P,
                       float(optimizer.gamma), model.step,
                       None if P_inf is None else model.to_state_cov(P_inf), P_inf,
                       None if z_rest is None else model.to_state_mean(z_rest), problem.dim,
                       int(sol.nfev), P_of, lambda t: model.to_state_mean(traj(t)), model,
                       config)
