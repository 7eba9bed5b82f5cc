"""synktrack.track.ClipTracker: one clip's landmarking pass over frames whose content is known
(a blank frame, a real face, the face moved by a known amount)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from synktrack.track import ClipTracker


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    from synktrack.simulate import demo_portrait

    return demo_portrait(320)


def moved(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.warpAffine(image, np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]]), (w, h),
                          borderMode=cv2.BORDER_REFLECT)


def test_frames_times_faces_and_reference(face: np.ndarray, model_path: Path) -> None:
    blank = np.full_like(face, 128)
    frames = [blank, face, face, moved(face, 4.0, 1.0)]
    times = [0.0, 0.04, 0.08, 0.12]
    with ClipTracker(model_path, capacity=2) as tracker:  # grows past its first capacity
        found = [tracker.process(img, t) for img, t in zip(frames, times, strict=True)]
        assert len(tracker) == 4
        rec = tracker.recording({"source": "test"})
    assert found == [False, True, True, True]
    np.testing.assert_array_equal(rec.face_present, [False, True, True, True])
    np.testing.assert_allclose(rec.time_s, times)
    assert rec.n_frames == 4 and rec.attrs["source"] == "test"  # the caller's attrs kept
    assert rec.attrs["reference_frame"] == 1  # the first face frame (eyes open)
    assert np.isnan(rec.to_ref[0]).all()  # no face: no registration
    np.testing.assert_allclose(rec.to_ref[1], np.eye(2, 3), atol=1e-9)
    np.testing.assert_allclose(rec.to_ref[2], np.eye(2, 3), atol=0.05)  # the same picture
    # the moved frame maps back onto the reference by the known shift
    np.testing.assert_allclose(rec.to_ref[3][:, :2], np.eye(2), atol=0.01)
    np.testing.assert_allclose(rec.to_ref[3][:, 2], [-4.0, -1.0], atol=0.3)
    offset = np.asarray(rec.attrs["mirror_offset_px"])
    assert offset.shape == (478, 2) and np.isfinite(offset).all()
    assert np.abs(offset).max() < 0.05 * face.shape[1]  # a correction, not another face


def test_without_symmetric_reference_no_mirror_offset(face: np.ndarray, model_path: Path) -> None:
    with ClipTracker(model_path, symmetric=False) as tracker:
        tracker.process(face, 0.0)
        rec = tracker.recording({})
    assert rec.attrs["reference_frame"] == 0
    assert "mirror_offset_px" not in rec.attrs


def test_no_face_at_all_has_no_reference(face: np.ndarray, model_path: Path) -> None:
    with ClipTracker(model_path) as tracker:
        for i in range(3):
            assert tracker.process(np.zeros_like(face), i / 25) is False
        rec = tracker.recording({})
    assert rec.attrs["reference_frame"] is None
    assert not rec.face_present.any() and rec.n_frames == 3
