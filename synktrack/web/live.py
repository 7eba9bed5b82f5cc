"""One guided recording: chunks in, landmarks while recording, a stored session out.

Every decoded frame goes through the same :class:`~synktrack.track.ClipTracker`
as ``synktrack analyze`` (VIDEO mode, every frame, container timestamps), as
soon as its bytes arrive. When the page says the protocol is over (or the page,
the camera or the program goes away) :meth:`LiveSession.finish` runs the rest
of the chain with :func:`synktrack.analyze.analyze_recording`, moves the
outputs to ``<subject>/sessions/<session_id>/`` and appends the history row.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from synktrack.atomic import ensure_dir
from synktrack.history import subject_dir
from synktrack.io.video import file_sha256
from synktrack.model import ResolvedModel
from synktrack.protocol import Protocol
from synktrack.track import ClipTracker
from synktrack.web.steps import MAX_ATTEMPTS, Attempt, judge_attempt, performed_protocol
from synktrack.web.store import SessionInfo, store_session
from synktrack.web.stream import GrowingStream, StreamDecoder

MAX_PENDING_CHUNKS = 64
MAX_SESSION_BYTES = 1024 * 1024 * 1024  # ~1 h of webcam video; more is refused, not buffered
SOURCE = "webcam (browser)"
VIDEO_NAME = "video.webm"


class LiveSession:
    """Receive, landmark, judge and finally store one guided recording.

    Parameters
    ----------
    protocol
        The protocol the page runs.
    subject
        Subject id (the store folder is derived from it, never taken from the page).
    affected_side
        ``left``, ``right`` or ``unknown``.
    keep_video
        Keep the raw recording in the session folder.
    model
        The verified landmark model.
    """

    def __init__(self, protocol: Protocol, *, subject: str | None, affected_side: str,
                 keep_video: bool, model: ResolvedModel) -> None:
        self.key = secrets.token_hex(8)
        self.protocol = protocol
        self.subject = subject
        self.affected_side = affected_side
        self.keep_video = keep_video
        self.model = model
        self.root = subject_dir(subject)
        incoming = ensure_dir(self.root / ".incoming")
        self.video_path = incoming / f"{self.key}.webm"
        self.tracker = ClipTracker(model.path, capacity=4096)
        self.stream = GrowingStream(self.video_path)
        self.decoder = StreamDecoder(self.stream, self._on_frame)
        self._tlock = threading.Lock()
        self._progress = threading.Condition()
        self._finish_lock = threading.Lock()
        self._chunk_lock = threading.Lock()
        self._pending: dict[int, bytes] = {}
        self.next_seq = 0
        self.attempts: dict[tuple[int, int], Attempt] = {}
        self.processed_s = -1.0
        self.landmark_s = 0.0
        self.summary: dict[str, Any] | None = None
        self.session_dir: Path | None = None
        self.timings: dict[str, float] = {}
        self.snapshots: dict[str, tuple[int, np.ndarray]] = {}  # used only if the video is kept
        self._move_at: float | None = None
        self.decoder.start()

    # ---------------------------------------------------------------- frames

    def _on_frame(self, rgb: np.ndarray, time_s: float) -> None:
        t0 = time.perf_counter()
        with self._tlock:
            if self.summary is None:
                self.tracker.process(rgb, time_s)
                self._snapshot(rgb, time_s)
        self.landmark_s += time.perf_counter() - t0
        with self._progress:
            self.processed_s = time_s
            self._progress.notify_all()

    def _snapshot(self, rgb: np.ndarray, time_s: float) -> None:
        """Keep the rest (reference) frame and one smile frame for the summary figure."""
        if "rest" not in self.snapshots and self.tracker.reference is not None:
            self.snapshots["rest"] = (self.tracker.reference, rgb)
        if "move" not in self.snapshots and self._move_at is not None and \
                time_s >= self._move_at - self.shift_s:
            self.snapshots["move"] = (len(self.tracker) - 1, rgb)

    def add_chunk(self, seq: int, data: bytes) -> bool:
        """Add recorder chunk number ``seq`` (0-based); chunks may arrive out of order.

        Returns False when the chunk cannot be taken (too far ahead, or finished).
        """
        with self._chunk_lock:
            if self.summary is not None or self.stream.closed or self.decoder.error:
                return False  # finished, or the decoder died: nothing would read the bytes
            if self.stream.bytes_in + len(data) + sum(map(len, self._pending.values())) > \
                    MAX_SESSION_BYTES:
                return False
            if seq < self.next_seq:
                return True  # a repeat of a chunk already taken
            if seq - self.next_seq > MAX_PENDING_CHUNKS:
                return False
            self._pending[seq] = data
            while self.next_seq in self._pending:
                self.stream.append(self._pending.pop(self.next_seq))
                self.next_seq += 1
        return True

    @property
    def shift_s(self) -> float:
        """Recorder time of the clip's first frame (0 until a frame is decoded)."""
        return self.decoder.first_pts_s or 0.0

    # ---------------------------------------------------------------- steps

    def step_start(self, index: int, attempt: int, start_s: float) -> None:
        """The page began step ``index`` (try ``attempt``) at ``start_s`` on its clock."""
        movement = self.protocol.steps[index].movement
        self.attempts[(index, attempt)] = Attempt(index, attempt, movement, start_s)
        if movement == "smile" and self._move_at is None:
            self._move_at = start_s + min(1.5, 0.5 * self.protocol.steps[index].duration_s)

    def step_end(self, index: int, attempt: int, end_s: float,
                 wait_s: float = 6.0) -> dict[str, Any]:
        """The page ended a step; for a movement, judge it once its frames are analysed.

        Returns ``{"ok", "repeat", "message"}``: ``repeat`` asks the page to do
        the movement once more.
        """
        a = self.attempts.get((index, attempt))
        if a is None:
            a = Attempt(index, attempt, self.protocol.steps[index].movement, end_s)
            self.attempts[(index, attempt)] = a
        a.end_s = max(end_s, a.start_s)
        if index == len(self.protocol.steps) - 1:
            self.timings["last_step_end"] = time.perf_counter()
        if a.movement == "rest":
            a.accepted = True
            return {"ok": True, "repeat": False, "message": ""}
        deadline = time.monotonic() + wait_s
        with self._progress:
            while self.processed_s < a.end_s - self.shift_s - 0.1 and \
                    time.monotonic() < deadline and not self.stream.closed:
                self._progress.wait(0.2)
            behind = self.processed_s < a.end_s - self.shift_s - 0.1
        if behind:
            a.accepted, a.reason = True, "not judged (analysis still catching up)"
            return {"ok": True, "repeat": False, "message": ""}
        with self._tlock:
            rec = self.tracker.recording(self._attrs())
        rest = self._rest_before(a)
        ok, message, numbers = judge_attempt(rec, a.movement, a.start_s - self.shift_s,
                                             a.end_s - self.shift_s, rest)
        if not ok and attempt >= MAX_ATTEMPTS:
            a.accepted, a.reason = True, f"kept after {attempt} tries: {message}"
            return {"ok": True, "repeat": False, "message": ""}
        a.accepted, a.reason = ok, message
        return {"ok": ok, "repeat": not ok, "message": message,
                "numbers": {k: round(v, 2) for k, v in numbers.items() if np.isfinite(v)}}

    def _rest_before(self, a: Attempt) -> tuple[float, float] | None:
        rests = [r for r in self.attempts.values()
                 if r.movement == "rest" and r.end_s is not None and r.end_s <= a.start_s + 0.05]
        if not rests:
            return None
        r = max(rests, key=lambda r: r.start_s)
        assert r.end_s is not None
        return r.start_s - self.shift_s, r.end_s - self.shift_s

    # ---------------------------------------------------------------- finish

    def _attrs(self) -> dict[str, Any]:
        return {"width": self.decoder.width or 640, "height": self.decoder.height or 480,
                "source": SOURCE, "kind": "camera", "model_sha256": self.model.sha256}

    def finish(self, complete: bool, reason: str | None = None) -> dict[str, Any]:
        """Analyse and store the session (once; later calls return the same summary).

        Parameters
        ----------
        complete
            The protocol ran to its end.
        reason
            Why it stopped early (shown to the patient and kept in session.json).
        """
        with self._finish_lock:
            if self.summary is not None:
                return self.summary
            t0 = time.perf_counter()
            with self._chunk_lock:
                self.stream.close()
            self.decoder.join(timeout=600)
            if self.decoder.error and complete:
                complete, reason = False, self.decoder.error
            t_decoded = time.perf_counter()
            with self._tlock:
                rec = self.tracker.recording(self._attrs())
                self.tracker.close()
                self.summary = {}  # frames arriving from now on are ignored
            try:
                self.summary = self._store(rec, complete, reason)
            except Exception as err:  # noqa: BLE001  never lose the session silently
                self.summary = {"complete": False, "error": f"{type(err).__name__}: {err}"}
                raise
            finally:
                self.video_path.unlink(missing_ok=True)
            self.timings.update(decode_tail_s=t_decoded - t0,
                                finish_s=time.perf_counter() - t0)
            self.summary["timings"] = {k: round(v, 3) for k, v in self.timings.items()
                                       if k != "last_step_end"}
            return self.summary

    def _store(self, rec: Any, complete: bool, reason: str | None) -> dict[str, Any]:
        proto = performed_protocol(self.protocol, list(self.attempts.values()), self.shift_s,
                                   float(rec.time_s[-1]) if rec.n_frames else None)
        inp: dict[str, Any] = {
            "kind": "camera", "width": rec.attrs["width"], "height": rec.attrs["height"],
            "seconds": self.landmark_s, "codec": self.decoder.codec,
            "bytes": self.stream.bytes_in, "timestamps_repaired": self.decoder.repaired,
        }
        if self.stream.bytes_in:
            inp["sha256"] = file_sha256(self.video_path)
        keep = self.keep_video and self.stream.bytes_in > 0
        info = SessionInfo(
            subject=self.subject, affected_side=self.affected_side, protocol=self.protocol,
            performed=proto, source=SOURCE, complete=complete, stopped_because=reason,
            input_info=inp, video=self.video_path if keep else None, video_name=VIDEO_NAME,
            snapshots=self.snapshots if keep else None,
            extra={"first_frame_recorder_s": self.shift_s,
                   "attempts": [a.to_dict() for a in sorted(self.attempts.values(),
                                                            key=lambda a: a.start_s)]})
        summary, self.session_dir = store_session(rec, info, self.model)
        return summary

    def abandon(self) -> None:
        """Stop without storing anything (used only when the server cannot finish)."""
        self.stream.close()
        self.decoder.join(timeout=5)
        self.video_path.unlink(missing_ok=True)


def clean_incoming(root: Path, older_than_s: float = 3600.0) -> int:
    """Delete raw recordings left behind by a killed server; returns how many."""
    n = 0
    folder = root / ".incoming"
    if not folder.is_dir():
        return 0
    for p in folder.glob("*.webm"):
        try:
            if time.time() - p.stat().st_mtime > older_than_s:
                p.unlink()
                n += 1
        except OSError:
            continue
    return n
