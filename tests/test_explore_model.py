"""The explorer's model without a browser: choices from the registries, widgets from a record's
fields, the records' own error messages, the saved TOML and its exact re-run, the CLI."""

import dataclasses
import importlib.util
import tomllib
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import adam_ode as ao
from adam_ode import OPTIMIZERS, PROBLEMS, ParameterError
from adam_ode.cli import main
from adam_ode.experiments import ExperimentError, resolve_config
from adam_ode.explore import model
from adam_ode.problems import make_problem
from adam_ode.runners import explore as view_runner


def test_every_registered_2d_problem_is_offered_and_rebuilds():
    choices = model.problem_choices()
    for name, cls in PROBLEMS.items():
        example = cls.example()
        try:
            rebuilt = make_problem(example.config())
        except ParameterError:
            continue  # e.g. a custom problem that only a factory file can rebuild
        if rebuilt.dim == 2:
            assert name in choices, name
    for name, (config, x0) in choices.items():
        assert make_problem(config).dim == 2 and len(x0) == 2, name


def test_widgets_come_from_the_records_fields_and_rebuild_the_example():
    assert set(model.optimizer_choices()) <= set(OPTIMIZERS)
    for name, cls in OPTIMIZERS.items():
        fields = model.hyper_fields(cls)
        assert [f.name for f in fields] == [f.name for f in dataclasses.fields(cls)], name
        assert [f.name for f in fields if f.kind == "step"] == [cls.step_field], name
        texts = {f.name: (f.default if f.kind == "bool" else model.toml_value(f.default))
                 for f in fields}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            record, failure, _ = model.build_record(name, texts)
        assert failure is None, (name, failure)
        assert record == cls.example(), name


@pytest.mark.parametrize("values, field", [
    ({"gamma": "1.0", "a": "2.0", "b": "3.0"}, "a"),     # a*gamma >= 1
    ({"gamma": "-1", "a": "2.0", "b": "3.0"}, "gamma"),  # gamma out of range
    ({"gamma": "fast", "a": "2.0", "b": "3.0"}, "gamma"),  # not a number
])
def test_a_bad_value_gives_the_records_own_one_line_error(values, field):
    record, failure, _ = model.build_record("adam", values)
    assert record is None
    named, message = failure
    params = {k: model.parse_value(v) for k, v in values.items()}
    with pytest.raises(ParameterError) as own:
        ao.Adam(**params)
    assert message == " ".join(str(own.value).split()) and "\n" not in message
    assert named == field


def test_study_gammas_keep_only_the_step_sizes_the_record_accepts():
    record = ao.Adam(gamma=0.2, a=2.0, b=1.0)  # a*gamma = 0.4: 4 gamma would break a*gamma < 1
    gammas = model.study_gammas(record)
    assert gammas == [0.4, 0.2, 0.1]
    for g in gammas:
        record.replace(gamma=g)


def test_the_saved_toml_parses_back_to_the_config():
    config = model.view_config(make_problem("correlated-quadratic").config(),
                               ao.Nesterov(gamma=1e-3, schedule="sbc"), [1.0, -0.5], 2.5, 7, 2,
                               3, compare=ao.SGD(gamma=0.01), lna=False, sde=4, gammas=[1e-3])
    text = model.config_toml(config)
    parsed = tomllib.loads(text)
    assert parsed.pop("experiment") == "explore"
    assert parsed == config


def _small_view_config():
    problem = make_problem("linear-regression-2d")
    adam = ao.Adam(gamma=0.01, a=3.0, b=1.0, eps=0.05)
    return problem, adam, model.view_config(problem.config(), adam, [-1.0, 3.0], 2.0, 6, 2, 5,
                                            compare=ao.MomentumSGD(gamma=0.01, a=3.0),
                                            lna=True, sde=0)


