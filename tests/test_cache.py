"""Stale numba cache indexes (classes that moved) are removed before any kernel loads."""

import pickle

import numba

from adam_ode._cache import purge_stale_indexes


def _index(path, payload: bytes, version=numba.__version__):
    with open(path, "wb") as f:
        pickle.dump(version, f, protocol=-1)
        f.write(payload)


def test_unloadable_indexes_and_their_data_are_removed(tmp_path):
    (tmp_path / "mod.py").write_text("def f():\n    return 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    moved = b"cno_such_module_of_adam_ode\nMovedClass\n."  # GLOBAL of a module that is gone
    _index(cache / "mod.f-1.py311.nbi", moved)
    (cache / "mod.f-1.py311.1.nbc").write_bytes(b"data")
    _index(cache / "mod.g-4.py311.nbi", pickle.dumps((1.0, {})))  # loads: kept
    (cache / "mod.g-4.py311.1.nbc").write_bytes(b"data")
    _index(cache / "mod.h-9.py311.nbi", moved, version="0.0.0")  # another numba: left to it
    removed = purge_stale_indexes(tmp_path)
    assert [p.name for p in removed] == ["mod.f-1.py311.nbi"]
    assert sorted(p.name for p in cache.iterdir()) == ["mod.g-4.py311.1.nbc",
                                                       "mod.g-4.py311.nbi",
                                                       "mod.h-9.py311.nbi"]


def test_the_package_caches_load():
    # importing adam_ode purged already; what is left must unpickle
    import adam_ode._cache as cache

    assert cache.purge_stale_indexes() == []


# --- where the kernels are cached ------------------------------------------------------------

import os
import subprocess
import sys
from pathlib import Path

import adam_ode
from adam_ode import _cache

PACKAGE = Path(adam_ode.__file__).resolve().parent


def _cache_files_in_package() -> set:
    return {p for p in PACKAGE.rglob("*") if p.suffix in (".nbi", ".nbc")}


def test_the_package_locator_comes_before_numba_in_tree_one():
    classes = _cache._CacheImpl._locator_classes
    names = [c.__name__ for c in classes]
    assert names[0] == "PackageCacheLocator", names


def test_package_files_go_to_the_user_cache_directory_others_to_numba(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache.config, "CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from adam_ode import streams

    locator = _cache.PackageCacheLocator.from_function(streams.next_double.py_func,
                                                       streams.__file__)
    path = Path(locator.get_cache_path())
    assert path.parent == tmp_path / "adam-ode" / "numba", path
    assert PACKAGE not in path.parents
    outside = tmp_path / "user_module.py"
    outside.write_text("def f():\n    return 1\n")
    namespace = {}
    exec(compile(outside.read_text(), str(outside), "exec"), namespace)
    assert _cache.PackageCacheLocator.from_function(namespace["f"], str(outside)) is None


def test_numba_cache_dir_overrides_the_location(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache.config, "CACHE_DIR", str(tmp_path / "mine"))
    assert _cache.kernel_cache_dir() == tmp_path / "mine"
    from adam_ode import streams

    # numba's own user-provided locator (first in its list after ours) then serves our files
    assert _cache.PackageCacheLocator.from_function(streams.next_double.py_func,
                                                    streams.__file__) is None


def test_compiling_a_kernel_writes_nothing_inside_the_package(tmp_path):
    # A fresh process with an empty user cache compiles a cached kernel of the package: its
    # files appear under the user's cache directory and none in the package directory (pip
    # would leave them behind on uninstall, hiding a later editable install).
    before = _cache_files_in_package()
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = ("import numpy as np\n"
            "from adam_ode import streams\n"
            "from adam_ode._cache import kernel_cache_dir, cache_size\n"
            "s = np.zeros(6, dtype=np.uint64); streams.pcg64_seed(np.arange(4, dtype=np.uint64), s)\n"
            "print(kernel_cache_dir()); print(cache_size()[0])\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    where, count = out.stdout.split()
    assert Path(where) == tmp_path / "adam-ode" / "numba"
    assert int(count) > 0 and any(Path(where).rglob("streams.pcg64_seed-*.nbi"))
    assert _cache_files_in_package() - before == set()


def test_cache_size_and_clear_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache.config, "CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("def f():\n    return 1\n")
    sub = _cache._CacheLocator.get_suitable_cache_subpath(str(package / "mod.py"))
    cache = tmp_path / "adam-ode" / "numba" / sub
    cache.mkdir(parents=True)
    _index(cache / "mod.f-1.py311.nbi", pickle.dumps((1.0, {})))
    (cache / "mod.f-1.py311.1.nbc").write_bytes(b"12345")
    (cache / "other.g-1.py311.nbi").write_bytes(b"not ours")
    count, size = _cache.cache_size(package)
    assert count == 2 and size == 5 + (cache / "mod.f-1.py311.nbi").stat().st_size
    assert _cache.clear_cache(package) == 2
    assert sorted(p.name for p in cache.iterdir()) == ["other.g-1.py311.nbi"]
