"""What a new user hit: each reported defect reproduced as it was found, and fixed.

Output directories that already hold results, code named by a config file, plain-script sweeps,
Dask addresses and clusters without workers, error lines naming the user's keys, tracebacks
(undecodable TOML, a full disk, a closed pipe), short references, SIGTERM.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import adam_ode as ao
from adam_ode import ParameterError
from adam_ode import experiments as ex
from adam_ode.cli import main

TINY_WC = ["--set", "gammas=[0.1, 0.03, 0.01]", "--set", "n_runs=20", "--set", "T=2.0", "--quiet"]
TINY_HB = ["--set", "n_runs=3", "--set", "T=2.0", "--quiet"]
TIMEOUT = 240


def cli(*args, cwd, timeout=TIMEOUT, env=None):
    return subprocess.run([sys.executable, "-m", "adam_ode", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def one_error_line(proc, *fragments, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("adam-ode: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def files_of(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


# ------------------------------------------------------------------ 2: results never replaced


def test_another_experiment_in_the_same_directory_is_refused(tmp_path):
    assert main(["run", "weak-convergence", *TINY_WC, "--out", str(tmp_path / "X")]) == 0
    before = files_of(tmp_path / "X")
    proc = cli("run", "heavy-ball", *TINY_HB, "--out", "X", cwd=tmp_path)
    one_error_line(proc, "X already holds a run of 'weak-convergence'", "--force")
    assert files_of(tmp_path / "X") == before


def test_a_rerun_with_other_settings_is_refused_the_same_settings_replace(tmp_path, capsys):
    out = str(tmp_path / "X")
    assert main(["run", "weak-convergence", *TINY_WC, "--out", out]) == 0
    before = files_of(tmp_path / "X")
    assert main(["run", "weak-convergence", *TINY_WC, "--set", "delta=0.2", "--out", out]) == 2
    assert "already holds" in capsys.readouterr().err
    assert files_of(tmp_path / "X") == before
    # the same config reproduces the same run: allowed, and the arrays are the same bits
    assert main(["run", "weak-convergence", *TINY_WC, "--out", out]) == 0
    with np.load(tmp_path / "X" / "data.npz") as new:
        old = np.load(__import__("io").BytesIO(before["data.npz"]))
        assert sorted(new.files) == sorted(old.files)
        for key in new.files:
            np.testing.assert_array_equal(new[key], old[key])
    # --force replaces a different run
    assert main(["run", "heavy-ball", *TINY_HB, "--out", out, "--force"]) == 0
    summary = json.loads((tmp_path / "X" / "summary.json").read_text())
    assert summary["experiment"] == "heavy-ball"
    assert not list((tmp_path / "X").glob(".adam-ode-staging.*"))


def test_an_empty_out_is_refused(tmp_path):
    proc = cli("run", "heavy-ball", *TINY_HB, "--out", "", cwd=tmp_path)
    one_error_line(proc, "--out", "empty path")
    assert list(tmp_path.iterdir()) == []
    proc = cli("reproduce", "--only", "heavy-ball", "--out", "  ", cwd=tmp_path)
    one_error_line(proc, "empty path")


def test_a_full_disk_leaves_the_earlier_run_whole(tmp_path, monkeypatch, capsys):
    out = tmp_path / "X"
    assert main(["run", "weak-convergence", *TINY_WC, "--out", str(out)]) == 0
    before = files_of(out)
    from adam_ode import io

    def full(path, fig, dpi=io.FIGURE_DPI):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ex.running, "save_figure", full)  # data.npz is staged, then the disk fills
    capsys.readouterr()
    assert main(["run", "weak-convergence", *TINY_WC, "--force", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "files are unchanged" in err
    assert len(err.strip().splitlines()) == 1, err
    assert files_of(out) == before  # old summary, data and figure, all three unchanged
    assert not list(out.glob(".adam-ode-staging.*"))


def test_reproduce_replaces_the_shipped_figures_of_the_same_config(tmp_path):
    assert main(["reproduce", "--only", "heavy-ball", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["reproduce", "--only", "heavy-ball", "--out", str(tmp_path), "--quiet"]) == 0
    # a directory holding another experiment is not replaced by reproduce without --force
    assert main(["run", "weak-convergence", *TINY_WC, "--out", str(tmp_path / "lyapunov")]) == 0
    with pytest.raises(ex.ReproduceError, match="already holds"):
        ex.reproduce(out_root=tmp_path, only=["lyapunov"], quiet=True, log=lambda s: None)


# ------------------------------------------------------------------ 4: sweeps in a plain script


def test_a_plain_script_sweep_without_main_guard_works(tmp_path):
    script = tmp_path / "my_sweep.py"
    script.write_text(textwrap.dedent("""
        import adam_ode as ao
        table = ao.sweep("weak-convergence", {"T": [2.0, 4.0]},
                         overrides=["n_runs=20", "gammas=[0.1, 0.01]"], out="s", workers=2)
        print("points", len(table.rows))
    """))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("points 2") == 1  # the workers did not run the script again
    assert (tmp_path / "s" / "sweep.csv").is_file()


# ------------------------------------------------------------------ 6: Dask addresses and clusters


def test_a_malformed_scheduler_address_fails_at_once(tmp_path):
    t0 = time.monotonic()
    proc = cli("sweep", "weak-convergence", "--grid", "T=[2.0]", "--out", "s", "--scheduler",
               "not a url", cwd=tmp_path)
    one_error_line(proc, "--scheduler 'not a url' is not a Dask scheduler address")
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "s").exists()


# ------------------------------------------------------------------ sweeps: checked before work


def test_a_bad_grid_value_is_refused_before_any_point_runs(tmp_path):
    proc = cli("sweep", "weak-convergence", "--grid", "T=[2.0, -1.0]", "--out", "s",
               "--set", "n_runs=10", cwd=tmp_path)
    one_error_line(proc, "sweep point T=-1.0", "T = -1.0: must be > 0")
    assert not (tmp_path / "s").exists()


def test_a_bad_metric_stops_the_sweep_after_the_first_point(tmp_path):
    with pytest.raises(ex.ExperimentError, match="--metric 'nope' is not a column"):
        ao.sweep("weak-convergence", {"T": [2.0, 3.0, 4.0]}, metric="nope",
                 overrides=["n_runs=10", "gammas=[0.1, 0.01]"], out=tmp_path / "s", workers=1)
    done = list((tmp_path / "s").glob("*/summary.json"))
    assert 1 <= len(done) < 3


def test_seed_on_the_grid_is_one_column_and_another_grid_is_refused(tmp_path):
    out = tmp_path / "s"
    table = ao.sweep("weak-convergence", {"seed": [1, 2]}, overrides=["n_runs=10",
                     "gammas=[0.1, 0.01]"], out=out, workers=1)
    header = (out / "sweep.csv").read_text().splitlines()[0].split(",")
    assert header.count("seed") == 1 and table.column("seed") == [1, 2]
    csv_before = (out / "sweep.csv").read_bytes()
    with pytest.raises(ex.ExperimentError, match="holds another sweep"):
        ao.sweep("weak-convergence", {"seed": [3]}, overrides=["n_runs=10",
                 "gammas=[0.1, 0.01]"], out=out, workers=1)
    assert (out / "sweep.csv").read_bytes() == csv_before
    # the figure can be drawn again over another column, from the files alone
    assert main(["plot", str(out), "--metric", "slope"]) == 0
    assert (out / "sweep.png").stat().st_size > 1000


# ------------------------------------------------------------------ 7: errors name the user's key


@pytest.mark.parametrize("args,fragment", [
    (["weight-decay", "--set", "weight_decay=-0.05"], "weight_decay = -0.05: must be >= 0"),
    (["weak-convergence", "--set", "gammas=[0.1, 0.0]"], "gammas[1] = 0.0: must be > 0"),
    (["family", "--set", "optimizers.adam.gamma=-1"], "optimizers.adam.gamma = -1.0"),
    (["double-well", "--set", "cloud_gamma=0"], "cloud_gamma = 0.0: must be > 0"),
    (["weak-error", "--set", "correlated.n_paths=0"], "correlated.n_paths = 0"),
    (["logistic-regression", "--set", "epochs=0"], "epochs = 0: must be an integer >= 1"),
])
def test_errors_name_the_key_as_written(args, fragment, capsys):
    assert main(["run", *args, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1, err


def test_every_shipped_config_passes_the_checks():
    for name in ex.registered_runners():
        record = ex.run_experiment(name, out_dir=tempfile.mkdtemp(), dry_run=True)
        assert record.result is None and record.summary["config"]["seed"] >= 0


def test_dry_run_prints_the_estimate_and_writes_nothing(tmp_path, capsys):
    assert main(["run", "weak-convergence", "--dry-run", "--out", str(tmp_path / "X")]) == 0
    out = capsys.readouterr().out
    assert "config valid; estimated" in out and "run·steps" in out and "would write to" in out
    assert not (tmp_path / "X").exists()


def test_run_help_lists_the_experiments_keys(capsys):
    assert main(["run", "heavy-ball", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--set KEY=VALUE" in out and "keys of 'heavy-ball'" in out
    assert "gamma = 0.01" in out and "n_runs = 50" in out


# ------------------------------------------------------------------ 8: no tracebacks


def test_a_toml_file_that_is_not_utf8_is_one_line(tmp_path):
    (tmp_path / "mine.toml").write_bytes(b'experiment = "heavy-ball"\n# caf\xe9\n')
    one_error_line(cli("run", "mine.toml", cwd=tmp_path), "mine.toml", "not a UTF-8 text file")


def test_a_closed_pipe_ends_quietly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "adam_ode", "list"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away before the listing was written
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr
    assert proc.returncode in (0, 141)


# ------------------------------------------------------------------ 9: short references


def test_a_reference_of_the_wrong_length_is_refused():
    problem = ao.LinearRegression2D()
    with pytest.raises(ParameterError, match=r"n_steps \+ 1 = 11 rows"):
        ao.monte_carlo(problem, ao.Adam(0.01), [-1.0, 4.0], 10, 3, 0,
                       reference=np.zeros((5, 2)))
    with pytest.raises(ParameterError, match="got 12"):
        ao.monte_carlo(problem, ao.Adam(0.01), [-1.0, 4.0], 10, 3, 0,
                       reference=np.zeros((12, 2)))


# ------------------------------------------------------------------ 10: SIGTERM


def _wait_for(path: Path, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_sigterm_is_like_ctrl_c(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "adam_ode", "run", "weak-convergence",
                             "--set", "gammas=[1e-4, 2e-4]", "--set", "n_runs=4000", "--yes",
                             "--workers", "2", "--out", "run", "--quiet"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "run", proc)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == ["adam-ode: terminated (SIGTERM): nothing written to run"], stderr
    assert not (tmp_path / "run").exists()


def test_an_interrupted_local_sweep_leaves_no_temporary_directories(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "adam_ode", "sweep", "weak-convergence",
                             "--grid", "T=[10.0, 10.5]", "--set", "gammas=[1e-4, 2e-4]",
                             "--set", "n_runs=2000", "--yes", "--workers", "2", "--out", "s",
                             "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    pattern = f"adam-ode-point-{proc.pid}-*"
    deadline = time.monotonic() + 120
    while not list(Path(tempfile.gettempdir()).glob(pattern)):  # the points are running
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr, stderr
    assert not list(Path(tempfile.gettempdir()).glob(pattern))


# ------------------------------------------------------------------ clumsy, made right


def test_a_quoted_number_is_not_a_step_size():
    with pytest.raises(ParameterError, match="must be a real number"):
        ao.Adam(gamma="0.1")
    with pytest.raises(ParameterError, match="must be a real number"):
        ao.SGD(gamma=True)


def test_divergence_beyond_a_sane_bound_is_reported(tmp_path):
    # heavy-ball at gamma = 0.3: SGD's iterates reached 7.5e19 unreported (bound 1e150)
    proc = cli("run", "heavy-ball", "--set", "gamma=0.3", "--set", "n_runs=5", "--quiet",
               "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["diverged_runs"] > 0
    problem = ao.StochasticQuadratic(h=[1.0, 10.0], sigma=0.5)
    bound = problem.divergence_bound([1e60, 1e60])
    assert 1e60 < bound <= 1e67  # a million times the start's scale, not 1e150


def test_progress_counts_are_readable():
    import io

    from adam_ode.progress import Progress

    stream = io.StringIO()
    bar = Progress(2_670_180_000, desc="mc", stream=stream, show_after=0.0, heartbeat=None,
                   unit="run·steps")
    bar.update(41_640_000)
    bar.close()
    text = stream.getvalue()
    assert "41.6M/2.67G run·steps" in text, text
    first = Progress(10, stream=io.StringIO(), show_after=0.0, heartbeat=None)
    assert "compiling kernels on first use" in first._render(time.perf_counter())


def test_the_committed_figures_hold_the_default_runs():
    # `adam-ode reproduce` on a fresh clone replaces figures/<name>/ only because each holds the
    # same experiment's run with today's default config: keep them in step with the configs.
    from adam_ode.io import to_jsonable

    root = Path(__file__).resolve().parents[1] / "figures"
    for name in ex.registered_runners():
        summary = json.loads((root / name / "summary.json").read_text())
        assert summary["experiment"] == name
        assert summary["config"] == to_jsonable(ex.resolve_config(name)), \
            f"figures/{name} was made with another config: run adam-ode reproduce --only {name}"


def test_solve_limit_takes_a_record_and_stops_a_stalled_solve():
    from adam_ode.continuous import SolverBudgetError, SolverOptions, checked_solve

    problem = ao.LinearRegression2D()
    record = ao.Adam(gamma=0.01, a=1.0, b=1.0, eps=0.01)
    by_record = ao.solve_limit(problem, record, [-1.0, 4.0], 3.0)
    by_limit = ao.solve_limit(problem, record.limit(), [-1.0, 4.0], 3.0)
    np.testing.assert_array_equal(by_record.y, by_limit.y)
    with pytest.raises(ParameterError, match="ContinuousLimit"):
        ao.solve_limit(problem, "adam", [-1.0, 4.0], 3.0)
    with pytest.raises(SolverBudgetError, match=r"stopped at t = [\d.]+ of T = 1e\+09 after 500"):
        checked_solve(lambda t, y: -y, (0.0, 1e9), np.ones(1),
                      SolverOptions(max_evaluations=500), "demo")


def test_divergence_counts_reach_the_summary_from_the_warning_fields(tmp_path):
    import warnings

    problem = ao.StochasticQuadratic(h=[2.0, 2.0], sigma=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ao.monte_carlo(problem, ao.SGD(1.5), [1.0, 0.5], 100, 3, 0, noise=False)
    (w,) = [w for w in caught if issubclass(w.category, ao.DivergenceWarning)]
    assert (w.message.count, w.message.total) == (3, 3) and len(w.message.first_steps) == 3
    assert ex._diverged_runs([w]) == 3
