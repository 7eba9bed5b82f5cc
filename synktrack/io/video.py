"""Frame sources with true per-frame timestamps: video files, still images, cameras.

Everything here is about pixels and time; nothing knows about faces. Every source yields
:class:`Frame` objects whose ``time_s`` is the presentation time from the container (video),
``index / image_fps`` (images) or the monotonic clock (cameras), always strictly increasing
and 0.0 on the first frame. Images are RGB ``uint8`` with orientation metadata already applied.

Bad input raises :class:`~synktrack.errors.InputError` with a one-line message, as early as
possible: :func:`open_source` decodes the first frame before returning.
"""

from __future__ import annotations

import math
import os
import re
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import av
import av.error
import cv2
import numpy as np
from av.sidedata.sidedata import Type as SideDataType

from synktrack.errors import InputError
from synktrack.provenance import sha256_file

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "CameraLostError",
    "CameraSource",
    "Frame",
    "FrameSource",
    "ImageSource",
    "VideoSource",
    "apply_orientation",
    "file_sha256",
    "open_source",
    "orientation_from_matrix",
]

VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".gif", ".mpg", ".mpeg",
        ".ts", ".mts", ".m2ts", ".3gp", ".3g2", ".wmv", ".asf", ".flv", ".ogv", ".y4m", ".mxf",
    }
)  # fmt: skip
"""File name suffixes (lower case, with the dot) decoded as video with PyAV."""

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp"}
)
"""File name suffixes (lower case, with the dot) read as still images with OpenCV."""

_NUDGE_S = 0.001  # added to a repeated/backward timestamp to keep times strictly increasing
_DEFAULT_FPS = 30.0  # frame duration assumed when a video gives no rate at all
_NOT_VIDEO_FORMATS = frozenset({"tty"})  # FFmpeg renders .txt/.nfo files as "video"


