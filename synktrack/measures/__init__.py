"""Per-frame measures: a :class:`~synktrack.landmarks.Recording` in, a tidy table out.

All functions here are pure. Sides are the patient's own, fixed once here
(``mirrored`` swaps MediaPipe's labels). Lengths are in millimetres, scaled
by the iris once per recording and compensated for head pose and distance by
the head-fixed frame (:mod:`synktrack.measures.geometry`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from synktrack.landmarks import EYE_ORDER, Recording
from synktrack.measures import brows, eyes, mouth
from synktrack.measures.geometry import HeadFrame, head_frame
from synktrack.measures.ids import RIGID, SIDES, TRACKED, side_ids
from synktrack.measures.pose import yaw_pitch_roll
from synktrack.measures.scale import IRIS_DIAMETER_MM, image_mm_per_px, mm_per_px

__all__ = ["COLUMNS", "MeasureSettings", "measures_process", "head_frame_of"]


@dataclass(frozen=True)
class MeasureSettings:
    """Quality limits for the per-frame flags.

    ``min_eye_confidence``: frames whose lid fit (``eye_confidence_*``) is below
    it get no ``eye_aperture_*`` value (NaN), so no index averages them as if
    they were measured; the landmark and margin columns keep theirs.
    """

    max_yaw_deg: float = 20.0
    max_pitch_deg: float = 20.0
    max_roll_deg: float = 25.0
    min_face_width_px: float = 80.0
    max_jitter_mm: float = 1.0
    min_eye_confidence: float = 0.5

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


COLUMNS: dict[str, str] = {
    "frame": "0-based frame number in the clip",
    "time_s": "presentation time of the frame from the container, first frame = 0 (s)",
    "face_present": "1 if a face was found and measured in this frame",
    "n_faces": "number of faces the model found (the largest, most central one is followed)",
    **{
        f"eye_aperture_{s}_mm": f"palpebral fissure height of the patient's {s} eye at its "
        "centre, lid margins found in the image, blended with the landmarks where the eye is "
        "shut or the image fit is poor (mm)"
        for s in SIDES
    },
    **{
        f"eye_aperture_landmarks_{s}_mm": "the same from MediaPipe's lid landmarks alone, "
        "kept for comparison (mm)"
        for s in SIDES
    },
    **{
        f"eye_aperture_margins_{s}_mm": f"the {s} eye's lid margins located afresh in the "
        "image at the iris column, every few frames (absolute, no template, no landmark "
        "prior; a diagnostic, not yet as reliable as eye_aperture) (mm)"
        for s in SIDES
    },
    **{
        f"eye_confidence_{s}": f"0-1 fit of the {s} eye's lid model to this frame's image "
        "(empty while there is no open-eye template yet); below the limit in session.json "
        "the frame has no eye_aperture value, so no index averages it"
        for s in SIDES
    },
    **{f"eye_area_{s}_mm2": f"area of the {s} eye opening (mm^2)" for s in SIDES},
    **{
        f"mouth_corner_{s}_{axis}_mm": desc.format(s=s)
        for s in SIDES
        for axis, desc in (
            ("x", "{s} mouth corner, lateral distance from the facial midline "
                  "(positive = away from the midline) (mm)"),
            ("y", "{s} mouth corner height relative to the nasion "
                  "(positive = up; resting values are negative) (mm)"),
        )
    },
    **{
        f"brow_height_{s}_mm": f"{s} brow height above the line between that eye's corners (mm)"
        for s in SIDES
    },
    **{f"blink_score_{s}": f"MediaPipe eyeBlink blendshape for the patient's {s} eye (0-1)"
       for s in SIDES},
    **{f"smile_score_{s}": f"MediaPipe mouthSmile blendshape for the patient's {s} side (0-1)"
       for s in SIDES},
    **{f"{part}_texture_{s}": f"fine texture of the patient's {s} {where} (SD of the Laplacian "
       "over mean brightness, region resampled to a fixed size; empty when not in frame)"
       for part, where in (("chin", "chin half"), ("neck", "upper neck")) for s in SIDES},
    "yaw_deg": "head yaw; positive = face turned towards the patient's left (deg)",
    "pitch_deg": "head pitch; positive = chin up (deg)",
    "roll_deg": "head roll; positive = tilted towards the patient's right shoulder (deg)",
    "face_width_px": "face width in the image (pixels)",
    "scale_mm_per_px": "image millimetres per pixel in this frame (iris-based, pose compensated)",
    "landmark_jitter_mm": "RMS misfit of the rigid landmarks to the head-fixed frame (mm)",
    "several_faces": "1 if more than one face was in the frame",
    "pose_extreme": "1 if yaw, pitch or roll is beyond the limits in session.json",
    "face_small": "1 if the face is too small in the image for millimetre measures",
    "jitter_high": "1 if the landmarks jitter more than the limit",
    "usable": "1 if the face is present and measured and no quality flag (pose, size, jitter) "
    "is set; several faces alone do not make a frame unusable (the followed face is measured)",
}


def head_frame_of(rec: Recording, mirrored: bool = False, refined: bool = True) -> HeadFrame:
    """Head-fixed landmarks for a recording (image-tracked points substituted if ``refined``)."""
    pts = rec.landmarks_px()[:, :, :2]
    if refined:
        ids = list(TRACKED.values())
        pts[:, ids] = np.where(np.isfinite(rec.tracked), rec.tracked, pts[:, ids])
    ref = rec.attrs.get("reference_frame")
    if ref is None:
        nan = np.full(rec.n_frames, np.nan)
        return HeadFrame(np.full_like(pts, np.nan), nan)
    offset = rec.attrs.get("mirror_offset_px") if refined else None
    return head_frame(pts, rec.to_ref, int(ref), rec.width, mirrored, _foreshortening(rec),
                      None if offset is None else np.asarray(offset, dtype=np.float64))


def _foreshortening(rec: Recording) -> tuple[float, float]:
    """cos(yaw) and cos(pitch) of the reference frame.

    Where the reference was also landmarked mirrored (``attrs["mirror_pose_deg"]``),
    the mean over both poses: the model's pose is not flip-symmetric either, and
    cos(pitch) scales every vertical distance.
    """
    ref = int(rec.attrs["reference_frame"])
    poses = [yaw_pitch_roll(rec.matrix[ref : ref + 1])[0]]
    mirror = rec.attrs.get("mirror_pose_deg")
    if mirror is not None:
        poses.append(np.asarray(mirror, dtype=np.float64))
    cos = np.cos(np.radians(np.array(poses)[:, :2]))
    cos = cos[np.isfinite(cos).all(axis=1)]
    if not len(cos):
        return float("nan"), float("nan")
    mean = cos.mean(axis=0)
    return float(mean[0]), float(mean[1])


def _jitter_px(points: np.ndarray) -> np.ndarray:
    """(time,) RMS high-frequency motion of the rigid points (frame minus 5-frame median)."""
    from scipy.ndimage import median_filter

    rigid = points[:, list(RIGID)]
    smooth = median_filter(np.nan_to_num(rigid), size=(5, 1, 1), mode="nearest")
    out = np.sqrt(((rigid - smooth) ** 2).sum(axis=2).mean(axis=1))
    return out


def measures_process(rec: Recording, mirrored: bool = False,
                     settings: MeasureSettings | None = None) -> pd.DataFrame:
    """Per-frame measures on the patient's left and right.

    Parameters
    ----------
    rec
        Landmarks of one recording.
    mirrored
        True for selfie-style (mirrored) video: the patient's right is on the image's right.
    settings
        Quality limits.

    Returns
    -------
    pandas.DataFrame
        One row per frame with the columns documented in :data:`COLUMNS`;
        ``df.attrs`` holds the recording's mm scale.
    """
    settings = settings or MeasureSettings()
    hf = head_frame_of(rec, mirrored)
    pts = hf.points
    lm_pts = head_frame_of(rec, mirrored, refined=False).points
    labels = side_ids(mirrored)
    mean_aperture = (eyes.aperture_px(lm_pts, "left") + eyes.aperture_px(lm_pts, "right")) / 2
    margins = _margins_head(rec, mirrored)
    eye_col = {side: EYE_ORDER.index(labels[side]) for side in SIDES}
    iris_head = rec.iris_px / hf.scale[:, None]
    k, iris_spread, iris_n = image_mm_per_px(iris_head, mean_aperture)
    scale_source = "limbus found in the image"
    if not np.isfinite(k):
        k, iris_spread, iris_n = mm_per_px(lm_pts, mean_aperture), float("nan"), 0
        scale_source = "MediaPipe iris landmarks"

    cols: dict[str, np.ndarray] = {
        "frame": np.arange(rec.n_frames),
        "time_s": rec.time_s,
        "face_present": rec.face_present.astype(int),
        "n_faces": rec.n_faces.astype(int),
    }
    for side in SIDES:
        conf = rec.eye_confidence[:, eye_col[side]]
        ap = eyes.centre_aperture_px(pts, labels[side]) * k
        with np.errstate(invalid="ignore"):
            cols[f"eye_aperture_{side}_mm"] = np.where(conf < settings.min_eye_confidence,
                                                       np.nan, ap)
    for side in SIDES:
        cols[f"eye_aperture_landmarks_{side}_mm"] = eyes.centre_aperture_px(
            lm_pts, labels[side]) * k
    for side in SIDES:
        m = margins[:, eye_col[side]]
        cols[f"eye_aperture_margins_{side}_mm"] = np.clip(m[:, 0, 1] - m[:, 1, 1], 0, None) * k
    for side in SIDES:
        cols[f"eye_confidence_{side}"] = rec.eye_confidence[:, eye_col[side]]
    for side in SIDES:
        cols[f"eye_area_{side}_mm2"] = eyes.area_px2(pts, labels[side]) * k**2
    for side in SIDES:
        x, y = mouth.corner_px(pts, labels[side], side)
        cols[f"mouth_corner_{side}_x_mm"] = x * k
        cols[f"mouth_corner_{side}_y_mm"] = y * k
    for side in SIDES:
        cols[f"brow_height_{side}_mm"] = brows.height_px(pts, labels[side]) * k
    names = list(rec.blendshape_names)
    for side in SIDES:
        cols[f"blink_score_{side}"] = _blendshape(rec, names, "eyeBlink", labels[side])
    for side in SIDES:
        cols[f"smile_score_{side}"] = _blendshape(rec, names, "mouthSmile", labels[side])
    from synktrack.chin_neck import REGIONS  # here: chin_neck itself imports measures.ids

    for part in ("chin", "neck"):
        for side in SIDES:
            cols[f"{part}_texture_{side}"] = rec.chin_neck[
                :, REGIONS.index(f"{part}_{labels[side]}")].astype(float)
    ypr = yaw_pitch_roll(rec.matrix, mirrored)
    cols["yaw_deg"], cols["pitch_deg"], cols["roll_deg"] = ypr[:, 0], ypr[:, 1], ypr[:, 2]
    raw = rec.landmarks_px()
    cols["face_width_px"] = np.ptp(raw[:, :, 0], axis=1)
    cols["scale_mm_per_px"] = k / hf.scale
    cols["landmark_jitter_mm"] = _jitter_px(hf.points) * k

    present = rec.face_present
    # A face seen before the image reference exists cannot be put in the head frame.
    registered = np.isfinite(rec.to_ref).all(axis=(1, 2))
    with np.errstate(invalid="ignore"):
        flags = {
            "several_faces": rec.n_faces > 1,
            "pose_extreme": (np.abs(ypr[:, 0]) > settings.max_yaw_deg)
            | (np.abs(ypr[:, 1]) > settings.max_pitch_deg)
            | (np.abs(ypr[:, 2]) > settings.max_roll_deg),
            "face_small": cols["face_width_px"] < settings.min_face_width_px,
            "jitter_high": cols["landmark_jitter_mm"] > settings.max_jitter_mm,
        }
    for name, flag in flags.items():
        cols[name] = (flag & present).astype(int)
    bad = flags["pose_extreme"] | flags["face_small"] | flags["jitter_high"]
    cols["usable"] = (present & registered & ~bad).astype(int)
    df = pd.DataFrame(cols)
    df.attrs["mm_per_px"] = k
    df.attrs["iris_diameter_mm"] = IRIS_DIAMETER_MM
    df.attrs["scale_source"] = scale_source
    df.attrs["iris_spread_pct"] = iris_spread
    df.attrs["iris_frames"] = iris_n
    return df


def _margins_head(rec: Recording, mirrored: bool) -> np.ndarray:
    """(time, eye, lid, xy) image-found lid margins in the head-fixed frame."""
    ref = rec.attrs.get("reference_frame")
    n = rec.n_frames
    if ref is None:
        return np.full((n, 2, 2, 2), np.nan)
    pts = np.concatenate([rec.landmarks_px()[:, :, :2], rec.eye_margins.reshape(n, 4, 2)],
                         axis=1)
    hf = head_frame(pts, rec.to_ref, int(ref), rec.width, mirrored, _foreshortening(rec))
    return hf.points[:, -4:].reshape(n, 2, 2, 2)


def _blendshape(rec: Recording, names: list[str], stem: str, label: str) -> np.ndarray:
    """A left/right blendshape by MediaPipe label (its names follow the subject's sides)."""
    name = f"{stem}{label.capitalize()}"
    if name not in names:
        return np.full(rec.n_frames, np.nan)
    return rec.blendshapes[:, names.index(name)].astype(np.float64)

