"""Video files decoded with PyAV, timed by their presentation timestamps."""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import av
import av.error

from synktrack.errors import InputError
from synktrack.io.clock import Clock, rate
from synktrack.io.frames import (
    DEFAULT_FPS,
    Frame,
    FrameSource,
    IncompleteInputWarning,
    prepend,
)
from synktrack.io.orientation import apply_orientation, frame_orientation

_NOT_VIDEO_FORMATS = frozenset({"tty"})  # FFmpeg renders .txt/.nfo files as "video"


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
                rate(stream.average_rate) or rate(stream.guessed_rate)
                or rate(stream.base_rate)
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
        clock = Clock(1.0 / (self.fps_nominal or DEFAULT_FPS))
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
                        IncompleteInputWarning,
                        stacklevel=2,
                    )
                    stopped_early = True
                    break
                if av_frame is None:
                    break
                if index == 0:
                    self.rotation_deg, self.mirror_applied = frame_orientation(av_frame)
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
                    IncompleteInputWarning,
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
            frames = prepend(first, rest)
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

