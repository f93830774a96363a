"""Smoke runs of the lecture experiments (reddi, weight-decay, logistic-regression,
implicit-bias, minibatch) on small configs, through the CLI, asserting their key numbers."""

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
    return json.loads((tmp_path / "summary.json").read_text()), np.load(tmp_path / "data.npz")


def test_logistic_regression_losses_fall_and_follow_the_limits(tmp_path):
    res, data = _run("logistic-regression", tmp_path, "epochs=4", "n_runs=4")
    assert res["problem"]["n"] == 569 and res["problem"]["batch_size"] == 16
    assert 0.02 < res["F_star"] < 0.03
    for key, rec in res["optimizers"].items():
        assert rec["final_loss_median"] < 0.5 * res["F_x0"], (key, rec)
        assert rec["final_loss_q10"] >= res["F_star"] - 1e-12
        assert rec["train_accuracy_median"] > 0.95, (key, rec)
        assert rec["diverged_runs"] == 0
    # Small steps: RMSProp and Adam sit on their limits within a few per cent of the loss.
    for key in ("rmsprop", "adam"):
        rec = res["optimizers"][key]
        assert abs(rec["final_loss_median"] - rec["limit_final_loss"]) < \
            0.05 * rec["limit_final_loss"], rec
    assert data["adam_loss_quantiles"].shape == (3, res["n_steps"] + 1)


def test_reddi_adam_fails_amsgrad_converges_and_the_ode_regime_converges(tmp_path):
    res, data = _run("reddi", tmp_path, "T_online=1500", "map_points=8",
                     "gammas=[0.3, 0.01]", "n_runs=20", "T=20.0")
    on = res["online"]
    assert on["beta2"] == 0.1
    assert on["adam_final_x"] > 0.99 and on["amsgrad_final_x"] < -0.98, on
    assert res["map"]["adam_fails_at_beta2_1_over_1_plus_C2"]
    assert 0 < res["map"]["fraction_adam_ends_positive"] < 0.5
    runs = {r["gamma"]: r for r in res["stochastic"]["runs"]}
    # Large step (beta2 = 0.7): Adam stays away from -1; small step (beta2 = 0.99): converges.
    assert runs[0.3]["final_x_mean"] > 0 and runs[0.3]["fraction_converged"] < 0.3
    assert runs[0.01]["fraction_converged"] == 1.0
    assert runs[0.01]["sup_mean_path_minus_ode"] < 0.3 < runs[0.3]["sup_mean_path_minus_ode"]
    assert abs(res["stochastic"]["ode_time_to_optimum"] - 6.245) < 0.01


def test_weight_decay_rest_points_differ_and_each_method_finds_its_own(tmp_path):
    res, data = _run("weight-decay", tmp_path, "T=100.0", "gamma=0.01", "n_runs=4")
    rp = res["rest_points"]
    # Decoupled decay is not L2: on this ill-conditioned problem the rest points are far apart.
    assert rp["relative_distance"] > 1.0, rp
    assert res["gram_condition_number"] > 1e3
    assert rp["x_adamw"]["F"] < rp["x_l2"]["F"]  # AdamW shrinks less, so fits F better here
    l2, w = res["runs"]["adam_l2"], res["runs"]["adamw"]
    assert l2["ode_end_distance_to_own_rest_point"] < 1e-6
    assert w["ode_end_distance_to_own_rest_point"] < 0.2
    for r in (l2, w):
        assert r["iterates_mean_distance_to_own_rest_point"] < \
            0.1 * r["iterates_mean_distance_to_other_rest_point"], r


def test_minibatch_variance_and_sgd_bounds(tmp_path):
    res, data = _run("minibatch", tmp_path, "batch_sizes=[1, 8, 64]", "n_batches=3000",
                     "horizons=[10, 200]", "n_runs=30", "T_decreasing=2000",
                     "eta_fractions=[0.25]", "grid_batch_sizes=[1, 16]")
    assert res["n"] == 442 and res["d"] == 10
    # Proposition 1 is an equality with replacement: exact S_B = sigma^2/n_B + |grad F|^2.
    assert res["proposition_1_max_exact_minus_formula"] < 1e-12
    assert res["proposition_1_max_relative_error_vs_exact"] < 0.15
    rows = {(r["n_B"], r["T"]): r for r in res["theorems_3_4"]}
    assert res["theorems_3_4_bound_holds_everywhere"]
    # Larger batches: smaller plateau of the averaged squared gradient.
    assert rows[(16, 200)]["measured"] < rows[(1, 200)]["measured"]
    pts = res["theorem_6"]["points"]
    assert pts[-1]["measured"] < pts[0]["measured"]
    assert all(p["measured"] <= p["bound"] for p in pts)
