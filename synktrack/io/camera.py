"""Cameras read with OpenCV, timed by the monotonic clock."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from synktrack.errors import InputError
from synktrack.io.frames import NUDGE_S, CameraLostError, Frame, FrameSource, to_rgb


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
        self._pending: np.ndarray | None = to_rgb(bgr)
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
                rgb = to_rgb(bgr)
            t = t_abs - self._t0
            if self._prev_t is not None and t <= self._prev_t:
                t = self._prev_t + NUDGE_S
            self._prev_t = t
            yield Frame(index=self._index, time_s=t, image=np.ascontiguousarray(rgb))
            self._index += 1
            count += 1

    def close(self) -> None:
        """Release the camera; safe to call more than once."""
        self._cap.release()


def camera_device(spec: str | os.PathLike[str] | int, camera: bool) -> int | str | None:
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

