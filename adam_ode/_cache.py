"""Remove numba cache indexes that an older version of the package left and that can no longer load.

numba's on-disk cache (``cache=True``) keeps, per source file, an index (``*.nbi``) whose pickle
names the argument types of every compiled signature: the problems' and optimizers' kernel-data
``NamedTuple`` classes among them. When a class moves to another module (an upgrade over an
existing cache, a ``git pull`` in a checkout), numba unpickles that index *before* it checks the
source stamp and raises ``ModuleNotFoundError`` from inside the first kernel call. So, once per
process, :func:`purge_stale_indexes` reads every index of this package's source files in the
three places numba may put it (the in-tree ``__pycache__``, ``NUMBA_CACHE_DIR``, the user-wide
numba cache directory), and deletes those that do not unpickle, with their data files
(``*.nbc``): numba then recompiles and writes them anew. Indexes written by another numba
version are left to numba (it ignores them without unpickling).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numba
from numba.core import config
from numba.core.caching import _CacheLocator
from numba.misc.appdirs import AppDirs

__all__ = ["purge_stale_indexes", "cache_dirs"]

PACKAGE_DIR = Path(__file__).resolve().parent


def _cache_roots() -> list[Path]:
    """numba's out-of-tree cache roots: ``NUMBA_CACHE_DIR`` if set, the user-wide directory."""
    roots = [Path(config.CACHE_DIR)] if config.CACHE_DIR else []
    return roots + [Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)]


def cache_dirs(py_file: Path, roots=None) -> list[Path]:
    """Where numba may cache the functions of ``py_file`` (existing directories only)."""
    sub = _CacheLocator.get_suitable_cache_subpath(str(py_file))
    dirs = [py_file.parent / "__pycache__"]
    dirs += [root / sub for root in (_cache_roots() if roots is None else roots)]
    return [d for d in dirs if d.is_dir()]


def _loads(index: Path) -> bool:
    """Whether numba could load this index (True also for another numba version's)."""
    try:
        with open(index, "rb") as f:
            version = pickle.load(f)
            data = f.read()
        if version != numba.__version__:
            return True  # numba skips it without unpickling the rest
        pickle.loads(data)
    except FileNotFoundError:
        return True
    except Exception:  # a class or module that no longer exists, a truncated file, …
        return False
    return True


def purge_stale_indexes(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Delete the indexes of ``package_dir``'s modules that cannot load, and their data files;
    returns the deleted indexes. Errors while deleting (read-only caches) are ignored: numba
    then fails as it would have."""
    removed = []
    roots = _cache_roots()
    for py_file in package_dir.rglob("*.py"):
        stem = py_file.stem
        for directory in cache_dirs(py_file, roots):
            for index in directory.glob(f"{stem}.*.nbi"):
                if _loads(index):
                    continue
                prefix = index.name[:-len(".nbi")]
                try:
                    for data in directory.glob(f"{prefix}.*.nbc"):
                        data.unlink()
                    index.unlink()
                    removed.append(index)
                except OSError:
                    pass
    return removed
