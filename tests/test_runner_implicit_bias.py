"""The implicit-bias experiment (seed 000's min-‖w‖∞ claim) through the CLI, and LeastSquares
built from a bundled data set."""

import json

import numpy as np
import pytest

from adam_ode import ParameterError
from adam_ode.cli import main
from adam_ode.problems import make_problem
from adam_ode.runners.implicit_bias import min_linf_solution, planted_problem


def test_min_linf_solution_interpolates_and_beats_min_l2():
    problem, _ = planted_problem(10, 30, 3, 0)
    x_inf = min_linf_solution(problem.A, problem.y)
    x_l2 = np.linalg.pinv(problem.A) @ problem.y
    np.testing.assert_allclose(problem.A @ x_inf, problem.y, atol=1e-9)
    assert np.max(np.abs(x_inf)) < np.max(np.abs(x_l2))
    assert np.linalg.norm(x_l2) < np.linalg.norm(x_inf)


def test_implicit_bias_sgd_at_min_l2_adam_not_at_min_linf(tmp_path):
    assert main(["run", "implicit-bias", "--out", str(tmp_path), "--quiet", "--workers", "2",
                 "--set", "n_runs=4"]) == 0
    res = json.loads((tmp_path / "summary.json").read_text())
    sol, methods = res["solutions"], res["methods"]
    sgd = methods["sgd"]
    # Classical: SGD on least squares from 0 stays in row(A), so it ends at A⁺y.
    assert sgd["iterates_mean"]["distance_to_min_l2"] < 1e-8, sgd
    assert sgd["limit_end"]["distance_to_min_l2"] < 1e-8, sgd
    assert max(sgd["iterates_per_run_distance_to_min_l2"]) < 1e-8
    linf_min = sol["min_linf"]["norm_inf"]
    for key, rec in methods.items():
        if key == "sgd":
            continue
        end = rec["limit_end"]
        assert end["residual_rms"] < 1e-6 and rec["limit_tolerance_check"] < 1e-6, (key, rec)
        assert rec["diverged_runs"] == 0
        # Measured (data seeds 0, 2, 4): no Adam end point reaches the minimal ‖x‖∞.
        assert end["norm_inf"] > 1.1 * linf_min, (key, end, linf_min)
        # The iterates (γ = 0.001) sit on their limit's end point.
        assert rec["iterates_mean_minus_limit_end"] < 0.02, (key, rec)
        if rec["stochastic"]:
            # Batch 1: closer to min-ℓ2 than to min-ℓ∞ at every ε (stable over data seeds).
            assert end["distance_to_min_l2"] < 0.5 * end["distance_to_min_linf"], (key, end)
    # Full batch lowers ‖x‖∞ below SGD's on the default data (not on every data seed).
    for e in (0.01, 0.001, 1e-8):
        fb = methods[f"adam_full_batch_eps={e:g}"]["limit_end"]
        assert fb["norm_inf"] < 0.8 * sol["min_l2"]["norm_inf"], fb


def test_least_squares_from_bundled_dataset():
    problem = make_problem({"name": "least-squares", "dataset": "diabetes", "batch_size": 4})
    assert (problem.n, problem.dim, problem.batch_size) == (442, 10, 4)
    np.testing.assert_allclose(problem.A.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(problem.y.std(), 1.0, atol=1e-12)


@pytest.mark.parametrize("spec, match", [
    ({"dataset": "iris"}, "unknown dataset 'iris'"),
    ({"dataset": "diabetes", "data": "table.csv"}, "either data or dataset"),
])
def test_least_squares_dataset_errors(spec, match):
    with pytest.raises(ParameterError, match=match):
        make_problem({"name": "least-squares", **spec})
