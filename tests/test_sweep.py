"""Sweeps: grid points as normal runs, seeds per point, resume, local processes and Dask."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import adam_ode as ao
from adam_ode.cli import main
from adam_ode.sweep import parse_grid, point_dir_name, point_key, point_seed

BASE = ["gammas=[0.1, 0.01, 0.001]", "n_runs=40"]
GRID = {"T": [2.0, 4.0], "delta": [0.2, 0.3]}
SCHEDULER_START_TIMEOUT = 60
VOLATILE = ("started_at", "wall_time_s", "environment", "workers", "estimate", "elapsed")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _without_timings(obj):
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def stable_summary(path):
    """A point's summary without what differs between runs (times, machine, worker count)."""
    return _without_timings(json.loads(Path(path).read_text()))


def assert_same_points(dir_a, dir_b, names):
    for name in names:
        assert stable_summary(dir_a / name / "summary.json") == \
            stable_summary(dir_b / name / "summary.json"), name
        with np.load(dir_a / name / "data.npz") as a, np.load(dir_b / name / "data.npz") as b:
            assert sorted(a.files) == sorted(b.files)
            for k in a.files:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name}: {k}")


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    table = ao.sweep("weak-convergence", GRID, overrides=BASE, out=out, workers=2)
    return out, table


def test_point_names_and_seeds_are_canonical():
    key = point_key({"T": 2.0, "problem.sigma": 0.5, "gammas": [0.1, 0.01], "label": "a b"})
    assert key == 'T=2.0,problem.sigma=0.5,gammas=[0.1, 0.01],label="a b"'
    assert point_seed(0, "T=2.0") == point_seed(0, "T=2.0") != point_seed(1, "T=2.0")
    assert 0 <= point_seed(0, "T=2.0") < 2**63
    assert point_dir_name("T=2.0,delta=0.3") == "T=2.0,delta=0.3"
    odd = point_dir_name('gammas=[0.1, 0.01],label="a b"')
    assert "/" not in odd and " " not in odd and odd != point_dir_name('gammas=[0.1, 0.02]')
    assert parse_grid(["T=[1.0, 2.0]", "n_runs=[5]"]) == {"T": [1.0, 2.0], "n_runs": [5]}


