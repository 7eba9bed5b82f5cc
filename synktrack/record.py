"""The weekly check in a desktop window (``synktrack record``), for clinics without a browser.

An OpenCV window shows the camera (as a mirror) with the same prompts,
countdown and progress as the web page. One thread reads the camera, one
landmarks every frame with the same :class:`~synktrack.track.ClipTracker` as
``synktrack analyze`` (nothing is dropped: frames queue up if the analysis is
briefly slower), and the window follows the protocol on the camera's clock.
The session is stored like the web check's (:mod:`synktrack.web.store`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synktrack.io.video import CameraLostError, Frame, open_source
from synktrack.model import ResolvedModel
from synktrack.protocol import Protocol, Step
from synktrack.track import ClipTracker

WINDOW = "synktrack record"
SIZE = (1100, 660)  # window width, height
PREVIEW = (640, 480)
INK = (30, 24, 17)  # BGR
ACCENT = (148, 83, 11)
SOFT = (229, 222, 217)
PAPER = (247, 250, 251)
WARN = (0, 59, 138)
NAMES = {"rest": "Rest", "smile": "Gentle smile", "eye_closure": "Close your eyes gently",
         "pucker": "Soft pucker", "brow_raise": "Lift your eyebrows"}
KEY_START = (13, 32)  # Enter, Space
KEY_STOP = (27, ord("q"))  # Esc, q


@dataclass
class _Shared:
    """What the camera thread and the window share."""

    latest: np.ndarray | None = None
    start_requested: bool = False
    rec_t0: float | None = None
    clock: float = 0.0  # protocol seconds of the newest recorded frame
    stop: bool = False
    ended: str | None = None  # why the source stopped delivering
    frames: queue.Queue[tuple[np.ndarray, float] | None] = field(default_factory=queue.Queue)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _capture(frames: Any, shared: _Shared, duration_s: float, realtime: bool) -> None:
    """Camera thread: newest frame for the window; recorded frames to the analysis queue."""
    wall0 = time.monotonic()
    try:
        for frame in frames:
            assert isinstance(frame, Frame)
            if realtime:  # a file plays at its own pace, like a camera
                delay = wall0 + frame.time_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            with shared.lock:
                shared.latest = frame.image
                if shared.start_requested and shared.rec_t0 is None:
                    shared.rec_t0 = frame.time_s
                t0 = shared.rec_t0
            if t0 is not None:
                t = frame.time_s - t0
                if t >= duration_s:
                    break
                shared.frames.put((frame.image, t))
                shared.clock = t
            if shared.stop:
                return
        else:
            shared.ended = "the video ended before the protocol"
    except CameraLostError:
        shared.ended = "the camera stopped sending pictures"
    finally:
        shared.frames.put(None)
        if shared.ended is None and not shared.stop:
            shared.ended = "done"


def _analyse(tracker: ClipTracker, frames: queue.Queue[tuple[np.ndarray, float] | None],
             counter: list[int]) -> None:
    """Analysis thread: every recorded frame, in order, through the same tracker."""
    while True:
        item = frames.get()
        if item is None:
            return
        tracker.process(item[0], item[1])
        counter[0] += 1


# ------------------------------------------------------------------------------- drawing


def _ascii(text: str) -> str:
    return text.replace("…", "...").replace("’", "'").encode("ascii", "replace").decode()


def _wrap(text: str, width_px: int, scale: float, thick: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in _ascii(text).split():
        trial = f"{line} {word}".strip()
        (w, _), _ = cv2.getTextSize(trial, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        if w > width_px and line:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.8,
          color: tuple[int, int, int] = INK, thick: int = 2) -> None:
    cv2.putText(img, _ascii(text), org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick,
                cv2.LINE_AA)


def _bar(img: np.ndarray, x: int, y: int, w: int, h: int, frac: float) -> None:
    cv2.rectangle(img, (x, y), (x + w, y + h), SOFT, -1)
    cv2.rectangle(img, (x, y), (x + int(w * min(max(frac, 0.0), 1.0)), y + h), ACCENT, -1)


def render(rgb: np.ndarray | None, title: str, prompt: str, *, kind: str = "",
           count: str = "", frac: float | None = None, progress: tuple[int, int] | None = None,
           note: str = "", checks: list[tuple[bool, str]] | None = None,
           footer: str = "Space/Enter: start    Esc: stop") -> np.ndarray:
    """The window's picture: camera as a mirror on the left, the prompt on the right (BGR)."""
    w, h = SIZE
    img = np.full((h, w, 3), PAPER, np.uint8)
    top = 70
    if progress is not None:
        i, n = progress
        _text(img, f"Step {min(i + 1, n)} of {n}", (30, 45), 0.8)
        _bar(img, 230, 30, w - 260, 18, i / max(n, 1))
    if rgb is not None:
        view = cv2.cvtColor(cv2.flip(rgb, 1), cv2.COLOR_RGB2BGR)
        ph, pw = view.shape[:2]
        k = min(PREVIEW[0] / pw, PREVIEW[1] / ph)
        view = cv2.resize(view, (int(pw * k), int(ph * k)), interpolation=cv2.INTER_AREA)
        img[top : top + view.shape[0], 30 : 30 + view.shape[1]] = view
    x0, width = 700, w - 730
    y = top + 30
    if kind:
        _text(img, kind.upper(), (x0, y), 0.7, (90, 85, 80), 2)
        y += 50
    for line in _wrap(title, width, 1.3, 3):
        _text(img, line, (x0, y), 1.3, INK, 3)
        y += 50
    y += 10
    for line in _wrap(prompt, width, 0.85, 2):
        _text(img, line, (x0, y), 0.85, INK, 2)
        y += 36
    for ok, msg in checks or []:
        y += 6
        _text(img, ("OK  " if ok else "->  ") + msg, (x0, y), 0.7, (47, 107, 15) if ok else WARN,
              2)
        y += 30
    if count:
        y += 80
        _text(img, count, (x0, y), 3.0, INK, 6)
        y += 30
    if frac is not None:
        _bar(img, x0, y, width, 26, frac)
        y += 60
    if note:
        for line in _wrap(note, width, 0.75, 2):
            _text(img, line, (x0, y), 0.75, WARN, 2)
            y += 32
    _text(img, footer, (30, h - 25), 0.65, (90, 85, 80), 1)
    return img


