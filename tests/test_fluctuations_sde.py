"""SDE paths (adam_ode.fluctuations.sde): reproducibility and agreement with the LNA."""

import numpy as np
import pytest

from adam_ode import Adam, ParameterError, SGD
from adam_ode.fluctuations import CorrelatedQuadratic, linear_noise
from adam_ode.fluctuations.sde import simulate_sde

PROBLEM = CorrelatedQuadratic()
X0 = [1.0, -0.5]


@pytest.mark.parametrize("order", [1, 2])
def test_bit_identical_for_any_number_of_workers(order):
    opt = Adam(0.05, 2.0, 1.0, 0.1, debias=order == 1)
    a = simulate_sde(PROBLEM, opt, X0, 2.0, 37, 5, order=order, workers=1).final_state
    b = simulate_sde(PROBLEM, opt, X0, 2.0, 37, 5, order=order, workers=2).final_state
    assert np.array_equal(a, b)


@pytest.mark.parametrize("order, debias", [(1, True), (1, False), (2, False)])
def test_sde_covariance_matches_lna(order, debias):
    opt = Adam(0.01, 2.0, 1.0, 0.1, debias=debias)
    R = 3000
    res = simulate_sde(PROBLEM, opt, X0, 5.0, R, 11, order=order)
    ln = linear_noise(PROBLEM, opt, X0, 5.0, t_eval=np.array([5.0]))
    r = np.var(res.final_state, axis=0, ddof=1) / np.diag(ln.cov[-1])
    tol = 4.5 * np.sqrt(2.0 / R) + 0.05  # MC error + O(γ) model differences
    assert np.all(np.abs(r - 1.0) < tol), np.round(r, 3)
    sd = np.sqrt(np.diag(ln.cov[-1]))
    # The mean differs from the ODE by O(γ) (a bias of a few % of a standard deviation here).
    assert np.all(np.abs(res.final_state.mean(0) - ln.mean[-1]) < 6 * sd / np.sqrt(R) + 0.3 * sd)


def test_rejects_unsupported():
    from adam_ode import AdaGrad

    with pytest.raises(ParameterError, match="no linear-noise approximation"):
        simulate_sde(PROBLEM, AdaGrad(0.1), X0, 1.0, 2, 0)
    with pytest.raises(ParameterError, match="order must be 1"):
        simulate_sde(PROBLEM, SGD(0.1), X0, 1.0, 2, 0, order=2)
    with pytest.raises(ParameterError):
        simulate_sde(PROBLEM, Adam(0.1, 2.0, 1.0, 0.1), X0, 1.0, 2, 0, order=2)


@pytest.mark.parametrize("case", ["separable", "generic"])
def test_in_kernel_streams_equal_per_path_generators(case):
    # simulate_sde seeds each path inside its chunk kernel (adam_ode.streams); the paths must be
    # those of sde_path driven by default_rng(SeedSequence(seed).spawn(R)[r]) made in Python.
    import adam_ode as ao
    from adam_ode.fluctuations.sde import sde_path, simulate_sde
    from adam_ode.problems.base import kernel_data_of

    if case == "separable":
        problem, x0 = ao.StochasticQuadratic(h=[1.0, 0.5], sigma=1.0), np.array([1.0, -0.5])
    else:
        problem, x0 = ao.LinearRegression2D(), np.array([-1.0, 4.0])
    result = simulate_sde(problem, ao.Adam(0.01, 2.0, 1.0, 0.1), x0, 2.0, 5, 7, workers=2,
                          variant="gaussian")
    assert result.config["kernel"] == case
    final = np.empty((5, 6))
    for r in range(5):
        rng = np.random.default_rng(np.random.SeedSequence(7).spawn(5)[r])
        sde_path(kernel_data_of(problem), 2.0, 1.0, 0.1, 0.01, True, 1, x0, result.n_steps,
                 0.01, rng, 0, np.zeros((1, 0, 6)), final, r)
    np.testing.assert_array_equal(final, result.final_state)
