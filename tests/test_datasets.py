"""Bundled data sets (no download) and the checks on users' data files: each bad file is a
ParameterError naming the file and the problem, raised before anything runs."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import ParameterError, load_dataset
from adam_ode.datasets import DATA_DIR, DATASETS
from adam_ode.problems import make_problem


def test_breast_cancer_is_bundled_standardised_with_pm1_labels():
    A, y = load_dataset("breast-cancer")
    assert A.shape == (569, 30)
    assert_allclose(A.mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(A.std(axis=0), 1.0, rtol=1e-12)
    assert set(y) == {-1.0, 1.0}
    assert int((y > 0).sum()) == 357 and int((y < 0).sum()) == 212  # benign / malignant
    raw, _ = load_dataset("breast-cancer", standardized=False)
    assert raw[0, 0] == 17.99  # first value of the UCI file


def test_diabetes_is_bundled_and_standardised():
    A, y = load_dataset("diabetes")
    assert A.shape == (442, 10) and y.shape == (442,)
    assert_allclose(A.std(axis=0), 1.0, rtol=1e-12)
    assert_allclose([y.mean(), y.std()], [0.0, 1.0], atol=1e-12)
    raw, y_raw = load_dataset("diabetes", standardized=False)
    assert raw[0, 0] == 59 and y_raw[0] == 151


def test_data_files_state_source_and_licence():
    for file, _, _ in DATASETS.values():
        head = (DATA_DIR / file).read_text().splitlines()[:6]
        text = " ".join(head).lower()
        assert "scikit-learn" in text and ("licence" in text)
    assert (DATA_DIR / "README.md").is_file()


def test_unknown_dataset():
    with pytest.raises(ParameterError, match="bundled datasets: breast-cancer, diabetes"):
        load_dataset("mnist")


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD = "1.0,2.0,1\n-1.0,0.5,0\n0.3,-2.0,1\n"


def test_user_csv_and_npz(tmp_path):
    p = make_problem({"name": "logistic-regression", "data": _write(tmp_path, GOOD),
                      "batch_size": 8})  # n = 3 < batch_size: fine with replacement
    assert p.n == 3 and p.dim == 2 and p.batch_size == 8
    assert_allclose(p.y, [1, -1, 1])
    assert p.A[0, 1] == 2.0  # user files are used as given unless standardize = true
    path = tmp_path / "d.npz"
    np.savez(path, A=p.A, y=p.y)
    q = make_problem({"name": "logistic-regression", "data": str(path), "standardize": True})
    assert_allclose(q.A.std(axis=0), 1.0)


@pytest.mark.parametrize("text, match", [
    ("1.0,nan,1\n2.0,1.0,0\n", "NaN or inf"),
    ("1.0,inf,1\n2.0,1.0,0\n", "NaN or inf"),
    ("1.0,3.0,1\n2.0,3.0,0\n", "constant"),
    ("1.0,2.0,2\n2.0,1.0,0\n", "labels"),
    ("x1,x2,label\n1.0,2.0,1\n2.0,1.0,0\n", "header row"),
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("1.0,2.0,1\n2.0,1.0\n", "comma-separated numbers"),
])
def test_bad_files_are_rejected_naming_file_and_problem(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(ParameterError, match=match) as info:
        make_problem({"name": "logistic-regression", "data": path})
    assert path in str(info.value) and "logistic-regression" in str(info.value)


def test_bad_batch_size_and_missing_file(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(ParameterError, match="batch_size") as info:
        make_problem({"name": "logistic-regression", "data": path, "batch_size": 0})
    assert path in str(info.value)
    with pytest.raises(ParameterError, match="cannot read"):
        make_problem({"name": "logistic-regression", "data": str(tmp_path / "nope.csv")})


def test_bad_config_through_the_cli_runs_nothing(tmp_path, capsys):
    from adam_ode.cli import main

    path = _write(tmp_path, "a,b,y\n1,2,1\n")
    out = tmp_path / "out"
    code = main(["run", "heavy-ball", "--out", str(out), "--quiet",
                 "--set", f'problem={{name="logistic-regression", data="{path}"}}'])
    assert code != 0
    assert not (out / "summary.json").exists()
    assert "header row" in capsys.readouterr().err


@pytest.mark.parametrize("name, dataset", [("logistic-regression", "breast-cancer"),
                                           ("least-squares", "diabetes")])
def test_columns_of_a_bundled_dataset_rebuild_from_the_config(name, dataset):
    from adam_ode import load_dataset, make_problem

    problem = make_problem({"name": name, "dataset": dataset, "columns": [3, 1]})
    A, _ = load_dataset(dataset)
    assert problem.dim == 2 and np.array_equal(problem.A, A[:, [3, 1]])
    again = make_problem(problem.config())
    assert again.config() == problem.config() and np.array_equal(again.A, problem.A)


@pytest.mark.parametrize("columns", [[], [0, 0], [0, 30], [-1], "0", [True]])
def test_bad_columns_are_one_line_naming_the_key_and_range(columns):
    from adam_ode import ParameterError, make_problem

    with pytest.raises(ParameterError, match=r"columns = .* indices in \[0, 29\]"):
        make_problem({"name": "logistic-regression", "dataset": "breast-cancer",
                      "columns": columns})


def test_a_logistic_config_whose_size_does_not_match_its_data_is_refused():
    from adam_ode import ParameterError, make_problem

    with pytest.raises(ParameterError, match="d = 5 does not match"):
        make_problem({"name": "logistic-regression", "dataset": "breast-cancer", "d": 5})
