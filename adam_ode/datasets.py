r"""Real data sets shipped with the package, and the checked reader of users' data files.

Two small public data sets are bundled as CSV files in ``adam_ode/data/`` (source and licence in
each file's comment header and in ``adam_ode/data/README.md``), so they load with no download and
no extra dependency:

==================  ===========  ==============================================================
name                shape        content
==================  ===========  ==============================================================
``breast-cancer``   569 × 30     Breast Cancer Wisconsin (Diagnostic), binary class; y = +1
                                 benign, −1 malignant (UCI, CC BY 4.0; scikit-learn's copy)
``diabetes``        442 × 10     Efron et al. (2004) diabetes progression, a regression target
                                 (scikit-learn's copy of the raw, unscaled values)
==================  ===========  ==============================================================

:func:`load_dataset` returns ``(A, y)`` with standardised columns (mean 0, population standard
deviation 1), which makes the step-size scales of the experiments independent of the units;
the regression target of ``diabetes`` is standardised too (so F* and ‖x*‖ are of order 1).

:func:`read_table` reads a user's ``.csv`` (comma-separated numbers, last column the label or
target, ``#`` comment lines allowed, no header row) or ``.npz`` (arrays ``A`` and ``y``) and
checks it; every failure is a :class:`~adam_ode.ParameterError` naming the file and the
problem, raised before anything runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._validation import ParameterError

__all__ = ["DATASETS", "load_dataset", "read_table", "standardize", "check_design",
           "select_columns"]

DATA_DIR = Path(__file__).resolve().parent / "data"

# name -> (file in adam_ode/data, kind, one-line description)
DATASETS = {
    "breast-cancer": ("breast_cancer.csv", "binary",
                      "Breast Cancer Wisconsin (Diagnostic), 569 x 30, y = +1 benign / -1 malignant"),
    "diabetes": ("diabetes.csv", "regression",
                 "Efron et al. (2004) diabetes progression, 442 x 10, standardised target"),
}


def standardize(A: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit population standard deviation (constant columns
    must have been rejected before: see :func:`check_design`)."""
    A = np.asarray(A, dtype=float)
    return (A - A.mean(axis=0)) / A.std(axis=0)


def check_design(A, where: str) -> None:
    """Raise a :class:`ParameterError` for a constant column of A (``where`` names the file and
    problem): it carries no information and cannot be standardised (0/0)."""
    A = np.asarray(A, dtype=float)
    constant = np.flatnonzero(np.ptp(A, axis=0) == 0.0) if A.shape[0] > 0 else []
    if len(constant):
        raise ParameterError(f"{where}: column(s) {', '.join(str(int(c)) for c in constant)} "
                             f"of the features are constant (drop them; an intercept is added "
                             f"with intercept=true)")


def load_dataset(name: str, standardized: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The bundled data set ``name`` as ``(A, y)`` (see the module docstring).

    Parameters
    ----------
    name : {"breast-cancer", "diabetes"}
    standardized : bool
        Standardise the feature columns (and the regression target of ``diabetes``); default
        True. Labels of ``breast-cancer`` are always in {−1, +1}.
    """
    if name not in DATASETS:
        raise ParameterError(f"unknown dataset {name!r}; bundled datasets: {', '.join(DATASETS)}")
    file, kind, _ = DATASETS[name]
    A, y = read_table(DATA_DIR / file, f"dataset {name!r}")
    if kind == "binary":
        y = np.where(y > 0, 1.0, -1.0)  # stored as 0 = malignant, 1 = benign
    if standardized:
        A = standardize(A)
        if kind == "regression":
            y = (y - y.mean()) / y.std()
    return A, y


def select_columns(A: np.ndarray, columns, where: str) -> np.ndarray:
    """The feature columns ``columns`` of ``A`` (0-based, distinct; None: all of them), e.g. two
    of a data set's features for a 2-D view."""
    if columns is None:
        return A
    n_cols = A.shape[1]
    valid = (isinstance(columns, (list, tuple)) and len(columns) > 0
             and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                     for c in columns)
             and len(set(columns)) == len(columns)
             and all(0 <= c < n_cols for c in columns))
    if not valid:
        raise ParameterError(f"{where}: columns = {columns!r} must be a non-empty list of "
                             f"distinct column indices in [0, {n_cols - 1}]")
    return np.ascontiguousarray(A[:, [int(c) for c in columns]])


def read_table(path, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(A, y)`` from a ``.npz`` (arrays ``A``, ``y``) or a ``.csv`` (last column y).

    ``where`` names the problem in the messages (e.g. ``"logistic-regression"``). Raises
    :class:`ParameterError` for a missing or empty file, a header row or any non-numeric cell,
    fewer than two columns, mismatched shapes and NaN/inf values.
    """
    path = str(path)
    label = f"{where}: data file {path!r}"
    try:
        if path.endswith(".npz"):
            with np.load(path) as f:
                A, y = np.asarray(f["A"], dtype=float), np.asarray(f["y"], dtype=float)
        else:
            text = Path(path).read_text()
            rows = [line for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
            if not rows:
                raise ParameterError(f"{label} is empty (no data rows)")
            try:
                table = np.loadtxt(rows, delimiter=",", ndmin=2)
            except ValueError as err:
                first = rows[0].split(",")
                if any(not _is_number(cell) for cell in first):
                    raise ParameterError(f"{label}: the first row {rows[0][:60]!r} is not "
                                         f"numeric; remove the header row (or start it with "
                                         f"'#')") from None
                raise ParameterError(f"{label}: not a table of comma-separated numbers ({err})") \
                    from None
            if table.shape[1] < 2:
                raise ParameterError(f"{label} needs at least two columns (features, then the "
                                     f"label), got {table.shape[1]}")
            A, y = table[:, :-1], table[:, -1]
    except OSError as err:
        raise ParameterError(f"{label}: cannot read it ({err})") from None
    except KeyError as err:
        raise ParameterError(f"{label} must hold arrays named 'A' and 'y' ({err})") from None
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise ParameterError(f"{label}: A must be a non-empty 2-D array, got shape {A.shape}")
    if y.shape != (A.shape[0],):
        raise ParameterError(f"{label}: y must have shape ({A.shape[0]},), got {y.shape}")
    bad = ~np.isfinite(A).all(axis=1) | ~np.isfinite(y)
    if bad.any():
        raise ParameterError(f"{label}: {int(bad.sum())} row(s) hold NaN or inf (first: row "
                             f"{int(np.flatnonzero(bad)[0])})")
    return A, y


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