def _results_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["This week (your left / your right):"]
    for ix in summary.get("indices", []):
        if ix.get("left") is None and ix.get("right") is None:
            continue
        unit = ix["unit"]
        vals = [("-" if ix.get(s) is None else (f"{ix[s]:.0f}" if unit == "%" else
                                               f"{ix[s]:.1f}")) for s in ("left", "right")]
        lines.append(f"{ix['label']}: {vals[0]} / {vals[1]} {unit}")
    lines += list(summary.get("changes", [])[:3])
    lines.append("This is not a diagnosis: share it with your therapist.")
    return lines


# ------------------------------------------------------------------------------- the session


class _Window:
    def __init__(self, snapshots: Path | None) -> None:
        self.snapshots = snapshots
        self.shown: set[str] = set()
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(self, img: np.ndarray, snapshot: str | None = None) -> int:
        cv2.imshow(WINDOW, img)
        if snapshot and self.snapshots is not None and snapshot not in self.shown:
            self.shown.add(snapshot)
            self.snapshots.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(self.snapshots / f"{snapshot}.png"), img)
        key = cv2.waitKey(30) & 0xFF
        try:
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                return 27  # the window was closed: like Esc
        except cv2.error:
            return 27
        return key

    def close(self) -> None:
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)


def _step_at(protocol: Protocol, t: float) -> tuple[int, Step]:
    for i, s in enumerate(protocol.steps):
        if t < s.end_s:
            return i, s
    return len(protocol.steps) - 1, protocol.steps[-1]


def _frame_ok(shared: _Shared, checker: Any, last: dict[str, Any]) -> dict[str, Any]:
    with shared.lock:
        rgb = shared.latest
    if rgb is None or time.monotonic() - last.get("_at", 0.0) < 0.3:
        return last
    small = cv2.resize(rgb, (320, int(320 * rgb.shape[0] / rgb.shape[1])))
    res = dict(checker.check_rgb(small))
    res["_at"] = time.monotonic()
    res["_good"] = last.get("_good", 0) + 1 if res["ok"] else 0
    return res


