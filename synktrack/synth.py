"""Injection harness: move one eyelid or one mouth corner of a real face by a known amount.

No palsy video may be shared, so synktrack proves its measures by warping real
faces with smooth displacement fields driven by the face's own landmarks, then
checking that the analysis recovers the movement on the right side and nothing
on the other. Sides are the patient's own for a non-mirrored image (the
patient's right is on the image's left).

Every warp is a backward map for :func:`cv2.remap`: the output pixel ``q``
samples the input at ``q - D(q)``. Displacements are in image pixels; the
:class:`FaceGeometry` of the source still converts millimetres with the iris
(11.7 mm), the same anchor the measures use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from synktrack.measures.ids import BROW, EYE, MOUTH_CORNER, SIDES
from synktrack.measures.scale import IRIS_DIAMETER_MM


@dataclass(frozen=True)
class FaceGeometry:
    """Landmarks (image pixels, x/y) of an unwarped, non-mirrored still."""

    points: np.ndarray  # (478, 2)
    iris_px: float = float("nan")  # limbus diameter found in the image, if known

    @property
    def mm_per_px(self) -> float:
        """The analysis's own anchor: the limbus found in the image, else the iris landmarks."""
        if np.isfinite(self.iris_px):
            return IRIS_DIAMETER_MM / self.iris_px
        diam = [
            np.linalg.norm(self.points[EYE[s]["iris_h"][0]] - self.points[EYE[s]["iris_h"][1]])
            for s in SIDES
        ]
        return IRIS_DIAMETER_MM / float(np.mean(diam))

    def eye_axis(self, side: str) -> tuple[np.ndarray, np.ndarray, float]:
        """Outer corner, unit vector towards the inner corner, and eye width in px."""
        outer = self.points[EYE[side]["outer"]]
        inner = self.points[EYE[side]["inner"]]
        axis = inner - outer
        width = float(np.linalg.norm(axis))
        return outer, axis / width, width

    def mouth_width(self) -> float:
        a, b = (self.points[MOUTH_CORNER[s]] for s in SIDES)
        return float(np.linalg.norm(a - b))


@dataclass(frozen=True)
class Injection:
    """Known movement, in millimetres, per patient side.

    ``lid_upper_mm`` lowers the upper lid, ``lid_lower_mm`` raises the lower
    lid (both narrow the eye); ``corner_mm`` moves the mouth corner by
    (outward, up); ``brow_mm`` raises the brow.
    """

    lid_upper_mm: dict[str, float] = field(default_factory=dict)
    lid_lower_mm: dict[str, float] = field(default_factory=dict)
    corner_mm: dict[str, tuple[float, float]] = field(default_factory=dict)
    brow_mm: dict[str, float] = field(default_factory=dict)

    def __add__(self, other: Injection) -> Injection:
        def add(a: dict, b: dict) -> dict:
            out = dict(a)
            for k, v in b.items():
                if k in out:
                    out[k] = tuple(np.add(out[k], v)) if isinstance(v, tuple) else out[k] + v
                else:
                    out[k] = v
            return out

        return Injection(
            add(self.lid_upper_mm, other.lid_upper_mm),
            add(self.lid_lower_mm, other.lid_lower_mm),
            add(self.corner_mm, other.corner_mm),
            add(self.brow_mm, other.brow_mm),
        )

    def scaled(self, f: float) -> Injection:
        return Injection(
            {k: f * v for k, v in self.lid_upper_mm.items()},
            {k: f * v for k, v in self.lid_lower_mm.items()},
            {k: (f * v[0], f * v[1]) for k, v in self.corner_mm.items()},
            {k: f * v for k, v in self.brow_mm.items()},
        )

    def is_empty(self) -> bool:
        return not any(
            any(np.any(np.asarray(v) != 0) for v in d.values())
            for d in (self.lid_upper_mm, self.lid_lower_mm, self.corner_mm, self.brow_mm)
        )


