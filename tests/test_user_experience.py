"""What a new user can provoke from the command line (issue: rows 1-8), via subprocesses.

Each test drives ``python -m adam_ode`` (the same entry point as the ``adam-ode`` script, with
its Ctrl-C handling) from a temporary working directory, so nothing depends on the checkout.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from adam_ode import cost
from adam_ode import experiments as ex
from adam_ode.cli import init_config, main, one_line

TINY_WC = ["--set", "gammas=[0.1, 0.01]", "--set", "n_runs=20", "--set", "T=2.0", "--quiet"]
# 400 distinct step sizes near 0.01: 400 short Monte Carlo calls (about 10 ms each at 2 workers)
MANY_GAMMAS = "gammas=" + str(np.geomspace(0.0125, 0.01, 400).tolist())
SUBPROCESS_TIMEOUT = 240


def cli(*args, cwd, timeout=SUBPROCESS_TIMEOUT, env=None):
    """Run ``python -m adam_ode ARGS`` in ``cwd``; the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "adam_ode", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def assert_one_line_error(proc, *fragments, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("adam-ode: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def arrays(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def assert_same_arrays(a, b):
    a, b = arrays(a), arrays(b)
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ----------------------------------------------------------------------------- row 1: install


def test_version_and_module_entry_point(tmp_path):
    from adam_ode import __version__

    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"adam-ode {__version__}"


def test_list_from_any_directory_uses_the_packaged_configs(tmp_path):
    proc = cli("list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shipped = sorted(p.stem for p in (Path(__file__).parents[1] / "experiments").glob("*.toml"))
    assert [line.split()[0] for line in proc.stdout.splitlines()] == shipped
    assert "weak-convergence" in proc.stdout


def test_every_package_directory_is_listed_in_pyproject():
    # The package list is explicit (the configs are a mapped package): a new subpackage of
    # adam_ode must be added there or a wheel install would miss it.
    import tomllib

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(root).parts)
             for p in (root / "adam_ode").rglob("__init__.py")}
    assert found <= listed, found - listed
    assert "adam_ode.configs" in listed


# ----------------------------------------------------------------------------- row 2: own files


def test_init_writes_a_commented_copy_that_runs_like_the_shipped_one(tmp_path):
    proc = cli("init", "my", "--from", "weak-convergence", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "my.toml").read_text()
    assert text.startswith("#") and 'experiment = "weak-convergence"' in text
    assert "# Weak convergence" in text  # the shipped comments are kept
    proc = cli("run", "my.toml", *TINY_WC, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "runs" / "my").iterdir()  # runs/<name>/<timestamp>
    assert re.fullmatch(r"\d{8}-\d{6}(-\d+)?", run_dir.name)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["experiment"] == "weak-convergence" and summary["name"] == "my"
    assert summary["config_file"].endswith("my.toml")
    proc = cli("run", "weak-convergence", *TINY_WC, "--out", "shipped", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_same_arrays(run_dir / "data.npz", tmp_path / "shipped" / "data.npz")
    # init does not overwrite
    assert_one_line_error(cli("init", "my", cwd=tmp_path), "my.toml exists", "--force")


@pytest.mark.parametrize("edit, fragments", [
    (lambda t: t.replace("delta = 0.3", ""), ["bad.toml", "missing key 'delta'"]),
    (lambda t: t + "\nfoo = 1\n", ["bad.toml", "unknown key 'foo'"]),
    (lambda t: t.replace("n_runs = 500", 'n_runs = "many"'), ["bad.toml", "n_runs must be an int"]),
    (lambda t: t.replace('experiment = "weak-convergence"', ""), ["bad.toml",
                                                                  "missing key 'experiment'"]),
    (lambda t: t.replace('experiment = "weak-convergence"', 'experiment = "nope"'),
     ["bad.toml", "'nope' is not a known experiment"]),
    (lambda t: t + "\n[[[\n", ["bad.toml", "invalid TOML"]),
])
def test_errors_in_a_users_file_name_the_file_and_the_key(tmp_path, edit, fragments):
    init_config("base", "weak-convergence", directory=tmp_path)
    (tmp_path / "bad.toml").write_text(edit((tmp_path / "base.toml").read_text()))
    assert_one_line_error(cli("run", "bad.toml", cwd=tmp_path), *fragments)
    assert not (tmp_path / "runs").exists()


def test_missing_file_is_a_one_line_error(tmp_path):
    assert_one_line_error(cli("run", "absent.toml", cwd=tmp_path), "absent.toml: no such file")


# ----------------------------------------------------------------------------- row 4: cost


@pytest.mark.parametrize("sets, fragments", [
    (["n_runs=1e6", "gammas=[1e-6, 2e-6]"], ["run·steps", "--set n_runs=…", "--yes"]),
    (["n_runs=1e10"], ["of memory", "available", "--set n_runs=…"]),
    (["gammas=[1e-8, 2e-8]"], ["run·steps", "--set gammas=…"]),
])
def test_expensive_runs_are_refused_before_any_work(tmp_path, sets, fragments):
    args = [a for s in sets for a in ("--set", s)]
    t0 = time.perf_counter()
    proc = cli("run", "weak-convergence", *args, "--out", "big", cwd=tmp_path)
    assert_one_line_error(proc, *fragments)
    assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "big").exists()


def test_memory_beyond_the_machine_is_refused_even_with_yes(tmp_path):
    proc = cli("run", "weak-convergence", "--set", "n_runs=1e10", "--yes", cwd=tmp_path)
    assert_one_line_error(proc, "of memory")


def test_estimates_exist_for_every_shipped_experiment_and_match_the_defaults():
    for name in ex.list_experiments():
        config = ex.resolve_config(name)
        estimate = ex.estimate(name, config)
        assert estimate is not None, name
        assert estimate.run_steps > 0 and estimate.state_floats > 0, name
        assert estimate.seconds(2) < cost.TIME_LIMIT_S, name  # the shipped runs take seconds
    wc = ex.estimate("weak-convergence", ex.resolve_config("weak-convergence"))
    steps = sum(int(np.floor(10.0 / g * (1 + 1e-12))) for g in np.logspace(-1, -4, 6))
    assert wc.run_steps == 500 * steps and wc.state_floats == 6


# ----------------------------------------------------------------------------- row 5: --out


def test_out_that_is_a_file_is_refused_before_computing(tmp_path):
    (tmp_path / "taken").write_text("x")
    assert_one_line_error(cli("run", "weak-convergence", "--out", "taken", cwd=tmp_path),
                          "output directory taken exists and is not a directory")
    assert_one_line_error(cli("run", "weak-convergence", "--out", "taken/sub", cwd=tmp_path),
                          "taken is not a directory")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_read_only_out_is_refused_before_computing(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        t0 = time.perf_counter()
        proc = cli("run", "weak-convergence", "--out", "locked/run", cwd=tmp_path)
        assert_one_line_error(proc, "not writable")
        assert time.perf_counter() - t0 < 30
    finally:
        locked.chmod(0o755)


def test_unwritable_out_is_refused_before_the_runner_runs(tmp_path, monkeypatch, capsys):
    # As root nothing is read-only: simulate the refusal of the probe file.
    import tempfile

    calls = []
    ex.registered_runners()  # import the runner modules first: they must not re-register later
    monkeypatch.setitem(ex._RUNNERS, "weak-convergence", lambda c, ctx: calls.append(1))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)  # the staging directory of the run
    assert main(["run", "weak-convergence", "--out", str(tmp_path / "new" / "run")]) == 2
    err = capsys.readouterr().err
    assert "not writable (Permission denied)" in err and not calls
    assert not (tmp_path / "new").exists()  # the directories it created are removed again


# ----------------------------------------------------------------------------- row 6: NaN / inf


def test_diverging_sgd_is_counted_and_shown_as_diverged(tmp_path):
    proc = cli("run", "heavy-ball", "--set", "gamma=0.5", "--set", "T=200.0", "--set",
               "n_runs=5", "--out", "hb", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sgd_row = next(line for line in proc.stdout.splitlines() if line.split()[:1] == ["sgd"])
    assert "diverged (5 of 5 runs)" in sgd_row and "nan" not in proc.stdout
    summary = json.loads((tmp_path / "hb" / "summary.json").read_text())
    assert summary["diverged_runs"] == 5
    assert summary["pairs"]["sgd"]["n_diverged"] == 5
    assert any(w.startswith("DivergenceWarning: 5 of 5 runs of sgd") for w in summary["warnings"])
    warning_lines = [line for line in proc.stderr.splitlines() if "DivergenceWarning" in line]
    assert len(warning_lines) == 1


def test_horizon_shorter_than_one_step_is_an_error(tmp_path):
    assert_one_line_error(cli("run", "weak-convergence", "--set", "T=0.05", cwd=tmp_path),
                          "T = 0.05 is shorter than one step")


def test_warnings_are_recorded_once_and_printed_once(tmp_path):
    proc = cli("run", "weak-convergence", *TINY_WC, "--set", "b=5.0", "--out", "w", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "LyapunovWarning" in line]
    assert len(lines) == 1 and lines[0].startswith("adam-ode: warning: ")
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert sum("LyapunovWarning" in w for w in summary["warnings"]) == 1


def test_non_finite_key_numbers_are_flagged(tmp_path):
    cli("run", "weak-convergence", *TINY_WC, "--out", "w", cwd=tmp_path)  # 2 γ: no stderr
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert summary["slope_stderr"] is None
    assert any(w.startswith("NonFinite") and "slope_stderr" in w for w in summary["warnings"])


# ----------------------------------------------------------------------------- row 7, 8


def test_negative_count_names_the_key(tmp_path):
    assert_one_line_error(cli("run", "weak-convergence", "--set", "n_runs=-3", cwd=tmp_path),
                          "n_runs = -3: must be an integer >= 1")


def test_no_empty_directory_after_a_validation_error_in_the_runner(tmp_path):
    # convergence checks n_runs >= 2 itself, after the output directory was created
    proc = cli("run", "convergence", "--set", "n_runs=1", "--out", "a/b", cwd=tmp_path)
    assert_one_line_error(proc, "n_runs must be >= 2")
    assert not (tmp_path / "a").exists()


def test_stale_temporary_file_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / ".summary.json.abc123.tmp").write_text("left by SIGKILL")
    assert cli("run", "weak-convergence", *TINY_WC, "--out", "w", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["data.npz", "figure.png", "summary.json"]


def test_messages_are_one_readable_line():
    assert one_line("gamma must be > 0, got np.float64(-0.1)") == "gamma must be > 0, got -0.1"
    long = one_line("x0 must be finite, got [" + ", ".join(["1.0"] * 5000) + "]\nsecond line")
    assert len(long) <= 2 * 400 and "\n" not in long and "characters" in long


def test_csv_error_names_the_file(tmp_path):
    (tmp_path / "d.csv").write_text("x1;x2;y\n1;2;3\n")
    proc = cli("run", "weak-convergence", "--set",
               'problem={name="least-squares", data="d.csv"}', cwd=tmp_path)
    assert_one_line_error(proc, "d.csv")


# ----------------------------------------------------------------------------- row 3: Ctrl-C


def _start(tmp_path, *args):
    return subprocess.Popen([sys.executable, "-m", "adam_ode", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _interrupt_after(proc, out: Path, delay: float):
    """Wait until the run has created its directory (it computes then), wait ``delay``, SIGINT."""
    deadline = time.monotonic() + 120
    while not out.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(delay)
    assert proc.poll() is None, "the run ended before the signal"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return time.monotonic() - t0, stdout, stderr


@pytest.mark.parametrize("config", [
    # many short monte_carlo calls: the progress bar's check stops the run between them
    ["--set", MANY_GAMMAS, "--set", "n_runs=1000", "--set", "T=10.0"],
    # few long chunks, still running in the worker threads: the watchdog bounds the stop
    ["--set", "gammas=[1e-4, 2e-4]", "--set", "n_runs=4000", "--set", "T=10.0", "--yes"],
], ids=["short-chunks", "long-chunks"])
def test_sigint_stops_a_two_worker_run_within_two_seconds(tmp_path, config):
    proc = _start(tmp_path, "run", "weak-convergence", *config, "--workers", "2", "--out", "run",
                  "--quiet")
    latency, stdout, stderr = _interrupt_after(proc, tmp_path / "run", 1.5)
    assert proc.returncode == 130, stderr
    assert latency < 2.0, latency
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == ["adam-ode: interrupted: nothing written to run"], stderr
    assert not (tmp_path / "run").exists()


def test_sigint_keeps_the_files_of_an_existing_directory(tmp_path):
    assert cli("run", "weak-convergence", *TINY_WC, "--out", "run", cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    proc = _start(tmp_path, "run", "weak-convergence", "--set", MANY_GAMMAS,
                  "--set", "n_runs=1000", "--workers", "2", "--out", "run", "--quiet", "--force")
    time.sleep(4.0)
    latency, _, stderr = _interrupt_after(proc, tmp_path / "run", 0.0)
    assert proc.returncode == 130 and latency < 2.0, (stderr, latency)
    assert "(its files are unchanged)" in stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before
