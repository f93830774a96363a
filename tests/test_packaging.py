"""A regular install: build the wheel, install it into a new virtual environment, run from elsewhere.

Slow (a wheel build, a virtual environment with numpy, scipy, numba and matplotlib, a cold numba
compilation): ``pytest -m slow tests/test_packaging.py``.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 900


def run(*args, cwd, timeout=INSTALL_TIMEOUT):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


@pytest.mark.slow
def test_wheel_installs_and_runs_from_any_directory(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    t0 = time.perf_counter()
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("adam_ode-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    shipped = len(list((ROOT / "experiments").glob("*.toml")))
    assert sum(n.startswith("adam_ode/configs/") and n.endswith(".toml") for n in names) \
        == shipped
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    installed = time.perf_counter() - t0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    adam_ode = venv / "bin" / "adam-ode"
    t1 = time.perf_counter()
    listed = run(adam_ode, "list", cwd=elsewhere)
    list_time = time.perf_counter() - t1
    assert len(listed.stdout.splitlines()) == shipped, listed.stdout
    run(adam_ode, "--version", cwd=elsewhere)
    run(adam_ode, "run", "lyapunov", "--set", "pairs=[[1.0, 1.0]]", "--set", "a_values=[1.0]",
        "--set", "b_values=[1.0]", "--set", "T=2.0", "--set", "n_times=201", "--set",
        "discrete_runs=10", "--quiet", cwd=elsewhere)
    (run_dir,) = (elsewhere / "runs" / "lyapunov").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["experiment"] == "lyapunov"
    run(adam_ode, "init", "mine", "--from", "heavy-ball", cwd=elsewhere)
    run(adam_ode, "run", "mine.toml", "--set", "n_runs=5", "--quiet", cwd=elsewhere)
    run(adam_ode, "reproduce", "--only", "heavy-ball", "--quiet", "--out", "figs", cwd=elsewhere)
    assert (elsewhere / "figs" / "heavy-ball" / "summary.json").exists()
    run(python, "-m", "adam_ode", "list", cwd=elsewhere)
    print(f"wheel build + install {installed:.1f} s, `adam-ode list` {list_time:.2f} s")


@pytest.mark.slow
def test_the_readme_install_order_works_in_one_environment(tmp_path):
    # Defect: `pip install . && adam-ode run heavy-ball && pip install -e ".[test]" &&
    # adam-ode list` failed: the regular install's numba cache in site-packages/adam_ode/
    # survived the uninstall and hid the editable install.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, adam_ode = venv / "bin" / "python", venv / "bin" / "adam-ode"
    env_cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    run(python, "-m", "pip", "install", "--quiet", ROOT, cwd=tmp_path)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=tmp_path).stdout.strip())
    installed = site / "adam_ode"
    import os

    env = {**os.environ, **env_cache}
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run([str(adam_ode), "run", "heavy-ball", "--set", "n_runs=3", "--quiet",
                           "--out", "hb"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not list(installed.rglob("*.nb[ic]")), "kernels cached inside the installed package"
    assert list((tmp_path / "cache" / "adam-ode" / "numba").rglob("*.nbi"))
    run(python, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]", cwd=tmp_path)
    assert not installed.exists(), "the regular install left its directory behind"
    listed = subprocess.run([str(adam_ode), "list"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=INSTALL_TIMEOUT, env=env)
    assert listed.returncode == 0 and "heavy-ball" in listed.stdout, listed.stderr[-2000:]
    run(python, "-c", "from adam_ode import DoubleWell, Adam", cwd=tmp_path)
