"""Chin (mentalis) and upper-neck (platysma) texture change per patient side.

Regions are placed from the face landmarks: the chin halves between the lower
lip, the chin tip and each mouth corner; the upper-neck halves below the chin,
one lower-face height deep. Each region is resampled to a fixed size (so camera
distance does not change the value) and its texture is the standard deviation
of the Laplacian divided by the region's mean brightness (so a global gain in
lighting does not change it). A dimpling chin or tightening neck bands add fine
texture; the index is the change during a movement against rest, in %.
A region that leaves the image is ``not visible``: no number.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from synktrack.measures.ids import MOUTH_CORNER, SIDES

REGIONS = tuple(f"{part}_{s}" for part in ("chin", "neck") for s in SIDES)
LOWER_LIP, CHIN_TIP = 17, 152
SIZE = 32  # region side after resampling (px)


@dataclass(frozen=True)
class Box:
    """Axis-aligned region in image pixels, [x0, x1) x [y0, y1)."""

    x0: float
    y0: float
    x1: float
    y1: float


def regions_place(points: np.ndarray) -> dict[str, Box]:
    """Chin and upper-neck boxes per patient side from (478, 2) landmark pixels.

    Non-mirrored image: the patient's right corner is on the image's left.
    """
    lip, chin = points[LOWER_LIP], points[CHIN_TIP]
    depth = float(chin[1] - lip[1])
    mid = float(chin[0])
    out = {}
    for side in SIDES:
        cx = float(points[MOUTH_CORNER[side]][0])
        lo, hi = sorted((cx, mid))
        out[f"chin_{side}"] = Box(lo, float(lip[1]) + 0.3 * depth, hi, float(chin[1]))
        top = float(chin[1])
        out[f"neck_{side}"] = Box(lo, top + 0.2 * depth, hi, top + 1.2 * depth)
    return out


def region_texture(image: np.ndarray, box: Box) -> float:
    """Normalised texture of one region of a grey or RGB image; NaN when not wholly in frame.

    Only the region is converted to grey (a frame's other pixels are never touched).
    """
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in (box.x0, box.y0, box.x1, box.y1))
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h or x1 - x0 < 4 or y1 - y0 < 4:
        return float("nan")
    crop = image[y0:y1, x0:x1]
    if crop.ndim == 3:
        crop = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    patch = cv2.resize(crop.astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    mean = float(patch.mean())
    if mean < 1.0:
        return float("nan")
    return float(cv2.Laplacian(patch, cv2.CV_32F).std() / mean)


def frame_textures(rgb: np.ndarray, points: np.ndarray) -> dict[str, float]:
    """Per-frame ``{region: texture}`` for the cheap hook while frames are decoded."""
    return {name: region_texture(rgb, box) for name, box in regions_place(points).items()}


def frame_textures_array(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(4,) textures in :data:`REGIONS` order (MediaPipe labels), NaN where not visible."""
    tex = frame_textures(rgb, points)
    return np.array([tex[name] for name in REGIONS], dtype=np.float32)


def chin_neck_analyze(textures: dict[str, np.ndarray], movement: np.ndarray,
                      rest: np.ndarray, min_frames: int = 3) -> dict[str, float | None]:
    """Texture change (%) of each region during ``movement`` frames against ``rest`` frames.

    Parameters
    ----------
    textures
        ``{region: (time,) texture}`` from :func:`frame_textures`.
    movement, rest
        (time,) bool masks.
    min_frames
        Fewest measured frames in each mask.

    Returns
    -------
    dict
        ``{region: change_pct}``; ``None`` when the region is not visible.
    """
    out: dict[str, float | None] = {}
    for name, v in textures.items():
        a, b = v[movement & np.isfinite(v)], v[rest & np.isfinite(v)]
        if len(a) < min_frames or len(b) < min_frames:
            out[name] = None
        else:
            base = float(np.median(b))
            out[name] = 100.0 * (float(np.median(a)) - base) / base
    return out
