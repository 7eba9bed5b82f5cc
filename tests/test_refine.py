"""synktrack.refine: the robust similarity fit, and the image registration that decides over
landmarks, against known transforms of a real face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from synktrack.lids import MAX_WAIT_FRAMES, OPEN_EYE_MAX_BLINK
from synktrack.measures.geometry import apply_affine
from synktrack.refine import ImageRefiner, RefineSettings, similarity


def known_similarity(scale: float, angle_deg: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = scale * np.cos(np.radians(angle_deg)), scale * np.sin(np.radians(angle_deg))
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def test_similarity_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 300, (12, 2))
    truth = known_similarity(1.3, 20.0, (15.0, -7.5))
    got = similarity(src, apply_affine(src, truth))
    np.testing.assert_allclose(got, truth, atol=1e-9)


def test_similarity_refit_drops_a_few_outliers() -> None:
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 200, (16, 2))
    truth = known_similarity(0.9, -8.0, (4.0, 3.0))
    dst = apply_affine(src, truth)
    dst[:3] += [[30.0, 0.0], [0.0, -25.0], [20.0, 20.0]]  # three points dragged away
    robust = similarity(src, dst, iterations=1)
    plain = similarity(src, dst, iterations=0)
    np.testing.assert_allclose(robust, truth, atol=1e-9)  # the clean 13 decide
    # the plain least-squares fit is pulled by them (what the refit is for)
    assert np.abs(apply_affine(src[3:], plain) - dst[3:]).max() > 1.0


def test_similarity_of_pure_translation_is_the_mean_shift() -> None:
    src = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    got = similarity(src, src + [2.5, -1.0], iterations=0)
    np.testing.assert_allclose(got, [[1, 0, 2.5], [0, 1, -1.0]], atol=1e-12)


@pytest.fixture(scope="module")
def face_and_points(model_path: Path) -> tuple[np.ndarray, np.ndarray]:
    from synktrack.fidelity import face_geometry
    from synktrack.simulate import demo_portrait

    face = demo_portrait(320)
    return face, face_geometry(face, model_path).points


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_registration_follows_the_image_not_biased_landmarks(
        face_and_points: tuple[np.ndarray, np.ndarray]) -> None:
    """The face moves by a known (3, -2) px; the landmarks say (4.2, -2): the image decides."""
    face, pts = face_and_points
    ref = ImageRefiner()
    to_ref0 = ref.process(face, pts, blink=0.0)[0]
    assert ref.has_reference
    np.testing.assert_allclose(to_ref0, np.eye(2, 3), atol=1e-12)
    dx, dy = 3.0, -2.0
    to_ref = ref.process(shifted(face, dx, dy), pts + [dx + 1.2, dy], blink=0.0)[0]
    np.testing.assert_allclose(to_ref[:, :2], np.eye(2), atol=0.01)  # no rotation or scale
    assert abs(to_ref[0, 2] + dx) < 0.25 and abs(to_ref[1, 2] + dy) < 0.25
    # a fit to the landmarks alone would have said -4.2
    landmarks_only = similarity(pts + [dx + 1.2, dy], pts, iterations=0)
    assert abs(landmarks_only[0, 2] + dx + 1.2) < 1e-6


def test_tracked_mouth_corners_follow_the_pixels(
        face_and_points: tuple[np.ndarray, np.ndarray]) -> None:
    """Corners are tracked in the image: a 2 px shift of the whole face moves them 2 px even
    when the landmarks stay where they were."""
    from synktrack.refine import TRACKED

    face, pts = face_and_points
    ref = ImageRefiner()
    ref.process(face, pts, blink=0.0)
    _, tracked, ok, *_ = ref.process(shifted(face, 2.0, 0.0), pts, blink=0.0)
    names = list(TRACKED)
    for corner in ("corner_left", "corner_right"):
        i = names.index(corner)
        if ok[i]:  # image tracking was used for it
            np.testing.assert_allclose(tracked[i], pts[TRACKED[corner]] + [2.0, 0.0], atol=0.3)
    assert ok[names.index("corner_left")] or ok[names.index("corner_right")]


@pytest.mark.parametrize(("blink", "max_wait", "first"), [
    (0.1, MAX_WAIT_FRAMES, 1),  # open eyes: the first face frame is the reference
    (OPEN_EYE_MAX_BLINK + 0.3, 4, 4),  # closed eyes: wait max_wait frames, then take it anyway
])
def test_reference_waits_for_open_eyes(face_and_points: tuple[np.ndarray, np.ndarray],
                                       blink: float, max_wait: int, first: int) -> None:
    face, pts = face_and_points
    ref = ImageRefiner(RefineSettings(max_wait=max_wait))
    for n in range(1, first + 1):
        assert ref.takes_reference(blink) == (n == first)
        to_ref = ref.process(face, pts, blink=blink)[0]
        assert ref.has_reference == (n == first)
        assert np.isfinite(to_ref).all() == (n == first)
