"""Per-frame measures on simulated landmarks: known geometry in, known millimetres out.

No model and no media: a synthetic 478-point face is drawn with exactly known lid gaps,
iris diameter, mouth corners and brows, placed in the image with a known similarity, and
given to :func:`synktrack.measures.measures_process` through a :class:`Recording`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack.errors import InputError
from synktrack.landmarks import (
    CONTAINER_NAME,
    CONTAINER_VERSION,
    DIMS,
    N_BLENDSHAPES,
    N_LANDMARKS,
    N_TRACKED,
    Recording,
    load_recording,
)
from synktrack.measures import COLUMNS, MeasureSettings, measures_process
from synktrack.measures.ids import BROW, EYE, MOUTH, MOUTH_CORNER, NASION
from synktrack.measures.pose import yaw_pitch_roll

W, H = 640, 480
IRIS_MM = 11.7
CENTRE = np.array([320.0, 220.0])  # where the nasion sits in the reference image

# Face-template geometry, in pixels of a frontal face at scale 1. Template axes: x towards
# the image's right (MediaPipe "left" = the patient's left in a non-mirrored image), y down,
# origin at the nasion.
EYE_X = {"right": (-50.0, -14.0), "left": (50.0, 14.0)}  # (outer, inner) canthus x per label
EYE_Y = 4.0
CORNER = {"right": np.array([-25.0, 70.0]), "left": np.array([25.0, 70.0])}
BROW_Y = -20.0  # brow 24 px above the canthal line

BLENDSHAPE_NAMES = (
    "_neutral", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight",
    *(f"other{i}" for i in range(N_BLENDSHAPES - 5)),
)  # fmt: skip


def _lid_profile(u: np.ndarray) -> np.ndarray:
    """Half-gap profile along the eye: 1 on the three central lid pairs, 0 at the corners."""
    return np.minimum(1.0, np.sin(np.pi * u) / np.sin(3 * np.pi / 8))


def face_template(aperture: dict[str, float] | None = None, iris: float = 12.0) -> np.ndarray:
    """(478, 2) frontal face with exactly known distances (template px).

    ``aperture`` gives the lid gap of each MediaPipe-labelled eye (all three central pairs);
    every iris is ``iris`` px across.
    """
    aperture = aperture or {"left": 10.0, "right": 8.0}
    rng = np.random.default_rng(7)
    ang = rng.uniform(0, 2 * np.pi, N_LANDMARKS)
    rad = np.sqrt(rng.uniform(0.2, 1.0, N_LANDMARKS))
    pts = np.stack([90 * rad * np.cos(ang), 35 + 120 * rad * np.sin(ang)], axis=1)
    pts[[0, 1]] = [(-90.0, 35.0), (90.0, 35.0)]  # fixes the face width at exactly 180 px
    for i, y in zip((9, 8, NASION, 6, 197, 195, 5, 4), (-18, -8, 0, 12, 24, 36, 46, 52),
                    strict=True):
        pts[i] = (0.0, y)
    for label, e in EYE.items():
        outer_x, inner_x = EYE_X[label]
        half = aperture[label] / 2
        for which, sign in (("upper", -1.0), ("lower", 1.0)):
            ids = e[which]
            u = np.linspace(0.0, 1.0, len(ids))
            pts[list(ids), 0] = outer_x + u * (inner_x - outer_x)
            pts[list(ids), 1] = EYE_Y + sign * half * _lid_profile(u)
        cx = (outer_x + inner_x) / 2
        pts[e["iris_centre"]] = (cx, EYE_Y)
        a, b = e["iris_h"]
        pts[a], pts[b] = (cx - iris / 2, EYE_Y), (cx + iris / 2, EYE_Y)
        a, b = e["iris_v"]
        pts[a], pts[b] = (cx, EYE_Y - iris / 2), (cx, EYE_Y + iris / 2)
        brow_x = np.linspace(outer_x * 1.1, inner_x * 1.3, len(BROW[label]))
        pts[list(BROW[label])] = np.stack([brow_x, np.full_like(brow_x, BROW_Y)], axis=1)
    # the other inner-canthus points used as rigid points
    pts[[243, 244]] = [(-12.0, EYE_Y), (-11.0, EYE_Y + 1)]
    pts[[463, 464]] = [(12.0, EYE_Y), (11.0, EYE_Y + 1)]
    for label, xy in CORNER.items():
        pts[MOUTH_CORNER[label]] = xy
    pts[MOUTH["upper_lip"]], pts[MOUTH["lower_lip"]] = (0.0, 66.0), (0.0, 74.0)
    return pts


@dataclass(frozen=True)
class Pose2D:
    """Where a template lands in the image: scale, in-plane rotation (deg), translation."""

    scale: float = 1.0
    angle_deg: float = 0.0  # counter-clockwise as seen on screen
    shift: tuple[float, float] = (0.0, 0.0)

    @property
    def rot(self) -> np.ndarray:
        a = np.radians(self.angle_deg)
        # image y points down, so a counter-clockwise turn on screen is this matrix
        return np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])

    @property
    def centre(self) -> np.ndarray:
        return CENTRE + np.asarray(self.shift)

    def apply(self, pts: np.ndarray) -> np.ndarray:
        return self.centre + self.scale * pts @ self.rot.T


def similarity_to(ref: Pose2D, pose: Pose2D) -> np.ndarray:
    """(2, 3) map from an image taken with ``pose`` into the reference image."""
    lin = (ref.scale / pose.scale) * ref.rot @ pose.rot.T
    return np.column_stack([lin, ref.centre - lin @ pose.centre])


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Head rotation built from physical directions (camera axes: x right, y up, z to viewer).

    yaw > 0 turns the nose towards the image's right (the patient's left, non-mirrored),
    pitch > 0 turns it upwards (chin up), roll > 0 tilts the top of the head towards the
    image's left (the patient's right shoulder, non-mirrored).
    """
    y, p, r = np.radians([yaw, pitch, roll])
    turn_right = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    look_up = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    tilt_left = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return turn_right @ look_up @ tilt_left