def record_session(source: int | str | os.PathLike[str], protocol: Protocol,
                   model: ResolvedModel, *, subject: str | None = None,
                   affected_side: str = "unknown", snapshots: Path | None = None,
                   close_after: float | None = None, realtime: bool = True,
                   say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the guided check in a window and store the session; returns its summary.

    Parameters
    ----------
    source
        Camera number, or a video file (played at its own pace; the check
        starts at its first frame, without the framing step).
    protocol
        The protocol to prompt.
    model
        The verified landmark model.
    subject, affected_side
        Stored with the session.
    snapshots
        Save the window's picture at each screen into this folder.
    close_after
        Close the results screen after this many seconds (default: wait for a key).
    """
    from synktrack.web.framing import FramingChecker
    from synktrack.web.store import SessionInfo, store_session

    say = say or (lambda msg: None)
    is_camera = isinstance(source, int)
    src = open_source(source, camera=is_camera)
    shared = _Shared(start_requested=not is_camera)
    duration = protocol.duration_s
    tracker = ClipTracker(model.path, capacity=1024)
    counter = [0]
    win = _Window(snapshots)
    stopped_because: str | None = None
    with src:
        grabber = threading.Thread(target=_capture, args=(src.frames(), shared, duration,
                                                           realtime or is_camera), daemon=True)
        worker = threading.Thread(target=_analyse, args=(tracker, shared.frames, counter),
                                  daemon=True)
        grabber.start()
        worker.start()
        if is_camera:
            checker = FramingChecker(model.path)
            state: dict[str, Any] = {}
            try:
                while not shared.start_requested:
                    state = _frame_ok(shared, checker, state)
                    ready = state.get("_good", 0) >= 3
                    msg = ("That looks good. Press Space or Enter to start." if ready else
                           state.get("message", "Looking for your face..."))
                    checks = [(c["ok"], c["message"]) for c in state.get("checks", [])]
                    key = win.show(render(shared.latest, "Let's check the picture", msg,
                                          checks=checks), "record-1-framing")
                    if key in KEY_STOP or shared.ended:
                        shared.stop = True
                        stopped_because = shared.ended or "you stopped before the start"
                        break
                    if ready and key in KEY_START:
                        shared.start_requested = True
            finally:
                checker.close()
        last_index = -1
        while stopped_because is None:
            with shared.lock:
                rgb, started = shared.latest, shared.rec_t0 is not None
            t = shared.clock if started else 0.0
            i, step = _step_at(protocol, t)
            if i != last_index:
                say(f"step {i + 1}/{len(protocol.steps)}: {step.movement}")
                last_index = i
            left = max(0.0, step.end_s - t)
            img = render(rgb, NAMES.get(step.movement, step.movement), step.prompt,
                         kind="Rest" if step.movement == "rest" else "Movement",
                         count=str(int(np.ceil(left))), frac=left / step.duration_s,
                         progress=(i, len(protocol.steps)), footer="Esc: stop the check")
            key = win.show(img, f"record-2-step-{i + 1}-{step.movement}")
            if key in KEY_STOP:
                shared.stop = True
                stopped_because = "you stopped the check"
            elif shared.ended is not None:
                if shared.ended != "done" and shared.clock < duration - 0.5:
                    stopped_because = shared.ended
                break
        while worker.is_alive():  # every recorded frame is analysed before storing
            win.show(render(shared.latest, "Well done.", "Putting your results together...",
                            note=f"{counter[0]} frames analysed", footer=""),
                     "record-3-analysing")
        grabber.join(timeout=5)
    complete = stopped_because is None and shared.clock >= duration - 0.5
    if stopped_because is None and not complete:
        stopped_because = shared.ended or "the recording ended early"
    rec = tracker.recording({"width": src.width, "height": src.height,
                             "source": str(source) if not is_camera else f"camera {source}",
                             "kind": src.kind, "model_sha256": model.sha256})
    tracker.close()
    info = SessionInfo(subject=subject, affected_side=affected_side, protocol=protocol,
                       performed=protocol, source=f"camera {source}" if is_camera
                       else str(source), complete=complete, stopped_because=stopped_because,
                       input_info={"kind": src.kind, "width": src.width, "height": src.height,
                                   "fps_nominal": src.fps_nominal},
                       extra={"front_end": "synktrack record"})
    summary, folder = store_session(rec, info, model)
    if folder is None:
        say("nothing was recorded; nothing was saved")
    else:
        say(f"session saved in {folder} ({'complete' if complete else 'incomplete'})")
    title = "Your results" if complete else "The check stopped"
    lines = _results_lines(summary)
    if not complete:
        lines.insert(0, f"{stopped_because}: what was recorded is saved, marked incomplete.")
    t_end = time.monotonic()
    while True:
        img = np.full((SIZE[1], SIZE[0], 3), PAPER, np.uint8)
        _text(img, title, (30, 70), 1.3, INK, 3)
        _text(img, "Space, Enter or Esc: close", (30, SIZE[1] - 25), 0.65, (90, 85, 80), 1)
        y = 130
        for line in lines:
            for part in _wrap(line, SIZE[0] - 60, 0.75, 2):
                _text(img, part, (30, y), 0.75)
                y += 34
        key = win.show(img, "record-4-results")
        if key in KEY_START or key in KEY_STOP:
            break
        if close_after is not None and time.monotonic() - t_end > close_after:
            break
    win.close()
    return summary
