"""The fluctuation models on the optimizer spec: every record of the registry has one or says why.

Each supported limit's Jacobian is checked against central differences of its own field, its
noise map against the one-step covariance of its own NumPy transcription, and the LNA against
closed forms and the Monte Carlo of the discrete iterates.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import (OPTIMIZERS, DoubleWell, LinearRegression2D, ParameterError,
                      StochasticQuadratic, monte_carlo)
from adam_ode.fluctuations import CorrelatedQuadratic, gradient_moments, linear_noise
from adam_ode.fluctuations.noise import NoiseModel, supports_fluctuations

from test_family import INSTANCES

REGRESSION = LinearRegression2D(0.3, 1.0, (3.0, 1.0))
# The records of the registry with a fluctuation model, by their own attributes: a noise map on
# the limit, and no stated reason against one.
SUPPORTED = {name for name, make in INSTANCES.items() if supports_fluctuations(make())}
WITHOUT = set(INSTANCES) - SUPPORTED


def test_every_optimizer_has_a_fluctuation_model_or_a_reason():
    # The family as derived in paper_notes.md: a record that gains or loses a model must say so.
    assert SUPPORTED == {"sgd", "momentum-sgd", "nesterov", "rmsprop", "adam", "adamw"}
    for name in sorted(INSTANCES):
        record = INSTANCES[name]()
        if name in WITHOUT:
            reason = record.no_fluctuations or record.limit().no_fluctuations
            assert reason, f"{name} has no fluctuation model and states no reason"
            with pytest.raises(ParameterError, match="no linear-noise approximation"):
                linear_noise(REGRESSION, record, [0.0, 0.0], 1.0)


def _records():
    return [adam_ode.SGD(0.01), adam_ode.MomentumSGD(0.01, a=3.0),
            adam_ode.Nesterov(1e-4), adam_ode.Nesterov(1e-4, schedule="constant", c=1.5),
            adam_ode.RMSProp(0.01, b=2.0, eps=0.05), adam_ode.RMSProp(0.01, b=2.0, debias=False),
            adam_ode.Adam(0.01, 3.0, 2.0, 0.05), adam_ode.Adam(0.01, 3.0, 2.0, debias=False),
            adam_ode.AdamW(0.01, 3.0, 2.0, 0.05, weight_decay=0.2)]


def _ids(records):
    def name(r):
        plain = "-nodebias" if not getattr(r, "debias", True) else ""
        return f"{r.name}-{getattr(r, 'schedule', '')}{plain}"

    return [name(r) for r in records]


PROBLEMS = [REGRESSION, CorrelatedQuadratic(), DoubleWell(d=2, sigma=0.3)]


@pytest.mark.parametrize("record", _records(), ids=_ids(_records()))
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("t", [0.7, np.inf])
def test_jacobian_is_the_derivative_of_the_field(record, problem, t):
    model = NoiseModel(problem, record)
    rng = np.random.default_rng(4)
    d = problem.dim
    z = rng.normal(size=model.k)
    if model.n_slots == 3 or record.name == "rmsprop":  # v > 0
        z[-d:] = np.abs(z[-d:]) + 0.5
    J, _ = model.jacobian_and_noise(t, z)
    t_field = 1e12 if np.isinf(t) else t  # the field's t → ∞ coefficients
    h = 1e-6
    fd = np.empty_like(J)
    for j in range(model.k):
        e = np.zeros(model.k)
        e[j] = h
        fd[:, j] = (model.field(t_field, z + e) - model.field(t_field, z - e)) / (2 * h)
    assert_allclose(J, fd, rtol=1e-6, atol=1e-7 * np.abs(J).max())


def _limit_state(record, problem, x):
    """A state of the limit at x: m = ∇F/2, v = S(x) (v > 0), Nesterov's velocity (0.3, −0.2)."""
    values = {"x": x, "m": 0.5 * problem.grad_F(x),
              "v": np.array([0.3, -0.2]) if record.name == "nesterov" else problem.S(x)}
    return np.concatenate([values[s] for s in record.limit().slots])


