"""A made-up patient: weekly sessions with all history columns, and three events.

For tests, benchmarks and demonstrations of the report only; the numbers are
plausible, not measured. The affected side starts with clear mouth-to-eye
synkinesis that eases slowly with therapy and drops for a few weeks after a
botulinum toxin injection.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np

from synktrack.events import Event, make_event
from synktrack.index_specs import BY_STEM
from synktrack.indices import NORMS
from synktrack.schema import (
    INDICES,
    SCHEMA_VERSION,
    SIDES,
    TEXTURE_INDICES,
    asymmetry_column,
    index_column,
)

THERAPY_WEEK = 2
BOTOX_WEEK = 16
NOTE_WEEK = 34


def fake_events(start: str | dt.date = "2024-01-08") -> list[Event]:
    """Therapy start, one botulinum toxin injection and a note, on the fake timeline."""
    t0 = dt.date.fromisoformat(str(start))

    def week(w: int) -> dt.date:
        return t0 + dt.timedelta(weeks=w, days=-2)

    return [
        make_event(week(THERAPY_WEEK), "therapy_start", note="neuromuscular retraining, weekly"),
        make_event(week(BOTOX_WEEK), "botox", side="left", muscle="orbicularis oculi",
                   dose_units=5, note="lateral and lower lid"),
        make_event(week(NOTE_WEEK), "note", note="home exercises changed to mirror practice"),
    ]


def _profiles(t: np.ndarray, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """Index trajectories (affected, other) over weeks ``t``."""
    therapy = np.clip(1 - np.exp(-(t - THERAPY_WEEK) / 18.0), 0, None)
    since = t - BOTOX_WEEK
    toxin = np.where(since < 0, 0.0, np.minimum(since / 2.0, 1.0) * np.exp(-np.clip(
        since - 2, 0, None) / 7.0))

    def noisy(x: np.ndarray, sd: float) -> np.ndarray:
        return x + rng.normal(0, sd, len(t))

    return {
        "eye_narrowing_smile": {
            "affected": noisy(47 - 12 * therapy - 16 * toxin, 3.0), "other": noisy(22 + 0 * t, 3)},
        "eye_narrowing_pucker": {
            "affected": noisy(26 - 8 * therapy - 12 * toxin, 2.5), "other": noisy(2 + 0 * t, 1.2)},
        "mouth_corner_eye_closure": {
            "affected": noisy(3.2 - 1.2 * therapy - 0.6 * toxin, 0.35),
            "other": noisy(0.3 + 0 * t, 0.25)},
        "smile_excursion": {
            "affected": noisy(4.0 + 2.0 * therapy, 0.4), "other": noisy(7.5 + 0 * t, 0.4)},
        "pucker_excursion": {
            "affected": noisy(2.8 + 1.0 * therapy, 0.35), "other": noisy(4.6 + 0 * t, 0.35)},
        "eye_closure": {
            "affected": noisy(88 - 9 * toxin, 2.0), "other": noisy(95 + 0 * t, 1.5)},
        "brow_raise": {
            "affected": noisy(1.8 + 1.0 * therapy, 0.3), "other": noisy(4.8 + 0 * t, 0.3)},
        "oral_ocular_coupling": {
            "affected": noisy(6.5 - 2 * therapy - 2.5 * toxin, 0.6),
            "other": noisy(2.8 + 0 * t, 0.4)},
        "ocular_oral_coupling": {
            "affected": noisy(0.35 - 0.12 * therapy, 0.04), "other": noisy(0.04 + 0 * t, 0.03)},
        "chin_coactivation": {
            "affected": noisy(28 - 8 * therapy - 10 * toxin, 4.0), "other": noisy(3 + 0 * t, 2.5)},
        "neck_coactivation": {
            "affected": noisy(14 - 4 * therapy, 3.0), "other": noisy(2 + 0 * t, 2.0)},
        "blink_pull": {
            "affected": noisy(1.1 - 0.4 * therapy - 0.5 * toxin, 0.12),
            "other": noisy(0.05 + 0 * t, 0.08)},
    }


_SD = {"chin_coactivation": 4.0, "neck_coactivation": 3.0,
       "eye_narrowing_smile": 3.0, "eye_narrowing_pucker": 2.2, "mouth_corner_eye_closure": 0.3,
       "smile_excursion": 0.45, "pucker_excursion": 0.4, "eye_closure": 2.5, "brow_raise": 0.35}


def fake_rows(n_sessions: int = 52, *, subject: str = "demo-01",
              start: str | dt.date = "2024-01-08", affected_side: str = "left",
              seed: int = 7) -> list[dict[str, Any]]:
    """One history row per weekly session, with every column of the schema."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_sessions, dtype=float)
    t0 = dt.date.fromisoformat(str(start))
    other = "right" if affected_side == "left" else "left"
    prof = _profiles(t, rng)
    rows: list[dict[str, Any]] = []
    for i in range(n_sessions):
        day = t0 + dt.timedelta(weeks=i)
        row: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION, "session_id": f"{subject}-{day:%Y%m%d}",
            "started_at": f"{day.isoformat()}T18:{10 + i % 40:02d}:00+01:00",
            "session_date": day.isoformat(), "subject": subject, "protocol": "weekly-check",
            "protocol_version": 1, "affected_side": affected_side, "mirrored": 1, "complete": 1,
            "source": "camera 0", "source_sha256": f"{i:064x}", "synktrack_version": "0.1.0",
            "mediapipe_version": "0.10.14", "model_sha256": "0" * 63 + "f",
            "eye_measure": "lid margins",
        }
        for stem in INDICES:
            # an index without a made-up trajectory of its own stays flat at zero
            flat = {"affected": np.zeros(n_sessions), "other": np.zeros(n_sessions)}
            traj = prof.get(stem, flat)
            vals = {affected_side: traj["affected"][i], other: traj["other"][i]}
            for side in SIDES:
                row[index_column(stem, side)] = round(float(vals[side]), 2)
                if stem in _SD:
                    sd_col = f"{stem}_{side}_sd{INDICES[stem][0]}"
                    row[sd_col] = round(float(abs(rng.normal(_SD[stem], _SD[stem] / 3))), 2)
                if BY_STEM[stem].kind == "coupling":
                    row[f"{stem}_r_{side}"] = round(float(rng.uniform(0.5, 0.95)), 2)
            row[asymmetry_column(stem)] = round(float(vals[affected_side] - vals[other]), 2)
        n_blinks = int(rng.integers(14, 36))  # spontaneous, outside the prompted movements
        for side in SIDES:
            half = round(float(rng.uniform(0.15, 0.3)), 2)
            pull = row[index_column("blink_pull", side)]
            row.update({f"blink_pull_{side}_ci_low_mm": round(pull - half, 2),
                        f"blink_pull_{side}_ci_high_mm": round(pull + half, 2),
                        f"blink_pull_{side}_blinks_n": n_blinks,
                        f"blink_pull_{side}_lag_s": round(float(rng.uniform(0.2, 0.4)), 2),
                        f"blink_pull_{side}_status": "ok"})
        for stem in TEXTURE_INDICES:
            for side in SIDES:
                row[f"{stem}_{side}_z"] = round(row[index_column(stem, side)] / 1.5, 2)
                row[f"{stem}_{side}_status"] = "ok"
        for stem, (mean, sd, _, _) in NORMS.items():
            for side in SIDES:
                row[f"{stem}_{side}_z"] = round((row[index_column(stem, side)] - mean) / sd, 2)
        for side in SIDES:
            high = row[index_column("eye_narrowing_pucker", side)] > 10
            row[f"synkinesis_suspected_{side}"] = int(high)
            row[f"synkinesis_reason_{side}"] = ("eye narrows during pucker" if high else
                                                "no pattern worth discussing")
        gentle = i in (5, 6, 23)
        poor = i in (11, 40)
        row.update({
            "duration_s": 96.0, "usable_frame_fraction": round(float(
                rng.uniform(0.5, 0.62) if poor else rng.uniform(0.88, 0.99)), 3),
            "epochs_total": 16, "epochs_usable": 11 if poor else 16,
            "blinks_n": n_blinks + int(rng.integers(2, 9)), "gentler_please": int(gentle),
            "gentler_reason": "smile 1.7 x the usual excursion" if gentle else "",
            "norms_note": "z-scores against published healthy eye narrowing",
        })
        if i == 40:  # pucker epochs unusable in this session
            for side in SIDES:
                for stem in ("eye_narrowing_pucker", "pucker_excursion"):
                    row[index_column(stem, side)] = ""
        rows.append(row)
    return rows


def fake_history(path: str | os.PathLike[str], n_sessions: int = 52, **kw: Any) -> Path:
    """Write :func:`fake_rows` to a history file with :func:`synktrack.history.append_session`.

    Keyword arguments go to :func:`fake_rows`.
    """
    from synktrack.history import append_session

    path = Path(path)
    for row in fake_rows(n_sessions, **kw):
        append_session(path, row)
    return path
