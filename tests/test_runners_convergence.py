"""Runners ``convergence``, ``interpolated`` and ``debiasing`` on tiny configs (~1 s each)."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode.cli import main
from adam_ode.experiments import run_experiment
from adam_ode import Adam
from adam_ode.paper import solve_ode
from adam_ode.problems import LinearRegression2D, StochasticQuadratic
from adam_ode.runners import debiasing
from adam_ode.runners._paths import log_steps
from adam_ode.runners.convergence import linearised_rate

MAX_NPZ_BYTES = 2 * 2**20


def _check_files(out_dir):
    for name in ("summary.json", "data.npz", "figure.png"):
        assert (out_dir / name).is_file(), name
    assert (out_dir / "data.npz").stat().st_size < MAX_NPZ_BYTES
    return json.loads((out_dir / "summary.json").read_text())


# ------------------------------------------------------------------------------ convergence


def test_convergence_tiny_run(tmp_path):
    rec = run_experiment("convergence", {"gammas": [0.1, 0.05], "n_runs": 20, "T": 24.0},
                         out_dir=tmp_path, quiet=True)
    res = _check_files(tmp_path)
    ode = res["ode"]
    assert ode["final_distance"] < 1e-3 * ode["initial_distance"], ode
    # Theorem 3.4 (θ = 1/2): the fitted exponential rate matches the linearisation at x*.
    assert ode["fitted_rate"] == pytest.approx(ode["linearised_rate"], rel=0.01), ode
    for g in res["iterates"]:
        assert g["n_diverged"] == 0
        q = g["final_quantiles"]
        assert 0 < q["q10"] <= q["q50"] <= q["q90"] < ode["initial_distance"], q
        assert np.isfinite(g["stationary_median_distance"]) and g["stationary_median_distance"] > 0
    with np.load(tmp_path / "data.npz") as data:
        assert data["gamma0_quantiles"].shape == (3, data["gamma0_t"].size)
        assert data["gamma1_t"].size <= 501  # ~RECORD_POINTS recorded states per run
        assert_allclose(data["ode_distance"][0], 5.0, atol=1e-12)
    assert rec.result.figure is not None


def test_linearised_rate_matches_closed_form():
    # Complex pair: rate a/2 for both coordinates when a < 4 h_i / (eps + sqrt(S_i)).
    problem = LinearRegression2D(p=0.3, sigma=1.0)
    assert linearised_rate(problem, a=1.0, eps=0.01) == pytest.approx(0.5, rel=1e-8)
    # Overdamped 1D: λ² + aλ + a k = 0 with k = h / (eps + sigma); rate = (a − sqrt(a² − 4ak))/2.
    h, sigma, a, eps = 1.0, 0.5, 10.0, 0.01
    k = h / (eps + sigma)
    expected = (a - np.sqrt(a * a - 4 * a * k)) / 2
    rate = linearised_rate(StochasticQuadratic(h=[h], sigma=sigma), a=a, eps=eps)
    assert rate == pytest.approx(expected, rel=1e-8)


# ----------------------------------------------------------------------------- interpolated


def test_interpolated_tiny_run_sup_distance_matches_arrays(tmp_path):
    run_experiment("interpolated", {"gammas": [0.1, 0.02], "n_runs": 5, "T": 2.0},
                   out_dir=tmp_path, quiet=True)
    res = _check_files(tmp_path)
    cfg = json.loads((tmp_path / "summary.json").read_text())["config"]
    problem = LinearRegression2D(**{k: v for k, v in cfg["problem"].items() if k != "name"})
    ode = solve_ode(problem, cfg["x0"], cfg["a"], cfg["b"], cfg["eps"], cfg["T"])
    with np.load(tmp_path / "data.npz") as data:
        for i, g in enumerate(res["per_gamma"]):
            t, z = data[f"gamma{i}_t"], data[f"gamma{i}_z"]
            assert z.shape == (g["n_steps"] + 1, 6)
            assert_allclose(z[0], [-1.0, 4.0, 0, 0, 0, 0], atol=0)
            # The reported sup distance is the one of the saved path against the ODE.
            sup = np.max(np.linalg.norm(z - ode(t), axis=1))
            assert g["sup_distance_z"] == pytest.approx(sup, rel=1e-9)
            per_coord = np.array(list(g["sup_per_coordinate"].values()))
            assert per_coord.max() <= g["sup_distance_z"] <= np.sqrt(6) * per_coord.max()
            assert g["sup_distance_x"] <= g["sup_distance_z"]
            assert g["runs"]["n_diverged"] == 0 and g["runs"]["median_sup_distance_z"] > 0
    assert set(res["sup_distance_z_shown"]) == {"0.1", "0.02"}


# -------------------------------------------------------------------------------- debiasing


def test_debiasing_tiny_run_through_cli(tmp_path, capsys):
    args = ["run", "debiasing", "--out", str(tmp_path), "--quiet",
            "--set", "gammas=[0.1, 0.01]", "--set", "n_steps=300", "--set", "n_runs=6"]
    assert main(args) == 0
    assert "max_t F - F(x0)" in capsys.readouterr().out
    res = _check_files(tmp_path)
    assert len(res["cases"]) == 4
    for case in res["cases"]:
        assert case["b_le_4a"]
        # Lyapunov (b <= 4a): neither ODE rises above F(x0).
        assert case["ode_debiased"]["max_F_minus_F0"] <= 1e-9, case
        assert case["ode_autonomous"]["max_F_minus_F0"] <= 1e-9, case
        for curve in ("adam_debiased", "adam_no_correction"):
            assert case[curve]["max_F_minus_F0"] >= 0.0  # F(x_0) = F(x0) is in the maximum
    near = [c for c in res["cases"] if c["start"] == "near" and c["gamma"] == 0.1][0]
    # Deterministic first step without bias correction: 3.16 γ past x* from 0.05 away.
    assert near["adam_no_correction"]["exact_gradient_max_F_minus_F0"] > 0.01
    assert near["adam_no_correction"]["exact_gradient_n_at_max"] == 1
    assert near["adam_debiased"]["exact_gradient_max_F_minus_F0"] <= 1e-12
    assert res["first_step_factor_no_correction"] == pytest.approx(0.1 / np.sqrt(0.001))
    far = [c for c in res["cases"] if c["start"] == "far"]
    assert all(not c["adam_debiased"]["exceeds_F0"] for c in far)
    assert res["overview"]["ode_debiased_max_F_minus_F0"] <= 1e-9


def test_mean_objective_path_batches_and_workers_agree():
    problem = LinearRegression2D()
    adam = Adam(0.05, 2.0, 1.0, 0.01)
    x0 = np.array([2.0, 2.0])
    n_runs = debiasing.BATCH_RUNS + 7  # two batches, the second partial
    m1, s1 = debiasing.mean_objective_path(problem, adam, x0, 40, n_runs, 3, workers=1)
    m2, s2 = debiasing.mean_objective_path(problem, adam, x0, 40, n_runs, 3, workers=2)
    assert_allclose(m1, m2, rtol=0, atol=0)
    assert_allclose(s1, s2, rtol=0, atol=0)
    assert m1[0] == pytest.approx(problem.F(x0)) and s1[0] == 0.0
    assert np.all(s1[1:] > 0)


# ---------------------------------------------------------------------------------- helpers


def test_log_steps():
    steps = log_steps(5000, 400)
    assert steps[0] == 1 and steps[-1] == 5000
    assert np.all(np.diff(steps) > 0)
    assert 400 <= steps.size <= 500
    assert np.array_equal(log_steps(10, 400), np.arange(1, 11))

def test_step_progress_counts_steps_across_monte_carlo_calls():
    # Runs finish in chunks of any size; the bar must advance by runs x steps of their own γ.
    from adam_ode.runners._paths import step_progress

    class Bar:
        n = 0

        def update(self, k):
            self.n += k

    bar = Bar()
    advance = step_progress(bar, 5, [100, 1000, 10])
    for k in (2, 4, 3, 1, 5):  # 2+3 runs of γ0, 2 of γ0 ... crossing the boundaries
        advance(k)
    assert bar.n == 5 * 100 + 5 * 1000 + 5 * 10
