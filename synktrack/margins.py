"""Lid margins and the limbus, found in the image of one eye.

The landmark model pulls every eye toward an average eye, so here the lids
and the iris are located in the pixels, as absolute positions in every frame.
The landmarks only place the search: an eye-aligned patch (the canthi
horizontal, the eye ``EYE_PX`` canonical pixels wide) and a window around
where they put each lid. Inside it:

* the **upper margin** is the smooth curve across the eye where the lid (skin
  and lashes, dark) gives way to the eyeball below (bright sclera, iris):
  the path of strongest dark-above-to-bright-below edge, found by dynamic
  programming over columns with a slope limit;
* the **lower margin** likewise, bright eyeball above, lower lid below, the
  path of strongest vertical edge of either sign, below the upper margin;
* the **limbus** is the iris/sclera border on the iris's sides (where no lid
  covers it): the strongest dark-to-bright step along rays from the iris
  centre, with a robust circle fitted through them.

Edges are taken in the green channel, where skin is darker than the sclera
(blood absorbs green) and lashes and iris are dark. Both margins are read at
the iris centre's column. Where lids meet, both paths settle on the same lash
line and the aperture goes to about 0.

Each result carries a **confidence** in [0, 1]: the mean edge strength along
the path, relative to the patch's own contrast. It is low where the eye
shows no lid edge (a hand over it, blur, a lost eye), and the measures and
indices use it to keep such frames out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from synktrack.measures.geometry import apply_affine
from synktrack.measures.ids import EYE

EYE_PX = 96.0  # eye width in the canonical patch
PATCH_W = 144
PATCH_H = 112
MID_Y = 60.0  # row of the canthi's mid-point
# Column of the canthi's mid-point: the patch's exact centre, so that the patch of a
# mirrored image is this patch flipped, and the finder (symmetric in its columns and
# rays) gives a still and its mirror the same answer.
MID_X = (PATCH_W - 1) / 2


@dataclass(frozen=True)
class MarginSettings:
    """Search and scoring of the margin and limbus finder.

    Lengths are in eye widths unless said otherwise.

    Attributes
    ----------
    span
        Part of the eye width searched, from each canthus inwards (the lids
        are hard to see in the corners).
    window, window_out
        Search window around where the landmarks put each margin: towards the
        other lid, and away from it.
    sigma
        Gaussian smoothing before the edge filter, in canonical pixels.
    slope
        Largest step of a margin between two searched columns, in canonical
        pixels (per ``col_step``).
    col_step
        Stride of the searched columns, canonical pixels.
    min_gap
        Smallest lower-minus-upper margin distance allowed, canonical pixels
        (shut lids meet).
    iris_angles
        Half-angle of the limbus rays either side of horizontal, degrees.
    iris_range
        Radii searched for the limbus, relative to the landmark iris radius.
    highlight
        Size of the largest corneal reflection removed before the lid search.
    every
        In a clip, search every ``every``-th face frame (the first always):
        enough for the once-per-recording mm scale and a diagnostic trace.
    iris_margin
        Columns within this many iris radii of the iris centre are bridged,
        not traced.
    """

    span: float = 0.18
    window: float = 0.25
    window_out: float = 0.12
    sigma: float = 1.2
    slope: int = 2
    col_step: int = 2
    min_gap: float = 0.0
    iris_angles: float = 35.0
    iris_range: tuple[float, float] = (0.7, 1.35)
    highlight: float = 0.1
    every: int = 10
    iris_margin: float = 1.05


@dataclass(frozen=True)
class EyeMargins:
    """One eye in one frame, in image pixels.

    Attributes
    ----------
    upper, lower
        (x, y) of the upper and lower margin at the iris centre's column.
    confidence
        0..1, the weaker of the two margins' edge evidence.
    iris_diameter_px
        Limbus diameter (NaN where it could not be fitted).
    iris_centre
        (x, y) of the fitted limbus circle (NaN where not fitted).
    """

    upper: np.ndarray
    lower: np.ndarray
    confidence: float
    iris_diameter_px: float
    iris_centre: np.ndarray

    @property
    def aperture_px(self) -> float:
        return float(np.linalg.norm(self.lower - self.upper))


def canthal_map(points: np.ndarray, label: str, eye_px: float,
                min_width: float = 6.0) -> tuple[float, float, float, float] | None:
    """Scaled rotation that puts one eye's canthal axis horizontal, ``eye_px`` long.

    Returns ``(c, s, mx, my)``: a point ``p`` maps to ``[[c, s], [-s, c]] @ (p - m)``
    (x along the eye, running the same way for both eyes in the image; y down the
    face), ``m`` the canthi's mid-point; None where the canthi are missing or too close.
    """
    e = EYE[label]
    ox, oy = (float(v) for v in points[e["outer"]])
    ix, iy = (float(v) for v in points[e["inner"]])
    ax, ay = ix - ox, iy - oy
    width = math.hypot(ax, ay)
    if not math.isfinite(width) or width < min_width:
        return None
    if ax < 0:
        ax, ay = -ax, -ay
    return ax * eye_px / width**2, ay * eye_px / width**2, (ox + ix) / 2, (oy + iy) / 2


def eye_map(points: np.ndarray, label: str) -> np.ndarray | None:
    """2x3 similarity from image pixels into one eye's canonical patch, or None."""
    found = canthal_map(points, label, EYE_PX)
    if found is None:
        return None
    c, s, mx, my = found
    return np.array([[c, s, MID_X - (c * mx + s * my)],
                     [-s, c, MID_Y - (-s * mx + c * my)]])


