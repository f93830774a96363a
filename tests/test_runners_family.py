"""The family, nesterov and adagrad-rmsprop experiments on reduced configs.

Each runs through :func:`adam_ode.experiments.run_experiment` and asserts the numbers the figures
are about: measured orders against ``limit_order``, iterates near their limits, the O(1/k²) vs
O(1/k) slopes and the Théorème 5 bounds, AdaGrad's unbounded and RMSProp's settling accumulator.
"""

import json

import numpy as np

from adam_ode.experiments import run_experiment
from adam_ode.optimizers import SGD, AdamDecreasing, Nesterov
from adam_ode.runners.family import steps_to_reach

FILES = ("data.npz", "figure.png", "summary.json")


def _run(name, tmp_path, overrides):
    run_experiment(name, overrides=overrides, out_dir=tmp_path, quiet=True, workers=2)
    for f in FILES:
        assert (tmp_path / f).is_file(), f
    return json.loads((tmp_path / "summary.json").read_text()), np.load(tmp_path / "data.npz")


# -- family --------------------------------------------------------------------------------------

def test_steps_to_reach_inverts_the_time_maps():
    assert steps_to_reach(SGD(0.004), 4.0) == 1000
    assert steps_to_reach(Nesterov(1e-4), 8.0) == 800
    dec = AdamDecreasing(0.2, kappa=0.6)
    n = steps_to_reach(dec, 4.0)
    assert dec.times(n) <= 4.0 < dec.times(n + 1)


def test_family_orders_and_distances(tmp_path):
    res, data = _run("family", tmp_path, {"n_runs": 6})
    recs = res["optimizers"]
    assert len(recs) == 9 and "adam-decreasing" in res["excluded"]
    for name, rec in recs.items():
        assert abs(rec["order_measured"] - rec["order_expected"]) < 0.08, (
            f"{name}: measured order {rec['order_measured']:.3f}, expected "
            f"{rec['order_expected']}, errors {rec['order_sup_errors']}")
        assert 100 <= rec["n_steps"] <= 5000, (name, rec["n_steps"])
        if name != "adamax":  # Adamax's limit is noise-free; under noise its u grows
            assert rec["sup_distance_median"] < 0.15, (name, rec["sup_distance_median"])
    assert recs["adamax"]["sup_distance_median"] > 0.3
    assert recs["nesterov"]["n_steps"] == 800 and recs["adagrad"]["n_steps"] == 1250
    assert data["sgd_paths"].shape[0] == 3


# -- nesterov ------------------------------------------------------------------------------------

def test_nesterov_rates_and_bounds(tmp_path):
    res, data = _run("nesterov", tmp_path, {"flat_d": 60, "flat_n_steps": 3000,
                                            "flat_gd_window": [100, 3000],
                                            "flat_nesterov_window": [10, 300],
                                            "flat_ode_k_max": 300})
    assert res["bounds_hold"], res
    assert abs(res["slope_gd"] + 1.0) < 0.12, f"gradient descent slope {res['slope_gd']:.3f}"
    assert res["slope_nesterov"] < -1.75, f"Nesterov slope {res['slope_nesterov']:.3f}"
    assert res["slope_nesterov"] < res["slope_gd"] - 0.7
    # Seed 002's function: geometric decay, far steeper than any power law on k <= 10.
    for key in ("gd", "sbc", "thm5"):
        assert res["seed_function"][key]["slope"] < -3.0, res["seed_function"][key]
    # Gradient descent at eta = 1/L solves the x-coordinate in one step: F_k = F(y0) / 4**k.
    np.testing.assert_allclose(data["seed_F_gd"][1:6], 0.5 * 0.25 ** np.arange(1, 6), rtol=1e-12,
                               atol=0)


# -- adagrad-rmsprop -----------------------------------------------------------------------------

def test_adagrad_accumulator_grows_rmsprop_settles(tmp_path):
    res, data = _run("adagrad-rmsprop", tmp_path, {"n_steps": 20000, "n_runs": 3,
                                                    "record_every": 20,
                                                    "growth_window": [4000, 20000]})
    assert abs(res["growth_exponent_median"] - 1.0) < 0.1, res["growth_exponents"]
    assert abs(res["rmsprop_v_over_S_star"] - 1.0) < 0.15, res["rmsprop_v_over_S_star"]
    assert data["adagrad_w_norm"][:, -1].min() > 10 * data["rmsprop_v_norm"][:, -1].max()
    demo = res["demo"]
    # AdaGrad's first step is -gamma*g/(|g| + eps): -gamma*sign(grad f) to ~eps/|g|.
    for start, step in zip(demo["starts"], demo["first_step"]):
        np.testing.assert_allclose(step, -demo["adagrad"]["gamma"] * np.sign(start), rtol=1e-9,
                                   atol=0)
    # Both paths and limits head to the minimizer: F decreases along the 10 steps.
    for i in range(len(demo["starts"])):
        path = data[f"demo_path_{i}"]
        F = path[:, 0] ** 2 + 3 * path[:, 1] ** 2
        assert np.all(np.diff(F) < 0)
