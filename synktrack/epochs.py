"""Movement and rest epochs: from protocol timing, or found in the signals; blinks.

An epoch table has one row per protocol step (or detected movement) with its
time window, the plateau that is analysed, the rest frames it is compared
with, and whether it is usable (with the reason when it is not).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from synktrack.measures.ids import SIDES
from synktrack.protocol import Protocol, Step

MIN_PLATEAU_FRAMES = 5
MIN_REST_FRAMES = 10  # fewer rest frames than this do not set the open-eye aperture
MIN_USABLE_FRACTION = 0.5


class UnusableCause(StrEnum):
    """Why an epoch is unusable, for code that reacts to it (the ``reason`` text is for people).

    The private ``_cause`` column of an epoch table holds one of these, or ``""`` when the
    epoch is usable.
    """

    CLIP_END = "clip_end"  # the clip ends before or during the step
    FRAMES = "frames"  # too few usable frames, or no usable rest
    NOT_SEEN = "not_seen"  # the movement stayed within the rest noise


#: Kinds of unusable epoch, as plain strings.
UNUSABLE_CAUSES = tuple(c.value for c in UnusableCause)
# A movement is seen on a side when its amplitude (plateau median minus rest median)
# exceeds NOISE_FACTOR robust SDs of the same signal over the rest frames, and at least
# this much in clinical units (mm of corner or brow travel, mm of eye closing).
NOISE_FACTOR = 4.0
MOVEMENT_FLOOR_MM = {"smile": 0.5, "pucker": 0.5, "brow_raise": 0.5, "eye_closure": 1.0}


@dataclass(frozen=True)
class EpochSettings:
    """Timing rules (seconds) for plateaus and rest windows."""

    reaction_s: float = 0.8  # skip the start of a movement step (reaction and ramp)
    release_s: float = 0.2  # skip the end of a movement step
    relax_s: float = 1.0  # skip the start of a rest step (letting go of the movement)
    plateau_level: float = 0.6  # keep plateau frames above this share of the step's peak
    blink_max_s: float = 0.6  # dips longer than this are not blinks
    blink_drop: float = 0.5  # blink: aperture below this share of the rest aperture
    # Partial blinks: both eyes dip fast by at least partial_depth of their level just
    # before, stay below half-way for at most partial_max_s and come back to at least
    # partial_recovery of that level soon after.
    partial_depth: float = 0.3
    partial_max_s: float = 0.3
    partial_before_s: float = 0.2  # the open level is the largest aperture this long before
    partial_after_s: float = 0.3  # ... and the recovery must come within this long after
    partial_recovery: float = 0.75
    partial_open: float = 0.6  # the eyes were open before: at least this share of rest


def blinks_detect(frames: pd.DataFrame, rest_mask: np.ndarray,
                  settings: EpochSettings | None = None) -> tuple[np.ndarray, int]:
    """Frames inside short bilateral eye closures, and how many blinks there were.

    A blink is a dip of both eyes below ``blink_drop`` of their rest aperture
    that is shorter than ``blink_max_s`` and seen whole: open, measured eyes
    on usable frames (``usable`` column, when there is one) just before and
    after it (a dip next to frames without an aperture, e.g. a hand over the
    eye, may be part of a longer closure). A partial blink is a brief, fast
    dip of both eyes with a smaller depth (see :func:`partial_blinks`).
    Frames are padded by one on each side.
    """
    s = settings or EpochSettings()
    ap = frames[[f"eye_aperture_{side}_mm" for side in SIDES]].to_numpy(dtype=float)
    usable = frames["usable"].to_numpy().astype(bool) if "usable" in frames else \
        np.ones(len(frames), bool)
    # Too few rest frames (e.g. epochs found in a clip that never rests) give no open-eye
    # level: the usable frames' median is used instead.
    ref = rest_mask if rest_mask.sum() >= MIN_REST_FRAMES or not usable.any() else usable
    with warnings.catch_warnings():  # no aperture at all (no face): no blink either
        warnings.simplefilter("ignore", RuntimeWarning)
        rest = np.nanmedian(ap[ref], axis=0) if ref.any() else np.nanmedian(ap, axis=0)
    with np.errstate(invalid="ignore"):
        low = (ap < s.blink_drop * rest).all(axis=1)
    t = frames["time_s"].to_numpy()
    out = np.zeros(len(frames), bool)
    n = 0
    measured = np.isfinite(ap).all(axis=1) & usable
    for a, b in mask_runs(low):
        seen = (a == 0 or measured[a - 1]) and (b == len(low) or measured[b])
        if seen and t[b - 1] - t[a] <= s.blink_max_s:
            out[max(a - 1, 0) : min(b + 1, len(out))] = True
            n += 1
    for a, b in partial_blinks(t, ap, rest, measured, s):
        if not out[a:b].any():
            out[max(a - 1, 0) : min(b + 1, len(out))] = True
            n += 1
    return out, n


def partial_blinks(t: np.ndarray, ap: np.ndarray, rest: np.ndarray, measured: np.ndarray,
                   s: EpochSettings) -> list[tuple[int, int]]:
    """[start, stop) frames of partial blinks: brief, fast dips of both eyes.

    At a local minimum of the mean aperture, each eye must be at least
    ``partial_depth`` below its largest aperture in the ``partial_before_s``
    before (and by at least ``partial_depth`` of its rest aperture; the eyes
    must have been open: ``partial_open`` of rest), come back to
    ``partial_recovery`` of it within ``partial_after_s``, and stay below
    half-way between the two for at most ``partial_max_s``. Every frame of
    that window must be measured. Slow narrowing (a smile, looking down) and
    closures that stay shut are not partial blinks.
    """
    found: list[tuple[int, int]] = []
    n = len(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.mean(ap / rest, axis=1)
    for m in range(1, n - 1):
        if not (np.isfinite(mean[m]) and mean[m] <= mean[m - 1] and mean[m] < mean[m + 1]):
            continue
        a = int(np.searchsorted(t, t[m] - s.partial_before_s))
        b = int(np.searchsorted(t, t[m] + s.partial_after_s, side="right"))
        if a >= m or b <= m + 1 or not measured[a:b].all():
            continue
        before, after = ap[a:m].max(axis=0), ap[m + 1 : b].max(axis=0)
        if not ((ap[m] <= (1 - s.partial_depth) * before).all()
                and (before - ap[m] >= s.partial_depth * rest).all()
                and (after >= s.partial_recovery * before).all()
                and (before >= s.partial_open * rest).all()):
            continue
        below = (ap[a:b] < (before + ap[m]) / 2).all(axis=1)
        run = next(((a + x, a + y) for x, y in mask_runs(below) if a + x <= m < a + y), None)
        if run is not None and t[run[1] - 1] - t[run[0]] <= s.partial_max_s and \
                not any(x < run[1] and run[0] < y for x, y in found):
            found.append(run)
    return found


def blink_bottoms(frames: pd.DataFrame, blink: np.ndarray) -> list[int]:
    """Frame of the smallest mean aperture in each blink of a :func:`blinks_detect` mask."""
    ap = frames[[f"eye_aperture_{side}_mm" for side in SIDES]].to_numpy().mean(axis=1)
    return [a + int(np.nanargmin(ap[a:b])) for a, b in mask_runs(blink)]


def rest_mask(frames: pd.DataFrame, protocol: Protocol) -> np.ndarray:
    """(time,) frames inside the protocol's rest steps."""
    t = frames["time_s"].to_numpy()
    mask = np.zeros(len(t), bool)
    for step in protocol.steps:
        if step.movement == "rest":
            mask |= (t >= step.start_s) & (t < step.end_s)
    return mask


