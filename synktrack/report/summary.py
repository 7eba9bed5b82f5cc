"""The per-session summary figure: rest and movement frames, and the traces of every epoch.

:func:`summary_figure` writes ``summary.png``: a rest frame and a movement
frame side by side with the landmarks and lid margins drawn, above the eye
apertures, mouth-corner and brow movements of the whole session on one time
axis, with the protocol's epochs shaded, labelled and explained in a key. Each
trace spans at least :data:`MIN_SPAN_MM`, so landmark noise on a still face is
not drawn as movement. Missing images or epochs are simply left out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from synktrack.report.style import SIDE_STYLE, margins, new_figure, save_png, styled

SUMMARY_PNG = "summary.png"
WIDTH_IN = 7.5
MOVE_SHADE = "#ececec"
PLATEAU_SHADE = "#d2d2d2"
LID_COLOR = "#ffd400"
LM_COLOR = "#7fe0ff"
_OUTLINE = [patheffects.withStroke(linewidth=2.6, foreground="black")]
MIN_SPAN_MM = 2.0  # smallest y range of a trace: noise of a still face stays small
TRACES = (("eye_aperture_{}_mm", False, "eye aperture\n(mm)"),
          ("mouth_corner_{}_y_mm", True, "mouth corner\nup − median (mm)"),
          ("mouth_corner_{}_x_mm", True, "mouth corner\nout − median (mm)"),
          ("brow_height_{}_mm", True, "brow\nup − median (mm)"))


def summary_figure(out_dir: str | os.PathLike[str], frames: pd.DataFrame,
                   epochs: pd.DataFrame | None, rest_image: np.ndarray | None,
                   move_image: np.ndarray | None, landmarks_rest: np.ndarray | None,
                   landmarks_move: np.ndarray | None, lids_rest: Any = None,
                   lids_move: Any = None, title: str = "", *,
                   move_label: str = "Movement") -> Path:
    """Write ``out_dir/summary.png`` (atomically) and return its path.

    Parameters
    ----------
    out_dir
        Session output folder.
    frames
        Per-frame measures (columns in :data:`synktrack.measures.COLUMNS`).
    epochs
        Epochs (columns in :data:`synktrack.schema.EPOCH_COLUMNS`), or None.
    rest_image, move_image
        RGB (or grey) frames at rest and during a movement, or None.
    landmarks_rest, landmarks_move
        (478, 2+) landmarks of those frames in image pixels (normalised 0-1
        coordinates are scaled to the image), or None.
    lids_rest, lids_move
        Lid margins of those frames, image pixels: an (N, 2) polyline, a
        sequence of them, an (..., N, 2) array or a mapping of name to
        polyline. A 2-point "polyline" is an (upper, lower) pair of margin
        points, as :class:`synktrack.lids.EyeLids` gives them. With a mapping
        keyed ``"left"``/``"right"`` (patient's sides) the eyes are labelled L/R.
    title
        Title at the top (e.g. subject, date and protocol).
    move_label
        Heading of the movement frame (e.g. ``"Smile (plateau)"``).

    Returns
    -------
    Path
        The written ``summary.png``.
    """
    images = [(img, lm, lids, name) for img, lm, lids, name in (
        (rest_image, landmarks_rest, lids_rest, "Rest"),
        (move_image, landmarks_move, lids_move, move_label)) if img is not None]
    with styled():
        fig = _figure(frames, epochs, images, title)
        return save_png(fig, Path(out_dir) / SUMMARY_PNG)


def _figure(frames: pd.DataFrame, epochs: pd.DataFrame | None,
            images: list[tuple[np.ndarray, Any, Any, str]], title: str) -> Figure:
    img_h = 2.9 if images else 0.0
    traces_h = 5.2
    head = 0.4 if title else 0.1
    fig = new_figure(WIDTH_IN, head + img_h + traces_h)
    total = head + img_h + traces_h
    if title:
        fig.text(0.1 / WIDTH_IN, 1 - 0.08 / total, title, ha="left", va="top",
                 fontsize=10, fontweight="bold")
    if images:
        top = 1 - head / total
        bottom = 1 - (head + img_h - 0.05) / total
        width = 1.0 / len(images)
        for k, (img, lm, lids, name) in enumerate(images):
            ax = fig.add_axes((k * width + 0.01, bottom, width - 0.02, top - bottom))
            _draw_image(ax, img, lm, lids, name)
    has_epochs = epochs is not None and len(epochs) > 0
    grid = margins(fig, 0.8, 0.15, head + img_h + (0.3 if has_epochs else 0.1), 0.78)
    axes = fig.subplots(len(TRACES), 1, sharex=True, gridspec_kw={"hspace": 0.12, **grid})
    _traces(axes, frames)
    if epochs is not None and has_epochs:
        for a in axes:
            _shade(a, epochs, labels=a is axes[0])
    axes[-1].set_xlabel("time in the recording (s)")
    handles: list[Any] = [ln for ln in axes[0].lines if not ln.get_label().startswith("_")]
    if has_epochs:
        handles += [Patch(facecolor=MOVE_SHADE, label="movement step"),
                    Patch(facecolor=PLATEAU_SHADE, label="plateau (measured)"),
                    Patch(facecolor=MOVE_SHADE, edgecolor="#9a9a9a", hatch="////", lw=0,
                          label="step not usable")]
    if handles:
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.005, 0.17 / total),
                   ncol=len(handles), fontsize=7, borderaxespad=0.0, handlelength=1.8,
                   columnspacing=1.2)
        fig.text(0.1 / WIDTH_IN, 0.03 / total, "Gaps in a trace: frames left out (no face, "
                 "head turned too far, a blink in an eye trace).", ha="left", va="bottom",
                 fontsize=6.5, color="#555555")
    return fig


def _as_points(lm: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if lm is None:
        return None
    pts = np.asarray(lm, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 2 or not np.isfinite(pts[:, :2]).any():
        return None
    pts = pts[:, :2].copy()
    if np.nanmax(np.abs(pts)) <= 1.5:  # normalised coordinates
        pts[:, 0] *= shape[1]
        pts[:, 1] *= shape[0]
    return pts


def _polylines(lids: Any) -> list[np.ndarray]:
    """Lid margins in any of the accepted forms, as a list of (N, 2) polylines."""
    if lids is None:
        return []
    if isinstance(lids, Mapping):
        return [p for v in lids.values() for p in _polylines(v)]
    if isinstance(lids, list | tuple) and lids and not np.isscalar(lids[0]):
        return [p for v in lids for p in _polylines(v)]
    arr = np.asarray(lids, dtype=float)
    if arr.ndim < 2 or arr.shape[-1] != 2:
        return []
    return list(arr.reshape(-1, arr.shape[-2], 2))


def _draw_image(ax: Axes, img: np.ndarray, lm: np.ndarray | None, lids: Any,
                name: str) -> None:
    img = np.asarray(img)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="antialiased")
    pts = _as_points(lm, img.shape)
    if pts is not None:
        ax.plot(pts[:, 0], pts[:, 1], linestyle="none", marker=".", ms=1.2, color=LM_COLOR,
                alpha=0.7)
        _crop(ax, pts, img.shape)
    for line in _polylines(lids):
        _draw_lid(ax, line, img.shape)
    if isinstance(lids, Mapping):  # patient's sides known: say which eye is which
        for key, value in lids.items():
            lines = _polylines(value)
            if str(key) in ("left", "right") and lines and np.isfinite(lines[0]).all():
                x, y = lines[0][:, 0].max(), lines[0][:, 1].min()
                ax.text(x + 0.02 * img.shape[1], y, str(key)[0].upper(), color="white",
                        fontsize=8, fontweight="bold", ha="left", va="bottom",
                        path_effects=_OUTLINE)
    ax.set_axis_off()
    ax.set_title(name, fontsize=9, loc="center", pad=3)


def _draw_lid(ax: Axes, line: np.ndarray, shape: tuple[int, ...]) -> None:
    if len(line) == 2:  # (upper, lower) margin points: ticks across the eye, joined
        half = max(3.0, 0.012 * shape[1])
        for x, y in line:
            ax.plot([x - half, x + half], [y, y], color=LID_COLOR, lw=1.8,
                    path_effects=_OUTLINE, solid_capstyle="butt")
        ax.plot(line[:, 0], line[:, 1], color=LID_COLOR, lw=0.8, path_effects=_OUTLINE)
    else:
        ax.plot(line[:, 0], line[:, 1], color=LID_COLOR, lw=1.4, path_effects=_OUTLINE)


def _crop(ax: Axes, pts: np.ndarray, shape: tuple[int, ...]) -> None:
    """Zoom onto the face (landmark box plus a margin), keeping the aspect ratio."""
    ok = np.isfinite(pts).all(axis=1)
    if not ok.any():
        return
    (x0, y0), (x1, y1) = pts[ok].min(axis=0), pts[ok].max(axis=0)
    m = 0.12 * max(x1 - x0, y1 - y0)
    x0, x1 = max(0.0, x0 - m), min(float(shape[1]), x1 + m)
    y0, y1 = max(0.0, y0 - m), min(float(shape[0]), y1 + m)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)


def _series(frames: pd.DataFrame, col: str, centre: bool = False) -> np.ndarray | None:
    if col not in frames:
        return None
    v = pd.to_numeric(frames[col], errors="coerce").to_numpy(dtype=float)
    if "usable" in frames:
        usable = pd.to_numeric(frames["usable"], errors="coerce").fillna(0).to_numpy() > 0
        v = np.where(usable, v, np.nan)
    if not np.isfinite(v).any():
        return None
    return v - np.nanmedian(v) if centre else v


def _traces(axes: np.ndarray, frames: pd.DataFrame) -> None:
    t = pd.to_numeric(frames.get("time_s", pd.Series(range(len(frames)))),
                      errors="coerce").to_numpy(dtype=float)
    for ax, (pattern, centre, ylabel) in zip(axes, TRACES, strict=True):
        drawn = False
        for side in ("left", "right"):
            v = _series(frames, pattern.format(side), centre)
            if v is None:
                continue
            style = {**SIDE_STYLE[side], "marker": None}
            ax.plot(t, v, lw=1.0, label=f"patient's {side}", **style)
            drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center",
                    va="center", color="#555555")
        if centre:
            ax.axhline(0.0, color="#999999", lw=0.6, zorder=0.5)
        if drawn:
            low, high = ax.get_ylim()
            if high - low < MIN_SPAN_MM:
                mid = (low + high) / 2
                ax.set_ylim(mid - MIN_SPAN_MM / 2, mid + MIN_SPAN_MM / 2)
        ax.set_ylabel(ylabel, fontsize=7.5)
    if np.isfinite(t).any() and np.nanmax(t) > np.nanmin(t):
        axes[-1].set_xlim(np.nanmin(t), np.nanmax(t))


def _shade(ax: Axes, epochs: pd.DataFrame, labels: bool) -> None:
    """Shade each movement epoch (plateau darker); hatch unusable ones; label on top."""
    for row in epochs.to_dict("records"):
        movement = str(row.get("movement", ""))
        start, end = _num(row.get("start_s")), _num(row.get("end_s"))
        if movement == "rest" or not (np.isfinite(start) and np.isfinite(end)):
            continue
        usable = _num(row.get("usable", 1)) != 0
        ax.axvspan(start, end, facecolor=MOVE_SHADE, edgecolor="#9a9a9a", zorder=0, lw=0,
                   hatch=None if usable else "////")
        p0, p1 = _num(row.get("plateau_start_s")), _num(row.get("plateau_end_s"))
        if usable and np.isfinite(p0) and np.isfinite(p1):
            ax.axvspan(p0, p1, color=PLATEAU_SHADE, zorder=0.1, lw=0)
        if labels:
            rep = _num(row.get("repetition"))
            text = movement.replace("_", " ") + (f" {rep:.0f}" if np.isfinite(rep) else "")
            if not usable:
                text += "\n(unusable)"
            ax.text((start + end) / 2, 1.02, text, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=6.5, clip_on=False)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