def matrix_of(rot: np.ndarray, scale: float = 1.0) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = scale * rot
    m[:3, 3] = (1.0, -2.0, -40.0)
    return m


def make_recording(
    templates: list[np.ndarray | None],
    poses: list[Pose2D] | None = None,
    *,
    matrices: list[np.ndarray] | None = None,
    n_faces: list[int] | None = None,
    blink: tuple[float, float] = (0.7, 0.1),
    smile: tuple[float, float] = (0.4, 0.2),
    reference: int | None = 0,
    registered: list[bool] | None = None,
) -> Recording:
    """A Recording of the given template frames (``None`` = no face in that frame).

    ``to_ref`` is the exact similarity onto the reference frame (what image registration
    should find); ``registered[i] = False`` leaves it NaN, as before a reference exists.
    """
    n = len(templates)
    poses = poses or [Pose2D()] * n
    registered = registered or [True] * n
    lm = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
    bs = np.full((n, N_BLENDSHAPES), np.nan, np.float32)
    mx = np.full((n, 4, 4), np.nan, np.float32)
    to_ref = np.full((n, 2, 3), np.nan)
    present = np.zeros(n, bool)
    ref_pose = poses[reference] if reference is not None else None
    for i, tpl in enumerate(templates):
        if tpl is None:
            continue
        present[i] = True
        img = poses[i].apply(tpl)
        # normalised coordinates run edge to edge; pixel centres sit at integers
        lm[i, :, 0], lm[i, :, 1], lm[i, :, 2] = (img[:, 0] + 0.5) / W, (img[:, 1] + 0.5) / H, 0.0
        bs[i] = 0.05
        bs[i, 1:5] = (*blink, *smile)
        mx[i] = matrices[i] if matrices is not None else matrix_of(np.eye(3))
        if ref_pose is not None and registered[i]:
            to_ref[i] = similarity_to(ref_pose, poses[i])
    nf = np.asarray(n_faces if n_faces is not None else present.astype(int), np.int8)
    return Recording(
        time_s=np.arange(n) / 30.0, landmarks=lm, blendshapes=bs, matrix=mx,
        face_present=present, n_faces=nf, to_ref=to_ref,
        tracked=np.full((n, N_TRACKED, 2), np.nan), tracked_ok=np.zeros((n, N_TRACKED), bool),
        blendshape_names=BLENDSHAPE_NAMES,
        attrs={"width": W, "height": H, "source": "synthetic", "reference_frame": reference},
    )


