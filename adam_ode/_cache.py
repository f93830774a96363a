"""Where the compiled kernels are cached, and the removal of cache indexes that can no longer load.

**Location.** numba's default puts the on-disk cache of ``cache=True`` functions in a
``__pycache__`` directory next to their source file whenever that directory is writable: inside
``site-packages/adam_ode/`` for a regular install. pip does not know those files, so an uninstall
leaves ``site-packages/adam_ode/`` behind as a directory without ``__init__.py``, and Python then
imports it as an empty namespace package in place of a later editable install (``cannot import
name ... from 'adam_ode' (unknown location)``). The package therefore never caches inside itself:
:func:`install_locator` puts, ahead of numba's in-tree locator, one that sends this package's
kernels to :func:`kernel_cache_dir`:

- ``$NUMBA_CACHE_DIR`` when it is set (numba's own variable, which then applies to every
  numba function of the process);
- otherwise the user's cache directory by the platform's convention, under ``adam-ode/numba``
  (``~/.cache/adam-ode/numba`` on Linux, ``$XDG_CACHE_HOME`` respected;
  ``~/Library/Caches/adam-ode/numba`` on macOS; ``%LOCALAPPDATA%\\adam-ode\\Cache\\numba`` on
  Windows);
- if that cannot be written, a per-user directory in the system's temporary directory.

Functions outside this package (a user's own numba code) keep numba's default.

**Stale indexes.** numba's cache keeps, per source file, an index (``*.nbi``) whose pickle names
the argument types of every compiled signature: the problems' and optimizers' kernel-data
``NamedTuple`` classes among them. When a class moves to another module (an upgrade over an
existing cache, a ``git pull`` in a checkout), numba unpickles that index *before* it checks the
source stamp and raises ``ModuleNotFoundError`` from inside the first kernel call. So, once per
process, :func:`purge_stale_indexes` reads every index of this package's source files in the
places numba or this module may have put it (the in-tree ``__pycache__`` of older versions,
:func:`kernel_cache_dir`, numba's user-wide directory), and deletes those that do not unpickle,
with their data files (``*.nbc``): numba then recompiles and writes them anew. Indexes written by
another numba version are left to numba (it ignores them without unpickling).
"""

from __future__ import annotations

import getpass
import os
import pickle
import tempfile
from pathlib import Path

import numba
from numba.core import caching, config
from numba.misc.appdirs import AppDirs

__all__ = ["kernel_cache_dir", "install_locator", "purge_stale_indexes", "cache_dirs",
           "cache_size", "clear_cache", "ENV_CACHE_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent
ENV_CACHE_DIR = "NUMBA_CACHE_DIR"  # numba's variable; when set it also places our kernels
APP_NAME = "adam-ode"
CACHE_SUBDIR = "numba"

# numba renamed its cache classes in 0.61 (``_CacheImpl`` -> ``CacheImpl``, …); take either.
_CacheImpl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
_UserWideLocator = (getattr(caching, "UserWideCacheLocator", None)
                    or getattr(caching, "_UserWideCacheLocator"))
_CacheLocator = getattr(caching, "_CacheLocator")


def _user_cache_root() -> Path:
    return Path(AppDirs(appname=APP_NAME, appauthor=False).user_cache_dir) / CACHE_SUBDIR


def _temporary_root() -> Path:
    try:
        user = getpass.getuser()
    except Exception:  # no user name (some containers): the uid still separates users
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{user}" / CACHE_SUBDIR


def kernel_cache_dir() -> Path:
    """The directory that holds this package's compiled kernels (see the module docstring)."""
    if config.CACHE_DIR:
        return Path(config.CACHE_DIR)
    return _user_cache_root()


def _inside_package(py_file) -> bool:
    try:
        Path(py_file).resolve().relative_to(PACKAGE_DIR)
    except (ValueError, OSError):
        return False
    return True


class PackageCacheLocator(_UserWideLocator):
    """numba cache locator for this package's source files: :func:`kernel_cache_dir`, never the
    package directory. Other files are left to numba's own locators (``from_function`` returns
    None for them)."""

    def __init__(self, py_func, py_file, root: Path):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(root / self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        if config.CACHE_DIR or not os.path.exists(py_file) or not _inside_package(py_file):
            return None  # NUMBA_CACHE_DIR: numba's own first locator serves it
        for root in (_user_cache_root(), _temporary_root()):
            self = cls(py_func, py_file, root)
            try:
                self.ensure_cache_path()
            except OSError:
                continue
            return self
        return None


def install_locator() -> None:
    """Put :class:`PackageCacheLocator` first among numba's locators (before the in-tree one);
    idempotent. Must run before the package's ``@njit(cache=True)`` functions are defined."""
    classes = _CacheImpl._locator_classes
    if not any(c.__name__ == PackageCacheLocator.__name__ for c in classes):
        classes.insert(0, PackageCacheLocator)


def _cache_roots() -> list[Path]:
    """Cache roots outside the source tree: ours, ``NUMBA_CACHE_DIR``, numba's user-wide one."""
    roots = [_user_cache_root(), _temporary_root()]
    if config.CACHE_DIR:
        roots.append(Path(config.CACHE_DIR))
    roots.append(Path(AppDirs(appname="numba", appauthor=False).user_cache_dir))
    return list(dict.fromkeys(roots))


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


def _package_cache_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every numba cache file (``*.nbi``, ``*.nbc``) of this package's modules, wherever it is."""
    files = []
    for py_file in package_dir.rglob("*.py"):
        for directory in cache_dirs(py_file):
            files += [p for p in directory.glob(f"{py_file.stem}.*.nb[ic]") if p.is_file()]
    return sorted(set(files))


def cache_size(package_dir: Path = PACKAGE_DIR) -> tuple[int, int]:
    """(number of files, bytes) of this package's compiled kernels on disk."""
    files = _package_cache_files(package_dir)
    return len(files), sum(p.stat().st_size for p in files)


def clear_cache(package_dir: Path = PACKAGE_DIR) -> int:
    """Delete this package's compiled kernels (they are compiled again on first use); returns
    the number of files removed."""
    removed = 0
    for path in _package_cache_files(package_dir):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed
