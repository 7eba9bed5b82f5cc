"""The annotated video: every frame with what was measured drawn on it, traces underneath.

Layout of one output frame, top to bottom: a header (time, the current protocol
step and its prompt), the picture with the eye contours, the measured lid margins
(yellow ticks), the lid margins found afresh in the image (white dots), the iris
circles, the mouth corners and the chin/neck regions drawn on it, and a panel of
live traces (eye aperture, mouth corner up, mouth corner out) for the patient's
left (blue, solid, ``L``) and right (orange, dashed, ``R``) side.

Drawing is pure (:func:`marks_of`, :func:`draw_picture`, :func:`draw_panel`,
:func:`compose`): a frame and its per-frame data in, a new picture out.
:func:`write_annotated_video` re-decodes the source, draws every frame and
encodes H.264 (yuv420p, even size, ``faststart``) with PyAV; nothing here runs
unless an annotated video is asked for: :mod:`synktrack.analyze` imports this module
only then.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from synktrack.chin_neck import Box, regions_place
from synktrack.errors import AnnotationError, InputError
from synktrack.landmarks import EYE_ORDER, Recording
from synktrack.measures.ids import EYE, MOUTH_CORNER, SIDES, side_ids
from synktrack.protocol import Protocol, Step

MIN_WIDTH, MAX_WIDTH = 640, 960  # picture width in the video (px)
WINDOW_S = 10.0  # time span of the live traces
NOW_AT = 0.8  # where "now" sits in the trace window once it scrolls
CODECS = ("libx264", "h264")  # H.264 encoders tried in turn
CRF = "23"

# RGB; the same hue for a side on the picture and in the traces.
SIDE_RGB = {"left": (40, 110, 230), "right": (225, 110, 10)}
SIDE_TAG = {"left": "L", "right": "R"}
LID_RGB = (255, 212, 0)
CONTOUR_RGB = (127, 224, 255)
MARGIN_RGB = (255, 255, 255)
GREY = (150, 150, 150)
INK = (30, 30, 30)
PANEL_BG = (250, 250, 250)
MOVE_SHADE = (228, 228, 228)
HEADER_BG = (24, 24, 24)
FONT = cv2.FONT_HERSHEY_SIMPLEX
TRACES = (("eye_aperture_{}_mm", False, "eye aperture (mm)"),
          ("mouth_corner_{}_y_mm", True, "mouth corner up - median (mm)"),
          ("mouth_corner_{}_x_mm", True, "mouth corner out - median (mm)"))
MIN_SPAN_MM = 2.0  # smallest y range of a trace strip (as in summary.png)
_TRACKED_LIDS = {"right": (2, 3), "left": (4, 5)}  # rec.tracked rows, MediaPipe labels
_TRACKED_CORNER = {"right": 0, "left": 1}

Progress = Callable[[int, int | None], None]


# ---------------------------------------------------------------------------- per-frame data


@dataclass(frozen=True)
class FrameMarks:
    """What to draw on one frame, in source-image pixels, keyed by the patient's side.

    ``contour``: eye outline from the landmarks; ``lids``: (upper, lower) lid
    margin points the eye aperture is measured between; ``margins``: (upper,
    lower) margins found afresh in the image (may be NaN); ``iris``: (x, y,
    radius); ``corners``: mouth corner (x, y); ``regions``: chin/neck boxes
    named like ``chin_left``; ``visible``: whether each region lies wholly in
    the image (otherwise its index says "not visible").
    """

    present: bool
    contour: dict[str, np.ndarray] = field(default_factory=dict)
    lids: dict[str, np.ndarray] = field(default_factory=dict)
    margins: dict[str, np.ndarray] = field(default_factory=dict)
    iris: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    corners: dict[str, tuple[float, float]] = field(default_factory=dict)
    regions: dict[str, Box] = field(default_factory=dict)
    visible: dict[str, bool] = field(default_factory=dict)


def _box_visible(box: Box, width: int, height: int) -> bool:
    return box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


def marks_of(rec: Recording, i: int, mirrored: bool = False,
             points: np.ndarray | None = None) -> FrameMarks:
    """The marks of frame ``i`` of a recording (pure).

    Parameters
    ----------
    rec
        The recording.
    i
        Frame number.
    mirrored
        Selfie-style video: MediaPipe's labels are swapped to the patient's sides.
    points
        ``rec.landmarks_px()`` if already computed (saves work per frame).
    """
    if not bool(rec.face_present[i]):
        return FrameMarks(present=False)
    pts = (points if points is not None else rec.landmarks_px())[i, :, :2]
    labels = side_ids(mirrored)
    contour, lids, margins, iris, corners = {}, {}, {}, {}, {}
    for side in SIDES:
        lab = labels[side]
        ids = EYE[lab]
        contour[side] = pts[list(ids["contour"])]
        up, lo = _TRACKED_LIDS[lab]
        tr = rec.tracked[i]
        upper = tr[up] if np.isfinite(tr[up]).all() else pts[ids["pairs"][0][0]]
        lower = tr[lo] if np.isfinite(tr[lo]).all() else pts[ids["pairs"][0][1]]
        lids[side] = np.array([upper, lower], dtype=float)
        margins[side] = np.asarray(rec.eye_margins[i, EYE_ORDER.index(lab)], dtype=float)
        cx, cy = pts[ids["iris_centre"]]
        diameter = float(rec.iris_px[i, EYE_ORDER.index(lab)])
        if not np.isfinite(diameter) or diameter <= 0:
            a, b = ids["iris_h"]
            diameter = float(np.hypot(*(pts[a] - pts[b])))
        iris[side] = (float(cx), float(cy), diameter / 2)
        c = rec.tracked[i, _TRACKED_CORNER[lab]]
        c = c if np.isfinite(c).all() else pts[MOUTH_CORNER[lab]]
        corners[side] = (float(c[0]), float(c[1]))
    # chin_neck names regions by MediaPipe's labels (the patient's sides unmirrored)
    placed = regions_place(pts)
    regions = {}
    for side in SIDES:
        for part in ("chin", "neck"):
            regions[f"{part}_{side}"] = placed[f"{part}_{labels[side]}"]
    visible = {k: _box_visible(b, rec.width, rec.height) for k, b in regions.items()}
    return FrameMarks(True, contour, lids, margins, iris, corners, regions, visible)


# ---------------------------------------------------------------------------- drawing helpers


def ascii_text(text: str) -> str:
    """``text`` in the ASCII the Hershey fonts can draw (accents dropped, quotes plain)."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"') \
        .replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-") \
        .replace("\u2026", "...").replace("\u2212", "-")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