def eye_patch(channel: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Canonical patch (float32) of one image channel (any strides) through the map ``m``.

    Only the region the patch covers is read.
    """
    inv = cv2.invertAffineTransform(m)
    corners = apply_affine(np.array([[0, 0], [PATCH_W, 0], [0, PATCH_H], [PATCH_W, PATCH_H]],
                                    dtype=np.float64), inv)
    h, w = channel.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 2, 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 3, [x0 + 1, y0 + 1], [w, h])
    roi = np.ascontiguousarray(channel[y0:y1, x0:x1])
    shifted = m.copy()
    shifted[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)
    return cv2.warpAffine(roi, shifted, (PATCH_W, PATCH_H), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).astype(np.float32)


def _trace(score: np.ndarray, lo: np.ndarray, hi: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Row per column of the best path through ``score`` (rows, cols) within [lo, hi].

    A path moves at most ``slope`` rows between neighbouring columns; its
    value is the sum of the scores it visits (dynamic programming: a running
    maximum filter forward, the best neighbour backward).
    """
    rows, cols = score.shape
    r = np.arange(rows)[:, None]
    s = np.where((r >= lo[None]) & (r <= hi[None]), score, -np.inf)
    kmax = int(slope.max())
    acc = np.empty((rows, cols))
    acc[:, 0] = s[:, 0]
    padded = np.full(rows + 2 * kmax, -np.inf)
    for c in range(1, cols):
        k = int(slope[c])
        padded[kmax : kmax + rows] = acc[:, c - 1]
        best = padded[kmax - k : kmax - k + rows].copy()
        for d in range(-k + 1, k + 1):
            np.maximum(best, padded[kmax + d : kmax + d + rows], out=best)
        acc[:, c] = best + s[:, c]
    path = np.zeros(cols, np.intp)
    path[-1] = int(np.argmax(acc[:, -1]))
    for c in range(cols - 1, 0, -1):
        k = int(slope[c])
        a0 = max(path[c] - k, 0)
        path[c - 1] = a0 + int(np.argmax(acc[a0 : path[c] + k + 1, c - 1]))
    return path


def _subpixel(score: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Path rows refined by a parabola through each node and its vertical neighbours."""
    rows = score.shape[0]
    cols = np.arange(len(path))
    p = np.clip(path, 1, rows - 2)
    a, b, c = score[p - 1, cols], score[p, cols], score[p + 1, cols]
    den = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(den < 0, 0.5 * (a - c) / den, 0.0)
    return p + np.clip(np.nan_to_num(off), -0.5, 0.5)


class MarginFinder:
    """Finds both lid margins and the limbus of an eye in one frame (no state)."""

    def __init__(self, settings: MarginSettings | None = None) -> None:
        self.settings = s = settings or MarginSettings()
        half = int((EYE_PX / 2 - s.span * EYE_PX) // s.col_step)
        right = np.arange(int(np.ceil(MID_X)), int(np.ceil(MID_X)) + half * s.col_step,
                          s.col_step)
        self.cols = np.concatenate([(2 * MID_X - right)[::-1], right]).astype(int)
        ang = np.radians(np.arange(-s.iris_angles, s.iris_angles + 1e-9, 2.5))
        self._dirs = np.concatenate([np.stack([np.cos(ang), np.sin(ang)], 1),
                                     np.stack([-np.cos(ang), np.sin(ang)], 1)])
        self._radii = np.arange(0.0, 1.0001, 0.02)
        k = int(round(s.highlight * EYE_PX)) | 1
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))

    def find(self, green: np.ndarray, gray: np.ndarray, points_px: np.ndarray,
             label: str) -> EyeMargins | None:
        """Margins and limbus of MediaPipe's ``label`` eye in one frame.

        Parameters
        ----------
        green, gray
            The frame's green channel (a view such as ``rgb[:, :, 1]`` will do)
            and grey image (uint8, same size).
        points_px
            (478, 2) landmarks in image pixels (they place the search only).
        label
            MediaPipe eye label, ``"right"`` or ``"left"``.
        """
        s = self.settings
        m = eye_map(points_px, label)
        if m is None:
            return None
        e = EYE[label]
        c = apply_affine(points_px, m)
        up_seed = _curve_at(c[list(e["upper"])], self.cols)
        lo_seed = _curve_at(c[list(e["lower"])], self.cols)
        iris_c = c[e["iris_centre"]]
        iris_r = 0.5 * float(np.linalg.norm(c[e["iris_h"][0]] - c[e["iris_h"][1]]))

        # A grey opening removes the corneal reflections (small bright spots) whose edges
        # would otherwise outshine the lids'; lids, iris and sclera are larger than it.
        g = cv2.morphologyEx(eye_patch(green, m), cv2.MORPH_OPEN, self._kernel)
        g = cv2.GaussianBlur(g, (0, 0), s.sigma)
        dy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)[:, self.cols]
        noise = float(np.percentile(np.abs(dy), 90)) + 1e-3
        win = s.window * EYE_PX
        # The iris holds strong edges of its own (pupil, reflections) and only a faint one
        # where a lid crosses it: the margins are traced on the sclera either side of it and
        # bridged across it as one smooth curve.
        iris = self._limbus(eye_patch(gray, m), iris_c, iris_r)
        ic, ir = (iris if np.isfinite(iris[0]).all() else (iris_c, iris_r))
        cols = self.cols.astype(np.float64)
        sclera = np.abs(cols - ic[0]) > s.iris_margin * ir
        if sclera.sum() < 4:  # the iris fills the eye: use every column
            sclera[:] = True
        # Near its apex a lid is nearly flat: a gentle slope limit there keeps the upper
        # margin from diving onto the pupil's lower edge.
        slope = np.where(np.abs(cols - MID_X) < 0.25 * EYE_PX, 1, s.slope)
        # Upper margin: dark above, bright below (dy > 0).
        # Windows reach further towards the other lid (narrowing, closure, which the
        # landmarks under-report) than away from it (the crease, the cheek fold).
        near = s.window_out * EYE_PX
        up_lo = np.clip(np.floor(up_seed - near), 1, PATCH_H - 2)
        up_hi = np.clip(np.ceil(np.minimum(up_seed + win, lo_seed + 2)), 1, PATCH_H - 2)
        up_path = _trace(dy, up_lo, up_hi, slope)
        up_y = _subpixel(dy, up_path)
        # Lower margin: bright eyeball above, darker lid below (dy < 0).
        lo_lo = np.clip(np.maximum(np.floor(lo_seed - win), up_path + s.min_gap), 1, PATCH_H - 2)
        lo_hi = np.clip(np.ceil(lo_seed + near), 1, PATCH_H - 2)
        lo_hi = np.maximum(lo_hi, lo_lo)
        lo_path = _trace(-dy * sclera[None], lo_lo, lo_hi, slope)
        lo_y = _subpixel(-dy, lo_path)

        ci = np.arange(len(cols))
        up_w = dy[up_path, ci]
        lo_w = -dy[lo_path, ci] * sclera
        x_c = float(ic[0])
        # Bridge the iris with the lid's own shape: the landmarks' lid curve, moved up or
        # down to fit the traced sclera parts (the image decides how high the lid is; the
        # landmarks only how its arc bends). A shift, not a height scale about the canthal
        # line: where a lid runs close to that line a scale is ill-posed.
        yu = float(np.interp(x_c, cols, up_seed)) + _shift_fit(up_y - up_seed, up_w, sclera)
        yl = float(np.interp(x_c, cols, lo_seed)) + _shift_fit(lo_y - lo_seed, lo_w, sclera)
        yl = max(yl, yu)
        conf = min(float(np.mean(np.clip(up_w, 0, None))) / noise,
                   float(np.mean(np.clip(lo_w[sclera], 0, None))) / noise)
        inv = cv2.invertAffineTransform(m)
        pts = apply_affine(np.array([[x_c, yu], [x_c, yl]]), inv)
        scale = 1.0 / math.hypot(m[0, 0], m[0, 1])
        centre = apply_affine(iris[0][None], inv)[0] if np.isfinite(iris[0]).all() \
            else np.full(2, np.nan)
        return EyeMargins(pts[0], pts[1], float(np.clip(conf, 0.0, 1.0)),
                          2.0 * iris[1] * scale, centre)

    def _limbus(self, gray: np.ndarray, centre: np.ndarray,
                radius: float) -> tuple[np.ndarray, float]:
        """Centre (canonical px) and radius of the limbus, fitted on its lateral arcs."""
        s = self.settings
        if not (np.isfinite(centre).all() and radius > 2):
            return np.full(2, np.nan), float("nan")
        r0, r1 = s.iris_range
        radii = radius * (r0 + (r1 - r0) * self._radii)
        pts = centre[None, None] + radii[None, :, None] * self._dirs[:, None]
        img = cv2.GaussianBlur(gray, (0, 0), 0.5)
        prof = cv2.remap(img, pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        d = np.diff(prof.astype(np.float64), axis=1)
        k = np.clip(np.argmax(d, axis=1), 1, d.shape[1] - 2)
        rows = np.arange(len(d))
        a, b, c = d[rows, k - 1], d[rows, k], d[rows, k + 1]
        den = a - 2 * b + c
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.clip(np.nan_to_num(np.where(den < 0, 0.5 * (a - c) / den, 0.0)), -0.5, 0.5)
        strong = b > 2.0
        step = radii[1] - radii[0]
        r = radii[k] + (0.5 + off) * step
        edge = centre[None] + r[:, None] * self._dirs
        edge = edge[strong]
        if len(edge) < 6:
            return np.full(2, np.nan), float("nan")
        return _circle(edge)


def _shift_fit(d: np.ndarray, w: np.ndarray, keep: np.ndarray) -> float:
    """Weighted, robust mean of the offsets ``d`` on ``keep`` (0 without evidence)."""
    w = np.clip(w, 0.0, None) * keep
    shift = 0.0
    for _ in range(3):
        total = float(w.sum())
        if total <= 1e-9:
            return shift
        shift = float((w * d).sum()) / total
        resid = np.abs(d - shift)
        med = float(np.median(resid[keep])) if keep.any() else 0.0
        w = w * (resid <= max(1.0, 2.5 * med))
    return shift


def _curve_at(pts: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(pts[:, 0])
    return np.interp(xs, pts[order, 0], pts[order, 1])


def _circle(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """Robust algebraic circle fit: centre and radius."""
    keep = np.ones(len(pts), bool)
    cx = cy = r = float("nan")
    for _ in range(3):
        p = pts[keep]
        a = np.column_stack([2 * p[:, 0], 2 * p[:, 1], np.ones(len(p))])
        b = (p**2).sum(1)
        (cx, cy, k), *_ = np.linalg.lstsq(a, b, rcond=None)
        r = math.sqrt(max(k + cx * cx + cy * cy, 0.0))
        dist = np.hypot(pts[:, 0] - cx, pts[:, 1] - cy)
        resid = np.abs(dist - r)
        new = resid <= max(1.0, 2.5 * float(np.median(resid)))
        if new.sum() < 6 or (new == keep).all():
            break
        keep = new
    # the radius as the median distance of the kept edges: one stray ray cannot pull it
    dist = np.hypot(pts[keep, 0] - cx, pts[keep, 1] - cy)
    return np.array([cx, cy]), float(np.median(dist))