@pytest.mark.parametrize("record", _records(), ids=_ids(_records()))
def test_noise_map_is_the_one_step_covariance_of_the_rule(record):
    # R single steps of the NumPy transcription from one state: in the limit's variables
    # (E⁻¹ z), Cov ≈ Δt²·Q up to a relative O(Δt) and the sampling error ~ 1/sqrt(R); the noises
    # the model drops (x's in momentum and Adam, X's in Nesterov) must be small next to the rest.
    problem = CorrelatedQuadratic()
    model = NoiseModel(problem, record)
    d, k = problem.dim, model.k
    z_lim = _limit_state(record, problem, np.array([0.6, -0.4]))
    z = model.to_state_mean(z_lim)
    state = {s: z[i * d:(i + 1) * d] for i, s in enumerate(record.slots)}
    n = 40  # away from the start: bias corrections and Nesterov's μ_k are settled
    rng = np.random.default_rng(11)
    R = 40_000
    out = np.empty((R, k))
    for r in range(R):
        new = record.numpy_step(n, dict(state), lambda p: problem.sample_grad(p, rng))
        out[r] = np.concatenate([new[s] for s in record.slots])
    E_inv = np.eye(k) if model.embed is None else np.linalg.inv(model.embed)
    cov = E_inv @ np.cov(out, rowvar=False) @ E_inv.T
    _, Q = model.jacobian_and_noise(float(record.times(n)), z_lim)
    expected = model.step**2 * Q
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    big = scale > 1e-3 * scale.max()
    rel = np.abs(cov - expected)[big] / scale[big]
    assert rel.max() < 0.05, f"max relative deviation {rel.max():.3f}"
    assert np.abs(cov - expected).max() < 0.05 * scale.max()  # the dropped noises included


def test_nesterov_constant_stationary_variance_closed_form():
    # J = [[0, 1], [−h, −c]], Q_VV = σ²: P_XX = σ²/(2ch), P_VV = σ²/(2c); Cov x = sqrt(γ)P_XX.
    h, sigma, c, gamma = np.array([1.0, 4.0]), np.array([0.5, 0.3]), 1.5, 1e-2
    problem = StochasticQuadratic(h=h, sigma=sigma)
    ln = linear_noise(problem, adam_ode.Nesterov(gamma, schedule="constant", c=c), [1.0, 1.0],
                      1.0)
    P = ln.stationary_P
    assert_allclose(np.diag(P)[:2], sigma**2 / (2 * c * h), rtol=1e-10)
    assert_allclose(np.diag(P)[2:], sigma**2 / (2 * c), rtol=1e-10)
    # the optimizer's dx = sqrt(γ)·V: Cov dx = sqrt(γ)·γ·P_VV
    assert_allclose(np.diag(ln.stationary_cov)[2:], gamma**1.5 * sigma**2 / (2 * c), rtol=1e-10)


def test_sbc_has_no_stationary_state_and_starts_linearly():
    ln = linear_noise(REGRESSION, adam_ode.Nesterov(1e-3), [-1.0, 4.0], 2.0,
                      t_eval=np.array([1e-3, 2e-3]))
    assert ln.stationary_cov is None
    # P(t) ≈ tP₁ with P₁_VV = C(x0)/7 ((J₋₁ − I/2) = diag(−1/2, −7/2) in V)
    C = gradient_moments(REGRESSION, np.array([-1.0, 4.0])).cov
    assert_allclose(ln.P[0][2:, 2:] / 1e-3, C / 7.0, rtol=2e-2)


def _variance_ratios(problem, opt, x0, T, R, seed):
    n = int(round(T / float(opt.times(1))))
    mc = monte_carlo(problem, opt, x0, n, R, seed, track_grad_norm=False)
    ln = linear_noise(problem, opt, x0, float(opt.times(n)), t_eval=np.array([opt.times(n)]))
    var = np.var(mc.final_state, axis=0, ddof=1)
    return var / np.diag(ln.cov[-1])


@pytest.mark.parametrize("problem, opt, x0, T", [
    (REGRESSION, adam_ode.Nesterov(1e-4, schedule="constant", c=2.0), [-1.0, 4.0], 4.0),
    (REGRESSION, adam_ode.Nesterov(1e-4), [-1.0, 4.0], 3.0),
    (REGRESSION, adam_ode.AdamW(2e-3, 4.0, 1.0, 0.01, weight_decay=0.2), [-1.0, 4.0], 4.0),
    (CorrelatedQuadratic(), adam_ode.MomentumSGD(2e-3, a=3.0), [1.0, -0.5], 4.0),
], ids=["nesterov-constant", "nesterov-sbc", "adamw", "momentum-correlated"])
def test_lna_matches_monte_carlo_across_the_family(problem, opt, x0, T):
    R = 3000
    r = _variance_ratios(problem, opt, x0, T, R, 5)
    # MC error of a sample variance sqrt(2/R) (4.5 se) plus the O(Δt) bias
    tol = 4.5 * np.sqrt(2.0 / R) + 2 * float(opt.times(1))
    assert np.all(np.abs(r - 1.0) < tol), f"Var / cov = {np.round(r, 3)}, tolerance {tol:.3f}"


