"""A second, independent eyelid injection model: lids sliding over a still eyeball.

The first harness (:mod:`synktrack.synth`) places its warps with the landmark
model's own lid curves and moves whole layers, much as the tracker models
them, so it cannot show a bias they share. This one is built differently, on
purpose:

* the lid curves come from **hand-placed** points (the annotated templates in
  ``../shared/media/annotated``: canthi, three upper and three lower lid points),
  never from MediaPipe;
* the **upper lid slides down over a still eyeball**: what it covers is hidden
  (the lid skin is drawn over it), not moved; the skin between the lid and the
  brow **stretches** (its displacement falls linearly to zero at the brow);
* the **lower lid rises with the cheek**: the skin below it is pushed up,
  falling linearly to zero a cheek-height below;
* the shift along the lid follows a half-cosine (largest at the centre, zero
  at the canthi), not a plateau;
* a **mouth corner** is pulled by a smooth Gaussian stretch of the skin
  around the hand-placed corner (:func:`corner_field`), not by a mesh;
* the frames then get a **camera**: blur, sensor noise, and H.264 compression
  of the whole clip (:func:`camera`).

All displacements are backward maps for :func:`cv2.remap` (the output pixel
``q`` samples the source at ``q - D(q)``), in image pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class HandEye:
    """One eye's hand-placed points, image pixels.

    Attributes
    ----------
    outer, inner
        Canthi.
    upper, lower
        (3, 2) lid points between the canthi.
    limbus_px
        Hand-placed horizontal iris diameter (for mm).
    """

    outer: np.ndarray
    inner: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    limbus_px: float

    def frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Origin (outer canthus), unit axis to the inner canthus, unit normal down, width."""
        axis = self.inner - self.outer
        width = float(np.linalg.norm(axis))
        axis = axis / width
        normal = np.array([-axis[1], axis[0]])
        if normal[1] < 0:
            normal = -normal
        return self.outer, axis, normal, width

    def curve(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) knots of a lid through the canthi (u in eye widths, v in px, + down)."""
        o, axis, normal, width = self.frame()
        pts = np.vstack([self.outer, self.upper if which == "upper" else self.lower, self.inner])
        rel = pts - o
        u, v = rel @ axis / width, rel @ normal
        order = np.argsort(u)
        return u[order], v[order]

    def aperture_px(self) -> float:
        """Hand-placed centre lid gap (middle upper to middle lower point)."""
        _, _, normal, _ = self.frame()
        return float(abs((self.lower[1] - self.upper[1]) @ normal))


def read_template(path: str) -> dict[str, HandEye]:
    """The two eyes of a 189-point FRL template, keyed by the *patient's* side.

    The image-left eye of a normal photograph is the patient's right. These
    annotators put the upper-lid points on or above the lash line, not at the
    margin: a lid slid from there hides the lash line's lower part and moves
    the visible margin by less than asked. Use :func:`at_margins` with lid
    margins placed at the margin itself before injecting with these eyes.
    """
    pts = np.loadtxt(path, skiprows=1, max_rows=189)
    out = {}
    for side, (iris, (c0, c1), up, lo) in {
        "right": (range(2, 10), (18, 22), (19, 20, 21), (28, 29, 30)),
        "left": (range(10, 18), (23, 27), (24, 25, 26), (31, 32, 33)),
    }.items():
        a, b = pts[c0], pts[c1]
        upper = pts[list(up)]
        # outer canthus is the one farther from the face's midline
        mid_x = (pts[0, 0] + pts[1, 0]) / 2
        outer, inner = (a, b) if abs(a[0] - mid_x) > abs(b[0] - mid_x) else (b, a)
        axis = (inner - outer) / np.linalg.norm(inner - outer)
        proj = pts[list(iris)] @ axis
        out[side] = HandEye(outer, inner, upper, pts[list(lo)],
                            float(proj.max() - proj.min()))
    return out


def at_margins(eye: HandEye, upper_y: float, lower_y: float) -> HandEye:
    """The eye with its middle lid points moved to hand-placed margins (image y).

    The side points move by the same amount (the curves keep their shape); the
    canthi stay.
    """
    du, dl = upper_y - float(eye.upper[1, 1]), lower_y - float(eye.lower[1, 1])
    return HandEye(eye.outer, eye.inner, eye.upper + [0.0, du], eye.lower + [0.0, dl],
                   eye.limbus_px)


def scaled(eye: HandEye, f: float) -> HandEye:
    """The same eye in an image resized by ``f``."""
    return HandEye(eye.outer * f, eye.inner * f, eye.upper * f, eye.lower * f, eye.limbus_px * f)


def _profile(u: np.ndarray) -> np.ndarray:
    """Half-cosine along the lid: 1 at the centre, 0 at and beyond the canthi."""
    return np.where((u > 0) & (u < 1), 0.5 - 0.5 * np.cos(2 * np.pi * np.clip(u, 0, 1)), 0.0)


def lid_field(shape: tuple[int, int], eye: HandEye, upper_px: float = 0.0,
              lower_px: float = 0.0, brow: float = 1.0, cheek: float = 1.2) -> np.ndarray:
    """(2, h, w) backward displacement that lowers the upper lid and raises the lower one.

    Parameters
    ----------
    shape
        Image (h, w).
    eye
        Hand-placed eye.
    upper_px, lower_px
        Centre shifts of the upper lid (down) and the lower lid (up), pixels.
    brow, cheek
        Distance (eye widths) from the margin at which the stretched skin stops
        moving: above the upper lid, below the lower lid.
    """
    h, w = shape
    o, axis, normal, width = eye.frame()
    grid = np.mgrid[0:h, 0:w][::-1].astype(np.float64)
    rel = grid - o[:, None, None]
    u = (rel[0] * axis[0] + rel[1] * axis[1]) / width
    v = rel[0] * normal[0] + rel[1] * normal[1]
    along = _profile(u)
    mag = np.zeros((h, w))
    if upper_px:
        mu = np.interp(u, *eye.curve("upper"))
        d = upper_px * along
        new = mu + d
        # Above the new margin the lid sheet moves down by d at the margin, less towards the
        # brow (stretch); below it the eyeball stays (d = 0): the lid hides what it covers.
        top = mu - brow * width
        t = np.clip((new - v) / np.maximum(new - top, 1e-6), 0.0, 1.0)  # 0 at margin, 1 at brow
        mag += np.where(v <= new, d * (1.0 - t), 0.0)
    if lower_px:
        ml = np.interp(u, *eye.curve("lower"))
        d = lower_px * along
        new = ml - d
        bottom = ml + cheek * width
        t = np.clip((v - new) / np.maximum(bottom - new, 1e-6), 0.0, 1.0)
        mag -= np.where(v >= new, d * (1.0 - t), 0.0)
    return (mag[None] * normal[:, None, None]).astype(np.float32)


def corner_field(shape: tuple[int, int], corner: np.ndarray, move_px: np.ndarray,
                 radius_px: float) -> np.ndarray:
    """(2, h, w) backward displacement that pulls one mouth corner by ``move_px`` (x, y).

    The skin around the corner is carried with it and stretches smoothly: the
    displacement falls off as a Gaussian of the distance from the hand-placed
    corner (SD ``radius_px``), with no mesh and no landmark involved. Use
    :func:`moved_point` for where the corner itself lands.
    """
    h, w = shape
    grid = np.mgrid[0:h, 0:w][::-1].astype(np.float64)
    d2 = (grid[0] - corner[0]) ** 2 + (grid[1] - corner[1]) ** 2
    g = np.exp(-d2 / (2.0 * radius_px**2))
    return (np.asarray(move_px, dtype=np.float64)[:, None, None] * g[None]).astype(np.float32)


def moved_point(point: np.ndarray, move_px: np.ndarray, radius_px: float,
                centre: np.ndarray | None = None) -> np.ndarray:
    """Where ``point`` lands under :func:`corner_field` (the backward map, inverted).

    The output pixel ``q`` shows the source at ``q - D(q)``, so ``point`` lands at
    the ``q`` with ``q - D(q) = point``, found by fixed-point iteration.
    """
    c = np.asarray(point if centre is None else centre, dtype=np.float64)
    m = np.asarray(move_px, dtype=np.float64)
    q = np.asarray(point, dtype=np.float64) + m
    for _ in range(50):
        q = point + m * np.exp(-float(((q - c) ** 2).sum()) / (2.0 * radius_px**2))
    return q


def apply_field(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Warp ``image`` by a backward displacement field."""
    h, w = image.shape[:2]
    grid = np.mgrid[0:h, 0:w][::-1].astype(np.float32)
    src = grid - field
    return cv2.remap(image, src[0], src[1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def camera(frames: list[np.ndarray], seed: int = 0, blur: float = 0.7, noise: float = 2.0,
           crf: int = 23, fps: int = 30) -> list[np.ndarray]:
    """Frames as a webcam would deliver them: blur, sensor noise, H.264 round trip.

    Parameters
    ----------
    frames
        RGB uint8 frames of one size (odd sizes are padded for the encoder and
        cropped back).
    seed
        Noise seed.
    blur
        Gaussian blur sigma, pixels.
    noise
        Sensor noise SD, grey levels.
    crf
        x264 constant rate factor (23 is its default quality).
    """
    import av

    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        g = cv2.GaussianBlur(f.astype(np.float32), (0, 0), blur) if blur > 0 else f
        g = g + rng.normal(0.0, noise, g.shape)
        out.append(np.clip(g, 0, 255).astype(np.uint8))
    h, w = out[0].shape[:2]
    out = [np.pad(f, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") for f in out]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height = out[0].shape[1], out[0].shape[0]
        s.pix_fmt = "yuv420p"
        s.options = {"crf": str(crf), "preset": "veryfast"}
        for f in out:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    buf.seek(0)
    with av.open(buf) as c:
        return [fr.to_ndarray(format="rgb24")[:h, :w] for fr in c.decode(video=0)]
