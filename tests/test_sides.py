"""Left and right are the patient's anatomical sides, pinned on real faces and their mirror.

A non-mirrored camera shows the patient's right on the image's left; selfie-style (mirrored)
video flips that. A known one-sided movement is injected into a real London-set portrait
(:mod:`synktrack.synth`), on the eye and the mouth corner that appear on the IMAGE's right,
which is the patient's LEFT in a non-mirrored image. The same patient side must move when
the picture is flipped and analysed with ``mirrored=True``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from synktrack.fidelity import face_geometry, landmark_frames
from synktrack.measures import measures_process
from synktrack.measures.ids import EYE
from synktrack.synth import FaceGeometry, Injection, Warper

pytestmark = pytest.mark.slow

FACE = "001"
CORNER_MM = (2.0, 3.0)  # outward, up
LID_FRACTION = 0.6  # of the rest aperture


def flip(images: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.fliplr(im)) for im in images]


@pytest.fixture(scope="module")
def face(london_faces: dict[str, np.ndarray],
         model_path: Path) -> tuple[np.ndarray, FaceGeometry, Warper]:
    image = london_faces[FACE]
    geom = face_geometry(image, model_path)
    return image, geom, Warper(image, geom)


def lid_injection(geom: FaceGeometry, side: str = "left") -> tuple[Injection, float]:
    up, lo = EYE[side]["pairs"][0]
    aperture_mm = float(np.linalg.norm(geom.points[up] - geom.points[lo])) * geom.mm_per_px
    mm = LID_FRACTION * aperture_mm
    return Injection(lid_upper_mm={side: mm}), mm


def changed_x(before: np.ndarray, after: np.ndarray) -> float:
    """Mean x of the pixels the warp changed."""
    diff = np.abs(after.astype(int) - before.astype(int)).sum(axis=2)
    ys, xs = np.nonzero(diff > 10)
    assert len(xs) > 50, "the warp changed (almost) nothing"
    return float(xs.mean())


def measure(images: list[np.ndarray], model_path: Path, mirrored: bool) -> pd.DataFrame:
    rec = landmark_frames(images, model_path)
    assert rec.face_present.all()
    return measures_process(rec, mirrored=mirrored)


def change(df: pd.DataFrame, col: str, moved: int = 2) -> float:
    """Value at the moved frame minus the median of the rest frames (all others)."""
    rest = df[col].drop(index=moved).median()
    return float(df[col].iloc[moved] - rest)


def test_patient_left_is_on_the_image_right(face: tuple[np.ndarray, FaceGeometry, Warper]
                                            ) -> None:
    """The harness's "left" moves pixels right of the nose in a non-mirrored portrait."""
    image, geom, warper = face
    nose_x = geom.points[1, 0]
    inj, _ = lid_injection(geom, "left")
    assert changed_x(image, warper.apply(inj)) > nose_x + 20
    corner = Injection(corner_mm={"left": CORNER_MM})
    assert changed_x(image, warper.apply(corner)) > nose_x + 20
    inj_r, _ = lid_injection(geom, "right")
    assert changed_x(image, warper.apply(inj_r)) < nose_x - 20


@pytest.mark.parametrize("mirrored", [False, True], ids=["camera", "selfie"])
def test_eye_narrowing_stays_on_the_patient_side(
    face: tuple[np.ndarray, FaceGeometry, Warper], model_path: Path, mirrored: bool
) -> None:
    image, geom, warper = face
    inj, mm = lid_injection(geom, "left")
    frames = [image, image, warper.apply(inj), image]
    if mirrored:
        frames = flip(frames)  # the narrowed eye is now on the image's left
    df = measure(frames, model_path, mirrored)
    d_left = change(df, "eye_aperture_left_mm")
    d_right = change(df, "eye_aperture_right_mm")
    print(f"\nmirrored={mirrored}: injected -{mm:.2f} mm; left {d_left:+.2f}, "
          f"right {d_right:+.2f} mm")
    assert d_left < -0.5 * mm, "the patient's left eye did not narrow"
    assert abs(d_right) < 0.15 * mm, "the narrowing showed up on the patient's right eye"
    blink_l = change(df, "blink_score_left")
    blink_r = change(df, "blink_score_right")
    print(f"blink_score rise: left {blink_l:+.3f}, right {blink_r:+.3f}")
    assert blink_l > 0.03
    assert blink_l > blink_r + 0.03, "blink_score_left must follow the patient's left eye"


def test_mediapipe_blendshape_names_follow_the_subject(
    face: tuple[np.ndarray, FaceGeometry, Warper], model_path: Path
) -> None:
    """MediaPipe's own eyeBlinkLeft responds to the subject's left eye (image right).

    If this fails after a MediaPipe upgrade, ``_blendshape`` in synktrack/measures must swap
    the names (the test above keeps the patient-side result pinned either way).
    """
    image, geom, warper = face
    inj, _ = lid_injection(geom, "left")
    rec = landmark_frames([image, image, warper.apply(inj), image], model_path)
    names = list(rec.blendshape_names)
    left = rec.blendshapes[:, names.index("eyeBlinkLeft")].astype(float)
    right = rec.blendshapes[:, names.index("eyeBlinkRight")].astype(float)
    rise_l = left[2] - np.median(left[[0, 1, 3]])
    rise_r = right[2] - np.median(right[[0, 1, 3]])
    assert rise_l > rise_r + 0.03, (rise_l, rise_r)