MM_COLUMNS = [c for c in COLUMNS if c.endswith(("_mm", "_mm2"))]
# Hand-made recordings have no image, so no image-found margins.
SIDE_MEASURES = [c for c in MM_COLUMNS
                 if c != "landmark_jitter_mm" and not c.startswith("eye_aperture_margins")]


# --------------------------------------------------------------------------- millimetres


def test_columns_match_the_documented_contract() -> None:
    df = measures_process(make_recording([face_template()] * 3))
    assert set(df.columns) == set(COLUMNS)
    assert len(df) == 3
    assert df["frame"].tolist() == [0, 1, 2]


@pytest.mark.parametrize(("ap_left", "ap_right", "iris"), [(10.0, 8.0, 12.0), (6.0, 9.0, 20.0)])
def test_eye_aperture_is_lid_gap_over_iris_times_11_7(ap_left: float, ap_right: float,
                                                      iris: float) -> None:
    tpl = face_template({"left": ap_left, "right": ap_right}, iris=iris)
    df = measures_process(make_recording([tpl] * 4))
    k = IRIS_MM / iris
    assert df.attrs["mm_per_px"] == pytest.approx(k, rel=1e-6)
    for side, ap in (("left", ap_left), ("right", ap_right)):
        np.testing.assert_allclose(df[f"eye_aperture_{side}_mm"], ap * k, rtol=1e-5)
        np.testing.assert_allclose(df[f"eye_aperture_landmarks_{side}_mm"], ap * k, rtol=1e-5)


def test_iris_scale_taken_once_from_open_eye_frames() -> None:
    """A shrinking iris ring during eye closure must not inflate other mm values."""
    open_ = face_template({"left": 10.0, "right": 10.0}, iris=12.0)
    shut = face_template({"left": 1.0, "right": 1.0}, iris=8.0)  # lids cover the iris
    frames = [open_] * 7 + [shut] * 3
    df = measures_process(make_recording(frames))
    k = IRIS_MM / 12.0
    assert df.attrs["mm_per_px"] == pytest.approx(k, rel=1e-6)
    np.testing.assert_allclose(df["mouth_corner_left_x_mm"], 25.0 * k, rtol=1e-5)
    np.testing.assert_allclose(df["eye_aperture_left_mm"].iloc[7:], 1.0 * k, rtol=1e-5)


def test_known_positions_of_mouth_corners_and_brows() -> None:
    df = measures_process(make_recording([face_template(iris=12.0)] * 2))
    k = IRIS_MM / 12.0
    for side in ("left", "right"):
        # 25 px lateral of the midline (positive = outward), 70 px below the nasion
        np.testing.assert_allclose(df[f"mouth_corner_{side}_x_mm"], 25.0 * k, rtol=1e-5)
        np.testing.assert_allclose(df[f"mouth_corner_{side}_y_mm"], -70.0 * k, rtol=1e-5)
        np.testing.assert_allclose(df[f"brow_height_{side}_mm"], 24.0 * k, rtol=1e-5)


@pytest.mark.parametrize(("dx", "dy"), [(3.0, 0.0), (0.0, 4.0), (2.0, 2.0), (-3.0, 1.0)])
def test_mouth_corner_moved_by_a_known_amount(dx: float, dy: float) -> None:
    """dx = outward, dy = up (template px); only the moved side changes."""
    rest = face_template(iris=12.0)
    moved = rest.copy()
    moved[MOUTH_CORNER["left"]] += (dx, -dy)  # patient's left = image right, non-mirrored
    df = measures_process(make_recording([rest, rest, moved, rest]))
    k = IRIS_MM / 12.0
    d = df.iloc[2] - df.iloc[0]
    assert d["mouth_corner_left_x_mm"] == pytest.approx(dx * k, abs=1e-4)
    assert d["mouth_corner_left_y_mm"] == pytest.approx(dy * k, abs=1e-4)
    assert d["mouth_corner_right_x_mm"] == pytest.approx(0.0, abs=1e-4)
    assert d["mouth_corner_right_y_mm"] == pytest.approx(0.0, abs=1e-4)


# --------------------------------------------------------------------------- head frame


POSES = [
    Pose2D(angle_deg=15.0),
    Pose2D(angle_deg=-20.0, scale=1.3),
    Pose2D(scale=0.7, shift=(60.0, -25.0)),
    Pose2D(angle_deg=8.0, scale=1.5, shift=(-40.0, 30.0)),
]