def test_adam_ode_run_of_the_saved_file_reproduces_the_view(tmp_path):
    problem, adam, config = _small_view_config()
    views = {key: view_runner.compute_view(problem, record, config["x0"], config["T"],
                                           config["n_runs"], config["n_shown"], config["seed"],
                                           lna=config["lna"], sde=config["sde"])
             for key, record in (("optimizer", adam),
                                 ("compare", ao.MomentumSGD(gamma=0.01, a=3.0)))}
    path = tmp_path / "view.toml"
    path.write_text(model.config_toml(config))
    view_runner._SOLVED.clear()  # the run solves the limit and its LNA again, as a new process
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet",
                 "--workers", "1"]) == 0
    saved = np.load(tmp_path / "out" / "data.npz")
    for key, view in views.items():
        for name in ("limit_x", "paths", "mean_path", "sup_distance", "lna_cov",
                     "energy_iterates"):
            assert_array_equal(saved[f"{key}_{name}"], view[name], err_msg=f"{key}_{name}")
    assert (tmp_path / "out" / "figure.png").stat().st_size > 10_000


def test_the_view_holds_what_the_issue_lists():
    problem, adam, config = _small_view_config()
    view = view_runner.compute_view(problem, adam, config["x0"], 2.0, 6, 2, 5, lna=True)
    n = view_runner.steps_to_reach(adam, 2.0)
    assert view["paths"].shape[0] == 2 and view["paths"].shape[2] == 2
    assert_allclose(view["limit_x"][0], config["x0"], atol=1e-12)
    assert view["sup_distance"].shape == (6,) and np.all(view["sup_distance"] > 0)
    assert view["lna_cov"].shape == (view_runner.N_ELLIPSES, 2, 2)
    assert np.all(np.linalg.eigvalsh(view["lna_cov"]) > 0)
    assert view["energy_limit"].shape == view["energy_iterates"].shape == view["record_t"].shape
    assert view["record_t"][-1] == pytest.approx(adam.times(n))
    # AMSGrad's limit has no energy: said in the notes, not drawn
    ams = view_runner.compute_view(problem, ao.AMSGrad(gamma=0.01, a=3.0, b=1.0), [-1.0, 3.0],
                                   1.0, 2, 1, 0, lna=False)
    assert "energy" in ams["notes"] and "energy_t" not in ams


def test_a_diverging_run_is_a_note_not_an_error():
    problem = make_problem("linear-regression-2d")
    view = view_runner.compute_view(problem, ao.SGD(gamma=9.0), [-1.0, 3.0], 90.0, 3, 2, 0,
                                    lna=False)  # gamma * curvature > 2: the runs blow up
    assert view["n_diverged"] >= 1
    assert any("diverged" in w for w in view["notes"]["warnings"]), view["notes"]
    assert np.isinf(view["sup_distance"]).sum() == view["n_diverged"]


def test_ellipse_is_the_95_percent_level_set():
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    pts = view_runner.ellipse([1.0, -1.0], cov) - np.array([1.0, -1.0])
    q = np.einsum("ni,ij,nj->n", pts, np.linalg.inv(cov), pts)
    assert_allclose(q, view_runner.CHI2_95, rtol=1e-12)


