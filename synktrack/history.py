"""The per-user store: session history and events, with locked, atomic appends.

Layout (``platformdirs.user_data_dir("synktrack")``, or ``$SYNKTRACK_DATA_DIR``)::

    subjects/<subject>/history.csv     one row per session (schema in synktrack.schema)
    subjects/<subject>/events.csv      treatments and other events
    subjects/<subject>/sessions/<id>/  each session's outputs

Appends take a file lock (``<file>.lock``), read the current file, and replace
it atomically with the old rows plus the new one: concurrent writers queue up,
and a kill mid-write leaves the previous file intact, so no row is ever lost
or torn.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from synktrack.atomic import write_text
from synktrack.errors import InputError, OutputError
from synktrack.schema import SCHEMA_VERSION, session_columns, upgrade_columns

LOCK_TIMEOUT_S = 30.0
# Ids and text stay text even when every value looks like a number ("007" must not become 7).
TEXT_COLUMNS = frozenset({"session_id", "started_at", "subject", "protocol", "affected_side",
                          "source", "source_sha256", "synktrack_version", "mediapipe_version",
                          "model_sha256", "eye_measure", "gentler_reason", "norms_note",
                          "synkinesis_reason_left", "synkinesis_reason_right"})
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def data_dir() -> Path:
    """Root of the per-user store."""
    env = os.environ.get("SYNKTRACK_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("synktrack", appauthor=False))


def safe_id(subject: str) -> str:
    """A subject id usable as a folder name (never a path)."""
    cleaned = _SAFE.sub("_", subject.strip()).strip("._")
    if not cleaned:
        raise InputError(f"subject id {subject!r} has no usable characters: use letters or digits")
    return cleaned[:64]


def subject_dir(subject: str | None) -> Path:
    return data_dir() / "subjects" / safe_id(subject or "default")


def history_path(subject: str | None) -> Path:
    return subject_dir(subject) / "history.csv"


def events_path(subject: str | None) -> Path:
    return subject_dir(subject) / "events.csv"


def append_row(path: str | os.PathLike[str], row: Mapping[str, Any],
               columns: list[str] | None = None, max_schema: int | None = None) -> None:
    """Append one row to a CSV under a lock, replacing the file atomically.

    New columns in ``row`` are added at the end; rows already in the file keep
    their values. Raises :class:`OutputError` when the lock cannot be had.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S):
            old = _read_raw(path)
            if max_schema is not None and old is not None and "schema_version" in old:
                found = pd.to_numeric(old["schema_version"], errors="coerce").max()
                if found > max_schema:
                    raise InputError(f"{path} was written by a newer synktrack (schema "
                                     f"{int(found)}): upgrade synktrack to add sessions to "
                                     "it; the file was left untouched")
            cols = list(columns or [])
            for c in [*(old.columns if old is not None else []), *row.keys()]:
                if c not in cols:
                    cols.append(c)
            new = pd.DataFrame([{c: row.get(c, "") for c in cols}], columns=cols)
            table = new if old is None else pd.concat([old.reindex(columns=cols), new])
            buf = io.StringIO()
            table.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
            write_text(path, buf.getvalue())
    except Timeout as err:
        raise OutputError(f"{path} is locked by another synktrack: try again shortly") from err


def append_session(path: str | os.PathLike[str], row: Mapping[str, Any]) -> None:
    """Append a session row to a history file (columns in the documented order)."""
    append_row(path, {**row, "schema_version": SCHEMA_VERSION}, list(session_columns()),
               max_schema=SCHEMA_VERSION)


def _read_raw(path: Path) -> pd.DataFrame | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not a readable CSV ({err}); it was left untouched") from err


def read_history(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a history CSV with numeric columns as numbers.

    Older schema versions load with missing columns added as empty; a file
    from a newer synktrack gets a clear message.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no history at {path}: analyse a session with --history {path} first")
    raw = _read_raw(path)
    cols = list(session_columns())
    if raw is None:
        return pd.DataFrame(columns=cols)
    if "schema_version" in raw.columns and len(raw):
        versions = pd.to_numeric(raw["schema_version"], errors="coerce")
        if (versions > SCHEMA_VERSION).any():
            raise InputError(f"{path} was written by a newer synktrack (schema "
                             f"{int(versions.max())}): upgrade synktrack to read it")
    raw = upgrade_columns(raw)
    df = raw.reindex(columns=[*cols, *[c for c in raw.columns if c not in cols]])
    for c in df.columns:
        if c in TEXT_COLUMNS:
            continue
        conv = pd.to_numeric(df[c], errors="coerce")
        if conv.notna().sum() == (df[c].astype(str).str.len() > 0).sum():
            df[c] = conv
    if "session_date" in df:
        df["session_date"] = pd.to_datetime(df["session_date"], errors="coerce")
    return df.sort_values("session_date", kind="stable").reset_index(drop=True) \
        if "session_date" in df else df
