"""Output directories of runs: checked before any work, never replaced unasked, written all at once.

**Before the run** (:func:`claim`): the path must not be empty (an unset shell variable in
``--out "$DIR"``), must not be a file or sit under one, and must be writable (probed with a
temporary file). A directory that already holds results (:data:`RESULT_FILES`, or a sweep's
files) is refused unless

- it holds a complete run (its ``summary.json``) of the same experiment with the same resolved
  config: the new run reproduces it, so replacing it loses nothing; or
- ``force`` is given (``--force``).

**During the run** everything is written into a hidden staging directory inside the output
directory (``.adam-ode-staging.*``). **At the end** (:meth:`RunDirectory.commit`) the staged files
are moved into place with :func:`os.replace` (no copy: no disk space needed, nothing half-written),
``summary.json`` last, and files of the replaced run that the new one does not write are removed.
A run that fails, is interrupted or fills the disk before the commit leaves the earlier files as
they were; a directory the run created is removed again. Staging directories left by a killed
process are removed by the next run into the same directory.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from ._validation import ExperimentError
from .io import remove_stale_temporaries, to_jsonable

__all__ = ["RunDirectory", "claim", "check_out_path", "timestamped", "holds_results",
           "SUMMARY_FILE", "DATA_FILE", "FIGURE_FILE", "RESULT_FILES", "STAGING_PREFIX"]

SUMMARY_FILE = "summary.json"
DATA_FILE = "data.npz"
FIGURE_FILE = "figure.png"
RESULT_FILES = (DATA_FILE, FIGURE_FILE, SUMMARY_FILE)  # summary.json last: marks a complete run
SWEEP_FILES = ("sweep.csv", "sweep.json", "sweep.png")
STAGING_PREFIX = ".adam-ode-staging."
TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"  # name of a run's directory under runs/<name>/


def timestamped(root: Path) -> Path:
    """``root/<YYYYmmdd-HHMMSS>``, with a ``-1``, ``-2`` … suffix if that directory exists."""
    stamp = _dt.datetime.now().strftime(TIMESTAMP_FORMAT)
    path, i = Path(root) / stamp, 0
    while path.exists():
        i += 1
        path = Path(root) / f"{stamp}-{i}"
    return path


def check_out_path(out_dir, option: str = "--out") -> Path:
    """``out_dir`` as a Path; an empty or blank path is an error (it would mean ``.``)."""
    text = os.fspath(out_dir) if out_dir is not None else None
    if text is None or not str(text).strip():
        raise ExperimentError(f"{option}: the output directory is an empty path (an unset "
                              f"variable?); give a directory, e.g. {option} runs/mine")
    return Path(text)


def holds_results(directory: Path) -> list:
    """The result files of a run or a sweep present in ``directory`` (names)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [name for name in RESULT_FILES + SWEEP_FILES if (directory / name).exists()]


def _read_summary(directory: Path) -> dict | None:
    try:
        return json.loads((directory / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _describe(directory: Path, present: list) -> str:
    summary = _read_summary(directory) if SUMMARY_FILE in present else None
    if summary is not None and isinstance(summary, dict) and "experiment" in summary:
        when = summary.get("started_at")
        return f"a run of {summary['experiment']!r}" + (f" from {when}" if when else "")
    if any(name in present for name in SWEEP_FILES):
        return "a sweep"
    return "results (" + ", ".join(present) + ")"


def _same_run(directory: Path, experiment: str, config: dict) -> bool:
    summary = _read_summary(directory)
    return (isinstance(summary, dict) and summary.get("experiment") == experiment
            and summary.get("config") == to_jsonable(config))


def remove_stale_staging(directory: Path) -> None:
    """Remove staging directories and temporary files a killed run left in ``directory``."""
    for path in Path(directory).glob(STAGING_PREFIX + "*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    remove_stale_temporaries(directory)


def _existing_parent(path: Path) -> tuple[list, Path]:
    missing, parent = [], path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    return missing, parent


def check_target(out_dir, *, experiment: str | None, config: dict | None,
                 force: bool = False, option: str = "--out") -> Path:
    """The checks of :func:`claim` that create nothing (``--dry-run`` uses them)."""
    out_dir = check_out_path(out_dir, option)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExperimentError(f"output directory {out_dir} exists and is not a directory")
    _missing, parent = _existing_parent(out_dir)
    if not parent.is_dir():
        raise ExperimentError(f"output directory {out_dir}: {parent} is not a directory")
    present = holds_results(out_dir)
    if present and not force and not (experiment is not None and SUMMARY_FILE in present
                                      and _same_run(out_dir, experiment, config)):
        raise ExperimentError(f"output directory {out_dir} already holds "
                              f"{_describe(out_dir, present)}; choose another {option} or pass "
                              "--force to replace it")
    return out_dir


def claim(out_dir, *, experiment: str | None = None, config: dict | None = None,
          force: bool = False, option: str = "--out") -> "RunDirectory":
    """Check ``out_dir`` (module docstring), create it if needed and open a staging directory.

    Raises :class:`ExperimentError` (one line naming the directory) before anything is written.
    """
    out_dir = check_target(out_dir, experiment=experiment, config=config, force=force,
                           option=option)
    missing, _parent = _existing_parent(out_dir)
    created = []
    try:
        for directory in reversed(missing):
            directory.mkdir()
            created.append(directory)
        remove_stale_staging(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as err:
        _remove_created(created)
        reason = err.strerror or type(err).__name__
        raise ExperimentError(f"output directory {out_dir} is not writable ({reason})") from None
    return RunDirectory(out_dir, created, staging)


def _remove_created(created) -> None:
    """Remove the directories a run created (innermost first) if they are empty."""
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


class RunDirectory:
    """A claimed output directory: write into :attr:`staging`, then :meth:`commit` or
    :meth:`abort` (see the module docstring).

    Attributes
    ----------
    path : Path
        The output directory.
    staging : Path
        Where the run writes its files until the commit.
    created : list of Path
        The directories the claim created (outermost first).
    """

    def __init__(self, path: Path, created: list, staging: Path):
        self.path = path
        self.created = created
        self.staging = staging
        self.complete = False
        self._message = None
        self._lock = threading.Lock()  # the interrupt watchdog may call abort from its thread

    def commit(self, replaced=RESULT_FILES) -> list:
        """Move the staged files into place (``summary.json`` last) and remove the files named
        in ``replaced`` that the new run did not write; returns the final paths."""
        with self._lock:
            staged = sorted(p.name for p in self.staging.iterdir())
            order = [n for n in staged if n != SUMMARY_FILE] + \
                    [n for n in staged if n == SUMMARY_FILE]
            # The old summary goes first: until the new one lands the directory is incomplete,
            # never a new data file under an old summary.
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.path / SUMMARY_FILE, self.staging / ".replaced-summary.json")
            for name in replaced:
                if name not in staged:
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                        (self.path / name).unlink()
            paths = []
            for name in order:
                os.replace(self.staging / name, self.path / name)
                paths.append(self.path / name)
            shutil.rmtree(self.staging, ignore_errors=True)
            self.complete = True
            return paths

    def abort(self) -> str:
        """Undo the unfinished run; one line saying what is left."""
        with self._lock:
            if self._message is not None:
                return self._message
            if self.complete:
                self._message = f"results complete in {self.path}"
            elif self.created:
                shutil.rmtree(self.created[-1], ignore_errors=True)
                _remove_created(self.created[:-1])
                self._message = f"nothing written to {self.path}"
            else:
                shutil.rmtree(self.staging, ignore_errors=True)
                self._message = f"nothing written to {self.path} (its files are unchanged)"
            return self._message
