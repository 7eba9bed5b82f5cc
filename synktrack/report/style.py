"""Figure style shared by the report and the session summary: readable in grey print.

Left and right differ by marker, fill and line style as well as colour:
left = dark blue, filled circles, solid line; right = orange-brown, open
squares, dashed line. Figures are made with the object-oriented Agg API (no
pyplot state); the style is applied in a ``rc_context``, not globally.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any, Literal, cast

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from synktrack.atomic import atomic_path

DPI = 150
SIDE_STYLE: dict[str, dict[str, Any]] = {
    "left": {"color": "#1d3f78", "marker": "o", "linestyle": "-", "markerfacecolor": "#1d3f78",
             "markeredgecolor": "#1d3f78"},
    "right": {"color": "#a0520f", "marker": "s", "linestyle": "--", "markerfacecolor": "white",
              "markeredgecolor": "#a0520f"},
}
BAND_COLOR = "#d9d9d9"
EVENT_COLOR = "#3a3a3a"
EVENT_STYLE: dict[str, dict[str, Any]] = {
    "botox": {"linestyle": "-", "linewidth": 1.1},
    "therapy_start": {"linestyle": (0, (6, 2, 1, 2)), "linewidth": 1.0},
    "surgery": {"linestyle": "-", "linewidth": 2.0},
    "note": {"linestyle": ":", "linewidth": 1.0},
    "other": {"linestyle": ":", "linewidth": 1.0},
}
RC: dict[str, Any] = {
    "font.size": 8.0,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "lines.linewidth": 1.3,
    "lines.markersize": 4.0,
    "svg.fonttype": "none",
}


def side_label(side: str, affected: str) -> str:
    """``"Left (affected)"`` or ``"Right"``: the patient's side, capitalised."""
    return f"{side.capitalize()} (affected)" if side == affected else side.capitalize()


def styled() -> contextlib.AbstractContextManager[Any]:
    """Context in which figures get this style (matplotlib's global rcParams stay untouched)."""
    import matplotlib

    return matplotlib.rc_context(cast(Any, RC))


def new_figure(width_in: float, height_in: float,
               layout: Literal["constrained", "tight"] | None = None) -> Figure:
    """An Agg-backed figure (no pyplot); make and draw it inside :func:`styled`.

    Without ``layout`` the caller places the axes (:func:`margins`): much faster
    than a layout engine, which draws every figure twice.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def margins(fig: Figure, left: float, right: float, top: float,
            bottom: float) -> dict[str, float]:
    """Subplot parameters for margins given in inches."""
    w, h = fig.get_size_inches()
    return {"left": left / w, "right": 1 - right / w, "top": 1 - top / h, "bottom": bottom / h}


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white",
                metadata={"Software": "synktrack"})
    return buf.getvalue()


def save_png(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write the figure as a PNG atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(png_bytes(fig))
    return path
