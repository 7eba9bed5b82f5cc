"""MediaPipe Face Landmarker adapter and the per-recording container.

One :class:`Recording` holds everything the landmark model said about one clip,
with named dimensions::

    landmarks    (time, landmark, space)   478 x (x, y, z), normalised image units
    blendshapes  (time, blendshape)        52 scores in [0, 1]
    matrix       (time, row, col)          4 x 4 facial transformation matrix
    face_present (time,)                   bool
    n_faces      (time,)                   faces detected in the frame
    to_ref       (time, row, col)          2 x 3 similarity onto the reference image
    tracked      (time, point, xy)         image-tracked points (see synktrack.refine)
    tracked_ok   (time, point)             True where image tracking was used
    eye_margins  (time, eye, lid, xy)      lid margins found in the image at the iris
                                           column (eye: MediaPipe right, left; lid:
                                           upper, lower), image pixels
    eye_confidence (time, eye)             0-1 evidence behind the lid tracker's aperture
    iris_px      (time, eye)               limbus diameter found in the image, pixels

Frames without a face hold NaN. The container is saved as one compressed
``.npz`` so that analysis can be re-run without re-landmarking.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from synktrack.atomic import atomic_path
from synktrack.errors import InputError

N_LANDMARKS = 478
N_BLENDSHAPES = 52
DIMS: dict[str, tuple[str, ...]] = {
    "time_s": ("time",),
    "landmarks": ("time", "landmark", "space"),
    "blendshapes": ("time", "blendshape"),
    "matrix": ("time", "row", "col"),
    "face_present": ("time",),
    "n_faces": ("time",),
    "to_ref": ("time", "row", "col"),
    "tracked": ("time", "point", "xy"),
    "tracked_ok": ("time", "point"),
    "eye_margins": ("time", "eye", "lid", "xy"),
    "eye_confidence": ("time", "eye"),
    "iris_px": ("time", "eye"),
    "chin_neck": ("time", "region"),
}
EYE_ORDER = ("right", "left")  # MediaPipe labels, the order of the ``eye`` dimension
# Absent from version-1 containers (eye_*, iris_px) or from those before chin_neck.
_OPTIONAL = ("eye_margins", "eye_confidence", "iris_px", "chin_neck")
SPACE = ("x", "y", "z")
CONTAINER_NAME = "landmarks.npz"
CONTAINER_VERSION = 2
N_TRACKED = 8


@dataclass(frozen=True)
class Recording:
    """Landmark-model output for one recording (see module docstring for dimensions).

    ``attrs`` carries what is needed to interpret the numbers: ``width`` and
    ``height`` of the frames in pixels, ``source`` and provenance.
    """

    time_s: np.ndarray
    landmarks: np.ndarray
    blendshapes: np.ndarray
    matrix: np.ndarray
    face_present: np.ndarray
    n_faces: np.ndarray
    to_ref: np.ndarray
    tracked: np.ndarray
    tracked_ok: np.ndarray
    blendshape_names: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    eye_margins: np.ndarray = field(default_factory=lambda: np.empty(0))
    eye_confidence: np.ndarray = field(default_factory=lambda: np.empty(0))
    iris_px: np.ndarray = field(default_factory=lambda: np.empty(0))
    chin_neck: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        n = len(self.time_s)
        blank = empty_arrays(n)
        for name in _OPTIONAL:  # not measured (older container, hand-made recording)
            if getattr(self, name).size == 0 and n:
                object.__setattr__(self, name, blank[name])
        for name in DIMS:
            arr = getattr(self, name)
            if arr.shape[:1] != (n,):
                raise ValueError(f"{name} has {arr.shape[0]} frames, time has {n}")

    @property
    def n_frames(self) -> int:
        return len(self.time_s)

    @property
    def width(self) -> int:
        return int(self.attrs["width"])

    @property
    def height(self) -> int:
        return int(self.attrs["height"])

    def landmarks_px(self) -> np.ndarray:
        """Landmarks in OpenCV pixel coordinates (see :func:`to_pixels`); z * width."""
        return to_pixels(self.landmarks, self.width, self.height)

    def isel(self, index: slice | np.ndarray) -> Recording:
        """Select frames (like ``xarray.Dataset.isel(time=...)``)."""
        return replace(self, **{name: getattr(self, name)[index] for name in DIMS})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the container atomically as a compressed ``.npz``."""
        path = Path(path)
        meta = {
            "container_version": CONTAINER_VERSION,
            "dims": DIMS,
            "space": SPACE,
            "blendshape_names": list(self.blendshape_names),
            "attrs": self.attrs,
        }
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                meta=np.array(json.dumps(meta, default=str)),
                **{name: getattr(self, name) for name in DIMS},
            )
        return path


