"""Results: the per-clip tables gathered into ``sessions.csv`` and ``epochs.csv`` (as the exact
text of the per-clip files), and the run's ``errors.csv``, ``duplicates.csv`` and ``batch.json``."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from synktrack.atomic import atomic_path, write_json
from synktrack.batch.plan import read_marker
from synktrack.batch.tasks import (
    BATCH_JSON,
    CLIPS_DIR,
    DUPLICATES_CSV,
    EPOCHS_CSV,
    ERROR_COLUMNS,
    ERRORS_CSV,
    SESSION_CSV,
    SESSIONS_CSV,
    BatchResult,
    ClipOutcome,
    ClipTask,
)


def collect(out_dir: str | os.PathLike[str],
            current: Mapping[str, ClipTask] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Session and epoch rows of every finished clip folder in ``out_dir/clips``.

    Values are kept as the exact text of the per-clip files. ``current`` (tasks
    by clip id) gives this run's clip paths and manifest extras.
    """
    sessions, epochs = [], []
    clips = Path(out_dir) / CLIPS_DIR
    for d in sorted(clips.iterdir()) if clips.is_dir() else []:
        marker = read_marker(d)
        if not marker or not (d / SESSION_CSV).is_file():
            continue
        task = (current or {}).get(d.name)
        rel = task.clip_path if task else str(marker.get("clip_path", ""))
        extra = task.extra if task else dict(marker.get("extra") or {})
        s = _read_text_csv(d / SESSION_CSV)
        if s is None:
            continue
        sessions.append(_tag(s, rel, d.name, extra))
        e = _read_text_csv(d / EPOCHS_CSV)
        if e is not None and len(e):
            epochs.append(_tag(e, rel, d.name, {}))
    from synktrack.schema import EPOCH_COLUMNS

    table = _concat(epochs)
    cols = ["clip_path", "clip_id", *EPOCH_COLUMNS]
    return _session_frame(sessions), table.reindex(
        columns=[*cols, *[c for c in table.columns if c not in cols]])


def _read_text_csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return None


def _tag(df: pd.DataFrame, rel: str, cid: str, extra: Mapping[str, str]) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "clip_id", cid)
    df.insert(0, "clip_path", rel)
    for k, v in extra.items():
        if k not in df:
            df[k] = v
    return df


def _session_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    from synktrack.schema import session_columns

    df = _concat(frames)
    cols = ["clip_path", "clip_id", *session_columns()]
    return df.reindex(columns=[*cols, *[c for c in df.columns if c not in cols]])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_csv(path: Path, df: pd.DataFrame, float_format: str | None = None) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)


def summaries(out: Path, tasks: list[ClipTask], outcomes: list[ClipOutcome],
               run: dict[str, Any], seconds: float) -> BatchResult:
    """Rebuild sessions.csv and epochs.csv; write errors.csv, duplicates.csv, batch.json."""
    sessions, epochs = collect(out, {t.clip_id: t for t in tasks})
    failed = [o for o in outcomes if o.status == "failed"]
    dups = [o for o in outcomes if o.status == "duplicate"]
    files = {"sessions": out / SESSIONS_CSV, "epochs": out / EPOCHS_CSV,
             "errors": out / ERRORS_CSV, "duplicates": out / DUPLICATES_CSV}
    write_csv(files["sessions"], sessions)
    write_csv(files["epochs"], epochs)
    write_csv(files["errors"], pd.DataFrame([asdict(o) for o in failed], columns=ERROR_COLUMNS))
    write_csv(files["duplicates"], pd.DataFrame(
        [{"clip_path": o.clip_path, "source": o.source, "duplicate_of": o.duplicate_of,
          "reason": o.reason} for o in dups],
        columns=["clip_path", "source", "duplicate_of", "reason"]))
    counts = Counter(o.status for o in outcomes)
    if run:
        files["batch"] = out / BATCH_JSON
        write_json(files["batch"], {**run, "counts": dict(counts), "seconds": round(seconds, 3),
                                    "clips_in_tables": int(len(sessions))})
    table = pd.read_csv(files["sessions"]) if len(sessions) else sessions
    ep = pd.read_csv(files["epochs"]) if len(epochs) else epochs
    return BatchResult(out, outcomes, table, ep, files, seconds)

