"""Live framing feedback: is the face centred, large enough, straight and evenly lit?

The page posts small JPEG snapshots a few times per second; each one goes
through the landmark model and :func:`assess_framing` turns the result into
short, kind instructions. The camera preview is shown mirrored, so left and
right in the messages are the patient's as seen in a mirror.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from synktrack.errors import InputError
from synktrack.landmarks import Landmarker
from synktrack.measures.pose import yaw_pitch_roll


@dataclass(frozen=True)
class FramingLimits:
    """When framing is good enough to start (fractions of the image, degrees, grey levels)."""

    max_off_centre_x: float = 0.14
    max_off_centre_y: float = 0.16
    min_face_width: float = 0.22
    max_face_width: float = 0.75
    max_yaw_deg: float = 12.0
    max_pitch_deg: float = 15.0
    max_roll_deg: float = 10.0
    min_brightness: float = 60.0
    max_brightness: float = 215.0
    min_side_light_ratio: float = 0.65


@dataclass(frozen=True)
class Check:
    """One framing check and what to do about it."""

    name: str
    ok: bool
    message: str


def assess_framing(landmarks: np.ndarray | None, matrix: np.ndarray | None, gray: np.ndarray,
                   n_faces: int = 1, limits: FramingLimits | None = None) -> dict[str, Any]:
    """Framing checks for one snapshot.

    Parameters
    ----------
    landmarks
        (478, 3) normalised landmarks of the followed face, or None.
    matrix
        4 x 4 facial transformation matrix, or None.
    gray
        The snapshot in grey levels (for the light check).
    n_faces
        Faces in view.
    limits
        Thresholds.

    Returns
    -------
    dict
        ``ok`` (all checks pass), ``face`` (a face was found), ``message`` (the
        first thing to fix, or a go-ahead), ``checks`` (name, ok, message) and
        ``pose`` (yaw, pitch, roll in degrees).
    """
    lim = limits or FramingLimits()
    if landmarks is None:
        msg = "We cannot see your face yet. Sit facing the camera, in good light."
        return {"ok": False, "face": False, "message": msg,
                "checks": [asdict(Check("face", False, msg))], "pose": None}
    x, y = landmarks[:, 0], landmarks[:, 1]
    cx, cy = float((x.min() + x.max()) / 2), float((y.min() + y.max()) / 2)
    width = float(np.ptp(x))
    checks = [_centre_check(cx, cy, lim), _size_check(width, lim)]
    ypr = yaw_pitch_roll(np.asarray(matrix, dtype=np.float64)[None])[0] \
        if matrix is not None else np.full(3, np.nan)
    checks.append(_pose_check(ypr, lim))
    checks.append(_light_check(gray, landmarks, lim))
    if n_faces > 1:
        checks.append(Check("one_face", False,
                            "We see more than one face. Please be the only one in view."))
    ok = all(c.ok for c in checks)
    first = next((c.message for c in checks if not c.ok), "That looks good. Stay like this.")
    pose = [round(float(v), 1) if np.isfinite(v) else None for v in ypr]
    return {"ok": ok, "face": True, "message": first, "checks": [asdict(c) for c in checks],
            "pose": {"yaw": pose[0], "pitch": pose[1], "roll": pose[2]},
            "box": [round(float(x.min()), 3), round(float(y.min()), 3),
                    round(float(x.max()), 3), round(float(y.max()), 3)]}


def _centre_check(cx: float, cy: float, lim: FramingLimits) -> Check:
    # The preview is a mirror: the face on the image's left appears on the right.
    mx = 1.0 - cx
    if mx < 0.5 - lim.max_off_centre_x:
        return Check("centred", False, "Move a little to your right, into the middle.")
    if mx > 0.5 + lim.max_off_centre_x:
        return Check("centred", False, "Move a little to your left, into the middle.")
    if cy < 0.47 - lim.max_off_centre_y:
        return Check("centred", False, "Tilt the camera up a little, or sit a little lower.")
    if cy > 0.47 + lim.max_off_centre_y:
        return Check("centred", False, "Tilt the camera down a little, or sit a little higher.")
    return Check("centred", True, "Your face is in the middle.")


def _size_check(width: float, lim: FramingLimits) -> Check:
    if width < lim.min_face_width:
        return Check("size", False, "Come a little closer to the camera.")
    if width > lim.max_face_width:
        return Check("size", False, "Move back a little from the camera.")
    return Check("size", True, "Your face is a good size.")


def _pose_check(ypr: np.ndarray, lim: FramingLimits) -> Check:
    yaw, pitch, roll = (float(v) for v in ypr)
    if not np.isfinite(ypr).all():
        return Check("straight", True, "Head position not measured.")
    if abs(yaw) > lim.max_yaw_deg:
        return Check("straight", False, "Turn your head to look straight at the camera.")
    if abs(pitch) > lim.max_pitch_deg:
        what = "Lower your chin a little." if pitch > 0 else "Lift your chin a little."
        return Check("straight", False, what)
    if abs(roll) > lim.max_roll_deg:
        return Check("straight", False, "Hold your head upright, not tilted.")
    return Check("straight", True, "Your head is straight.")


def _light_check(gray: np.ndarray, landmarks: np.ndarray, lim: FramingLimits) -> Check:
    h, w = gray.shape[:2]
    x0, x1 = (np.clip([landmarks[:, 0].min(), landmarks[:, 0].max()], 0, 1) * w).astype(int)
    y0, y1 = (np.clip([landmarks[:, 1].min(), landmarks[:, 1].max()], 0, 1) * h).astype(int)
    face = gray[y0:y1, x0:x1]
    if face.size < 16:
        return Check("light", True, "Light not measured.")
    mid = face.shape[1] // 2
    left, right = float(face[:, :mid].mean()), float(face[:, mid:].mean())
    mean = float(face.mean())
    if mean < lim.min_brightness:
        return Check("light", False, "It is a bit dark. Face a window or a lamp.")
    if mean > lim.max_brightness:
        return Check("light", False, "It is very bright. Move away from direct light.")
    if min(left, right) / max(left, right, 1e-6) < lim.min_side_light_ratio:
        return Check("light", False, "One side of your face is in shadow. Face the light.")
    return Check("light", True, "The light is even.")


class FramingChecker:
    """Landmark JPEG snapshots one at a time (thread-safe) and assess their framing.

    Parameters
    ----------
    model_path
        Verified face landmarker model.
    limits
        Thresholds for :func:`assess_framing`.
    """

    def __init__(self, model_path: str | os.PathLike[str],
                 limits: FramingLimits | None = None) -> None:
        self._model_path = model_path
        self._limits = limits or FramingLimits()
        self._lock = threading.Lock()
        self._landmarker: Landmarker | None = None
        self._t0 = time.monotonic()

    def check_jpeg(self, data: bytes) -> dict[str, Any]:
        """Assess one JPEG (or PNG) snapshot.

        Raises
        ------
        InputError
            The bytes are not a decodable image.
        """
        size = _image_size(data)
        if size is None:
            raise InputError("the snapshot is not a readable image")
        if size[0] * size[1] > MAX_SNAPSHOT_PIXELS:
            raise InputError(f"the snapshot is {size[0]}x{size[1]} pixels or more; at most "
                             f"{MAX_SNAPSHOT_PIXELS // 1_000_000} megapixels are checked")
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError("the snapshot is not a readable image")
        return self.check_rgb(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def check_rgb(self, rgb: np.ndarray) -> dict[str, Any]:
        """Assess one RGB frame."""
        with self._lock:
            if self._landmarker is None:
                self._landmarker = Landmarker(self._model_path, max_faces=2)
            face = self._landmarker.process(rgb, time.monotonic() - self._t0)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return assess_framing(face.landmarks, face.matrix, gray, face.n_faces, self._limits)

    def close(self) -> None:
        with self._lock:
            if self._landmarker is not None:
                self._landmarker.close()
                self._landmarker = None


MAX_SNAPSHOT_PIXELS = 4096 * 4096  # a webcam snapshot is far smaller; refuse decoding bombs


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header alone, without decoding the pixels."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:
                return int(img.size[0]), int(img.size[1])
    except Image.DecompressionBombError:  # PIL's own cap, far above ours
        return (MAX_SNAPSHOT_PIXELS + 1, 1)
    except Exception:  # noqa: BLE001  any unreadable header is "not an image"
        return None