@pytest.mark.parametrize("reference_pose", [Pose2D(), Pose2D(angle_deg=12.0, scale=1.2)])
def test_roll_scale_and_translation_leave_measures_unchanged(reference_pose: Pose2D) -> None:
    tpl = face_template(iris=12.0)
    poses = [reference_pose, *POSES]
    df = measures_process(make_recording([tpl] * len(poses), poses))
    expected = make_recording([tpl])  # frontal, unscaled
    ref = measures_process(expected).iloc[0]
    for col in SIDE_MEASURES:
        np.testing.assert_allclose(df[col], ref[col], rtol=1e-4, atol=1e-4, err_msg=col)
    # the scale column reports this frame's image mm per pixel
    image_scale = np.array([p.scale for p in poses])
    np.testing.assert_allclose(df["scale_mm_per_px"], IRIS_MM / 12.0 / image_scale, rtol=1e-5)


def test_head_frame_follows_head_not_image_axes() -> None:
    """A lid gap measured along a rolled face, not along the image's vertical."""
    tpl = face_template({"left": 10.0, "right": 10.0}, iris=12.0)
    poses = [Pose2D(angle_deg=30.0)] * 3
    df = measures_process(make_recording([tpl] * 3, poses))
    # image-vertical distance would be 10 * cos(30) = 8.66 px
    np.testing.assert_allclose(df["eye_aperture_left_mm"], 10.0 * IRIS_MM / 12.0, rtol=1e-5)


def test_reference_yaw_foreshortening_is_undone() -> None:
    """A face turned 30 deg at the reference is horizontally compressed by cos(30)."""
    tpl = face_template(iris=12.0)
    turned = tpl * (np.cos(np.radians(30.0)), 1.0)
    mats = [matrix_of(rotation(yaw=30.0))] * 3
    df = measures_process(make_recording([turned] * 3, matrices=mats))
    k = IRIS_MM / 12.0
    np.testing.assert_allclose(df["mouth_corner_left_x_mm"], 25.0 * k, rtol=1e-4)
    np.testing.assert_allclose(df["eye_aperture_left_mm"], 10.0 * k, rtol=1e-4)


# --------------------------------------------------------------------------- pose


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"yaw": 25.0}, (25.0, 0.0, 0.0)),
        ({"yaw": -10.0}, (-10.0, 0.0, 0.0)),
        ({"pitch": 15.0}, (0.0, 15.0, 0.0)),
        ({"pitch": -12.0}, (0.0, -12.0, 0.0)),
        ({"roll": 20.0}, (0.0, 0.0, 20.0)),
        ({"roll": -35.0}, (0.0, 0.0, -35.0)),
    ],
)
def test_pose_sign_conventions(kwargs: dict[str, float],
                               expected: tuple[float, float, float]) -> None:
    """yaw > 0 towards the patient's left, pitch > 0 chin up, roll > 0 to the right shoulder."""
    mat = matrix_of(rotation(**kwargs), scale=1.7)[None]  # scale must not matter
    ypr = yaw_pitch_roll(mat)[0]
    np.testing.assert_allclose(ypr, expected, atol=0.5)
    # mirrored video: the patient's left is the image's left, so yaw and roll flip sign
    ypr_m = yaw_pitch_roll(mat, mirrored=True)[0]
    np.testing.assert_allclose(ypr_m, (-expected[0], expected[1], -expected[2]), atol=0.5)


def test_yaw_and_pitch_are_azimuth_and_elevation_of_the_facing_direction() -> None:
    mat = matrix_of(rotation(yaw=20.0, pitch=10.0))[None]
    np.testing.assert_allclose(yaw_pitch_roll(mat)[0, :2], (20.0, 10.0), atol=0.01)


def test_pose_columns_and_missing_matrix() -> None:
    tpl = face_template()
    mats = [matrix_of(rotation(yaw=10.0, roll=-5.0))] * 2
    rec = make_recording([tpl, tpl], matrices=mats)
    df = measures_process(rec)
    np.testing.assert_allclose(df[["yaw_deg", "pitch_deg", "roll_deg"]].to_numpy(),
                               [[10.0, 0.0, -5.0]] * 2, atol=0.5)
    assert np.isnan(yaw_pitch_roll(np.full((1, 4, 4), np.nan))).all()


# --------------------------------------------------------------------------- sides


