"""The frame contract every source keeps: :class:`Frame`, :class:`FrameSource`, the
file suffixes read, and the helpers the sources share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from synktrack.errors import InputError

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


NUDGE_S = 0.001  # added to a repeated/backward timestamp to keep times strictly increasing


DEFAULT_FPS = 30.0  # frame duration assumed when a video gives no rate at all


class IncompleteInputWarning(UserWarning):
    """The input ended before its end: a damaged or truncated file, read as far as it goes.

    A recording made while one was raised is marked incomplete (``complete = 0``); the
    message (its first line) says why.
    """


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


def prepend(first: Frame, rest: Iterator[Frame]) -> Generator[Frame, None, None]:
    yield first
    yield from rest


def to_rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