@pytest.mark.parametrize("override, fragment", [
    ({"problem": {"name": "stochastic-quadratic", "h": [1.0, 2.0, 3.0], "sigma": 0.1}},
     "problem must be 2-D"),
    ({"n_shown": 30}, "n_shown = 30 must be <= n_runs = 20"),
    ({"optimizer": {"name": "adam", "gamma": 0.5, "a": 4.0, "b": 1.0}}, "optimizer: a*gamma"),
    ({"study_gammas": [0.3]}, "study_gammas[0] = 0.3: optimizer: a*gamma"),
])
def test_a_bad_explore_config_is_one_line_before_any_work(override, fragment):
    config = resolve_config("explore", override)
    with pytest.raises(ExperimentError) as err:
        view_runner.check(config)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_explore_without_panel_names_the_extra(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "panel" else real(name, *a))
    assert main(["explore", "--no-browser", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "adam-ode[explore]"' in err and len(err.strip().splitlines()) == 1


def test_explore_help_lists_its_options(capsys):
    with pytest.raises(SystemExit):
        from adam_ode.cli import build_parser
        build_parser().parse_args(["explore", "--help"])
    out = capsys.readouterr().out
    assert "--port" in out and "--no-browser" in out and "127.0.0.1" in out


def test_the_cached_lna_of_one_gamma_is_the_lna_of_another():
    # Moving gamma keeps the limit: Cov x_n = dt * P_xx(t) with the same P (module docstring).
    problem = make_problem("correlated-quadratic")
    x0 = [1.0, -0.5]
    for first, second in ((ao.Adam(gamma=0.01, a=2.0, b=1.0, eps=0.1),
                           ao.Adam(gamma=0.004, a=2.0, b=1.0, eps=0.1)),
                          (ao.Nesterov(gamma=1e-3, schedule="sbc"),
                           ao.Nesterov(gamma=4e-4, schedule="sbc"))):
        view_runner._SOLVED.clear()
        view_runner.compute_view(problem, first, x0, 1.5, 2, 1, 0, iterates=False)
        cached = view_runner.compute_view(problem, second, x0, 1.5, 2, 1, 0, iterates=False)
        direct = ao.linear_noise(problem, second, x0, 1.5, t_eval=cached["lna_t"],
                                 rtol=view_runner.LNA_RTOL, atol=view_runner.LNA_ATOL)
        assert_allclose(cached["lna_cov"], direct.cov[:, :2, :2], rtol=1e-12, atol=1e-15)
        assert_allclose(cached["lna_mean"], direct.mean[:, :2], rtol=1e-12, atol=1e-15)


def test_the_first_view_needs_no_kernel_and_matches_the_full_one():
    problem, adam, config = _small_view_config()
    preview = view_runner.compute_view(problem, adam, config["x0"], 2.0, 6, 2, 5,
                                       iterates=False)
    full = view_runner.compute_view(problem, adam, config["x0"], 2.0, 6, 2, 5)
    assert preview["paths"].shape[0] == 0 and preview["sup_distance"].size == 0
    for name in ("limit_x", "lna_cov", "energy_limit", "record_t"):
        assert_array_equal(preview[name], full[name], err_msg=name)
    assert np.all(np.isnan(preview["energy_iterates"]))


def test_the_study_draws_the_sup_distance_against_gamma():
    problem, adam, config = _small_view_config()
    calls = []
    view = view_runner.compute_view(problem, adam, config["x0"], 1.0, 8, 1, 0, lna=False,
                                    study_gammas=[0.04, 0.0025], progress=calls.append)
    assert_array_equal(view["study_gammas"], [0.04, 0.0025])
    sup = view["study_mean_sup"]
    assert sup[0] > 2.0 * sup[1] > 0, sup  # about sqrt(16) = 4 times smaller
    assert sum(calls) == 2 * 8  # the runs of each gamma, as progress increments


@pytest.mark.parametrize("name", model.optimizer_choices())
def test_every_offered_optimizer_has_a_view(name):
    # The family's 2-D quadratic (its kernels are those of the family tests).
    problem = make_problem({"name": "stochastic-quadratic", "h": [1.0, 4.0], "sigma": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = OPTIMIZERS[name].example()
    view = view_runner.compute_view(problem, record, [-2.0, 1.5], 1.0, 3, 2, 0, lna=True)
    assert view["paths"].shape[:1] == (2,) and np.all(np.isfinite(view["limit_x"]))
    assert np.all(np.isfinite(view["sup_distance"]))
    assert ("lna_cov" in view) != ("lna" in view["notes"]), view["notes"]  # drawn, or why not
    assert ("energy_t" in view) != ("energy" in view["notes"]), view["notes"]


def test_each_bundled_dataset_is_offered_on_two_of_its_features():
    from adam_ode.datasets import DATASETS

    choices = model.problem_choices()
    for dataset in DATASETS:
        labels = [label for label in choices if f"· {dataset} " in label]
        assert labels, dataset
        for label in labels:
            config, x0 = choices[label]
            assert config["dataset"] == dataset and len(config["columns"]) == 2
            assert make_problem(config).dim == 2 and len(x0) == 2
