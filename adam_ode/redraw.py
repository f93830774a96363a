"""``adam-ode plot DIR``: redraw a finished run's figure, or a sweep's, from the files it wrote.

A run directory holds ``summary.json`` (the resolved config and the key numbers) and
``data.npz`` (the arrays); the experiment's runner module draws the figure again from those two
alone with its ``redraw(arrays, summary) -> Figure``. A sweep directory holds ``sweep.json`` and
``sweep.csv``; its figure is drawn again from the table, for any column (``metric``). Nothing is
computed again, so a figure can be restyled or a sweep drawn over another key number at once.
"""

from __future__ import annotations

import csv
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

from ._validation import ExperimentError
from .io import save_figure
from .outputs import DATA_FILE, FIGURE_FILE, SUMMARY_FILE

__all__ = ["redraw", "redraw_run", "read_sweep_table"]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ExperimentError(f"{path}: cannot read ({err})") from None


def redraw_run(directory: Path):
    """The figure of the run in ``directory``, drawn again by its runner's ``redraw``."""
    from .experiments import get_runner

    summary = _read_json(directory / SUMMARY_FILE)
    name = summary.get("experiment")
    if not isinstance(name, str):
        raise ExperimentError(f"{directory / SUMMARY_FILE} names no experiment")
    runner = get_runner(name)
    draw = getattr(sys.modules.get(runner.__module__), "redraw", None)
    if not callable(draw):
        raise ExperimentError(f"experiment {name!r} cannot redraw its figure from its files")
    try:
        with np.load(directory / DATA_FILE) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise ExperimentError(f"{directory / DATA_FILE}: cannot read ({err})") from None
    return draw(arrays, summary)


def _cell_value(text: str):
    if text == "":
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def read_sweep_table(directory: Path):
    """The :class:`~adam_ode.sweep.SweepTable` of a finished sweep, read back from its files."""
    from .sweep import SWEEP_CSV, SWEEP_MANIFEST, SweepTable

    manifest = _read_json(directory / SWEEP_MANIFEST)
    try:
        with open(directory / SWEEP_CSV, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            columns = next(reader)
            rows = [{c: _cell_value(v) for c, v in zip(columns, line)} for line in reader]
    except (OSError, StopIteration) as err:
        raise ExperimentError(f"{directory / SWEEP_CSV}: cannot read ({err})") from None
    keys = list(manifest.get("grid", {}))
    return SweepTable(keys, columns, rows, directory, directory / SWEEP_CSV), manifest


def redraw(directory, out=None, metric: str | None = None) -> Path:
    """Redraw the figure of a run or sweep directory; returns the path written.

    ``out`` defaults to the directory's own ``figure.png`` (run) or ``sweep.png`` (sweep).
    """
    from .runners._plot import pyplot
    from .sweep import SWEEP_CSV, SWEEP_FIGURE, draw_table

    directory = Path(directory)
    if not directory.is_dir():
        raise ExperimentError(f"{directory}: no such directory")
    if (directory / SWEEP_CSV).is_file():
        table, manifest = read_sweep_table(directory)
        fig = draw_table(table, metric, manifest.get("name", manifest.get("experiment", "")))
        target = Path(out) if out else directory / SWEEP_FIGURE
    elif (directory / SUMMARY_FILE).is_file():
        if metric is not None:
            raise ExperimentError("--metric applies to sweep directories only")
        fig = redraw_run(directory)
        target = Path(out) if out else directory / FIGURE_FILE
    else:
        raise ExperimentError(f"{directory} holds neither a finished run ({SUMMARY_FILE}) nor a "
                              f"sweep ({SWEEP_CSV})")
    if fig is None:
        raise ExperimentError(f"{directory}: nothing to draw")
    try:
        path = save_figure(fig, target)
    except OSError as err:
        raise ExperimentError(f"cannot write {target} ({err.strerror})") from None
    finally:
        pyplot().close(fig)
    return path