def prompted_mask(frames: pd.DataFrame, protocol: Protocol,
                  settings: EpochSettings | None = None) -> np.ndarray:
    """(time,) frames inside the protocol's movement steps or the relax time after each."""
    s = settings or EpochSettings()
    t = frames["time_s"].to_numpy()
    mask = np.zeros(len(t), bool)
    for step in protocol.steps:
        if step.movement != "rest":
            mask |= (t >= step.start_s) & (t < step.end_s + s.relax_s)
    return mask


def mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of True runs."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return list(zip(edges[::2], edges[1::2], strict=True))


def movement_signal(frames: pd.DataFrame, movement: str, rest: pd.Series) -> np.ndarray:
    """(time,) how strongly ``movement`` is being done, both sides averaged, vs ``rest``."""
    def col(name: str) -> np.ndarray:
        return frames[name].to_numpy() - rest[name]

    if movement in ("smile", "pucker"):
        parts = [np.hypot(col(f"mouth_corner_{s}_x_mm"), col(f"mouth_corner_{s}_y_mm"))
                 for s in SIDES]
    elif movement == "eye_closure":
        parts = [-col(f"eye_aperture_{s}_mm") for s in SIDES]
    elif movement == "brow_raise":
        parts = [col(f"brow_height_{s}_mm") for s in SIDES]
    else:
        return np.zeros(len(frames))
    with warnings.catch_warnings():  # frames without a face are NaN on both sides
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(parts), axis=0)


