"""Atomic result files: JSON with NumPy values, ``.npz`` archives and figures.

Every writer creates a temporary file in the destination's directory (same file system) and moves
it over the destination with :func:`os.replace`, which is atomic on POSIX and Windows: a reader,
or a run interrupted half-way, sees either the old file or the complete new one, never a partial
file, and no temporary file is left behind on error.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "to_jsonable", "NumpyJSONEncoder", "write_json", "write_npz",
           "save_figure", "environment_info", "remove_stale_temporaries", "FIGURE_DPI"]

FIGURE_DPI = 150  # default resolution of saved figures: sharp on screen, ~200 kB per PNG
TEMP_PREFIX = "."  # temporary files are hidden dot-files next to the destination
TEMP_SUFFIX = ".tmp"
FILE_MODE = 0o666  # what open(..., "w") asks for; the process umask is applied on top


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read the umask is to set it and restore it
    os.umask(mask)
    return mask


# Read once at import (single-threaded then): setting the umask later could race with threads.
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_write(path):
    """Context manager yielding a binary file object whose content replaces ``path`` on success.

    The parent directory is created if needed. On an exception the temporary file is removed and
    ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", suffix=TEMP_SUFFIX,
                               dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the permissions a plain
        # open() would (0o666 less the umask) so results are as shareable as any other file.
        os.chmod(tmp, FILE_MODE & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(directory) -> list:
    """Remove the temporary files that :func:`atomic_write` left in ``directory``.

    Only a killed process (SIGKILL, power loss) leaves them: every other exit removes its own.
    Call it before writing into a directory again. Returns the removed paths.
    """
    removed = []
    for path in Path(directory).glob(TEMP_PREFIX + "*" + TEMP_SUFFIX):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            path.unlink()
            removed.append(path)
    return removed


def to_jsonable(obj):
    """Recursively convert NumPy scalars/arrays, paths, tuples and sets to JSON types.

    Non-finite floats become ``None`` (strict JSON has no NaN or infinity).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


class NumpyJSONEncoder(json.JSONEncoder):
    """JSON encoder for NumPy scalars and arrays (use :func:`to_jsonable` to also map NaN)."""

    def default(self, o):
        converted = to_jsonable(o)
        if converted is o:
            return super().default(o)
        return converted


def write_json(path, obj, indent: int = 2) -> Path:
    """Atomically write ``obj`` (NumPy values allowed) as strict, indented UTF-8 JSON."""
    text = json.dumps(to_jsonable(obj), indent=indent, cls=NumpyJSONEncoder, allow_nan=False,
                      ensure_ascii=False)
    with atomic_write(path) as f:
        f.write((text + "\n").encode("utf-8"))
    return Path(path)


def write_npz(path, **arrays) -> Path:
    """Atomically write the named arrays to a compressed ``.npz`` archive at exactly ``path``."""
    with atomic_write(path) as f:
        # Writing to a file object stops NumPy from appending a second ".npz" suffix.
        np.savez_compressed(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


def save_figure(fig, path, dpi: int = FIGURE_DPI) -> Path:
    """Atomically save a matplotlib figure; the format follows the suffix of ``path``."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    with atomic_write(path) as f:
        fig.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight")
    return path


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_info() -> dict:
    """Versions of Python, the numerical stack and adam_ode, and the platform (for summaries)."""
    from ._version import __version__

    info = {"python": sys.version.split()[0], "adam_ode": __version__}
    for dist in ("numpy", "scipy", "numba", "matplotlib"):
        info[dist] = _version(dist)
    info["platform"] = platform.platform()
    info["machine"] = platform.machine()
    info["cpu_count"] = os.cpu_count()
    return info
