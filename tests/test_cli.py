"""CLI and experiment framework: smoke runs on tiny configs, config errors, atomic files."""

import io
import json
import sys
import types

import numpy as np
import pytest
from pathlib import Path

from adam_ode import experiments as ex
from adam_ode.cli import main
from adam_ode.io import atomic_write, save_figure, to_jsonable, write_json, write_npz
from adam_ode.progress import Progress

EIGHT = ["convergence", "interpolated", "weak-convergence", "debiasing", "quadratic-d100",
         "lyapunov", "heavy-ball", "double-well"]

# A lyapunov run small enough for a smoke test (well under a second of solves).
TINY_LYAPUNOV = ["--set", "pairs=[[1.0, 1.0], [1.0, 20.0]]", "--set", "a_values=[1.0]",
                 "--set", "b_values=[1.0, 20.0]", "--set", "T=2.0", "--set", "n_times=201",
                 "--quiet"]


def _temp_files(directory):
    return [p.name for p in directory.rglob("*") if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- list / run


def test_list_shows_every_shipped_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    shipped = sorted(p.stem for p in (Path(__file__).parents[1] / "experiments").glob("*.toml"))
    assert sorted(names) == shipped
    assert set(EIGHT) <= set(names)  # the paper's eight figures
    assert set(names) <= set(ex.registered_runners())  # each has a runner
    assert "[no runner yet]" not in out
    for line in out.splitlines():
        assert len(line.split(maxsplit=1)) == 2, f"missing description: {line!r}"


def test_every_config_has_description_and_seed():
    for name in EIGHT:
        config, description = ex.load_config(name)
        assert description and "\n" not in description, name
        assert config["seed"] == 0, name
        assert "description" not in config


def test_weak_convergence_config_has_required_parameters():
    config, _ = ex.load_config("weak-convergence")
    for key in ("problem", "x0", "a", "b", "eps", "T", "gammas", "n_runs", "delta"):
        assert key in config, key
    assert config["problem"] == {"name": "linear-regression-2d", "p": 0.3, "sigma": 1.0,
                                 "x_star": [3.0, 1.0]}
    assert config["n_runs"] == 500 and config["T"] == 10.0
    gammas = np.array(config["gammas"])
    np.testing.assert_allclose(gammas, np.logspace(-1, -4, 6), rtol=1e-12, atol=0)


def test_run_lyapunov_writes_files_and_summary(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "lyapunov", "--out", str(out), "--seed", "7", *TINY_LYAPUNOV]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["data.npz", "figure.png", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("experiment", "config", "seed", "workers", "environment", "wall_time_s",
                "started_at"):
        assert key in summary, key
    assert summary["experiment"] == "lyapunov"
    assert summary["seed"] == 7 and summary["config"]["seed"] == 7
    assert summary["config"]["T"] == 2.0 and summary["config"]["n_times"] == 201
    assert summary["environment"]["numpy"] == np.__version__
    table = summary["table"]
    assert [(r["a"], r["b"]) for r in table] == [(1.0, 1.0), (1.0, 20.0)]
    for record in table:
        assert {"a", "b", "max_energy_increase", "monotone", "max_F_minus_F0"} <= set(record)
    assert table[0]["monotone"] is True and table[1]["monotone"] is False
    with np.load(out / "data.npz") as data:
        assert data["phase_max_energy_increase"].shape == (2, 1)
        assert data["pair1_V"].shape == data["pair1_t"].shape
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lyapunov_command_prints_table(tmp_path, capsys):
    assert main(["lyapunov", "--out", str(tmp_path), *TINY_LYAPUNOV]) == 0
    out = capsys.readouterr().out
    assert "monotone" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:2] == ["1", "20"]]
    # One row in the ODE table (flagged), one in the discrete-analogue table (E V rises too).
    assert len(rows) == 2 and "NO" in rows[0]
    assert float(rows[1][2]) > 0.01, rows[1]


# ----------------------------------------------------------------------------- config errors


