"""Plotting helpers shared by the runners (presentation layer: the only place using matplotlib).

:func:`pyplot` selects the non-interactive Agg backend before importing ``matplotlib.pyplot``, so
runners work headless and never open windows; numerics modules never import matplotlib. Draw
inside ``with plt.rc_context(STYLE):`` for the common look without touching global settings.
"""

from __future__ import annotations

__all__ = ["pyplot", "STYLE", "FIGSIZE_PANEL"]

FIGSIZE_PANEL = (5.0, 4.2)  # inches per panel: readable at 150 dpi on a laptop screen
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8,
         "axes.grid": True, "grid.alpha": 0.3}


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
