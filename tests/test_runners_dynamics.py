"""Smoke runs of the quadratic-d100, heavy-ball and double-well experiments on tiny configs.

Each run goes through the CLI, checks the written files and asserts key numbers that a broken
runner, integrator or kernel would change (HBF residual, ODE limits, iterate-to-ODE distances).
"""

import json

import numpy as np

from adam_ode.cli import main

FILES = ("data.npz", "figure.png", "summary.json")
MAX_NPZ_BYTES = 2 * 2**20


def _run(name, tmp_path, *overrides):
    args = ["run", name, "--out", str(tmp_path), "--quiet", "--workers", "2"]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 0
    for f in FILES:
        assert (tmp_path / f).is_file(), f
    assert (tmp_path / "data.npz").stat().st_size < MAX_NPZ_BYTES
    return json.loads((tmp_path / "summary.json").read_text()), \
        np.load(tmp_path / "data.npz")


def test_quadratic_d100_iterates_follow_their_own_ode(tmp_path):
    res, data = _run("quadratic-d100", tmp_path, "problem.d=20", "T=10.0", "gammas=[0.001]",
                     "n_runs=3")
    assert res["problem"]["d"] == 20
    ode = res["ode"]
    # Both ODEs decrease F from F(x0); with a = 10 > b = 1 the autonomous one is faster early.
    for rec in ode.values():
        assert rec["F_at_T"] < 0.5 * res["F_x0"], rec
        assert rec["max_F"] <= res["F_x0"] * (1 + 1e-9), rec
    assert ode["autonomous"]["time_F_below_tenth_F0"] < ode["non_autonomous"][
        "time_F_below_tenth_F0"]
    assert res["ode_gap_max"] > 0.1
    # Early on, each family of iterates is closer to its own ODE than to the other one.
    for rec in res["iterates"]:
        assert rec["early_sup_distance_to_matching_ode_median"] < \
            0.7 * rec["early_sup_distance_to_other_ode_median"], rec
    assert data["F_ode_autonomous"].shape == data["times"].shape


def test_heavy_ball_residual_small_and_mass_limits(tmp_path):
    res, data = _run("heavy-ball", tmp_path, "T=6.0", "n_runs=4", "gamma=0.02")
    # The HBF form holds along the solved ODE up to finite-difference error.
    assert res["hbf_residual_max_relative"] < 1e-5, res["hbf_residual_max_relative"]
    # Lemma 7.3: M(t) ~ t (eps + sqrt(S(x0))) as t -> 0.
    np.testing.assert_allclose(res["mass_small_t_over_t"], res["eps_plus_sqrt_S_x0"], rtol=2e-2,
                               atol=0)
    # c2(0+) = eps + sqrt(S(x0)) (massless start) and M(t) > 0.
    first = res["mass_and_friction"][0]
    assert first["t"] == 0.01
    np.testing.assert_allclose(first["c2"], res["eps_plus_sqrt_S_x0"], rtol=0.05, atol=0)
    assert np.all(data["mass"] > 0)
    for key in ("sgd", "momentum", "adam"):
        pair = res["pairs"][key]
        assert pair["sup_distance_median"] < 0.3, (key, pair)
        assert pair["ode_final_distance_to_minimizer"] < 0.5, (key, pair)


def test_double_well_ode_reaches_critical_points(tmp_path):
    res, data = _run("double-well", tmp_path, "portrait_x0=[[0.0, 1.6], [0.3, -1.8]]",
                     "cloud_runs=10", "compare_steps=5000", "compare_runs=6",
                     "gammas=[0.2, 0.01]", "ergodic_runs=4", "horizon=40.0", "T=25.0")
    portrait = res["phase_portrait"]
    # From the axis the ODE converges to the saddle (0, 1); the noisy iterates leave it.
    assert portrait[0]["ode_limit"] == [0.0, 1.0]
    assert not portrait[0]["ode_limit_is_minimum"]
    assert portrait[0]["iterates_near_ode_limit"] < 0.5
    assert portrait[1]["ode_limit"] == [1.0, -1.0]
    assert res["ode_max_final_distance"] < 1e-4
    cmp = res["decreasing_vs_constant"]
    assert cmp["decreasing_final_distance_median"] < cmp["constant_final_distance_median"]
    erg = {r["gamma"]: r["fraction_outside"] for r in res["ergodic"]}
    assert erg[0.01] < erg[0.2]
    assert data["clouds"].shape == (2, 10, 2)
