"""Plotting helpers shared by the runners (presentation layer: the only place using matplotlib).

:func:`pyplot` selects the non-interactive Agg backend before importing ``matplotlib.pyplot``, so
runners work headless and never open windows; numerics modules never import matplotlib. Draw
inside ``with plt.rc_context(STYLE):`` for the common look without touching global settings.
"""

from __future__ import annotations

__all__ = ["pyplot", "STYLE", "FIGSIZE_PANEL", "describe_problem"]

FIGSIZE_PANEL = (5.0, 4.2)  # inches per panel: readable at 150 dpi on a laptop screen
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8,
         "axes.grid": True, "grid.alpha": 0.3}


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def describe_problem(problem) -> str:
    """Short label of a problem: name and parameters, constant vectors shown once."""
    parts = []
    for key, value in problem.config().items():
        if key == "name":
            continue
        if isinstance(value, list) and value and all(v == value[0] for v in value) \
                and len(value) > 1:
            value = value[0]
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, list) and len(value) <= 4:
            value = "[" + ", ".join(f"{v:g}" for v in value) + "]"
        elif isinstance(value, list):
            value = f"<{len(value)} values>"
        parts.append(f"{key}={value}")
    return f"{problem.config()['name']} ({', '.join(parts)})"
