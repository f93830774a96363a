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