@pytest.mark.parametrize("args, expected", [
    (["run", "lyapunov", "--set", "foo=1"], "unknown key 'foo'"),
    (["run", "lyapunov", "--set", "eps=abc"], "eps must be a float"),
    (["run", "lyapunov", "--set", "n_times=2.5"], "n_times must be an int"),
    (["run", "lyapunov", "--set", "a_values=[1.0, true]"], "a_values[1] must be a float"),
    (["run", "lyapunov", "--set", "pairs=1.0"], "pairs must be a list of list"),
    (["run", "lyapunov", "--set", "problem=[1]"], "problem must be a table"),
    (["run", "lyapunov", "--set", "problem.sigma=-1"], "sigma must be >= 0"),
    (["run", "lyapunov", "--set", "problem={name='nope'}"], "unknown problem 'nope'"),
    (["run", "lyapunov", "--set", "noequals"], "key=value"),
    (["run", "no-such-experiment"], "unknown experiment 'no-such-experiment'; known experiments: "),
])
def test_config_errors_exit_2_with_message(args, expected, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_workers_must_be_positive(capsys):
    assert main(["run", "lyapunov", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    with pytest.raises(ex.ExperimentError, match="workers"):
        ex.run_experiment("lyapunov", workers=0)


def test_numerical_validation_error_exits_2(tmp_path, capsys):
    assert main(["run", "lyapunov", "--set", "eps=-1", *TINY_LYAPUNOV,
                 "--out", str(tmp_path)]) == 2
    assert "eps = -1.0: must be > 0 (allowed range (0, inf))" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ("gammas=[0.1,0.01]", ("gammas", [0.1, 0.01])),
    ("n=3", ("n", 3)),
    ("eps=1e-3", ("eps", 1e-3)),
    ("eps=.5", ("eps", 0.5)),                      # not TOML, but a number
    ("flag=true", ("flag", True)),
    ("name=double-well", ("name", "double-well")),  # bare word taken as a string
    ("problem={name=\"double-well\", d=2}", ("problem", {"name": "double-well", "d": 2})),
])
def test_parse_override(text, expected):
    assert ex.parse_override(text) == expected


def test_parse_override_rejects_broken_toml():
    with pytest.raises(ex.ExperimentError, match="cannot parse"):
        ex.parse_override("gammas=[0.1,")


# ----------------------------------------------------------------------------- framework, dummy


@pytest.fixture
def dummy_experiments(tmp_path, monkeypatch):
    """An experiments directory with a registered dummy experiment and a runner-less one."""
    directory = tmp_path / "experiments"
    directory.mkdir()
    (directory / "dummy.toml").write_text(
        'description = "a dummy"\n'
        'x = 1.5\nn = 3\nflag = false\nlabel = "abc"\nxs = [1.0, 2.0]\n'
        'problem = { name = "double-well", d = 2 }\n')
    (directory / "orphan.toml").write_text('description = "no runner"\nx = 1.0\n')
    monkeypatch.setenv(ex.ENV_EXPERIMENTS_DIR, str(directory))
    seen = {}

    def run(config, ctx):
        seen["config"], seen["ctx"] = config, ctx
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot(config["xs"])
        rng = np.random.default_rng(ctx.seed_sequence())
        return ex.ExperimentResult(summary={"value": np.float64(config["x"]) * 2,
                                            "draw": rng.random()},
                                   arrays={"xs": np.array(config["xs"])}, figure=fig,
                                   table="dummy table")

    monkeypatch.setitem(ex._RUNNERS, "dummy", run)
    return seen


def test_types_are_checked_and_converted(dummy_experiments):
    config = ex.resolve_config("dummy", ["x=2", "n=4.0", "flag=true", "label=xyz",
                                         "xs=[3, 4.5]", "problem.sigma=0.1"])
    assert config["x"] == 2.0 and isinstance(config["x"], float)  # int accepted for a float
    assert config["n"] == 4 and isinstance(config["n"], int)      # integral float for an int
    assert config["flag"] is True and config["label"] == "xyz"
    assert config["xs"] == [3.0, 4.5]
    assert config["problem"] == {"name": "double-well", "d": 2, "sigma": 0.1}
    for override, message in [("flag=1", "flag must be a bool"), ("label=3", "label must be a "
                              "string"), ("x=true", "x must be a float"),
                              ("xs=[1, 'a']", "xs[1] must be a float")]:
        with pytest.raises(ex.ExperimentError, match=message.replace("[", r"\[")):
            ex.resolve_config("dummy", [override])


def test_run_context_and_seed(dummy_experiments, tmp_path, capsys):
    assert main(["run", "dummy", "--out", str(tmp_path), "--workers", "2", "--seed", "5"]) == 0
    ctx = dummy_experiments["ctx"]
    assert (ctx.seed, ctx.workers, ctx.quiet, ctx.out_dir.parent) == (5, 2, False, tmp_path)
    assert ctx.out_dir.name.startswith(".adam-ode-staging.")  # moved into place at the end
    assert not ctx.out_dir.exists()
    assert "dummy table" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["value"] == 3.0 and summary["workers"] == 2
    expected = np.random.default_rng(np.random.SeedSequence(5)).random()
    assert summary["draw"] == expected


def test_experiment_without_runner_is_a_clear_error(dummy_experiments, tmp_path, capsys):
    out = tmp_path / "orphan-run"
    assert main(["run", "orphan", "--out", str(out)]) == 2
    assert "no registered runner" in capsys.readouterr().err
    assert not out.exists()


def test_reproduce_writes_figures_dir(dummy_experiments, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "orphan" in out  # reported as skipped
    assert any(line.startswith("dummy") and " s " in line for line in out.splitlines())
    assert any(line.startswith("total") for line in out.splitlines())
    target = tmp_path / "figures" / "dummy"
    assert sorted(p.name for p in target.iterdir()) == ["data.npz", "figure.png", "summary.json"]
    assert main(["reproduce", "--only", "orphan"]) == 2


def test_reproduce_carries_on_after_a_failing_experiment(dummy_experiments, tmp_path,
                                                         monkeypatch, capsys):
    (tmp_path / "experiments" / "broken.toml").write_text('description = "fails"\nx = 1.0\n')

    def broken(config, ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(ex._RUNNERS, "broken", broken)
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--quiet"]) == 1  # "broken" sorts before "dummy"
    captured = capsys.readouterr()
    assert "broken" in captured.err and "boom" in captured.err
    assert (tmp_path / "figures" / "dummy" / "summary.json").exists()
    assert not (tmp_path / "figures" / "broken" / "summary.json").exists()


def test_missing_experiments_dir_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(ex.ENV_EXPERIMENTS_DIR, str(tmp_path / "absent"))
    with pytest.raises(ex.ExperimentError, match="ADAM_ODE_EXPERIMENTS"):
        ex.experiments_dir()


def test_bench_is_delegated(monkeypatch):
    calls = []
    fake = types.ModuleType("adam_ode.bench")
    fake.main = lambda argv=None: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "adam_ode.bench", fake)
    assert main(["bench", "--runs", "3", "-h"]) == 0
    assert calls == [["--runs", "3", "-h"]]


# ----------------------------------------------------------------------------- io, progress


def test_atomic_write_leaves_old_file_and_no_temp_on_error(tmp_path):
    path = tmp_path / "summary.json"
    write_json(path, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write(b"partial")
            raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"a": 1}
    assert _temp_files(tmp_path) == [] and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_writers_produce_exact_files_without_temp(tmp_path):
    write_npz(tmp_path / "data.npz", x=np.arange(3))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    save_figure(fig, tmp_path / "figure.png")
    plt.close(fig)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npz", "figure.png"]
    with np.load(tmp_path / "data.npz") as data:
        assert data["x"].tolist() == [0, 1, 2]


def test_json_handles_numpy_and_non_finite(tmp_path):
    obj = {"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "arr": np.eye(2),
           "nan": float("nan"), "t": (1, 2)}
    write_json(tmp_path / "x.json", obj)
    back = json.loads((tmp_path / "x.json").read_text())
    assert back == {"i": 3, "f": 0.5, "b": True, "arr": [[1.0, 0.0], [0.0, 1.0]], "nan": None,
                    "t": [1, 2]}
    assert to_jsonable(np.array([np.inf])) == [None]


def test_progress_is_silent_when_quiet_or_short():
    stream = io.StringIO()
    with Progress(10, "quick", stream=stream) as bar:  # default: nothing before 1 s
        for _ in range(10):
            bar.update()
    with Progress(10, "quiet", stream=stream, quiet=True, show_after=0.0) as bar:
        bar(10)
    assert stream.getvalue() == ""


def test_progress_draws_after_threshold():
    stream = io.StringIO()
    with Progress(4, "work", stream=stream, show_after=0.0) as bar:
        bar.update(2)  # callback form works too: bar(2)
        bar(2)
    text = stream.getvalue()
    assert "work" in text and "4/4" in text and "100%" in text
    assert bar.n == 4


def test_written_files_get_ordinary_permissions(tmp_path):
    # Atomic writes go through mkstemp (mode 0600); the result must be as readable as open() makes.
    import os
    import stat

    from adam_ode.io import write_json

    mask = os.umask(0o022)
    try:
        path = write_json(tmp_path / "s.json", {"a": 1})
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
