"""The state behind the weekly-check page: framing, the live session, history, shutdown."""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synktrack.atomic import check_writable
from synktrack.errors import InputError
from synktrack.history import history_path, subject_dir
from synktrack.model import ResolvedModel
from synktrack.protocol import Protocol
from synktrack.session_row import check_affected_side
from synktrack.web.framing import FramingChecker
from synktrack.web.live import LiveSession, clean_incoming
from synktrack.web.steps import MAX_ATTEMPTS, valid_time
from synktrack.web.summary import history_json

# What the page may say about why a session stopped: codes only, never free text.
STOP_REASONS = {
    "camera_lost": "the camera stopped sending pictures",
    "camera_denied": "the camera was not allowed",
    "user_stopped": "you stopped the check",
    "page_closed": "the page was closed",
    "restarted": "a new check was started",
}


@dataclass(frozen=True)
class CheckSettings:
    """Timing of the page and of the server's own shutdown (seconds, milliseconds)."""

    idle_timeout_s: float = 20.0  # no request from the page for this long: it is gone
    first_contact_timeout_s: float = 900.0  # nobody opened the page
    bye_grace_s: float = 2.0  # after the page says goodbye (a reload comes back sooner)
    ready_s: float = 3.0  # "get ready" countdown before the first step
    chunk_ms: int = 500  # MediaRecorder timeslice
    framing_interval_ms: int = 300
    heartbeat_ms: int = 2000
    judge_wait_s: float = 6.0