def _plateau(u: np.ndarray) -> np.ndarray:
    """1 on the middle of the eye (u in [0.3, 0.7]), falling smoothly to 0 at the corners."""
    ramp = np.clip((np.minimum(u, 1.0 - u) - 0.05) / 0.25, 0.0, 1.0)
    return ramp * ramp * (3.0 - 2.0 * ramp)


def _smooth_falloff(dist: np.ndarray, width: float) -> np.ndarray:
    """1 at dist <= 0, 0 at dist >= width, smooth in between."""
    t = np.clip(1.0 - dist / width, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class Warper:
    """Builds remap fields for one face and applies any :class:`Injection` to its image."""

    def __init__(self, image: np.ndarray, geometry: FaceGeometry) -> None:
        self.image = image
        self.geometry = geometry
        h, w = image.shape[:2]
        self._grid = np.mgrid[0:h, 0:w][::-1].astype(np.float32)  # (2, h, w): x, y

    def displacement(self, inj: Injection) -> np.ndarray:
        """(2, h, w) backward displacement field for ``inj``.

        Each component is computed only inside its own region of the image.
        """
        field_ = np.zeros_like(self._grid)
        k = 1.0 / self.geometry.mm_per_px
        parts: list[tuple[tuple[slice, slice], np.ndarray]] = []
        for side, mm in inj.lid_upper_mm.items():
            if mm:
                parts.append(self._lid_field(side, mm * k, upper=True))
        for side, mm in inj.lid_lower_mm.items():
            if mm:
                parts.append(self._lid_field(side, mm * k, upper=False))
        for side, (out_mm, up_mm) in inj.corner_mm.items():
            if out_mm or up_mm:
                parts.append(self._corner_field(side, out_mm * k, up_mm * k))
        for side, mm in inj.brow_mm.items():
            if mm:
                parts.append(self._brow_field(side, mm * k))
        for (ys, xs), part in parts:
            field_[:, ys, xs] += part
        return field_

    def _roi(self, centre: np.ndarray, half_w: float, up: float,
             down: float) -> tuple[tuple[slice, slice], np.ndarray]:
        """Region around ``centre`` and its pixel grid (2, h, w)."""
        h, w = self._grid.shape[1:]
        x0, x1 = int(max(centre[0] - half_w, 0)), int(min(centre[0] + half_w + 1, w))
        y0, y1 = int(max(centre[1] - up, 0)), int(min(centre[1] + down + 1, h))
        sl = (slice(y0, y1), slice(x0, x1))
        return sl, self._grid[:, sl[0], sl[1]]

    def apply(self, inj: Injection, image: np.ndarray | None = None) -> np.ndarray:
        """The image with ``inj`` applied (the unwarped image when ``inj`` is empty)."""
        image = self.image if image is None else image
        if inj.is_empty():
            return image.copy()
        src = self._grid - self.displacement(inj)
        return cv2.remap(image, src[0], src[1], interpolation=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)

    # --- fields ---------------------------------------------------------------------------

    def _eye_coords(self, side: str, grid: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        outer, axis, width = self.geometry.eye_axis(side)
        normal = np.array([-axis[1], axis[0]])
        if normal[1] < 0:  # point down the image
            normal = -normal
        rel = grid - outer[:, None, None]
        u = (rel[0] * axis[0] + rel[1] * axis[1]) / width
        v = rel[0] * normal[0] + rel[1] * normal[1]
        return u, v, normal, width

    def _lid_curve(self, side: str, which: str, u_grid: np.ndarray) -> np.ndarray:
        outer, axis, width = self.geometry.eye_axis(side)
        normal = np.array([-axis[1], axis[0]])
        if normal[1] < 0:
            normal = -normal
        ids = EYE[side]["upper"] if which == "upper" else EYE[side]["lower"]
        pts = self.geometry.points[list(ids)] - outer
        u = pts @ axis / width
        v = pts @ normal
        order = np.argsort(u)
        return np.interp(u_grid, u[order], v[order])

    def _lid_field(self, side: str, d_px: float,
                   upper: bool) -> tuple[tuple[slice, slice], np.ndarray]:
        """Move the upper lid down (or the lower lid up) by ``d_px`` at the eye centre.

        The lid slides over the eye: skin above the margin moves with a smooth
        fall-off towards the brow (or cheek); the eyeball below the new margin
        stays where it is and is covered.
        """
        outer, axis, width = self.geometry.eye_axis(side)
        sl, grid = self._roi(outer + axis * width / 2, 0.8 * width, 1.4 * width, 1.2 * width)
        u, v, normal, width = self._eye_coords(side, grid)
        dt = d_px * _plateau(u)
        if upper:
            margin = self._lid_curve(side, "upper", u)
            new_margin = margin + dt
            beyond = (margin - 0.35 * width) - v  # distance above the zone that moves rigidly
            mag = np.where(v <= new_margin, dt * _smooth_falloff(beyond, 0.6 * width), 0.0)
        else:
            margin = self._lid_curve(side, "lower", u)
            new_margin = margin - dt
            beyond = v - (margin + 0.25 * width)
            mag = -np.where(v >= new_margin, dt * _smooth_falloff(beyond, 0.5 * width), 0.0)
        return sl, (mag[None] * normal[:, None, None]).astype(np.float32)

    def _corner_field(self, side: str, out_px: float,
                      up_px: float) -> tuple[tuple[slice, slice], np.ndarray]:
        """Move one mouth corner by (outward, up) with a compact smooth bump.

        The bump vanishes before the other corner. The backward map is inverted
        by fixed-point iteration so the corner lands exactly where asked.
        """
        corner = self.geometry.points[MOUTH_CORNER[side]]
        other = self.geometry.points[MOUTH_CORNER["right" if side == "left" else "left"]]
        outward = (corner - other) / np.linalg.norm(corner - other)
        up = np.array([outward[1], -outward[0]])
        if up[1] > 0:
            up = -up
        shift = out_px * outward + up_px * up
        radius = 0.45 * self.geometry.mouth_width()

        def bump(p: np.ndarray) -> np.ndarray:
            r2 = ((p - corner[:, None, None]) ** 2).sum(axis=0) / radius**2
            return np.clip(1.0 - r2, 0.0, None) ** 2

        reach = radius + float(np.linalg.norm(shift)) + 2
        sl, grid = self._roi(corner, reach, reach, reach)
        src = grid.copy()
        for _ in range(6):  # solve q = p + D(p) for p
            src = grid - shift[:, None, None] * bump(src)[None]
        return sl, (grid - src).astype(np.float32)

    def _brow_field(self, side: str, d_px: float) -> tuple[tuple[slice, slice], np.ndarray]:
        """Raise one brow by ``d_px``: the brow and forehead skin above it move up.

        The lift fades out below the brow before the upper lid and the eye
        corners, and sideways beyond the brow's ends.
        """
        pts = self.geometry.points[list(BROW[side])]
        centre = pts.mean(axis=0)
        half = 0.5 * float(np.ptp(pts[:, 0]))
        eye = self.geometry.points[[EYE[side]["outer"], EYE[side]["inner"]]].mean(axis=0)
        below = max(float(eye[1] - centre[1]), 4.0)  # brow to eye-centre distance
        sl, grid = self._roi(centre, 1.6 * half + 1, 3.0 * half + 1, below + 1)
        along = _smooth_falloff(np.abs(grid[0] - centre[0]) - 0.8 * half, 0.8 * half)
        down = _smooth_falloff(grid[1] - centre[1], 0.6 * below)
        up = _smooth_falloff(centre[1] - grid[1] - 0.5 * half, 2.0 * half)
        mag = d_px * along * down * up
        return sl, np.stack([np.zeros_like(mag), -mag]).astype(np.float32)