def test_mirrored_swaps_sides() -> None:
    """In selfie video MediaPipe's "right" eye is the patient's left."""
    # a face turned 10 deg: horizontally foreshortened by cos(10) in the image
    cos10 = np.cos(np.radians(10.0))
    rest = face_template({"left": 10.0, "right": 8.0}, iris=12.0) * (cos10, 1.0)
    moved = rest.copy()
    moved[MOUTH_CORNER["right"]] += (-3.0 * cos10, -2.0)  # MediaPipe-right corner: out 3, up 2
    rec = make_recording([rest, rest, moved], blink=(0.7, 0.1), smile=(0.4, 0.2),
                         matrices=[matrix_of(rotation(yaw=10.0))] * 3)
    k = IRIS_MM / 12.0
    plain = measures_process(rec)
    mirr = measures_process(rec, mirrored=True)
    assert plain["eye_aperture_left_mm"].iloc[0] == pytest.approx(10.0 * k, rel=1e-5)
    assert mirr["eye_aperture_left_mm"].iloc[0] == pytest.approx(8.0 * k, rel=1e-5)
    assert mirr["eye_aperture_right_mm"].iloc[0] == pytest.approx(10.0 * k, rel=1e-5)
    assert plain["blink_score_left"].iloc[0] == pytest.approx(0.7)
    assert mirr["blink_score_left"].iloc[0] == pytest.approx(0.1)
    assert mirr["smile_score_right"].iloc[0] == pytest.approx(0.4)
    # the moved corner is the patient's right normally, the patient's left when mirrored
    d_plain = plain.iloc[2] - plain.iloc[0]
    d_mirr = mirr.iloc[2] - mirr.iloc[0]
    assert d_plain["mouth_corner_right_x_mm"] == pytest.approx(3.0 * k, abs=1e-4)
    assert d_plain["mouth_corner_left_x_mm"] == pytest.approx(0.0, abs=1e-4)
    assert d_mirr["mouth_corner_left_x_mm"] == pytest.approx(3.0 * k, abs=1e-4)
    assert d_mirr["mouth_corner_left_y_mm"] == pytest.approx(2.0 * k, abs=1e-4)
    assert d_mirr["mouth_corner_right_x_mm"] == pytest.approx(0.0, abs=1e-4)
    # lateral positions stay positive outward on both sides in both modes
    for df in (plain, mirr):
        assert (df[["mouth_corner_left_x_mm", "mouth_corner_right_x_mm"]] > 0).all().all()
    assert plain["yaw_deg"].iloc[0] == pytest.approx(10.0, abs=0.5)
    assert mirr["yaw_deg"].iloc[0] == pytest.approx(-10.0, abs=0.5)


# --------------------------------------------------------------------------- quality flags


def test_quality_flags() -> None:
    tpl = face_template()
    small = face_template() * 0.4  # 72 px wide face
    templates = [tpl, tpl, tpl, tpl, tpl, small, tpl]
    mats = [matrix_of(rotation(**kw)) for kw in (
        {}, {"yaw": 25.0}, {"pitch": -24.0}, {"roll": 30.0}, {"yaw": 15.0}, {}, {},
    )]
    n_faces = [1, 1, 1, 1, 1, 1, 2]
    df = measures_process(make_recording(templates, matrices=mats, n_faces=n_faces))
    assert df["pose_extreme"].tolist() == [0, 1, 1, 1, 0, 0, 0]
    assert df["face_small"].tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert df["several_faces"].tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert df["n_faces"].tolist() == n_faces
    assert df["face_width_px"].iloc[0] == pytest.approx(180.0, rel=1e-4)
    assert df["usable"].tolist()[:6] == [1, 0, 0, 0, 1, 0]
    # limits come from the settings
    lax = MeasureSettings(max_yaw_deg=30.0, min_face_width_px=50.0)
    df2 = measures_process(make_recording(templates, matrices=mats, n_faces=n_faces), False, lax)
    assert df2["pose_extreme"].tolist()[:2] == [0, 0]
    assert df2["face_small"].iloc[5] == 0


