"""Decode a recording while it is still arriving, one chunk at a time.

MediaRecorder sends a WebM file in pieces. The pieces are appended to a
temporary file (kept only if the patient asks) and fed to one FFmpeg demuxer
through a blocking, non-seekable reader, so every frame is decoded exactly
once, in order, as soon as its bytes are here. WebM from MediaRecorder has no
index and no frame rate worth trusting: frame times come from the container's
presentation timestamps.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FrameSink = Callable[[np.ndarray, float], None]


class GrowingStream:
    """A read-only byte stream that blocks until more data is appended or it is closed.

    Parameters
    ----------
    path
        File that receives a copy of every byte appended (created, truncated).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = open(self.path, "wb")  # noqa: SIM115  closed in close()
        self._buf = bytearray()
        self._pos = 0
        self._closed = False
        self._cond = threading.Condition()
        self.bytes_in = 0

    def append(self, data: bytes) -> None:
        """Add bytes at the end (ignored once closed)."""
        with self._cond:
            if self._closed:
                return
            self._file.write(data)
            self._file.flush()
            self._buf += data
            self.bytes_in += len(data)
            self._cond.notify_all()

    def close(self) -> None:
        """No more data: readers get the rest, then end of file."""
        with self._cond:
            if not self._closed:
                self._closed = True
                self._file.close()
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes; blocks while none are available and the stream is open."""
        with self._cond:
            while self._pos >= len(self._buf) and not self._closed:
                self._cond.wait()
            if size is None or size < 0:
                size = len(self._buf) - self._pos
            out = bytes(self._buf[self._pos : self._pos + size])
            self._pos += len(out)
            if self._pos > 1 << 20:  # drop what the demuxer has consumed
                del self._buf[: self._pos]
                self._pos = 0
            return out


class StreamDecoder(threading.Thread):
    """Decode a :class:`GrowingStream` in a background thread, frame by frame.

    Each frame is handed to ``sink(rgb, time_s)`` with ``time_s`` read from the
    container (seconds, first frame = 0); :attr:`first_pts_s` keeps the first
    frame's own container time so that the page's clock can be related to it.

    Parameters
    ----------
    stream
        The growing recording.
    sink
        Called with every decoded frame, in presentation order.
    """

    def __init__(self, stream: GrowingStream, sink: FrameSink) -> None:
        super().__init__(name="synktrack-decoder", daemon=True)
        self.stream = stream
        self.sink = sink
        self.frames = 0
        self.first_pts_s: float | None = None
        self.last_time_s = -1.0
        self.width = 0
        self.height = 0
        self.error: str | None = None
        self.codec = ""
        self.repaired = 0

    def run(self) -> None:
        import av

        try:
            container = av.open(self.stream, mode="r",
                                options={"probesize": "4096", "analyzeduration": "0"})
        except Exception as err:  # noqa: BLE001  reported to the caller
            self.error = f"the recording could not be opened ({type(err).__name__}: {err})"
            return
        try:
            vstream = container.streams.video[0]
            self.codec = vstream.codec_context.name
            for frame in container.decode(vstream):
                self._emit(frame, vstream)
        except Exception as err:  # noqa: BLE001  keep the frames decoded so far
            self.error = f"decoding stopped after {self.frames} frames ({type(err).__name__})"
        finally:
            container.close()

    def _emit(self, frame: Any, vstream: Any) -> None:
        tb = frame.time_base or vstream.time_base
        if frame.pts is None or not tb:
            t_abs = (self.last_time_s + (self.first_pts_s or 0.0) + 1 / 30) \
                if self.frames else 0.0
            self.repaired += 1
        else:
            t_abs = float(frame.pts * tb)
        if self.first_pts_s is None:
            self.first_pts_s = t_abs
        t = t_abs - self.first_pts_s
        if t <= self.last_time_s:  # repeated or backward stamp: keep time increasing
            t = self.last_time_s + 0.001
            self.repaired += 1
        self.last_time_s = t
        rgb = frame.to_ndarray(format="rgb24")
        self.height, self.width = rgb.shape[:2]
        self.sink(np.ascontiguousarray(rgb), t)
        self.frames += 1
