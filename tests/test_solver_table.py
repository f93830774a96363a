"""The ``[solver]`` table of an experiment config: optional, checked before any work (errors name
``solver.<key>``), and the default options of every solve of the run."""

import numpy as np
import pytest

import adam_ode as ao
from adam_ode import experiments as ex

TINY_WC = ["gammas=[0.1, 0.03]", "n_runs=8", "T=2.0"]


def test_a_config_without_the_table_is_left_as_it_was():
    config = ex.resolve_config("weak-convergence", TINY_WC)
    assert "solver" not in config  # the committed runs' configs stay equal (reproduce replaces them)


def test_set_creates_the_table_and_keeps_the_values():
    config = ex.resolve_config("weak-convergence", [*TINY_WC, "solver.rtol=1e-9",
                                                    "solver.method=RK45"])
    assert config["solver"] == {"rtol": 1e-9, "method": "RK45"}
    options = ex.configs.solver_options(config)
    assert (options.rtol, options.method) == (1e-9, "RK45")
    assert options.atol == ao.SolverOptions().atol  # the rest at the defaults


@pytest.mark.parametrize("setting, fragment", [
    ("solver.rtol=-1", "solver.rtol"),
    ("solver.rtoll=1e-9", "solver.rtoll"),
    ("solver.max_evaluations=0", "solver.max_evaluations"),
    ("solver=3", "solver"),
])
def test_bad_entries_are_one_line_naming_the_key(setting, fragment):
    with pytest.raises(ex.ExperimentError) as err:
        ex.resolve_config("weak-convergence", [*TINY_WC, setting])
    message = str(err.value)
    assert fragment in message and "\n" not in message


def test_a_users_file_may_hold_the_table(tmp_path):
    # Top-level keys first (the experiment it configures), then the shipped keys, then the table.
    text = ('experiment = "weak-convergence"\n' + ex.config_text("weak-convergence")
            + "\n[solver]\nrtol = 1e-10\n")
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    config = ex.resolve_config(path, TINY_WC)
    assert config["solver"] == {"rtol": 1e-10}


def test_the_table_reaches_the_runs_solves(tmp_path):
    with pytest.raises(ao.SolverBudgetError):
        ex.run_experiment("weak-convergence", [*TINY_WC, "solver.max_evaluations=5"],
                          out_dir=tmp_path / "r", quiet=True, workers=1)
    assert not (tmp_path / "r" / "summary.json").exists()


def test_the_default_options_as_a_table_change_no_result(tmp_path):
    plain = ex.run_experiment("weak-convergence", TINY_WC, out_dir=tmp_path / "a", quiet=True,
                              workers=1)
    default = ao.SolverOptions()
    table = [f"solver.rtol={default.rtol!r}", f"solver.atol={default.atol!r}",
             f"solver.method='{default.method}'"]
    same = ex.run_experiment("weak-convergence", [*TINY_WC, *table], out_dir=tmp_path / "b",
                             quiet=True, workers=1)
    with np.load(plain.out_dir / "data.npz") as a, np.load(same.out_dir / "data.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    assert same.summary["config"]["solver"]["rtol"] == default.rtol