def test_local_sweep_writes_points_table_and_figure(local_sweep):
    out, table = local_sweep
    names = ["T=2.0,delta=0.2", "T=2.0,delta=0.3", "T=4.0,delta=0.2", "T=4.0,delta=0.3"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == names
    for name in names:
        assert sorted(p.name for p in (out / name).iterdir()) == ["data.npz", "figure.png",
                                                                  "summary.json"]
    rows = read_csv(out / "sweep.csv")
    assert rows[0][:5] == ["T", "delta", "point", "seed", "diverged_runs"]
    assert "slope" in rows[0] and len(rows) == 5
    assert [r[2] for r in rows[1:]] == names
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert table.column("slope") == [float(r[rows[0].index("slope")]) for r in rows[1:]]
    manifest = json.loads((out / "sweep.json").read_text())
    assert [p["seed"] for p in manifest["points"]] == [int(r[3]) for r in rows[1:]]


def test_a_point_rerun_alone_gives_the_same_bits(local_sweep, tmp_path):
    out, _ = local_sweep
    summary = json.loads((out / "T=4.0,delta=0.2" / "summary.json").read_text())
    assert summary["seed"] == point_seed(0, "T=4.0,delta=0.2")
    args = ["run", "weak-convergence", "--set", BASE[0], "--set", BASE[1], "--set", "T=4.0",
            "--set", "delta=0.2", "--seed", str(summary["seed"]), "--out", str(tmp_path / "p"),
            "--quiet"]
    assert main(args) == 0
    with np.load(out / "T=4.0,delta=0.2" / "data.npz") as a, np.load(tmp_path / "p" /
                                                                         "data.npz") as b:
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    assert stable_summary(tmp_path / "p" / "summary.json") == \
        stable_summary(out / "T=4.0,delta=0.2" / "summary.json")


def test_complete_points_are_skipped(local_sweep, tmp_path):
    out, _ = local_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "T=4.0,delta=0.3")  # as if the sweep had crashed before this point
    (copy / "sweep.csv").unlink()
    stamp = (copy / "T=2.0,delta=0.2" / "summary.json").stat().st_mtime_ns
    table = ao.sweep("weak-convergence", GRID, overrides=BASE, out=copy, workers=1)
    assert (table.ran, table.skipped) == (1, 3)
    assert (copy / "T=2.0,delta=0.2" / "summary.json").stat().st_mtime_ns == stamp
    assert (copy / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()


def test_sweep_errors_before_any_work(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "weak-convergence", "--grid", "nope=[1, 2]", "--out", str(out)]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err
    assert main(["sweep", "weak-convergence", "--grid", "T=3.0", "--out", str(out)]) == 2
    assert "non-empty list" in capsys.readouterr().err
    assert main(["sweep", "weak-convergence", "--grid", "T=[0.05, 1.0]", "--out",
                 str(out)]) == 2
    assert "sweep point T=0.05" in capsys.readouterr().err
    assert not out.exists()


def test_a_failing_point_does_not_cost_the_others(tmp_path, capsys):
    # convergence refuses n_runs < 2 inside its runner, i.e. while the sweep runs
    code = main(["sweep", "convergence", "--grid", "n_runs=[1, 3]", "--set", "gammas=[0.1]",
                 "--set", "T=2.0", "--out", str(tmp_path / "s"), "--workers", "1", "--quiet"])
    assert code == 1
    assert "1 sweep point(s) failed: n_runs=1" in capsys.readouterr().err
    assert (tmp_path / "s" / "n_runs=3" / "summary.json").exists()
    assert not (tmp_path / "s" / "n_runs=1").exists()
    assert len(read_csv(tmp_path / "s" / "sweep.csv")) == 3


# ----------------------------------------------------------------------------- Dask


class DaskCluster:
    """A scheduler and workers on loopback, as subprocesses (killed by the fixture)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.scheduler_file = directory / "scheduler.json"
        self.processes = []
        self.workers = []
        dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or "dask"
        self.dask = dask

    def _spawn(self, *args):
        log = open(self.directory / f"log{len(self.processes)}.txt", "w")
        proc = subprocess.Popen([self.dask, *args], stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.directory, start_new_session=True)
        self.processes.append(proc)
        return proc

    def start(self, n_workers: int):
        self._spawn("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(self.scheduler_file))
        deadline = time.monotonic() + SCHEDULER_START_TIMEOUT
        while not self.scheduler_file.exists():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written before the address is final on slow machines
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        for _ in range(n_workers):
            self.workers.append(self._spawn(
                "worker", "--scheduler-file", str(self.scheduler_file), "--host", "127.0.0.1",
                "--nthreads", "1", "--nworkers", "1", "--no-nanny", "--no-dashboard"))
        if n_workers:
            from distributed import Client

            with Client(self.address, timeout=SCHEDULER_START_TIMEOUT) as client:
                client.wait_for_workers(n_workers, timeout=SCHEDULER_START_TIMEOUT)
        return self

    def stop(self):
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.kill()
        for proc in self.processes:
            proc.wait(timeout=30)


@pytest.fixture
def dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    cluster = DaskCluster(tmp_path)
    try:
        yield cluster.start(2)
    finally:
        cluster.stop()


def test_dask_sweep_equals_the_local_one(local_sweep, dask_cluster, tmp_path):
    out, _ = local_sweep
    remote = tmp_path / "remote"
    table = ao.sweep("weak-convergence", GRID, overrides=BASE, out=remote,
                     scheduler=dask_cluster.address)
    assert table.ran == 4
    assert (remote / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    assert_same_points(out, remote, [p.name for p in out.iterdir() if p.is_dir()])


def test_killing_a_dask_worker_mid_sweep_loses_nothing(dask_cluster, tmp_path):
    grid = {"T": [2.0, 3.0, 4.0, 5.0], "delta": [0.2, 0.3, 0.4]}  # 12 points, ~0.5 s each
    local = ao.sweep("weak-convergence", grid, overrides=BASE, out=tmp_path / "local",
                     workers=2)
    done = []

    def log(line):
        done.append(line)

    killer_done = threading.Event()

    def killer():
        while len(done) < 2 and not killer_done.is_set():
            time.sleep(0.02)
        os.kill(dask_cluster.workers[0].pid, signal.SIGKILL)
        killer_done.set()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    remote = ao.sweep("weak-convergence", grid, overrides=BASE, out=tmp_path / "remote",
                      scheduler=dask_cluster.address, log=log)
    killer_done.set()
    thread.join(5)
    assert dask_cluster.workers[0].poll() is not None, "the worker was not killed"
    assert len(remote.rows) == 12 and remote.ran == 12
    assert (tmp_path / "remote" / "sweep.csv").read_bytes() == \
        (tmp_path / "local" / "sweep.csv").read_bytes()
    assert local.column("slope") == remote.column("slope")


def test_a_scheduler_without_workers_times_out_with_one_line(tmp_path):
    # Defect: with no worker connected the sweep waited forever, saying nothing.
    pytest.importorskip("distributed")
    cluster = DaskCluster(tmp_path)
    try:
        cluster.start(0)
        lines = []
        with pytest.raises(ao.experiments.ExperimentError, match="no Dask worker connected"):
            ao.sweep("weak-convergence", {"T": [2.0]}, overrides=["n_runs=10"],
                     out=tmp_path / "s", scheduler=cluster.address, worker_timeout=1.0,
                     log=lines.append)
    finally:
        cluster.stop()
    assert any("waiting up to 1 s for a Dask worker" in line for line in lines), lines
    assert not (tmp_path / "s").exists()  # nothing written before the scheduler had a worker