class CheckApp:
    """Everything one ``synktrack check`` run knows; shared by the request threads.

    Parameters
    ----------
    protocol
        The protocol the page runs.
    model
        The verified landmark model.
    subject, affected_side, keep_video
        As given on the command line.
    settings
        Timings.
    say
        Where to print one-line status messages (the terminal).
    """

    def __init__(self, protocol: Protocol, model: ResolvedModel, *, subject: str | None = None,
                 affected_side: str = "unknown", keep_video: bool = False,
                 settings: CheckSettings | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        check_affected_side(affected_side)
        self.protocol = protocol
        self.model = model
        self.subject = subject
        self.affected_side = affected_side
        self.keep_video_default = keep_video
        self.settings = settings or CheckSettings()
        self.say = say or (lambda msg: print(msg, file=sys.stderr))
        check_writable(subject_dir(subject))  # a read-only store is said now, not after a check
        self.token = secrets.token_urlsafe(24)
        self.framing = FramingChecker(model.path)
        self.live: LiveSession | None = None
        self.summaries: list[dict[str, Any]] = []
        self.stopped = threading.Event()
        self.stop_reason = ""
        self._lock = threading.Lock()
        self._annotate_lock = threading.Lock()
        self._started = time.monotonic()
        self._last_seen: float | None = None
        self._bye_at: float | None = None
        self._shutdown: Callable[[], None] | None = None
        clean_incoming(subject_dir(subject))

    # ------------------------------------------------------------------ liveness

    def touch(self) -> None:
        """A request from the page arrived."""
        self._last_seen = time.monotonic()

    def bye(self) -> None:
        """The page is going away (closed, reloaded or finished)."""
        self._bye_at = time.monotonic()

    def watch(self, shutdown: Callable[[], None]) -> threading.Thread:
        """Start the watchdog that stops the server once the page is gone."""
        self._shutdown = shutdown
        thread = threading.Thread(target=self._watch, name="synktrack-watchdog", daemon=True)
        thread.start()
        return thread

    def _watch(self) -> None:
        s = self.settings
        while not self.stopped.is_set():
            now = time.monotonic()
            seen = self._last_seen
            if seen is None and now - self._started > s.first_contact_timeout_s:
                self.stop("nobody opened the page")
            elif self._bye_at is not None and seen is not None and seen <= self._bye_at \
                    and now - self._bye_at > s.bye_grace_s:
                self.stop("the page was closed", "page_closed")
            elif seen is not None and now - seen > s.idle_timeout_s:
                self.stop("the page stopped answering (closed, or the computer slept)",
                          "page_closed")
            self.stopped.wait(0.2)

    def stop(self, why: str, reason_code: str = "page_closed") -> None:
        """Save any unfinished session as incomplete, then stop the server (once)."""
        with self._lock:
            if self.stopped.is_set():
                return
            self.stop_reason = why
            live = self.live
            if live is not None and live.summary is None:
                self.say(f"synktrack: {why}; saving the partial session")
                try:
                    self.summaries.append(live.finish(False, STOP_REASONS[reason_code]))
                except Exception as err:  # noqa: BLE001  keep shutting down
                    self.say(f"synktrack: the partial session could not be saved: {err}")
            self.framing.close()
            self.stopped.set()
        if self._shutdown is not None:
            threading.Thread(target=self._shutdown, daemon=True).start()

    # ------------------------------------------------------------------ API

    def config(self) -> dict[str, Any]:
        s = self.settings
        return {"protocol": self.protocol.to_dict(), "subject": self.subject or "",
                "keep_video": self.keep_video_default, "ready_s": s.ready_s,
                "chunk_ms": s.chunk_ms, "framing_interval_ms": s.framing_interval_ms,
                "heartbeat_ms": s.heartbeat_ms, "max_attempts": MAX_ATTEMPTS}

    def frame(self, data: bytes) -> dict[str, Any]:
        return self.framing.check_jpeg(data)

    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        keep = body.get("keep_video", self.keep_video_default)
        if not isinstance(keep, bool):
            raise InputError("keep_video must be true or false")
        with self._lock:
            if self.stopped.is_set():
                raise InputError("this check has ended: run `synktrack check` again")
            old = self.live
            if old is not None and old.summary is None:
                self.summaries.append(old.finish(False, STOP_REASONS["restarted"]))
            self.live = LiveSession(self.protocol, subject=self.subject,
                                    affected_side=self.affected_side, keep_video=keep,
                                    model=self.model)
        self.say("synktrack: recording started")
        return {"ok": True, "steps": len(self.protocol.steps)}

    def _current(self) -> LiveSession:
        live = self.live
        if live is None or live.summary is not None:
            raise InputError("no recording in progress")
        return live

    def chunk(self, seq: int, data: bytes) -> dict[str, Any]:
        if not self._current().add_chunk(seq, data):
            raise InputError("chunk refused")
        return {"ok": True}

    def _step_args(self, body: dict[str, Any], key: str) -> tuple[int, int, float]:
        index, attempt, t = body.get("index"), body.get("attempt", 1), valid_time(body.get(key))
        if not isinstance(index, int) or isinstance(index, bool) or \
                not 0 <= index < len(self.protocol.steps):
            raise InputError("step index out of range")
        if not isinstance(attempt, int) or isinstance(attempt, bool) or \
                not 1 <= attempt <= MAX_ATTEMPTS:
            raise InputError("attempt out of range")
        if t is None:
            raise InputError(f"{key} must be a number of seconds")
        return index, attempt, t

    def step_start(self, body: dict[str, Any]) -> dict[str, Any]:
        index, attempt, t = self._step_args(body, "start_s")
        self._current().step_start(index, attempt, t)
        return {"ok": True}

    def step_end(self, body: dict[str, Any]) -> dict[str, Any]:
        index, attempt, t = self._step_args(body, "end_s")
        return self._current().step_end(index, attempt, t, self.settings.judge_wait_s)

    def finish(self, body: dict[str, Any]) -> dict[str, Any]:
        complete = body.get("complete", False)
        code = body.get("reason")
        if not isinstance(complete, bool):
            raise InputError("complete must be true or false")
        if code is not None and code not in STOP_REASONS:
            raise InputError("unknown reason")
        live = self.live
        if live is None:
            raise InputError("no recording to finish")
        keep = body.get("keep_video")
        if isinstance(keep, bool) and live.summary is None:
            live.keep_video = keep
        summary = live.finish(complete and code is None,
                              STOP_REASONS[code] if code else None)
        if summary not in self.summaries:
            self.summaries.append(summary)
        if live.session_dir is None:
            self.say("synktrack: nothing was recorded; nothing was saved")
        else:
            self.say(f"synktrack: session saved in {live.session_dir} "
                     f"({'complete' if summary.get('complete') else 'incomplete'})")
        return summary

    def history(self) -> dict[str, Any]:
        return history_json(history_path(self.subject), self.subject or "default")

    # ------------------------------------------------------------------ annotated video

    def _kept_session(self, session_id: object) -> Path:
        """The folder of a session of this run whose video was kept (never a page's path)."""
        for s in self.summaries:
            if isinstance(session_id, str) and session_id and s.get("session_id") == session_id \
                    and s.get("video_kept") and s.get("session_dir"):
                return Path(s["session_dir"])
        raise InputError("no session of this check with a kept video has that id")

    def annotate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Make (once) the annotated video of a session whose video was kept."""
        from synktrack.annotate import annotate_folder
        from synktrack.web.live import VIDEO_NAME

        session_id = body.get("session_id")
        folder = self._kept_session(session_id)
        with self._annotate_lock:
            annotate_folder(folder, folder / VIDEO_NAME)
        self.say(f"synktrack: annotated video in {folder}")
        return {"ok": True, "url": f"/api/session/annotated.mp4?id={session_id}"}

    def annotated_file(self, session_id: object) -> Path:
        """The annotated video of a session of this run, once made."""
        from synktrack.analyze import ANNOTATED_MP4

        path = self._kept_session(session_id) / ANNOTATED_MP4
        if not path.is_file():
            raise InputError("the annotated video is not made yet")
        return path