def side_signal(frames: pd.DataFrame, movement: str, side: str,
                rest: pd.Series) -> np.ndarray:
    """(time,) how far one side has moved in ``movement`` from ``rest`` (mm, + = more)."""
    def col(name: str) -> np.ndarray:
        return frames[name].to_numpy(dtype=float) - float(rest[name])

    if movement in ("smile", "pucker"):
        return np.hypot(col(f"mouth_corner_{side}_x_mm"), col(f"mouth_corner_{side}_y_mm"))
    if movement == "eye_closure":
        return -col(f"eye_aperture_{side}_mm")
    if movement == "brow_raise":
        return col(f"brow_height_{side}_mm")
    return np.zeros(len(frames))


def movement_seen(frames: pd.DataFrame, movement: str, plateau: np.ndarray,
                  rest: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per side: (amplitude, threshold) of ``movement`` on ``plateau`` against ``rest``.

    The amplitude is the plateau median of :func:`side_signal` minus its rest
    median; the threshold is :data:`NOISE_FACTOR` robust SDs (1.4826 x MAD) of
    the signal over the rest frames, and never below :data:`MOVEMENT_FLOOR_MM`.
    A side moved when its amplitude exceeds its threshold; a paralysed side may
    stay still, so an epoch needs the movement on one side only.
    """
    out: dict[str, tuple[float, float]] = {}
    base = frames.loc[rest].median(numeric_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for side in SIDES:
            sig = side_signal(frames, movement, side, base)
            at_rest = sig[rest]
            noise = 1.4826 * float(np.nanmedian(np.abs(at_rest - np.nanmedian(at_rest))))
            amp = float(np.nanmedian(sig[plateau]) - np.nanmedian(at_rest))
            thr = max(MOVEMENT_FLOOR_MM.get(movement, 0.5), NOISE_FACTOR * noise)
            out[side] = (amp, thr)
    return out


def epochs_from_protocol(frames: pd.DataFrame, protocol: Protocol,
                         settings: EpochSettings | None = None) -> pd.DataFrame:
    """One row per movement step: windows, plateau, rest frames, usability.

    Rest frames for a movement are the trimmed rest steps right before and
    after it. The plateau is the trimmed step, narrowed to the frames where
    the movement signal reaches ``plateau_level`` of its peak.
    """
    s = settings or EpochSettings()
    t = frames["time_s"].to_numpy()
    usable = frames["usable"].to_numpy().astype(bool)
    end_of_clip = float(t[-1]) if len(t) else 0.0
    steps = list(protocol.steps)
    rows: list[dict[str, object]] = []
    reps: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.movement == "rest":
            continue
        reps[step.movement] = reps.get(step.movement, 0) + 1
        rest_idx = _rest_frames(t, steps, i, s)
        win = (t >= step.start_s) & (t < step.end_s)
        trim = (t >= step.start_s + min(s.reaction_s, 0.4 * step.duration_s)) & \
            (t < step.end_s - s.release_s)
        row = {
            "epoch": len(rows), "movement": step.movement, "repetition": reps[step.movement],
            "start_s": step.start_s, "end_s": step.end_s,
            "plateau_start_s": np.nan, "plateau_end_s": np.nan,
            "frames": int(win.sum()), "usable_frames": 0, "usable_fraction": 0.0,
            "usable": 0, "reason": "",
        }
        plateau = trim & usable
        reason = ""
        cause: UnusableCause | str = ""  # what kind of reason, for code that reacts to it
        if step.start_s >= end_of_clip or step.end_s > end_of_clip + 0.5:
            reason = "the clip ends before this step" if step.start_s >= end_of_clip else \
                "the clip ends during this step"
            cause = UnusableCause.CLIP_END
        elif not (rest_idx & usable).any():
            reason = "no usable rest before or after this movement"
        if not reason and plateau.sum() >= MIN_PLATEAU_FRAMES:
            rest_vals = frames.loc[rest_idx & usable].median(numeric_only=True)
            sig = movement_signal(frames, step.movement, rest_vals)
            peak = np.nanpercentile(sig[plateau], 90) if plateau.any() else np.nan
            if np.isfinite(peak) and peak > 0.5:
                strong = plateau & (sig >= s.plateau_level * peak)
                if strong.sum() >= MIN_PLATEAU_FRAMES:
                    plateau = strong
        n_trim = int(trim.sum())
        frac = float((trim & usable).sum() / n_trim) if n_trim else 0.0
        if not reason:
            if n_trim == 0:
                reason = "no frames in this step"
            elif frac < MIN_USABLE_FRACTION:
                reason = f"face lost or unusable in {100 * (1 - frac):.0f} % of the movement"
            elif plateau.sum() < MIN_PLATEAU_FRAMES:
                reason = (f"only {int(plateau.sum())} frames to measure in this step (at least "
                          f"{MIN_PLATEAU_FRAMES} needed): use longer steps or a higher frame "
                          "rate")
        cause = cause or (UnusableCause.FRAMES if reason else "")
        if not reason:
            seen = movement_seen(frames, step.movement, plateau, rest_idx & usable)
            if all(not amp > thr for amp, thr in seen.values()):
                cause = UnusableCause.NOT_SEEN
                what = step.movement.replace("_", " ")
                reason = (f"no {what} seen on either side (" + ", ".join(
                    f"{side} {round(amp, 1) + 0.0:.1f} mm, needs over {thr:.1f} mm"
                    for side, (amp, thr) in seen.items())
                    + "): the movement stayed within the rest noise")
        if plateau.any():
            row["plateau_start_s"] = float(t[plateau].min())
            row["plateau_end_s"] = float(t[plateau].max())
        row.update(usable_frames=int((win & usable).sum()), usable_fraction=round(frac, 3),
                   usable=int(not reason), reason=reason)
        row["_cause"] = cause if reason else ""
        row["_plateau"] = plateau
        row["_rest"] = rest_idx & usable
        row["_window"] = win & usable
        rows.append(row)
    return pd.DataFrame(rows)


def _rest_frames(t: np.ndarray, steps: list[Step], i: int, s: EpochSettings) -> np.ndarray:
    mask = np.zeros(len(t), bool)
    for j in (i - 1, i + 1):
        if 0 <= j < len(steps) and steps[j].movement == "rest":
            r = steps[j]
            skip = min(s.relax_s, 0.4 * r.duration_s) if j > 0 else 0.0
            mask |= (t >= r.start_s + skip) & (t < r.end_s - 0.1)
    return mask


def _widen(t: np.ndarray, level: np.ndarray, a: int, b: int, lo: int, hi: int,
           ramp_level: float, ramp_max_s: float) -> tuple[int, int]:
    """Extend the run ``[a, b)`` outwards while ``level`` stays at or above ``ramp_level``.

    Never into ``[.., lo)`` or ``[hi, ..)`` (the neighbouring runs) and by at most
    ``ramp_max_s`` on each side.
    """
    t_a, t_b = t[a], t[b - 1]
    while a > lo and level[a - 1] >= ramp_level and t_a - t[a - 1] <= ramp_max_s:
        a -= 1
    while b < hi and level[b] >= ramp_level and t[b] - t_b <= ramp_max_s:
        b += 1
    return a, b


def epochs_auto(frames: pd.DataFrame, min_s: float = 0.8, ramp_level: float = 0.2,
                ramp_max_s: float = 1.0) -> tuple[Protocol, list[str]]:
    """Find movement epochs in an unprompted clip; return them as a protocol.

    Each frame is scored for every movement against the clip's quietest frames;
    runs longer than ``min_s`` where one movement clearly dominates become
    epochs, and the gaps between them become rest. Returns the protocol and
    human-readable lines describing what was found.
    """
    t = frames["time_s"].to_numpy()
    usable = frames["usable"].to_numpy().astype(bool)
    if usable.sum() < 10:
        return Protocol("auto", 1, (), source="auto"), ["too few usable frames to find epochs"]
    base = frames.loc[usable].median(numeric_only=True)
    rest_ap = np.mean([base[f"eye_aperture_{s}_mm"] for s in SIDES])
    # Thresholds: mm of corner or brow movement; mm of eye closing (half the aperture).
    thresholds = {"smile": 1.5, "pucker": 1.5, "eye_closure": 0.5 * rest_ap, "brow_raise": 1.5}
    scores = {}
    for m, thr in thresholds.items():
        sig = movement_signal(frames, m, base)
        if m == "eye_closure":  # eyes shut longer than a blink outrank anything else
            sig = np.where(sig >= thr, 100.0 * sig, sig)
        if m in ("smile", "pucker"):
            dx = sum(frames[f"mouth_corner_{s}_x_mm"].to_numpy() - base[f"mouth_corner_{s}_x_mm"]
                     for s in SIDES) / 2
            sig = np.where(dx >= 0, sig, 0.0) if m == "smile" else np.where(dx < 0, sig, 0.0)
        scores[m] = np.where(usable, np.nan_to_num(sig) / thr, 0.0)
    stack = np.stack(list(scores.values()))
    best = np.argmax(stack, axis=0)
    active = stack.max(axis=0) >= 1.0
    names = list(scores)
    level = stack.max(axis=0)
    steps: list[Step] = []
    found: list[str] = []
    cursor = float(t[0])
    last = 0
    runs = [(a, b) for a, b in mask_runs(active) if t[b - 1] - t[a] >= min_s]
    for k, (a, b) in enumerate(runs):
        movement = names[int(np.bincount(best[a:b], minlength=len(names)).argmax())]
        # Widen the run to the movement's onset and release, as a prompted step holds
        # them: coupling is a slope over the epoch's frames, and without the ramps from
        # rest it would compare one movement's plateau with another's.
        nxt = runs[k + 1][0] if k + 1 < len(runs) else len(t)
        a, b = _widen(t, level, a, b, last, nxt, ramp_level, ramp_max_s)
        last = b
        start, end = float(t[a]), float(t[b - 1])
        if start > cursor:
            steps.append(Step("rest", start - cursor, "", cursor))
        steps.append(Step(movement, end - start, "", start))
        found.append(f"{movement} from {start:.1f} s to {end:.1f} s")
        cursor = end
    if steps and cursor < t[-1]:
        steps.append(Step("rest", float(t[-1]) - cursor + 1e-3, "", cursor))
    if not found:
        found = ["no movement epochs found (the face stayed at rest)"]
    return Protocol("auto", 1, tuple(steps), "epochs found in the signals", "auto"), found


def movements_missing(epochs: pd.DataFrame, protocol: Protocol) -> list[str]:
    """Movements of ``protocol`` without a single usable epoch (a session without them
    is not complete)."""
    done = set(epochs.loc[epochs["usable"].astype(bool), "movement"]) if len(epochs) else set()
    return [m for m in protocol.movements() if m != "rest" and m not in done]
