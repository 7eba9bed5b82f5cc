"""synktrack.synth: injected movements land where asked, in millimetres, on one side only.

Marks (small Gaussian dots) are put on a blank image at points of a real face's geometry; a
warp must carry each mark by exactly the injected displacement, and leave marks on the other
side where they were.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synktrack.measures.ids import BROW, EYE, MOUTH_CORNER
from synktrack.synth import FaceGeometry, Injection, Warper


@pytest.fixture(scope="module")
def geometry(model_path: Path) -> tuple[np.ndarray, FaceGeometry]:
    from synktrack.fidelity import face_geometry
    from synktrack.simulate import demo_portrait

    face = demo_portrait(320)
    return face, face_geometry(face, model_path)


def marks(shape: tuple[int, int], points: list[np.ndarray], sigma: float = 1.2) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    img = np.zeros(shape, np.float32)
    for x, y in points:
        img += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return img


def centroid(img: np.ndarray, near: np.ndarray, r: int = 6) -> np.ndarray:
    x0, y0 = int(round(near[0])), int(round(near[1]))
    win = img[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1].astype(np.float64)
    yy, xx = np.mgrid[y0 - r:y0 + r + 1, x0 - r:x0 + r + 1]
    return np.array([(win * xx).sum() / win.sum(), (win * yy).sum() / win.sum()])


def test_injection_algebra() -> None:
    a = Injection(lid_upper_mm={"left": 1.0}, corner_mm={"right": (1.0, 0.5)})
    b = Injection(lid_upper_mm={"left": 0.5, "right": 2.0}, brow_mm={"left": 3.0})
    s = a + b
    assert s.lid_upper_mm == {"left": 1.5, "right": 2.0}
    assert s.corner_mm == {"right": (1.0, 0.5)} and s.brow_mm == {"left": 3.0}
    h = a.scaled(0.5)
    assert h.lid_upper_mm == {"left": 0.5} and h.corner_mm == {"right": (0.5, 0.25)}
    assert Injection().is_empty() and Injection(brow_mm={"left": 0.0}).is_empty()
    assert not a.is_empty() and a.scaled(0.0).is_empty()


def test_mm_per_px_from_the_limbus() -> None:
    assert FaceGeometry(np.zeros((478, 2)), iris_px=23.4).mm_per_px == pytest.approx(0.5)


def test_empty_injection_is_the_image(geometry: tuple[np.ndarray, FaceGeometry]) -> None:
    face, geom = geometry
    out = Warper(face, geom).apply(Injection())
    assert out is not face and np.array_equal(out, face)


def test_corner_moves_by_the_injected_mm_on_its_side_only(
        geometry: tuple[np.ndarray, FaceGeometry]) -> None:
    face, geom = geometry
    k = 1.0 / geom.mm_per_px
    left, right = geom.points[MOUTH_CORNER["left"]], geom.points[MOUTH_CORNER["right"]]
    img = marks(face.shape[:2], [left, right])
    out = Warper(img, geom).apply(Injection(corner_mm={"left": (2.0, 1.0)}))
    outward = (left - right) / np.linalg.norm(left - right)
    up = np.array([outward[1], -outward[0]])
    up = -up if up[1] > 0 else up
    expected = left + k * (2.0 * outward + 1.0 * up)
    np.testing.assert_allclose(centroid(out, expected), expected, atol=0.15)
    np.testing.assert_allclose(centroid(out, right), right, atol=0.01)  # the other corner


def test_upper_lid_moves_down_by_the_injected_mm(geometry: tuple[np.ndarray, FaceGeometry]
                                                 ) -> None:
    face, geom = geometry
    k = 1.0 / geom.mm_per_px
    spots = {}
    for side in ("left", "right"):
        outer, axis, width = geom.eye_axis(side)
        normal = np.array([-axis[1], axis[0]])
        normal = -normal if normal[1] < 0 else normal  # down the image
        upper = geom.points[EYE[side]["pairs"][0][0]]  # mid upper-lid margin
        spots[side] = (upper - 0.12 * width * normal, normal)  # skin just above the margin
    img = marks(face.shape[:2], [p for p, _ in spots.values()])
    out = Warper(img, geom).apply(Injection(lid_upper_mm={"right": 1.5}))
    p, normal = spots["right"]
    np.testing.assert_allclose(centroid(out, p + 1.5 * k * normal), p + 1.5 * k * normal,
                               atol=0.15)
    np.testing.assert_allclose(centroid(out, spots["left"][0]), spots["left"][0], atol=0.01)


def test_brow_rises_by_the_injected_mm(geometry: tuple[np.ndarray, FaceGeometry]) -> None:
    face, geom = geometry
    k = 1.0 / geom.mm_per_px
    spots = {}
    for side in ("left", "right"):
        pts = geom.points[list(BROW[side])]
        half = 0.5 * float(np.ptp(pts[:, 0]))
        spots[side] = pts.mean(axis=0) - [0.0, 0.25 * half]  # on the brow, a little above
    img = marks(face.shape[:2], list(spots.values()))
    out = Warper(img, geom).apply(Injection(brow_mm={"left": 2.0}))
    want = spots["left"] - [0.0, 2.0 * k]
    np.testing.assert_allclose(centroid(out, want), want, atol=0.15)
    np.testing.assert_allclose(centroid(out, spots["right"]), spots["right"], atol=0.01)