@pytest.mark.parametrize("mirrored", [False, True], ids=["camera", "selfie"])
def test_mouth_corner_stays_on_the_patient_side(
    face: tuple[np.ndarray, FaceGeometry, Warper], model_path: Path, mirrored: bool
) -> None:
    image, _, warper = face
    inj = Injection(corner_mm={"left": CORNER_MM})
    frames = [image, image, warper.apply(inj), image]
    if mirrored:
        frames = flip(frames)
    df = measure(frames, model_path, mirrored)
    dx, dy = change(df, "mouth_corner_left_x_mm"), change(df, "mouth_corner_left_y_mm")
    ox, oy = change(df, "mouth_corner_right_x_mm"), change(df, "mouth_corner_right_y_mm")
    print(f"\nmirrored={mirrored}: injected out {CORNER_MM[0]}, up {CORNER_MM[1]} mm; "
          f"left ({dx:+.2f}, {dy:+.2f}), right ({ox:+.2f}, {oy:+.2f}) mm")
    assert dx == pytest.approx(CORNER_MM[0], abs=0.6)
    assert dy == pytest.approx(CORNER_MM[1], abs=0.6)
    assert np.hypot(ox, oy) < 0.5
    assert change(df, "smile_score_left") > change(df, "smile_score_right")


@pytest.mark.parametrize("mirrored", [False, True], ids=["camera", "selfie"])
def test_roll_towards_the_patient_right_shoulder_is_positive(
    face: tuple[np.ndarray, FaceGeometry, Warper], model_path: Path, mirrored: bool
) -> None:
    """Turning the picture counter-clockwise tips the head towards the image's left,
    the patient's right shoulder in a non-mirrored image (and the flip of that, mirrored)."""
    image = face[0]
    h, w = image.shape[:2]
    frames = []
    for angle in (0.0, 12.0, -12.0):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)  # angle > 0: counter-clockwise
        frames.append(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    if mirrored:
        frames = flip(frames)
    roll = measure(frames, model_path, mirrored)["roll_deg"].to_numpy()
    print(f"\nroll at 0, +12, -12 deg: {np.round(roll, 1)}")
    assert roll[1] - roll[0] == pytest.approx(12.0, abs=3.0)
    assert roll[2] - roll[0] == pytest.approx(-12.0, abs=3.0)


@pytest.mark.parametrize("mirrored", [False, True], ids=["camera", "selfie"])
def test_yaw_towards_the_patient_left_is_positive(shared_dir: Path, model_path: Path,
                                                  mirrored: bool) -> None:
    """On a real head turn, yaw > 0 when the nose points to the patient's left."""
    from synktrack.io import open_source

    clip = shared_dir / "media" / "videos" / "intel__head-pose-face-detection-female_from_gif.mp4"
    with open_source(clip) as src:
        frames = [f.image for f in src.frames()]
    if mirrored:
        frames = flip(frames)
    rec = landmark_frames(frames, model_path)
    yaw = measures_process(rec, mirrored=mirrored)["yaw_deg"].to_numpy()
    lm = rec.landmarks_px()[:, :, 0]
    nose_image_right = lm[:, 1] - (lm[:, 234] + lm[:, 454]) / 2  # > 0: nose to image right
    to_patient_left = -nose_image_right if mirrored else nose_image_right
    turned = np.abs(yaw) > 10
    assert turned.sum() >= 8 and (yaw > 10).any() and (yaw < -10).any()
    np.testing.assert_array_equal(np.sign(yaw[turned]), np.sign(to_patient_left[turned]))


# --------------------------------------------------------------------------- end to end


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.mark.parametrize("mirrored", [False, True], ids=["camera", "selfie"])
def test_analyze_clip_keeps_sides(face: tuple[np.ndarray, FaceGeometry, Warper],
                                  model_path: Path, tmp_path: Path, mirrored: bool) -> None:
    from synktrack.analyze import analyze_clip

    image, geom, warper = face
    lid, lid_mm = lid_injection(geom, "left")
    moved = warper.apply(lid + Injection(corner_mm={"left": CORNER_MM}))
    frames = [image] * 8 + [moved] * 8 + [image] * 8
    frames = [cv2.resize(f, (640, 640), interpolation=cv2.INTER_AREA) for f in frames]
    if mirrored:
        frames = flip(frames)
    clip = write_mp4(tmp_path / "clip.mp4", frames)
    result = analyze_clip(clip, tmp_path / "out", mirrored=mirrored, model=model_path)
    df = result.frames
    assert len(df) == 24 and df["face_present"].all()
    assert result.session["settings"]["mirrored"] is mirrored
    on = df.iloc[10:16].median(numeric_only=True)  # away from the steps (mp4v ghosting)
    off = pd.concat([df.iloc[2:6], df.iloc[18:22]]).median(numeric_only=True)
    d = on - off
    print(f"\nmirrored={mirrored}: eye left {d['eye_aperture_left_mm']:+.2f} "
          f"right {d['eye_aperture_right_mm']:+.2f} (injected -{lid_mm:.2f}); corner left "
          f"({d['mouth_corner_left_x_mm']:+.2f}, {d['mouth_corner_left_y_mm']:+.2f}) right "
          f"({d['mouth_corner_right_x_mm']:+.2f}, {d['mouth_corner_right_y_mm']:+.2f}) mm")
    assert d["eye_aperture_left_mm"] < -0.5 * lid_mm
    assert abs(d["eye_aperture_right_mm"]) < 0.15 * lid_mm
    assert d["mouth_corner_left_y_mm"] == pytest.approx(CORNER_MM[1], abs=0.8)
    assert d["mouth_corner_left_x_mm"] == pytest.approx(CORNER_MM[0], abs=0.8)
    assert np.hypot(d["mouth_corner_right_x_mm"], d["mouth_corner_right_y_mm"]) < 0.6