class CameraLostError(InputError):
    """The camera stopped delivering frames in the middle of a recording.

    Raised by :meth:`CameraSource.frames` after every frame read so far has been yielded,
    so callers that collected them keep a partial recording.
    """


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded picture and when it was shown.

    Attributes
    ----------
    index : int
        0-based number of the frame in decoding (= presentation) order.
    time_s : float
        Presentation time in seconds relative to the first frame (which is 0.0).
    image : numpy.ndarray
        RGB ``uint8`` array of shape ``(height, width, 3)``, C-contiguous, with the
        container's rotation/mirror metadata (or JPEG EXIF orientation) already applied.
    """

    index: int
    time_s: float
    image: np.ndarray


class FrameSource(ABC):
    """A stream of :class:`Frame` objects; use as a context manager.

    Attributes
    ----------
    kind : str
        ``"video"``, ``"images"`` or ``"camera"``.
    path : pathlib.Path or None
        File or folder read (``None`` for a camera given by number).
    width, height : int
        Frame size in pixels after rotation.
    n_frames : int or None
        Best estimate of the number of frames :meth:`frames` yields (capped by
        ``max_frames``); ``None`` when unknown (cameras, some streamed files).
    fps_nominal : float or None
        Nominal frame rate announced by the container (``image_fps`` for images, the
        driver's rate for cameras); timestamps never rely on it except as a fallback.
    rotation_deg : int
        Counter-clockwise rotation applied to the decoded pictures (0, 90, 180 or 270),
        i.e. ``np.rot90(image, rotation_deg // 90)``.
    mirror_applied : bool
        True if the container's display matrix also asked for a left-right mirror, which
        was applied after the rotation (nothing to do with a selfie-mirrored recording).
    """

    kind: str
    path: Path | None
    width: int
    height: int
    n_frames: int | None
    fps_nominal: float | None
    rotation_deg: int = 0
    mirror_applied: bool = False

    @abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield frames in presentation order, with strictly increasing ``time_s``.

        Returns
        -------
        Iterator[Frame]
            At most ``max_frames`` frames. Files start again from the beginning on each
            call; a camera continues its live stream.

        Raises
        ------
        InputError
            If the input turns out to be unusable while reading.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the file or device; safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path if self.path is not None else getattr(self, "device", None)
        return (
            f"<{type(self).__name__} {where} {self.width}x{self.height} "
            f"n_frames={self.n_frames} fps={self.fps_nominal} rotation={self.rotation_deg}>"
        )


# --------------------------------------------------------------------------- orientation


def orientation_from_matrix(matrix: Sequence[int]) -> tuple[int, bool]:
    """Read rotation and mirroring from an FFmpeg display matrix.

    Parameters
    ----------
    matrix : sequence of int
        The 9 ``int32`` values of ``AV_FRAME_DATA_DISPLAYMATRIX`` (16.16 fixed point).
        It maps a source point ``(x, y)`` (y pointing down) to the displayed point
        ``(a*x + c*y, b*x + d*y)`` with ``a, b, _, c, d = matrix[:5]``.

    Returns
    -------
    rotation_deg : int
        Counter-clockwise rotation (0, 90, 180 or 270) to apply first; other angles are
        rounded to the nearest right angle.
    mirrored : bool
        Whether a left-right mirror must be applied after the rotation. Every mirrored
        matrix (including a vertical flip) is expressed this way.
    """
    a, b, c, d = (float(matrix[i]) for i in (0, 1, 3, 4))
    mirrored = a * d - b * c < 0
    if mirrored:  # remove the trailing horizontal mirror: it negates the output x row
        a, c = -a, -c
    if a == 0 and b == 0:
        return 0, mirrored
    angle = math.degrees(math.atan2(-b, a))
    return int(round(angle / 90.0)) % 4 * 90, mirrored


def apply_orientation(image: np.ndarray, rotation_deg: int, mirrored: bool = False) -> np.ndarray:
    """Rotate counter-clockwise by ``rotation_deg`` then mirror left-right if asked.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, C)`` array as decoded.
    rotation_deg : int
        Multiple of 90 degrees, counter-clockwise.
    mirrored : bool, optional
        Flip left-right after rotating.

    Returns
    -------
    numpy.ndarray
        A C-contiguous array (the input itself when nothing is to be done).
    """
    k = (rotation_deg // 90) % 4
    if k:
        image = np.rot90(image, k)
    if mirrored:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def _frame_orientation(av_frame: av.VideoFrame) -> tuple[int, bool]:
    """Rotation and mirror asked for by a decoded frame's display matrix."""
    side_data = cast("Mapping[Any, Any]", av_frame.side_data)  # the stub's TypedDict is wrong
    if SideDataType.DISPLAYMATRIX not in side_data:
        return 0, False
    values = np.frombuffer(bytes(side_data[SideDataType.DISPLAYMATRIX]), dtype=np.int32)
    if values.size != 9:  # unexpected layout: fall back to FFmpeg's own reading
        return int(round(av_frame.rotation / 90.0)) % 4 * 90, False
    return orientation_from_matrix(values.tolist())


# --------------------------------------------------------------------------- timestamps


class _Clock:
    """Turn container timestamps into strictly increasing seconds from the first frame.

    A missing pts continues from the previous time plus the nominal frame duration; a
    repeated or backward pts is nudged 1 ms after the previous time. Later valid pts are
    still read against the first valid one, so one bad stamp does not shift the rest.
    """

    def __init__(self, nominal_dt: float) -> None:
        self.nominal_dt = nominal_dt
        self.repaired = 0
        self._prev: float | None = None
        self._anchor: tuple[int, float] | None = None  # (pts, seconds) of first valid pts

    def time_of(self, pts: int | None, time_base: Fraction | None) -> float:
        """Seconds since the first frame for a frame with this ``pts``."""
        prev = self._prev
        if pts is None or not time_base:
            t = 0.0 if prev is None else prev + self.nominal_dt
            if prev is not None:
                self.repaired += 1
        else:
            if self._anchor is None:
                self._anchor = (pts, 0.0 if prev is None else prev + self.nominal_dt)
            pts0, t0 = self._anchor
            t = t0 + float((pts - pts0) * time_base)
            if prev is not None and t <= prev:
                t = prev + _NUDGE_S
                self.repaired += 1
        self._prev = t
        return t


# --------------------------------------------------------------------------- video files


def _rate(value: Fraction | None) -> float | None:
    return float(value) if value else None


class VideoSource(FrameSource):
    """A video file decoded with PyAV (FFmpeg), timestamps from the container.

    Parameters
    ----------
    path : pathlib.Path
        An existing, non-empty file.
    max_frames : int or None, optional
        Stop after this many frames.

    Raises
    ------
    InputError
        If the file cannot be opened, has no video stream or yields no frame.
    """

    kind = "video"

    def __init__(self, path: Path, *, max_frames: int | None = None) -> None:
        self.path = path
        self._max_frames = max_frames
        self._closed = False
        self._running: list[Generator[Frame, None, None]] = []
        container, stream = self._open()
        try:
            self.fps_nominal = (
                _rate(stream.average_rate) or _rate(stream.guessed_rate)
                or _rate(stream.base_rate)
            )  # fmt: skip
            self.n_frames = _estimate_frames(container, stream, self.fps_nominal, max_frames)
            self._announced = int(stream.frames) or None  # only an explicit count is trusted
            self.codec = stream.codec_context.name
            self.container_format = container.format.name
        except BaseException:
            container.close()
            raise
        frames = self._decode(container, stream)
        first = next(frames)  # raises InputError when nothing decodes; closes the container
        self.height, self.width = first.image.shape[:2]
        self._pending: tuple[Frame, Generator[Frame, None, None]] | None = (first, frames)

    def _open(self) -> tuple[Any, Any]:
        path = self.path
        assert path is not None
        try:
            container = av.open(str(path), mode="r")
        except av.error.PermissionError as exc:
            raise InputError(
                f"{path}: cannot be read (permission denied); check its permissions"
            ) from exc
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise InputError(
                f"{path}: not a readable video ({reason}); the file is corrupt, truncated or "
                "not a video: re-export it as MP4 (H.264) or record it again"
            ) from exc
        if container.format.name in _NOT_VIDEO_FORMATS or not container.streams.video:
            if container.format.name in _NOT_VIDEO_FORMATS:
                what = "is a text file, not a video"
            else:
                what = "has no video stream (audio only?)"
            container.close()
            raise InputError(f"{path}: {what}; give a video file (mp4, mov, mkv, webm, avi, gif)")
        stream = container.streams.video[0]
        if stream.codec_context is None:  # damaged sample table or unknown codec
            container.close()
            raise InputError(
                f"{path}: the video stream cannot be decoded (damaged header or unknown codec); "
                "re-export it as MP4 (H.264) or record it again"
            )
        stream.codec_context.thread_type = "AUTO"  # frame threads; output stays in pts order
        return container, stream

    def _decode(self, container: Any, stream: Any) -> Generator[Frame, None, None]:
        """Decode ``stream`` to frames; always closes ``container`` when done."""
        path = self.path
        clock = _Clock(1.0 / (self.fps_nominal or _DEFAULT_FPS))
        index = 0
        stopped_early = False
        try:
            decoded = container.decode(stream)
            while self._max_frames is None or index < self._max_frames:
                try:
                    av_frame = next(decoded, None)
                except (av.error.FFmpegError, OSError) as exc:
                    reason = getattr(exc, "strerror", None) or type(exc).__name__
                    if index == 0:
                        raise InputError(
                            f"{path}: no frame could be decoded ({reason}); the file is corrupt "
                            "or truncated: re-export it or record it again"
                        ) from exc
                    warnings.warn(
                        f"{path}: decoding stopped after {index} frames ({reason}); "
                        "keeping the frames read so far",
                        stacklevel=2,
                    )
                    stopped_early = True
                    break
                if av_frame is None:
                    break
                if index == 0:
                    self.rotation_deg, self.mirror_applied = _frame_orientation(av_frame)
                image = apply_orientation(
                    av_frame.to_ndarray(format="rgb24"), self.rotation_deg, self.mirror_applied
                )
                time_s = clock.time_of(av_frame.pts, av_frame.time_base or stream.time_base)
                yield Frame(index=index, time_s=time_s, image=image)
                index += 1
            else:
                stopped_early = True  # max_frames reached
            if index == 0:
                raise InputError(
                    f"{path}: the video stream holds no decodable frame; the file is corrupt "
                    "or empty: re-export it or record it again"
                )
            expected = self._announced
            if not stopped_early and expected and index < expected - max(2, expected // 20):
                warnings.warn(
                    f"{path}: decoded {index} frames but the container announces "
                    f"{expected}; the file may be truncated",
                    stacklevel=2,
                )
            if clock.repaired:
                warnings.warn(
                    f"{path}: {clock.repaired} frame timestamps were missing or out of order "
                    "and were repaired to keep time increasing",
                    stacklevel=2,
                )
        finally:
            container.close()

    def frames(self) -> Iterator[Frame]:
        """Yield the video's frames; see :meth:`FrameSource.frames`."""
        if self._closed:
            raise ValueError("frames() called on a closed VideoSource")
        if self._pending is not None:  # the decoder opened by __init__, first frame read
            (first, rest), self._pending = self._pending, None
            self._running.append(rest)
            frames = _prepend(first, rest)
        else:
            frames = self._decode(*self._open())
        self._running.append(frames)
        return frames

    def close(self) -> None:
        """Close every open decoder (and its file); safe to call more than once."""
        self._closed = True
        if self._pending is not None:
            self._running.append(self._pending[1])
            self._pending = None
        for frames in self._running:
            frames.close()
        self._running.clear()


def _prepend(first: Frame, rest: Iterator[Frame]) -> Generator[Frame, None, None]:
    yield first
    yield from rest


def _estimate_frames(
    container: Any, stream: Any, fps: float | None, max_frames: int | None
) -> int | None:
    """Frame count announced by the container, else duration x rate, capped by max_frames."""
    n: int | None = int(stream.frames) if stream.frames else None
    if n is None and fps:
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration:
            seconds = container.duration / av.time_base
        else:
            seconds = 0.0
        n = round(seconds * fps) or None
    if max_frames is not None and (n is None or n > max_frames):
        return max_frames if n is not None else None
    return n


# --------------------------------------------------------------------------- still images


def _natural_key(path: Path) -> tuple[list[int | str], str]:
    parts = re.split(r"(\d+)", path.name.casefold())
    return [int(p) if p.isdigit() else p for p in parts], path.name


def _list_images(folder: Path) -> list[Path]:
    found = [
        p for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]  # fmt: skip
    return sorted(found, key=_natural_key)


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_image(path: Path) -> np.ndarray:
    """Read an image as RGB uint8 with EXIF orientation applied (IMREAD_COLOR does it)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)  # works with non-ASCII paths on Windows
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check the file") from exc
    if data.size == 0:
        raise InputError(f"{path}: file is empty (0 bytes); copy or export the image again")
    from synktrack.landmarks import quiet_stderr

    with quiet_stderr():  # libjpeg prints "Corrupt JPEG data: ..." on fd 2 by itself
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(
            f"{path}: not a readable image (corrupt or unsupported format); "
            "re-save it as PNG or JPEG"
        )
    return np.ascontiguousarray(_to_rgb(bgr))


class ImageSource(FrameSource):
    """One still image, or a folder of same-size images played at ``image_fps``.

    Parameters
    ----------
    files : list of pathlib.Path
        Images in playing order (at least one).
    path : pathlib.Path
        The file or folder given by the user.
    image_fps : float
        Frame ``i`` gets ``time_s = i / image_fps``.
    max_frames : int or None, optional
        Stop after this many images.

    Raises
    ------
    InputError
        If the first image cannot be read (the others are checked while iterating:
        an unreadable image or one whose size differs from the first raises there).
    """

    kind = "images"

    def __init__(
        self, files: list[Path], *, path: Path, image_fps: float, max_frames: int | None = None
    ) -> None:
        self.path = path
        self.files = files[:max_frames] if max_frames is not None else list(files)
        self.fps_nominal = image_fps
        self.n_frames = len(self.files)
        self._first = _read_image(self.files[0])
        self.height, self.width = self._first.shape[:2]

    def frames(self) -> Iterator[Frame]:
        """Yield the images in order; see :meth:`FrameSource.frames`."""
        fps = self.fps_nominal or _DEFAULT_FPS
        for index, file in enumerate(self.files):
            image = self._first if index == 0 else _read_image(file)
            if image.shape[:2] != (self.height, self.width):
                raise InputError(
                    f"{file}: image is {image.shape[1]}x{image.shape[0]} but "
                    f"{self.files[0].name} is {self.width}x{self.height}; all images in a "
                    "folder must have the same size: remove or resize it"
                )
            yield Frame(index=index, time_s=index / fps, image=image)

    def close(self) -> None:
        """Nothing to release."""


# --------------------------------------------------------------------------- cameras


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log lines (e.g. failed camera backends) inside the block."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


class CameraSource(FrameSource):
    """A live camera read with OpenCV; times from :func:`time.monotonic`.

    Parameters
    ----------
    device : int or str
        Camera number (``0`` is the default camera) or a device path/URL for OpenCV.
    max_frames : int or None, optional
        Stop after this many frames per :meth:`frames` call.

    Raises
    ------
    InputError
        If the camera cannot be opened or sends no first frame.
    """

    kind = "camera"

    def __init__(self, device: int | str, *, max_frames: int | None = None) -> None:
        self.device = device
        self.path = None if isinstance(device, int) else Path(device)
        self._max_frames = max_frames
        with _quiet_opencv():  # OpenCV logs every backend it tries; our message says it all
            self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"camera {device} could not be opened: check it is plugged in and not used "
                "by another program"
            )
        ok, bgr = self._read()
        if not ok or bgr is None:
            self._cap.release()
            raise InputError(
                f"camera {device} opened but sent no picture: check it is not used by another "
                "program, or try another camera number"
            )
        self._t0 = time.monotonic()
        self._prev_t: float | None = None
        self._index = 0
        self._pending: np.ndarray | None = _to_rgb(bgr)
        self._pending_t = self._t0
        self.height, self.width = self._pending.shape[:2]
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps_nominal = fps if fps > 0 else None
        self.n_frames = None

    def _read(self) -> tuple[bool, np.ndarray | None]:
        try:
            ok, bgr = self._cap.read()
        except cv2.error:
            return False, None
        return bool(ok), bgr

    def frames(self) -> Iterator[Frame]:
        """Yield live frames until ``max_frames`` or :meth:`close`; see :class:`FrameSource`.

        Raises
        ------
        CameraLostError
            When the camera stops sending frames (after yielding those already read).
        """
        count = 0
        while self._max_frames is None or count < self._max_frames:
            if self._pending is not None:
                rgb, t_abs, self._pending = self._pending, self._pending_t, None
            else:
                if not self._cap.isOpened():
                    return
                ok, bgr = self._read()
                t_abs = time.monotonic()
                if not ok or bgr is None:
                    if not self._cap.isOpened():  # closed by the caller meanwhile
                        return
                    raise CameraLostError(
                        f"camera {self.device} stopped sending frames after {self._index} "
                        "frames: check its cable and that no other program took it; the frames "
                        "read so far are kept"
                    )
                rgb = _to_rgb(bgr)
            t = t_abs - self._t0
            if self._prev_t is not None and t <= self._prev_t:
                t = self._prev_t + _NUDGE_S
            self._prev_t = t
            yield Frame(index=self._index, time_s=t, image=np.ascontiguousarray(rgb))
            self._index += 1
            count += 1

    def close(self) -> None:
        """Release the camera; safe to call more than once."""
        self._cap.release()


# --------------------------------------------------------------------------- entry points


def _camera_device(spec: str | os.PathLike[str] | int, camera: bool) -> int | str | None:
    """The OpenCV device for ``spec`` if it names a camera, else None."""
    if isinstance(spec, bool):
        raise InputError(f"invalid source {spec!r}: give a file, a folder or a camera number")
    if isinstance(spec, int):
        return spec
    if isinstance(spec, str) and spec.lower().startswith("camera:"):
        name = spec[len("camera:") :].strip()
        if not name:
            raise InputError(f"invalid camera {spec!r}: write camera:0 for the first camera")
        return int(name) if name.isdigit() else name
    if camera:
        name = os.fspath(spec)
        return int(name) if name.strip().isdigit() else name
    return None


def open_source(
    spec: str | os.PathLike[str] | int,
    *,
    camera: bool = False,
    image_fps: float = 30.0,
    max_frames: int | None = None,
) -> FrameSource:
    """Open a video file, an image, a folder of images or a camera.

    Parameters
    ----------
    spec : str, os.PathLike or int
        A path, ``"camera:N"``, or a camera number ``N``.
    camera : bool, optional
        Treat ``spec`` as a camera number or device even if it is a string.
    image_fps : float, optional
        Rate used to time a folder of images (frame ``i`` at ``i / image_fps`` s).
    max_frames : int or None, optional
        Stop after this many frames.

    Returns
    -------
    FrameSource
        Its first frame has already been read, so unusable input fails here.

    Raises
    ------
    InputError
        With a one-line message saying what is wrong and what to do.
    """
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be at least 1 (got {max_frames})")
    if not (image_fps > 0 and math.isfinite(image_fps)):
        raise InputError(f"image_fps must be a positive number (got {image_fps})")
    device = _camera_device(spec, camera)
    if device is not None:
        return CameraSource(device, max_frames=max_frames)

    path = Path(os.fspath(cast("str | os.PathLike[str]", spec))).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    if path.is_dir():
        files = _list_images(path)
        if not files:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise InputError(
                f"{path}: folder contains no images ({kinds}); give an image folder or a video"
            )
        return ImageSource(files, path=path, image_fps=image_fps, max_frames=max_frames)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check the file") from exc
    if not path.is_file():
        raise InputError(f"{path}: not a regular file; give a video, an image or a folder")
    if size == 0:
        raise InputError(
            f"{path}: file is empty (0 bytes); the copy or recording failed: copy or record it "
            "again"
        )
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], path=path, image_fps=image_fps, max_frames=max_frames)
    return VideoSource(path, max_frames=max_frames)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in chunks (for provenance records).

    Parameters
    ----------
    path : str or os.PathLike
        A regular file.

    Returns
    -------
    str
        64 lower-case hexadecimal digits.

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    try:
        return sha256_file(path)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be read to compute its checksum ({exc.strerror})"
        ) from exc
