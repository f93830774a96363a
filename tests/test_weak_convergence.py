"""Weak convergence study (Theorem 4.3) and its experiment."""

import json

import numpy as np
import pytest

from adam_ode import LinearRegression2D
from adam_ode.paper import weak_convergence_study
from adam_ode.cli import main

GAMMAS = [0.1, 0.03, 0.01, 0.003, 0.001]


@pytest.fixture(scope="module")
def small_study():
    return weak_convergence_study(LinearRegression2D(), [-1.0, 4.0], 1.0, 1.0, 0.01, 2.0, GAMMAS,
                                  n_runs=200, delta=0.5, seed=3, workers=2)


def test_slope_positive_near_one_half(small_study):
    # Fluctuations of order sqrt(γ): the fitted slope should be close to ½ (measured, not assumed).
    assert 0.35 < small_study.slope < 0.65, (small_study.slope, small_study.slope_stderr)
    assert 0 < small_study.slope_stderr < 0.1


def test_probability_of_exceeding_delta_decreases(small_study):
    p = small_study.column("p_exceed")
    assert np.all(np.diff(p) <= 0), p
    assert p[0] > 0.9 and p[-1] < 0.1, p
    for r in small_study.records:
        low, high = r["p_exceed_ci95"]
        assert low <= r["p_exceed"] <= high


def test_statistics_consistent_with_samples(small_study):
    for r, sup in zip(small_study.records, small_study.sups):
        assert sup.shape == (200,) and np.all(np.isfinite(sup))
        assert r["mean_sup"] == pytest.approx(sup.mean())
        assert r["median_sup"] <= r["q90_sup"] <= sup.max()
        assert r["p_exceed"] == np.mean(sup > 0.5)


def test_independent_of_worker_count(small_study):
    again = weak_convergence_study(LinearRegression2D(), [-1.0, 4.0], 1.0, 1.0, 0.01, 2.0, GAMMAS,
                                   n_runs=200, delta=0.5, seed=3, workers=1)
    for s1, s2 in zip(small_study.sups, again.sups):
        assert np.array_equal(s1, s2)


@pytest.mark.parametrize("kwargs, name", [({"gammas": [0.5, 0.1]}, "a"),
                                          ({"gammas": [0.1]}, "gammas"),
                                          ({"gammas": [0.1, 0.1]}, "distinct"),
                                          ({"delta": 0.0}, "delta"), ({"n_runs": 0}, "n_runs")])
def test_bad_input(kwargs, name):
    args = dict(problem=LinearRegression2D(), x0=[0.0, 0.0], a=3.0, b=1.0, eps=0.1, T=1.0,
                gammas=[0.1, 0.01], n_runs=10, delta=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        weak_convergence_study(**args)


def test_experiment_summary_keys(tmp_path):
    code = main(["run", "weak-convergence", "--out", str(tmp_path), "--quiet",
                 "--set", "gammas=[0.1, 0.01]", "--set", "n_runs=20", "--set", "T=1.0"])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("slope", "slope_stderr", "delta", "T", "problem", "a", "b", "eps", "x0"):
        assert key in summary, key
    assert summary["problem"]["name"] == "linear-regression-2d"
    assert [r["gamma"] for r in summary["table"]] == [0.1, 0.01]
    for r in summary["table"]:
        assert {"gamma", "n_runs", "mean_sup", "median_sup", "q90_sup", "p_exceed"} <= set(r)
        assert r["n_runs"] == 20
    assert (tmp_path / "figure.png").stat().st_size > 10_000
    with np.load(tmp_path / "data.npz") as data:
        assert data["sup_distance"].shape == (2, 20)


def test_limit_convergence_study_is_generic_and_equals_the_adam_study():
    from adam_ode import LinearRegression2D, RMSProp
    from adam_ode.analysis.weak_convergence import limit_convergence_study
    from adam_ode.paper import weak_convergence_study
    from adam_ode.optimizers import Adam

    problem, x0 = LinearRegression2D(), np.array([-1.0, 4.0])
    gammas = [0.04, 0.01, 0.0025]
    adam = weak_convergence_study(problem, x0, 1.0, 1.0, 0.01, 2.0, gammas, 40, 0.3, seed=3)
    generic = limit_convergence_study(problem, Adam(0.04, 1.0, 1.0, 0.01), x0, 2.0, gammas, 40,
                                      0.3, seed=3)
    for a, b in zip(adam.sups, generic.sups):
        np.testing.assert_array_equal(a, b)
    # Any record on its own limit: RMSProp's sup distance shrinks like sqrt(gamma).
    rms = limit_convergence_study(problem, RMSProp(0.04, b=1.0, eps=0.01), x0, 2.0, gammas, 40,
                                  0.3, seed=3)
    assert 0.35 < rms.slope < 0.65, f"RMSProp weak-convergence slope {rms.slope:.3f}"