def test_jitter_flag() -> None:
    tpl = face_template(iris=12.0)
    shaky = tpl.copy()
    shaky[[NASION, 6, 197, 195, 5, 4]] += (0.0, 3.0)  # rigid points jump 3 px in one frame
    df = measures_process(make_recording([tpl] * 4 + [shaky] + [tpl] * 4))
    assert df["landmark_jitter_mm"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert df["jitter_high"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert df["usable"].iloc[4] == 0


# --------------------------------------------------------------------------- missing faces


def test_frames_without_face_are_nan_and_flagged() -> None:
    tpl = face_template(iris=12.0)
    rec = make_recording([tpl, None, tpl, None, tpl], n_faces=[1, 0, 1, 0, 1])
    df = measures_process(rec)
    assert df["face_present"].tolist() == [1, 0, 1, 0, 1]
    absent = df.iloc[[1, 3]]
    assert absent[MM_COLUMNS + ["yaw_deg", "blink_score_left"]].isna().all().all()
    flags = ["several_faces", "pose_extreme", "face_small", "jitter_high", "usable"]
    assert (absent[flags] == 0).all().all()
    present = df.iloc[[0, 2, 4]]
    assert present[SIDE_MEASURES].notna().all().all()
    np.testing.assert_allclose(present["eye_aperture_left_mm"], 10.0 * IRIS_MM / 12.0,
                               rtol=1e-5)
    np.testing.assert_allclose(df["time_s"], np.arange(5) / 30.0)


def test_recording_without_any_face_gives_nan_quietly() -> None:
    rec = make_recording([None] * 4, reference=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = measures_process(rec)
    assert (df["face_present"] == 0).all()
    assert (df["usable"] == 0).all()
    assert df[MM_COLUMNS].isna().all().all()
    assert np.isnan(df.attrs["mm_per_px"])
    assert not [str(w.message) for w in caught], "numpy warnings leak to the user's terminal"


def test_unregistered_face_frames_are_not_usable() -> None:
    """Before the refiner has a reference (eyes shut at the start), to_ref is NaN: such
    frames cannot be measured, so they must not be reported as usable."""
    tpl = face_template(iris=12.0)
    rec = make_recording([tpl] * 5, reference=2, registered=[False, False, True, True, True])
    df = measures_process(rec)
    assert df[SIDE_MEASURES].iloc[2:].notna().all().all()
    unmeasured = df[SIDE_MEASURES].isna().any(axis=1)
    assert unmeasured.tolist() == [True, True, False, False, False]
    assert (df.loc[unmeasured, "usable"] == 0).all(), "usable=1 on frames with NaN measures"


# --------------------------------------------------------------------------- container


def _assert_same(a: Recording, b: Recording) -> None:
    for name in DIMS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.blendshape_names == b.blendshape_names
    assert a.attrs == b.attrs


def test_save_load_roundtrip(tmp_path: Path) -> None:
    tpl = face_template()
    rec = make_recording([tpl, None, tpl], n_faces=[1, 0, 2])
    rec = replace(rec, attrs={**rec.attrs, "mirrored": True, "model_sha256": "ab" * 32})
    path = rec.save(tmp_path / CONTAINER_NAME)
    assert path.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name != CONTAINER_NAME]  # no temp files
    back = load_recording(path)
    _assert_same(rec, back)
    _assert_same(rec, load_recording(tmp_path))  # a folder means its landmarks.npz
    pd.testing.assert_frame_equal(measures_process(rec), measures_process(back))


def test_recording_from_a_newer_container_version_is_refused(tmp_path: Path) -> None:
    rec = make_recording([face_template()] * 2)
    path = rec.save(tmp_path / CONTAINER_NAME)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["container_version"] = CONTAINER_VERSION + 1
    newer = tmp_path / "newer.npz"
    np.savez_compressed(newer, meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(InputError, match="newer"):
        load_recording(newer)


@pytest.mark.parametrize("content", ["missing", "empty", "text", "truncated"])
def test_unreadable_container_raises_input_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / CONTAINER_NAME
    if content == "truncated":
        good = make_recording([face_template()] * 3).save(tmp_path / "good.npz").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif content != "missing":
        path.write_bytes({"empty": b"", "text": b"not a zip file at all"}[content])
    with pytest.raises(InputError):
        load_recording(path)


def test_recording_checks_frame_counts() -> None:
    rec = make_recording([face_template()] * 3)
    with pytest.raises(ValueError, match="frames"):
        replace(rec, face_present=rec.face_present[:2])
    sub = rec.isel(slice(1, 3))
    assert sub.n_frames == 2
    np.testing.assert_array_equal(sub.landmarks, rec.landmarks[1:3])