_RIM = ((-1, -1), (1, -1), (-1, 1), (1, 1), (0, 1), (1, 0), (0, -1), (-1, 0))


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float,
          color: tuple[int, int, int], thickness: int = 1, outline: bool = False) -> None:
    x, y = int(org[0]), int(org[1])
    if outline:  # a dark rim from shifted copies (a thicker stroke would shift the glyphs)
        for dx, dy in _RIM:
            cv2.putText(img, text, (x + dx, y + dy), FONT, scale, (0, 0, 0), thickness,
                        cv2.LINE_AA)
    cv2.putText(img, text, (x, y), FONT, scale, color, thickness, cv2.LINE_AA)


def _text_width(text: str, scale: float, thickness: int = 1) -> int:
    return int(cv2.getTextSize(text, FONT, scale, thickness)[0][0])


def _wrap(text: str, width_px: int, scale: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(lines[-1] + " " + word, scale) <= width_px:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _ipt(p: Any) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _dashed(img: np.ndarray, pts: np.ndarray, color: tuple[int, int, int], thickness: int,
            dash: float = 7.0) -> None:
    """A dashed polyline (on/off every ``dash`` px of its length), drawn in one call."""
    if len(pts) < 2:
        return
    seg = np.diff(pts, axis=0)
    length = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
    step = dash / 3
    n_on = int(length[-1] // (2 * dash)) + 1
    # each dash: 4 samples over [2 k dash, 2 k dash + dash], clipped to the line's length
    at = np.minimum((2 * dash * np.arange(n_on))[:, None] + step * np.arange(4)[None, :],
                    length[-1])
    xy = np.stack([np.interp(at, length, pts[:, 0]), np.interp(at, length, pts[:, 1])], axis=2)
    cv2.polylines(img, list(np.round(xy).astype(np.int32)), False, color, thickness,
                  cv2.LINE_AA)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where ``mask`` is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


# ---------------------------------------------------------------------------- the picture


def draw_picture(image: np.ndarray, marks: FrameMarks, width: int) -> np.ndarray:
    """The frame resized to ``width`` (even height) with the marks drawn (new array)."""
    h, w = image.shape[:2]
    k = width / w
    height = max(2, int(round(h * k / 2)) * 2)
    out = cv2.resize(image, (width, height),
                     interpolation=cv2.INTER_AREA if k < 0.5 else cv2.INTER_LINEAR)
    if not marks.present:
        _text(out, "no face", (10, 30), 0.8, (255, 255, 255), 2, outline=True)
        return out
    th = 1 if width < 800 else 2
    small = 0.45 if width < 800 else 0.55
    hidden = []
    for name, box in marks.regions.items():
        part, side = name.rsplit("_", 1)
        if not marks.visible.get(name, True):  # its index says "not visible": no box
            hidden.append(f"{part} {SIDE_TAG[side]}")
            continue
        p0, p1 = _ipt((box.x0 * k, box.y0 * k)), _ipt((box.x1 * k, box.y1 * k))
        cv2.rectangle(out, p0, p1, SIDE_RGB[side], th, cv2.LINE_AA)
        # the label outside the box, away from the other side's box (they touch at the midline)
        label = f"{part} {SIDE_TAG[side]}"
        twin = marks.regions[f"{part}_{'right' if side == 'left' else 'left'}"]
        ly = (p0[1] + p1[1]) // 2 + 5
        if box.x0 + box.x1 >= twin.x0 + twin.x1:
            lx = p1[0] + 4
        else:
            lx = p0[0] - 4 - _text_width(label, 0.42)
        _text(out, label, (lx, ly), 0.42, SIDE_RGB[side], 1, outline=True)
    if hidden:
        _text(out, "not in the picture: " + ", ".join(hidden), (8, height - 8), 0.45,
              (235, 235, 235), 1, outline=True)
    for side in SIDES:
        color = SIDE_RGB[side]
        cont = np.round(marks.contour[side] * k).astype(np.int32)
        cv2.polylines(out, [cont], True, CONTOUR_RGB, 1, cv2.LINE_AA)
        cx, cy, r = marks.iris[side]
        if np.isfinite([cx, cy, r]).all():
            cv2.circle(out, _ipt((cx * k, cy * k)), max(2, int(round(r * k))), color, max(2, th),
                       cv2.LINE_AA)
        lids = marks.lids[side] * k
        half = max(4, int(round(0.012 * width)))
        if np.isfinite(lids).all():
            for x, y in lids:
                cv2.line(out, _ipt((x - half, y)), _ipt((x + half, y)), (0, 0, 0), th + 2,
                         cv2.LINE_AA)
                cv2.line(out, _ipt((x - half, y)), _ipt((x + half, y)), LID_RGB, th + 1,
                         cv2.LINE_AA)
            cv2.line(out, _ipt(lids[0]), _ipt(lids[1]), LID_RGB, 1, cv2.LINE_AA)
        for p in marks.margins[side] * k:
            if np.isfinite(p).all():
                cv2.circle(out, _ipt(p), 2, MARGIN_RGB, -1, cv2.LINE_AA)
        x, y = marks.corners[side]
        if np.isfinite([x, y]).all():
            cv2.circle(out, _ipt((x * k, y * k)), 4 + th, (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(out, _ipt((x * k, y * k)), 3 + th, color, -1, cv2.LINE_AA)
        # the side's letter outside the eye (towards the ear: away from the other eye)
        xs = marks.contour[side][:, 0] * k
        other = marks.contour["right" if side == "left" else "left"][:, 0].mean() * k
        top = float(np.nanmin(marks.contour[side][:, 1] * k))
        outward = xs.mean() > other
        tag = SIDE_TAG[side]
        tx = float(np.nanmax(xs)) + 6 if outward else float(np.nanmin(xs)) - 6 - \
            _text_width(tag, small + 0.2, 2)
        if np.isfinite([tx, top]).all():
            _text(out, tag, (int(tx), int(top)), small + 0.2, color, 2, outline=True)
    return out


# ---------------------------------------------------------------------------- the traces


@dataclass(frozen=True)
class Traces:
    """The per-side signals drawn under the picture, with their fixed y ranges.

    ``series``: one ``{side: (time,) values}`` per strip, in :data:`TRACES` order;
    ``ranges``: (low, high) per strip; ``steps``: the protocol's movement steps.
    """

    time_s: np.ndarray
    series: tuple[dict[str, np.ndarray], ...]
    ranges: tuple[tuple[float, float], ...]
    labels: tuple[str, ...]
    steps: tuple[Step, ...] = ()


def traces_of(frames: pd.DataFrame, protocol: Protocol | None = None) -> Traces:
    """Traces for :func:`draw_panel` from the per-frame measures (patient's sides)."""
    t = frames["time_s"].to_numpy(dtype=float)
    series, ranges, labels = [], [], []
    for pattern, centred, label in TRACES:
        one: dict[str, np.ndarray] = {}
        for side in SIDES:
            col = pattern.format(side)
            v = frames[col].to_numpy(dtype=float) if col in frames else np.full(len(t), np.nan)
            if centred and np.isfinite(v).any():
                v = v - float(np.nanmedian(v))
            one[side] = v
        allv = np.concatenate(list(one.values()))
        allv = allv[np.isfinite(allv)]
        if len(allv):
            lo, hi = (float(x) for x in np.percentile(allv, [1, 99]))
        else:
            lo, hi = 0.0, 1.0
        if hi - lo < MIN_SPAN_MM:
            mid = (hi + lo) / 2
            lo, hi = mid - MIN_SPAN_MM / 2, mid + MIN_SPAN_MM / 2
        pad = 0.08 * (hi - lo)
        series.append(one)
        ranges.append((lo - pad, hi + pad))
        labels.append(label)
    steps = tuple(s for s in protocol.steps if s.movement != "rest") if protocol else ()
    return Traces(t, tuple(series), tuple(ranges), tuple(labels), steps)


def window_of(t_now: float, span: float = WINDOW_S) -> tuple[float, float]:
    """The trace window: starts at 0 until "now" reaches :data:`NOW_AT` of it, then scrolls."""
    start = max(0.0, t_now - NOW_AT * span)
    return start, start + span


STRIP_H, KEY_H, MARGIN_L, MARGIN_R = 84, 26, 8, 92


def panel_height(n_strips: int = len(TRACES)) -> int:
    return n_strips * STRIP_H + KEY_H


def draw_panel(width: int, traces: Traces, i: int) -> np.ndarray:
    """The trace panel at frame ``i``: data up to now, a cursor at now, current values."""
    height = panel_height(len(traces.series))
    img = np.full((height, width, 3), PANEL_BG, np.uint8)
    t = traces.time_s
    t_now = float(t[i])
    t0, t1 = window_of(t_now)
    x0, x1 = MARGIN_L, width - MARGIN_R

    def xs(tt: np.ndarray | float) -> Any:
        return x0 + (np.asarray(tt) - t0) / (t1 - t0) * (x1 - x0)

    sel = (t >= t0) & (t <= t_now)
    for n, (one, (lo, hi), label) in enumerate(zip(traces.series, traces.ranges,
                                                   traces.labels, strict=True)):
        top = n * STRIP_H
        y_top, y_bot = top + 18, top + STRIP_H - 6

        def ys(v: np.ndarray, lo: float = lo, hi: float = hi,
               y_top: int = y_top, y_bot: int = y_bot) -> np.ndarray:
            return y_bot - (v - lo) / (hi - lo) * (y_bot - y_top)

        for s in traces.steps:
            if s.end_s < t0 or s.start_s > t1:
                continue
            a, b = int(max(x0, xs(s.start_s))), int(min(x1, xs(s.end_s)))
            cv2.rectangle(img, (a, y_top), (b, y_bot), MOVE_SHADE, -1)
            name = s.movement.replace("_", " ")
            if n == 0 and _text_width(name, 0.38) < b - a - 4:
                _text(img, name, (a + 3, y_top + 12), 0.38, INK)
        cv2.line(img, (x0, y_bot), (x1, y_bot), (200, 200, 200), 1)
        _text(img, label, (x0, top + 13), 0.42, INK)
        if lo < 0 < hi:
            y0 = int(round(float(ys(np.array(0.0)))))
            cv2.line(img, (x0, y0), (x1, y0), (205, 205, 205), 1)
        _text(img, f"{hi:.1f}", (x1 + 4, y_top + 8), 0.35, (110, 110, 110))
        _text(img, f"{lo:.1f}", (x1 + 4, y_bot), 0.35, (110, 110, 110))
        values = []
        for side in SIDES:
            v = one[side]
            idx = np.flatnonzero(sel)
            ok = np.isfinite(v[idx])
            for a, b in _runs(ok):
                seg = idx[a:b]
                pts = np.stack([xs(t[seg]), ys(np.clip(v[seg], lo, hi))], axis=1)
                if side == "right":
                    _dashed(img, pts, SIDE_RGB[side], 2)
                else:
                    cv2.polylines(img, [np.round(pts).astype(np.int32)], False, SIDE_RGB[side],
                                  2, cv2.LINE_AA)
            now = v[i]
            values.append((side, now))
        for k, (side, now) in enumerate(values):
            shown = round(float(now), 1) + 0.0  # never "-0.0"
            text = f"{SIDE_TAG[side]} " + ("  -" if not np.isfinite(now) else f"{shown:+.1f}"
                                           if n else f"{shown:.1f}")
            _text(img, text, (x1 + 4, y_top + 30 + 16 * k), 0.42, SIDE_RGB[side], 1)
    xc = int(round(float(xs(t_now))))
    cv2.line(img, (xc, 16), (xc, len(traces.series) * STRIP_H - 6), (90, 90, 90), 1)
    # the key: which colour is which side (the patient's own)
    ky = height - 9
    x = MARGIN_L
    for side in SIDES:
        p_a, p_b = (x, ky - 4), (x + 26, ky - 4)
        if side == "right":
            _dashed(img, np.array([p_a, p_b], float), SIDE_RGB[side], 2, dash=5)
        else:
            cv2.line(img, p_a, p_b, SIDE_RGB[side], 2, cv2.LINE_AA)
        label = f"{SIDE_TAG[side]} = patient's {side}"
        _text(img, label, (x + 32, ky), 0.42, SIDE_RGB[side], 1)
        x += 32 + _text_width(label, 0.42) + 18
    _text(img, f"last {WINDOW_S:.0f} s; grey = movement step", (x, ky), 0.38, (110, 110, 110))
    return img


# ---------------------------------------------------------------------------- header, frame


def step_at(protocol: Protocol | None, t: float) -> tuple[int, Step] | None:
    """The protocol step running at time ``t`` (0-based number, step), or None."""
    if protocol is None:
        return None
    for n, s in enumerate(protocol.steps):
        if s.start_s <= t < s.end_s:
            return n, s
    return None


HEADER_SCALE = 0.5
HEADER_LINE = 20


def header_lines(protocol: Protocol | None, t: float, width: int) -> list[str]:
    """The header's text: time and step on the first line, the prompt wrapped below."""
    first = f"t = {t:6.2f} s"
    current = step_at(protocol, t)
    if protocol is None:
        return [first + "   (no protocol: per-frame measures only)"]
    if current is None:
        return [first + f"   {ascii_text(protocol.name)}: outside the protocol's steps", ""]
    n, s = current
    first += f"   step {n + 1}/{len(protocol.steps)}: {s.movement.replace('_', ' ')}"
    prompt = _wrap(ascii_text(s.prompt), width - 20, HEADER_SCALE) if s.prompt else []
    return [first, *prompt[:2]] if protocol.steps else [first]


def header_height(protocol: Protocol | None, width: int) -> int:
    """Fixed header height for a clip: room for the longest prompt (at most two lines)."""
    lines = 1
    if protocol is not None:
        longest = max((len(_wrap(ascii_text(s.prompt), width - 20, HEADER_SCALE))
                       for s in protocol.steps), default=0)
        lines = 1 + min(2, max(1, longest))
    return 8 + HEADER_LINE * lines + 2


def draw_header(width: int, height: int, lines: list[str]) -> np.ndarray:
    img = np.full((height, width, 3), HEADER_BG, np.uint8)
    for n, line in enumerate(lines):
        color = (255, 255, 255) if n == 0 else (255, 226, 140)
        _text(img, line, (10, 22 + HEADER_LINE * n), HEADER_SCALE, color, 1)
    return img


def compose(image: np.ndarray, marks: FrameMarks, traces: Traces, i: int,
            protocol: Protocol | None, width: int) -> np.ndarray:
    """One whole output frame (header, picture, traces), even width and height, RGB."""
    pic = draw_picture(image, marks, width)
    head = draw_header(width, header_height(protocol, width),
                       header_lines(protocol, float(traces.time_s[i]), width))
    panel = draw_panel(width, traces, i)
    out = np.vstack([head, pic, panel])
    if out.shape[0] % 2:
        out = np.vstack([out, np.full((1, width, 3), PANEL_BG, np.uint8)])
    return out


def video_width(source_width: int) -> int:
    """Picture width in the video: the source's, within [MIN_WIDTH, MAX_WIDTH], even."""
    return int(min(max(source_width, MIN_WIDTH), MAX_WIDTH)) // 2 * 2


# ---------------------------------------------------------------------------- encoding


def encoder_name() -> str:
    """The first H.264 encoder this PyAV build has.

    Raises
    ------
    AnnotationError
        PyAV has no H.264 encoder.
    """
    import av

    for name in CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001  (UnknownCodecError or an FFmpeg error)
            continue
    raise AnnotationError("no H.264 encoder in this PyAV build: install the PyPI wheel of `av` "
                          "(it includes libx264), then run again with --annotated-video")


def write_annotated_video(path: str | os.PathLike[str], source: str | os.PathLike[str],
                          rec: Recording, frames: pd.DataFrame, *,
                          protocol: Protocol | None = None, mirrored: bool = False,
                          progress: Progress | None = None) -> dict[str, Any]:
    """Re-decode ``source``, draw every frame, and encode an H.264 MP4 at ``path``.

    Parameters
    ----------
    path
        File to write (any name: the container is always MP4). The caller makes it
        atomic (a staging folder or :func:`synktrack.atomic.atomic_path`).
    source
        The video (or images) the recording was made from.
    rec, frames
        The recording and its per-frame measures (one row per frame).
    protocol
        The protocol as run (shifted by any offset), for the header and shading.
    mirrored
        Selfie-style video.
    progress
        Called with (frames done, frames expected).

    Returns
    -------
    dict
        ``file``, ``frames``, ``width``, ``height``, ``codec``, ``seconds``,
        ``ms_per_frame``: what was written, for ``session.json``.

    Raises
    ------
    AnnotationError
        The source is gone, unreadable or not the one analysed, or there is no
        encoder. A partly written ``path`` is removed.
    """
    import av

    from synktrack.io.video import open_source

    t_start = time.perf_counter()
    codec = encoder_name()
    n = rec.n_frames
    if n == 0:
        raise AnnotationError("the recording has no frame: nothing to annotate")
    try:
        src = open_source(source, max_frames=n)
    except InputError as err:
        raise AnnotationError(f"the source cannot be read again ({err})") from err
    path = Path(path)
    width = video_width(rec.width)
    pts_px = rec.landmarks_px()
    traces = traces_of(frames, protocol)
    t = rec.time_s.astype(float)
    tb = Fraction(1, 90000)
    written = 0
    out_size = (0, 0)
    try:
        with src:
            if (src.width, src.height) != (rec.width, rec.height):
                raise AnnotationError(
                    f"{source} is {src.width}x{src.height} but {rec.width}x{rec.height} was "
                    "analysed: it is not the same video; give the original or analyse it again")
            fps = src.fps_nominal or (
                (n - 1) / max(float(t[-1] - t[0]), 1e-3) if n > 1 else 30.0)
            with av.open(str(path), mode="w", format="mp4",
                         options={"movflags": "+faststart"}) as container:
                stream = container.add_stream(codec, rate=Fraction(round(fps * 1000), 1000))
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": CRF, "preset": "veryfast", "profile": "high"} \
                    if codec in ("libx264", "h264") else {}
                stream.codec_context.time_base = tb
                stream.time_base = tb
                try:
                    for frame in src.frames():
                        i = frame.index
                        if i >= n:
                            break
                        marks = marks_of(rec, i, mirrored, pts_px)
                        img = compose(frame.image, marks, traces, i, protocol, width)
                        if written == 0:
                            out_size = (img.shape[1], img.shape[0])
                            stream.width, stream.height = out_size
                        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                        vf = vf.reformat(format="yuv420p")
                        vf.pts = int(round((t[i] - t[0]) / tb))
                        vf.time_base = tb
                        for packet in stream.encode(vf):
                            container.mux(packet)
                        written += 1
                        if progress:
                            progress(written, n)
                except InputError as err:
                    raise AnnotationError(f"{source} could not be decoded again after "
                                          f"{written} frames ({err})") from err
                for packet in stream.encode(None):
                    container.mux(packet)
    except AnnotationError:
        path.unlink(missing_ok=True)
        raise
    except (av.error.FFmpegError, ValueError) as err:
        path.unlink(missing_ok=True)
        raise AnnotationError(f"the annotated video could not be encoded ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''})") from err
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if written != n:
        path.unlink(missing_ok=True)
        raise AnnotationError(f"{source} has {written} frames now but {n} were analysed: it "
                              "changed since; give the original or analyse it again")
    seconds = time.perf_counter() - t_start
    return {"file": path.name, "frames": written, "width": out_size[0], "height": out_size[1],
            "codec": f"H.264 ({codec}), yuv420p, faststart", "seconds": round(seconds, 3),
            "ms_per_frame": round(1000 * seconds / max(written, 1), 2)}


# ---------------------------------------------------------------------------- a stored session


def protocol_of(data: dict[str, Any] | None) -> Protocol | None:
    """The protocol as run, from ``session.json`` → ``protocol`` (None if absent)."""
    if not data or not data.get("steps"):
        return None
    steps = tuple(Step(str(s["movement"]), float(s["duration_s"]), str(s.get("prompt", "")),
                       float(s.get("start_s", 0.0))) for s in data["steps"])
    return Protocol(str(data.get("name", "")), int(data.get("version", 1)), steps)


def annotate_folder(folder: str | os.PathLike[str], source: str | os.PathLike[str], *,
                    progress: Progress | None = None) -> Path:
    """Write ``folder/annotated.mp4`` for an output folder of an earlier run.

    Reads the run's ``landmarks.npz``, ``frames.csv`` and ``session.json``
    (protocol, mirrored) and re-decodes ``source``. The file is written to a
    temporary name and renamed into place; an existing one is kept as it is.

    Raises
    ------
    AnnotationError
        The folder is not a complete run, or the video cannot be made.
    """
    import json

    from synktrack.analyze import ANNOTATED_MP4
    from synktrack.atomic import atomic_path
    from synktrack.landmarks import load_recording

    folder = Path(folder)
    target = folder / ANNOTATED_MP4
    if target.is_file():
        return target
    try:
        session = json.loads((folder / "session.json").read_text(encoding="utf-8"))
        frames = pd.read_csv(folder / "frames.csv")
        rec = load_recording(folder)
    except (OSError, ValueError, InputError) as err:
        raise AnnotationError(f"{folder} holds no complete analysis to annotate ({err})") from err
    # the container says how it was analysed (older containers: the run's session.json)
    mirrored = bool(rec.attrs.get("mirrored", session.get("settings", {}).get("mirrored", False)))
    with atomic_path(target) as tmp:
        write_annotated_video(tmp, source, rec, frames, protocol=protocol_of(
            session.get("protocol")), mirrored=mirrored, progress=progress)
    return target