def to_pixels(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalised landmarks (..., 2 or 3) to pixel coordinates with pixel centres at integers.

    MediaPipe's 0 and 1 are the image's outer edges; OpenCV puts pixel ``j``'s
    centre at ``j``. Without the half-pixel shift a point and its mirror image
    land one pixel apart in a flipped frame.
    """
    out = landmarks.astype(np.float64).copy()
    out[..., 0] = out[..., 0] * width - 0.5
    out[..., 1] = out[..., 1] * height - 0.5
    if out.shape[-1] > 2:
        out[..., 2] *= width
    return out


def load_recording(path: str | os.PathLike[str]) -> Recording:
    """Load a container written by :meth:`Recording.save`."""
    path = Path(path)
    if path.is_dir():
        path = path / CONTAINER_NAME
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in DIMS if name in data or name not in _OPTIONAL}
    except FileNotFoundError as err:
        raise InputError(f"no landmark container at {path}: run `synktrack analyze` first") from err
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path} is not a synktrack landmark container ({err})") from err
    if meta.get("container_version", 0) > CONTAINER_VERSION:
        raise InputError(f"{path} was written by a newer synktrack: upgrade synktrack to read it")
    return Recording(
        **arrays, blendshape_names=tuple(meta["blendshape_names"]), attrs=meta["attrs"]
    )


def empty_arrays(n: int) -> dict[str, np.ndarray]:
    """NaN-filled arrays for ``n`` frames, ready to be filled frame by frame."""
    return {
        "time_s": np.full(n, np.nan),
        "landmarks": np.full((n, N_LANDMARKS, 3), np.nan, dtype=np.float32),
        "blendshapes": np.full((n, N_BLENDSHAPES), np.nan, dtype=np.float32),
        "matrix": np.full((n, 4, 4), np.nan, dtype=np.float32),
        "face_present": np.zeros(n, dtype=bool),
        "n_faces": np.zeros(n, dtype=np.int8),
        "to_ref": np.full((n, 2, 3), np.nan),
        "tracked": np.full((n, N_TRACKED, 2), np.nan),
        "tracked_ok": np.zeros((n, N_TRACKED), dtype=bool),
        "eye_margins": np.full((n, 2, 2, 2), np.nan),
        "eye_confidence": np.full(n, np.nan)[:, None].repeat(2, axis=1),
        "iris_px": np.full((n, 2), np.nan),
        "chin_neck": np.full((n, 4), np.nan, dtype=np.float32),  # see chin_neck.REGIONS
    }


@dataclass
class FaceResult:
    """The followed face of one frame (``None`` fields when no face)."""

    landmarks: np.ndarray | None
    blendshapes: np.ndarray | None
    matrix: np.ndarray | None
    n_faces: int
    blendshape_names: tuple[str, ...] = ()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C++ log lines (``W0000 ...``) that MediaPipe prints on file descriptor 2."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(fd, 2)
    finally:
        os.close(fd)


class FaceTracker:
    """Choose one face per frame and follow it consistently.

    The first choice is the largest, most central face; afterwards the face
    nearest to the previously followed one is kept, so a second person
    walking through does not steal the measurement.
    """

    def __init__(self) -> None:
        self._last: np.ndarray | None = None

    def choose(self, faces: list[np.ndarray]) -> int:
        centres = np.array([f[:, :2].mean(axis=0) for f in faces])
        sizes = np.array([np.ptp(f[:, 0]) * np.ptp(f[:, 1]) for f in faces])
        if self._last is None:
            off_centre = np.linalg.norm(centres - 0.5, axis=1)
            score = np.sqrt(sizes) - off_centre
        else:
            score = -np.linalg.norm(centres - self._last, axis=1)
        idx = int(np.argmax(score))
        self._last = centres[idx]
        return idx

    def lost(self) -> None:
        self._last = None


class Landmarker:
    """VIDEO-mode MediaPipe FaceLandmarker for one clip.

    Timestamps must strictly increase (integer milliseconds); a call after
    :meth:`close` raises instead of silently returning no face. Not picklable:
    build one per clip and per worker process.

    Parameters
    ----------
    model_path
        Verified ``face_landmarker.task`` (see :func:`synktrack.model.resolve_model`).
    max_faces
        Faces the model looks for; more than one lets us notice several faces
        and follow the right one.
    min_confidence
        Detection, presence and tracking confidence.
    """

    def __init__(self, model_path: str | os.PathLike[str], *, max_faces: int = 2,
                 min_confidence: float = 0.5) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=os.fspath(model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=max_faces,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with quiet_stderr():
            self._task = vision.FaceLandmarker.create_from_options(options)
        self._closed = False
        self._first = True
        self._last_ms = -1
        self._tracker = FaceTracker()
        self.blendshape_names: tuple[str, ...] = ()

    def __enter__(self) -> Landmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError("a Landmarker cannot be pickled: build one inside each worker")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._task.close()

    def timestamp_ms(self, time_s: float) -> int:
        """Integer ms for ``time_s``, nudged so that it strictly increases."""
        ms = max(int(round(time_s * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        return ms

    def process(self, image: np.ndarray, time_s: float) -> FaceResult:
        """Landmark one RGB frame taken at ``time_s`` seconds."""
        if self._closed:
            raise RuntimeError("this Landmarker is closed; build a new one for the next clip")
        import mediapipe as mp

        ms = self.timestamp_ms(time_s)
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        if self._first:  # the first inference prints C++ log lines too
            self._first = False
            with quiet_stderr():
                result = self._task.detect_for_video(mp_image, ms)
        else:
            result = self._task.detect_for_video(mp_image, ms)
        faces = result.face_landmarks
        if not faces:
            self._tracker.lost()
            return FaceResult(None, None, None, 0)
        arrays = [np.array([(p.x, p.y, p.z) for p in face], dtype=np.float32) for face in faces]
        idx = self._tracker.choose(arrays)
        shapes = result.face_blendshapes[idx]
        if not self.blendshape_names:
            self.blendshape_names = tuple(c.category_name for c in shapes)
        return FaceResult(
            landmarks=arrays[idx],
            blendshapes=np.array([c.score for c in shapes], dtype=np.float32),
            matrix=np.asarray(result.facial_transformation_matrixes[idx], dtype=np.float32),
            n_faces=len(arrays),
            blendshape_names=self.blendshape_names,
        )


class RecordingBuilder:
    """Collect per-frame :class:`FaceResult` into a :class:`Recording`."""

    def __init__(self, capacity: int = 256) -> None:
        self._arrays = empty_arrays(max(capacity, 1))
        self._n = 0
        self.blendshape_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return self._n

    def append(self, time_s: float, face: FaceResult,
               refined: tuple[np.ndarray, ...] | None = None,
               chin_neck: np.ndarray | None = None) -> None:
        if self._n == len(self._arrays["time_s"]):
            grown = empty_arrays(2 * self._n)
            for name, arr in self._arrays.items():
                grown[name][: self._n] = arr
            self._arrays = grown
        i = self._n
        a = self._arrays
        a["time_s"][i] = time_s
        a["n_faces"][i] = face.n_faces
        if face.landmarks is not None:
            a["face_present"][i] = True
            a["landmarks"][i] = face.landmarks
            a["blendshapes"][i] = face.blendshapes
            a["matrix"][i] = face.matrix
            self.blendshape_names = face.blendshape_names
        if refined is not None:
            a["to_ref"][i], a["tracked"][i], a["tracked_ok"][i] = refined[:3]
            if len(refined) > 3:
                a["eye_margins"][i], a["eye_confidence"][i], a["iris_px"][i] = refined[3:]
        if chin_neck is not None:
            a["chin_neck"][i] = chin_neck
        self._n += 1

    def build(self, attrs: dict[str, Any]) -> Recording:
        arrays = {name: arr[: self._n].copy() for name, arr in self._arrays.items()}
        names = self.blendshape_names or tuple(f"blendshape_{i}" for i in range(N_BLENDSHAPES))
        return Recording(**arrays, blendshape_names=names, attrs=dict(attrs))
