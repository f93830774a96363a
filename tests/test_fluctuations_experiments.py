"""The fluctuation experiments (weak-error, fluctuations) on reduced configs, the one-step
O(γ³) match of the second-order SDE, and the runners' cost estimates."""

import numpy as np
import pytest

from adam_ode.experiments import load_config, run_experiment
from adam_ode.fluctuations import CorrelatedQuadratic
from adam_ode.fluctuations.sde import _field, _modified_drift
from adam_ode.problems.base import kernel_data_of

PROBLEM = CorrelatedQuadratic()
A_, B_, EPS = 2.0, 0.25, 0.1
Z = np.array([0.7, -0.4, 0.3, -0.2, 1.1, 0.9])


def _discrete_moments(gamma, n_nodes=40):
    """Mean and covariance of one discrete autonomous Adam step from Z (Gauss–Hermite, exact to
    rounding for this smooth integrand)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    X, Y = np.meshgrid(nodes, nodes, indexing="ij")
    xi, w = np.stack([X.ravel(), Y.ravel()], 1), np.outer(weights, weights).ravel()
    x, m, v = Z[:2], Z[2:4], Z[4:]
    g = PROBLEM.A @ x + xi @ PROBLEM.L.T
    m1 = m + A_ * gamma * (g - m)
    v1 = v + B_ * gamma * (g**2 - v)
    x1 = x - gamma * m1 / (EPS + np.sqrt(v1))
    z1 = np.concatenate([x1, m1, v1], 1)
    mean = w @ z1
    return mean, (z1 - mean).T @ (w[:, None] * (z1 - mean))


def _drift(z, gamma, order):
    out, work = np.empty(6), np.empty((4, 6))
    mu, s, c, k3, k4 = np.empty(2), np.empty(2), np.empty((2, 2)), np.empty((2, 2)), \
        np.empty((2, 2))
    _modified_drift(kernel_data_of(PROBLEM), 0.0, z, out, work, mu, s, c, k3, k4, A_, B_, EPS,
                    gamma, 2)
    if order == 1:
        _field(0.0, z, out, mu, s, A_, B_, EPS, False, 2)
    return out, c, k3, k4


def _sde_moments(gamma, order):
    """One SDE step of length γ by the Itô–Taylor expansion: mean z + γb + (γ²/2)(∂b)b,
    covariance γ·γQ, each + O(γ³) (the generator's diffusion part enters at γ³)."""
    b, c, k3, k4 = _drift(Z, gamma, order)
    dl = 1e-5
    jb = (_drift(Z + dl * b, gamma, order)[0] - _drift(Z - dl * b, gamma, order)[0]) / (2 * dl)
    Q = np.zeros((6, 6))
    Q[2:4, 2:4], Q[2:4, 4:], Q[4:, 2:4], Q[4:, 4:] = A_**2 * c, A_ * B_ * k3, A_ * B_ * k3.T, \
        B_**2 * k4
    return Z + gamma * b + 0.5 * gamma**2 * jb, gamma**2 * Q


def test_second_order_sde_matches_one_discrete_step_to_gamma_cubed():
    """How: the discrete step's mean and covariance by quadrature over ξ, the SDE step's by its
    Itô–Taylor expansion; halving γ must divide the mismatch by 8 (O(γ³)) for the modified
    drift and only by 4 (O(γ²)) for the first-order drift h."""
    gammas = [0.04, 0.02, 0.01, 0.005]
    for order, want in ((2, 8.0), (1, 4.0)):
        mean_err, cov_err = [], []
        for g in gammas:
            dm, dc = _discrete_moments(g)
            sm, sc = _sde_moments(g, order)
            mean_err.append(np.abs(dm - sm).max())
            cov_err.append(np.abs(dc - sc).max())
        r_mean = np.array(mean_err[:-1]) / np.array(mean_err[1:])
        r_cov = np.array(cov_err[:-1]) / np.array(cov_err[1:])
        assert np.all(np.abs(r_mean - want) < 0.1 * want), (order, r_mean)
        assert np.all(np.abs(r_cov - 8.0) < 0.8), (order, r_cov)


def test_weak_error_reduced(tmp_path):
    rec = run_experiment("weak-error", overrides={
        "correlated.gammas": [0.1, 0.05, 0.025, 0.0125], "correlated.n_paths": 3000,
        "stationary.enabled": False, "regression.enabled": False}, out_dir=tmp_path, quiet=True)
    c = rec.summary["correlated"]
    sl = c["slopes"]
    for p in ("x2", "F"):
        ode = sl[f"ode_{p}"]
        assert ode["resolved"] and abs(ode["slope"] - 1.0) < 4 * ode["stderr"] + 0.02, ode
        # Measured with 20 000 paths on γ = 0.1 … 0.00625: 1.99 ± 0.02 (corrected fit) while the
        # pure power law gives 1.92–1.93 (the γ³ term); see paper_notes.
        sde2 = sl[f"sde2_{p}"]
        assert sde2["resolved"] and abs(sde2["slope"] - 2.0) < 4 * sde2["stderr"] + 0.05, sde2
        assert sde2["power_law"]["slope"] < sde2["slope"], sde2
        assert sl[f"sde1_{p}"]["slope"] < 1.6, sl[f"sde1_{p}"]
    # Common draws and control variates: the SDE errors are resolved far below the plain
    # Monte Carlo error of two independent means.
    assert c["stderr"]["sde2"]["x2"][-1] < 0.2 * c["stderr_independent_draws"]["sde2"]["x2"][-1]
    assert c["stderr"]["sde2"]["v2"][-1] < 0.2 * c["stderr_without_controls"]["sde2"]["v2"][-1]
    assert rec.summary["warnings"] == []
    assert (tmp_path / "figure.png").exists()


def test_weak_error_summary_has_no_nan_where_a_number_is_claimed(tmp_path):
    # Two γ per study: no slope can be fitted. Every slope is then null with "resolved": false
    # and a reason, never NaN; the run raises no warning (overflow, NonFinite).
    rec = run_experiment("weak-error", overrides={
        "correlated.gammas": [0.1, 0.05], "correlated.n_paths": 100,
        "stationary.gammas": [0.1, 0.05], "stationary.n_paths": 20,
        "regression.gammas": [0.1, 0.05], "regression.n_paths": 100},
        out_dir=tmp_path, quiet=True)
    assert rec.summary["warnings"] == [], rec.summary["warnings"]
    text = (tmp_path / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    for key in ("correlated", "stationary", "regression"):
        for name, sl in rec.summary[key]["slopes"].items():
            assert sl["resolved"] is False and sl["slope"] is None and sl["reason"], (key, name)
    assert rec.summary["regression"]["diverged_fraction"]["sde2"] == [0.0, 0.0]


def test_fluctuations_reduced(tmp_path):
    rec = run_experiment("fluctuations", overrides={"gammas": [0.01], "n_runs": 300},
                         out_dir=tmp_path, quiet=True)
    g = rec.summary["iterates"][0]
    assert abs(g["median_over_sqrt_gamma"] / g["lna_median_over_sqrt_gamma"] - 1) < 0.15, g


@pytest.mark.parametrize("module, name", [("weak_error", "weak-error"),
                                          ("fluctuations", "fluctuations")])
def test_estimate(module, name):
    import importlib

    mod = importlib.import_module(f"adam_ode.runners.{module}")
    config, _ = load_config(name)
    cost = mod.estimate(config)
    assert cost.run_steps > 0 and cost.memory_bytes > 0
    assert cost.seconds(2) < 300
