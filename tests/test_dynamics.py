"""Vector fields of the Adam ODE: t = 0 limits (Lemma 7.3), debiased form, autonomous limit."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (adam_vector_field, autonomous_vector_field, debiased_vector_field,
                      initial_state, initial_velocity, pack, unpack)
from adam_ode.paper import bias_correction, bias_correction_rate

A_RATE, B_RATE, EPS = 1.5, 2.0, 0.1


def test_lemma_7_3_slopes_at_t0(problem_and_x0):
    problem, x0 = problem_and_x0
    x_dot, m_dot, v_dot = unpack(adam_vector_field(0.0, initial_state(x0), problem,
                                                   A_RATE, B_RATE, EPS))
    assert_allclose(x_dot, -problem.grad_F(x0) / (EPS + np.sqrt(problem.S(x0))), rtol=1e-15)
    assert_allclose(m_dot, A_RATE * problem.grad_F(x0), rtol=1e-15)
    assert_allclose(v_dot, B_RATE * problem.S(x0), rtol=1e-15)


@pytest.mark.parametrize("t", [1e-3, 1e-5, 1e-7])
def test_field_is_continuous_at_t0_along_the_first_order_expansion(problem_and_x0, t):
    # Along z(t) ≈ (x0 + t ẋ0, t a ∇F(x0), t b S(x0)) the field tends to its t = 0 value with an
    # error O(t): the singular 0/0 of eq. (3.3) has the finite limit of Lemma 7.3.
    problem, x0 = problem_and_x0
    z0 = initial_state(x0)
    h0 = adam_vector_field(0.0, z0, problem, A_RATE, B_RATE, EPS)
    z_t = z0 + t * h0
    h_t = adam_vector_field(t, z_t, problem, A_RATE, B_RATE, EPS)
    err = np.max(np.abs(h_t - h0)) / np.max(np.abs(h0))
    assert err < 20 * t, f"relative field error {err:.3g} at t = {t:g}"


def test_batched_field_matches_pointwise(problem_and_x0):
    problem, x0 = problem_and_x0
    rng = np.random.default_rng(0)
    d = problem.dim
    Z = pack(x0 + rng.standard_normal((4, d)), rng.standard_normal((4, d)),
             rng.uniform(0.1, 2.0, (4, d)))
    t = np.array([0.0, 0.3, 1.0, 5.0])
    Z[0] = initial_state(Z[0, :d])
    batched = adam_vector_field(t, Z, problem, A_RATE, B_RATE, EPS)
    for k in range(4):
        assert_allclose(batched[k], adam_vector_field(t[k], Z[k], problem, A_RATE, B_RATE, EPS),
                        rtol=1e-13)  # BLAS may sum batches in another order


def test_debiased_field_is_eq_3_3_by_chain_rule(problem_and_x0):
    # With m = m̂ (1 − e^{−at}), v = v̂ (1 − e^{−bt}): ṁ = (1 − e^{−at}) dm̂/dt + a e^{−at} m̂.
    problem, x0 = problem_and_x0
    rng = np.random.default_rng(1)
    d = problem.dim
    for t in (0.01, 0.7, 3.0):
        w = pack(x0 + rng.standard_normal(d), rng.standard_normal(d), rng.uniform(0.1, 2.0, d))
        x, m_hat, v_hat = unpack(w)
        Ab, Bb = bias_correction(A_RATE, t), bias_correction(B_RATE, t)
        z = pack(x, m_hat * Ab, v_hat * Bb)
        xd, mhd, vhd = unpack(debiased_vector_field(t, w, problem, A_RATE, B_RATE, EPS))
        want = adam_vector_field(t, z, problem, A_RATE, B_RATE, EPS)
        got = pack(xd, Ab * mhd + bias_correction_rate(A_RATE, t) * m_hat,
                   Bb * vhd + bias_correction_rate(B_RATE, t) * v_hat)
        assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_non_autonomous_field_tends_to_autonomous_field(problem_and_x0):
    problem, x0 = problem_and_x0
    d = problem.dim
    z = pack(x0, np.full(d, 0.3), np.full(d, 0.5))
    gaps = [np.max(np.abs(adam_vector_field(t, z, problem, A_RATE, B_RATE, EPS)
                          - autonomous_vector_field(t, z, problem, A_RATE, B_RATE, EPS)))
            for t in (1.0, 5.0, 20.0, 40.0)]
    assert all(g1 > g2 for g1, g2 in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] < 1e-15 + 1e-12 * np.max(np.abs(z))


def test_bias_correction_is_accurate_for_tiny_t():
    # 1 − e^{−at} computed naively loses all digits at t = 1e-17; expm1 keeps them.
    assert bias_correction(2.0, 1e-17) == pytest.approx(2e-17, rel=1e-15)


def test_initial_velocity_is_descent_direction(problem_and_x0):
    problem, x0 = problem_and_x0
    assert initial_velocity(problem, x0, EPS) @ problem.grad_F(x0) <= 0.0


def test_unpack_rejects_bad_length():
    with pytest.raises(ValueError, match="3d"):
        unpack(np.zeros(4))
