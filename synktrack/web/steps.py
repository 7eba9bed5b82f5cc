"""What the patient actually did: attempts at protocol steps, judged one by one.

The page runs the protocol on its own clock (seconds since the recorder
started) and reports when each step began and ended. A movement step can be
repeated when the face was lost, the movement was not seen or it was forceful; the analysed
protocol is the one actually performed, with rejected attempts left out.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np

from synktrack.epochs import UnusableCause, epochs_from_protocol
from synktrack.indices import FlagRules, epochs_analyze
from synktrack.landmarks import Recording
from synktrack.measures import measures_process
from synktrack.protocol import Protocol, Step

MAX_ATTEMPTS = 2  # a movement is tried at most this many times
MAX_TIME_S = 6 * 3600.0

FACE_LOST = ("We lost sight of your face for part of that. No problem: "
             "let's do it once more, facing the camera.")
NOT_SEEN = ("We could not quite see that movement. That's fine: let's try it once more. "
            "A small, gentle movement is enough.")
FORCEFUL = ("That was a strong movement. Small and gentle is best here: "
            "let's do it once more, softly.")


@dataclass
class Attempt:
    """One try at one protocol step, in seconds on the recorder's clock."""

    index: int
    attempt: int
    movement: str
    start_s: float
    end_s: float | None = None
    accepted: bool | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "attempt": self.attempt, "movement": self.movement,
                "start_s": round(self.start_s, 3),
                "end_s": None if self.end_s is None else round(self.end_s, 3),
                "accepted": self.accepted, "reason": self.reason}


def valid_time(value: object) -> float | None:
    """A finite, non-negative number of seconds below six hours, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if math.isfinite(v) and 0.0 <= v <= MAX_TIME_S else None


def performed_protocol(base: Protocol, attempts: list[Attempt], shift_s: float = 0.0,
                       clip_end_s: float | None = None) -> Protocol:
    """The protocol as performed: every kept attempt at its real time.

    Parameters
    ----------
    base
        The protocol the page ran.
    attempts
        Attempts reported by the page; rejected movement attempts are left out
        (their rest neighbours stay, so the retry is compared with the rests
        around it).
    shift_s
        Subtracted from every time (the recorder time of the clip's first frame).
    clip_end_s
        An unfinished last attempt ends here (default: its nominal duration).
    """
    steps: list[Step] = []
    for a in sorted(attempts, key=lambda a: a.start_s):
        if a.accepted is False:
            continue
        nominal = base.steps[a.index]
        end = a.end_s
        if end is None:
            end = a.start_s + nominal.duration_s
            if clip_end_s is not None:
                end = min(end, max(clip_end_s + shift_s, a.start_s + 1e-3))
        start = a.start_s - shift_s
        dur = max(end - a.start_s, 1e-3)
        steps.append(Step(nominal.movement, dur, nominal.prompt, start))
    return Protocol(base.name, base.version, tuple(steps), base.description,
                    base.source, {**base.extra, "performed": True})


def judge_attempt(rec: Recording, movement: str, start_s: float, end_s: float,
                  rest: tuple[float, float] | None,
                  rules: FlagRules | None = None) -> tuple[bool, str, dict[str, float]]:
    """Was one movement attempt usable and gentle?

    Uses the same measures and epoch rules as the full analysis, on the
    frames recorded so far (times in the recording's own seconds).

    Returns
    -------
    ok, message, numbers
        ``message`` is a kind instruction when the attempt should be repeated.
    """
    rules = rules or FlagRules()
    if rec.n_frames < 5 or movement == "rest":
        return True, "", {}
    with warnings.catch_warnings():  # frames without a face give all-NaN slices
        warnings.simplefilter("ignore", RuntimeWarning)
        recent = recent_frames(rec, rest[0] if rest is not None else start_s)
        return _judge(recent, movement, start_s, end_s, rest, rules)


def recent_frames(rec: Recording, from_s: float) -> Recording:
    """The frames from ``from_s`` on, keeping the reference frame (cheap to measure).

    Registration needs the clip's reference frame; when it lies earlier it is
    put first (just before ``from_s``), so a judgement costs the same at the
    end of a long session as at its start.
    """
    ref = rec.attrs.get("reference_frame")
    idx = np.flatnonzero(rec.time_s >= from_s)
    if ref is None or not len(idx) or idx[0] == 0:
        return rec
    if ref >= idx[0]:
        return replace(rec.isel(slice(int(idx[0]), None)),
                       attrs={**rec.attrs, "reference_frame": int(ref - idx[0])})
    out = rec.isel(np.concatenate([[int(ref)], idx]))
    times = out.time_s.copy()
    times[0] = times[1] - 1e-3
    return replace(out, time_s=times, attrs={**rec.attrs, "reference_frame": 0})


Verdict = tuple[bool, str, dict[str, float]]


def _judge(rec: Recording, movement: str, start_s: float, end_s: float,
           rest: tuple[float, float] | None, rules: FlagRules) -> Verdict:
    frames = measures_process(rec)
    steps = []
    if rest is not None and rest[1] > rest[0]:
        steps.append(Step("rest", rest[1] - rest[0], "", rest[0]))
    steps.append(Step(movement, max(end_s - start_s, 1e-3), "", start_s))
    ep = epochs_from_protocol(frames, Protocol("judge", 1, tuple(steps)))
    if not len(ep):
        return True, "", {}
    first = ep.iloc[0]
    numbers = {"usable_fraction": float(first["usable_fraction"])}
    if not bool(first["usable"]):
        if first["_cause"] == UnusableCause.CLIP_END:
            return True, "", numbers  # not recorded yet: do not ask for a repeat
        return False, NOT_SEEN if first["_cause"] == UnusableCause.NOT_SEEN else FACE_LOST, numbers
    rows, _ = epochs_analyze(frames, ep, np.zeros(len(frames), bool))
    limits = {"smile": ("mouth_corner_excursion_mm", rules.forceful_smile_mm),
              "pucker": ("mouth_corner_excursion_mm", rules.forceful_pucker_mm),
              "brow_raise": ("brow_raise_mm", rules.forceful_brow_mm)}
    if movement in limits and len(rows):
        col, limit = limits[movement]
        top = float(np.nanmax(rows[col].to_numpy(dtype=float))) \
            if np.isfinite(rows[col].to_numpy(dtype=float)).any() else float("nan")
        numbers[col] = top
        if math.isfinite(top) and top > limit:
            return False, FORCEFUL, numbers
    return True, "", numbers
