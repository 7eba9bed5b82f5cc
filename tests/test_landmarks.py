"""The MediaPipe adapter: timestamps, lifetime, pickling, choosing and following one face."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from synktrack.landmarks import (
    N_BLENDSHAPES,
    N_LANDMARKS,
    FaceResult,
    FaceTracker,
    Landmarker,
    RecordingBuilder,
)


def fake_face(cx: float, cy: float, size: float) -> np.ndarray:
    """(478, 3) landmark cloud centred at (cx, cy), ``size`` wide, normalised units."""
    rng = np.random.default_rng(int(1000 * (cx + cy + size)))
    pts = rng.uniform(-0.5, 0.5, (N_LANDMARKS, 3)) * size
    pts[:2] = [(-0.5 * size, 0, 0), (0.5 * size, 0, 0)]
    return (pts + (cx, cy, 0.0)).astype(np.float32)


# --------------------------------------------------------------------------- FaceTracker


def test_tracker_first_picks_the_large_central_face() -> None:
    tracker = FaceTracker()
    faces = [fake_face(0.15, 0.3, 0.12), fake_face(0.5, 0.5, 0.3), fake_face(0.85, 0.6, 0.12)]
    assert tracker.choose(faces) == 1


def test_tracker_follows_the_face_nearest_the_last_one() -> None:
    tracker = FaceTracker()
    followed, other = fake_face(0.35, 0.5, 0.3), fake_face(0.75, 0.5, 0.25)
    assert tracker.choose([followed, other]) == 0
    # the followed face drifts right while a bigger, more central face appears: keep it
    big_central = fake_face(0.6, 0.5, 0.45)
    for step in range(1, 8):
        assert tracker.choose([big_central, fake_face(0.35 + 0.02 * step, 0.5, 0.3)]) == 1
    # the order of the detections does not matter
    assert tracker.choose([fake_face(0.5, 0.5, 0.3), fake_face(0.85, 0.4, 0.3)]) == 0


def test_tracker_starts_afresh_after_the_face_is_lost() -> None:
    tracker = FaceTracker()
    assert tracker.choose([fake_face(0.2, 0.5, 0.2)]) == 0  # now following the face at 0.2
    assert tracker.choose([fake_face(0.5, 0.5, 0.3), fake_face(0.25, 0.5, 0.2)]) == 1
    tracker.lost()
    assert tracker.choose([fake_face(0.5, 0.5, 0.3), fake_face(0.25, 0.5, 0.2)]) == 0


# --------------------------------------------------------------------------- RecordingBuilder


def test_builder_grows_and_keeps_missing_faces_nan() -> None:
    builder = RecordingBuilder(capacity=2)
    face = FaceResult(fake_face(0.5, 0.5, 0.3), np.full(N_BLENDSHAPES, 0.25, np.float32),
                      np.eye(4, dtype=np.float32), 1, ("a",) * N_BLENDSHAPES)
    none = FaceResult(None, None, None, 0)
    for i in range(5):
        builder.append(i / 10, face if i % 2 == 0 else none)
    rec = builder.build({"width": 640, "height": 480})
    assert rec.n_frames == 5 and len(builder) == 5
    assert rec.face_present.tolist() == [True, False, True, False, True]
    assert np.isnan(rec.landmarks[1]).all() and np.isfinite(rec.landmarks[2]).all()
    assert np.isnan(rec.to_ref).all()  # nothing registered
    np.testing.assert_allclose(rec.time_s, np.arange(5) / 10)
    assert rec.blendshape_names == ("a",) * N_BLENDSHAPES


# --------------------------------------------------------------------------- Landmarker


@pytest.fixture()
def landmarker(model_path: Path) -> Iterator[Landmarker]:
    lm = Landmarker(model_path)
    yield lm
    lm.close()


@pytest.mark.slow
def test_timestamps_strictly_increase(landmarker: Landmarker) -> None:
    times = [0.0, 0.0, 0.0004, 0.0333, 0.0333, 0.02, 1.0, 1.0001]
    ms = [landmarker.timestamp_ms(t) for t in times]
    assert all(b > a for a, b in zip(ms, ms[1:], strict=False)), ms
    assert ms[0] == 0 and ms[3] == 33 and ms[6] == 1000


@pytest.mark.slow
def test_repeated_and_backward_times_do_not_break_mediapipe(landmarker: Landmarker,
                                                            london_faces: dict) -> None:
    image = london_faces["001"]
    found = [landmarker.process(image, t).landmarks is not None
             for t in (0.0, 0.0, 0.0, -1.0, 0.0005, 0.001)]
    assert all(found)


@pytest.mark.slow
def test_process_after_close_raises(model_path: Path) -> None:
    lm = Landmarker(model_path)
    image = np.zeros((120, 160, 3), np.uint8)
    assert lm.process(image, 0.0).landmarks is None
    lm.close()
    lm.close()  # closing twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        lm.process(image, 0.1)


@pytest.mark.slow
def test_landmarker_cannot_be_pickled(landmarker: Landmarker) -> None:
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(landmarker)
    with pytest.raises(TypeError):
        copy.deepcopy(landmarker)


@pytest.mark.slow
def test_landmarker_output_shapes(landmarker: Landmarker, london_faces: dict) -> None:
    face = landmarker.process(london_faces["004"], 0.0)
    assert face.n_faces == 1
    assert face.landmarks is not None and face.landmarks.shape == (N_LANDMARKS, 3)
    assert face.blendshapes is not None and face.blendshapes.shape == (N_BLENDSHAPES,)
    assert face.matrix is not None and face.matrix.shape == (4, 4)
    assert "eyeBlinkLeft" in face.blendshape_names and len(face.blendshape_names) == 52
    # normalised image coordinates, face roughly centred in the portrait
    assert 0.3 < float(face.landmarks[:, 0].mean()) < 0.7


@pytest.mark.slow
def test_landmarker_follows_the_same_child(shared_dir: Path, model_path: Path) -> None:
    """Two children side by side; the picture slides sideways so that the other child ends up
    where the followed one started. The adapter must keep following the same child."""
    bgr = cv2.imread(str(shared_dir / "media" / "images" / "mpsamples__testImg_two_children.jpeg"))
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    with Landmarker(model_path) as lm:
        first = lm.process(image, 0.0)
        assert first.n_faces == 2 and first.landmarks is not None
        x0 = float(first.landmarks[:, 0].mean())
        xs = [x0]
        for i, dx in enumerate(np.linspace(0, 0.3 if x0 < 0.5 else -0.3, 7)[1:], start=1):
            m = np.float32([[1, 0, dx * w], [0, 1, 0]])
            shifted = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            face = lm.process(shifted, i / 10)
            assert face.landmarks is not None
            xs.append(float(face.landmarks[:, 0].mean()) - dx)  # back in the original frame
    assert np.ptp(xs) < 0.03, np.round(xs, 3)