# Exact covariance recursions: on StochasticQuadratic (g = h x + σξ, Gaussian, additive) SGD,
# momentum and Nesterov are linear-Gaussian, z_{n+1} = A_n z_n + G_n ξ, so Cov z_n is known
# exactly; the LNA's relative error must vanish like Δt.

def _exact_cov(record, h, sigma, n_steps):
    """Per-coordinate exact Var of each slot after n_steps from a deterministic start."""
    g = record.gamma
    if record.name == "sgd":
        A = lambda n: np.array([[1 - g * h]])  # noqa: E731
        G = lambda n: np.array([-g * sigma])  # noqa: E731
    elif record.name == "momentum-sgd":
        al = record.alpha
        A = lambda n: np.array([[1 - g * (1 - al) * h, -g * al],  # noqa: E731
                                [(1 - al) * h, al]])
        G = lambda n: np.array([-g * (1 - al) * sigma, (1 - al) * sigma])  # noqa: E731
    else:  # Nesterov on (x, dx): x' = (1 − γh)(x + μ dx) − γσξ, dx' = x' − x
        c = 1 - g * h

        def A(n):
            mu = record.momentum(n)
            return np.array([[c, c * mu], [c - 1, c * mu]])

        G = lambda n: np.array([-g * sigma, -g * sigma])  # noqa: E731
    k = A(1).shape[0]
    P = np.zeros((k, k))
    for n in range(1, n_steps + 1):
        An, Gn = A(n), G(n)
        P = An @ P @ An.T + np.outer(Gn, Gn)
    return np.diag(P)


# Measured errors at the smallest step / slopes: SGD 0.0042 / 1.01, momentum 0.015 / 1.04,
# Nesterov constant 0.011 / 1.16, SBC 0.031 / 1.02, Théorème 5 0.057 / 0.85 (its friction differs
# from 3/t by O(sqrt(γ) log(1/γ))).
NESTEROV_STEPS = [1e-2, 2.5e-3, 6.25e-4]


@pytest.mark.parametrize("make, gammas, worst, slopes", [
    (lambda g: adam_ode.SGD(g), [0.04, 0.02, 0.01], 0.01, (0.8, 1.2)),
    (lambda g: adam_ode.MomentumSGD(g, a=3.0), [0.04, 0.02, 0.01], 0.03, (0.8, 1.2)),
    (lambda g: adam_ode.Nesterov(g, schedule="constant", c=1.5), NESTEROV_STEPS, 0.03,
     (0.8, 1.4)),
    (lambda g: adam_ode.Nesterov(g), NESTEROV_STEPS, 0.05, (0.8, 1.2)),
    (lambda g: adam_ode.Nesterov(g, schedule="thm5"), NESTEROV_STEPS, 0.08, (0.6, 1.2)),
], ids=["sgd", "momentum", "nesterov-constant", "nesterov-sbc", "nesterov-thm5"])
def test_lna_error_vanishes_like_the_time_step_against_exact_recursions(make, gammas, worst,
                                                                         slopes):
    h, sigma, T = 0.8, 0.6, 3.0
    problem = StochasticQuadratic(h=[h], sigma=[sigma])
    errors, steps = [], []
    for g in gammas:
        record = make(g)
        step = float(record.times(1))
        n = int(round(T / step))
        exact = _exact_cov(record, h, sigma, n)
        ln = linear_noise(problem, record, [1.0], float(record.times(n)),
                          t_eval=np.array([record.times(n)]))
        errors.append(np.max(np.abs(exact / np.diag(ln.cov[-1]) - 1.0)))
        steps.append(step)
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert errors[-1] < worst and slopes[0] < slope < slopes[1], (errors, slope)


@pytest.mark.parametrize("opt", [adam_ode.SGD(2e-3), adam_ode.Adam(2e-3, 4.0, 1.0, 0.01)],
                         ids=["sgd", "adam"])
def test_lna_on_logistic_regression_matches_monte_carlo(opt):
    # Exact minibatch moments of a logistic loss on 40 points (batch 4, l2 = 0.1); measured
    # ratios 0.95–0.97 (SGD), 0.98–1.05 (Adam).
    from adam_ode import LogisticRegression

    rng = np.random.default_rng(0)
    A = rng.normal(size=(40, 2))
    y = np.where(A @ [1.0, -2.0] + 0.5 * rng.normal(size=40) > 0, 1, -1)
    problem = LogisticRegression(A, y, batch_size=4, l2=0.1)
    r = _variance_ratios(problem, opt, [0.5, 0.5], 3.0, 3000, 1)
    assert np.all(np.abs(r - 1.0) < 4.5 * np.sqrt(2.0 / 3000) + 2 * opt.gamma), np.round(r, 3)
