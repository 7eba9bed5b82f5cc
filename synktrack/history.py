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
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from synktrack.atomic import check_writable, clean_stale, ensure_dir, output_error, write_text
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

    The rows already in the file are kept byte for byte when the new row adds
    no column; new columns in ``row`` are added at the end (old rows get empty
    values, nothing else changes). A file that cannot be read as a table is
    never rewritten: :class:`InputError`, file untouched. Raises
    :class:`OutputError` when the lock cannot be had or the place is not
    writable. Temporary copies left by a writer killed mid-write are removed.
    """
    path = Path(path)
    ensure_dir(path.parent)
    try:
        lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S)
        with lock:
            clean_stale(path.parent, path.name, any_pid=True)  # we hold every writer's lock
            text = _read_text(path)
            old = _parse(path, text) if text.strip() else None
            if max_schema is not None and old is not None:
                newest = _newest_schema(path, old)
                if newest is not None and newest > max_schema:
                    raise InputError(f"{path} was written by a newer synktrack (schema "
                                     f"{newest}): upgrade synktrack to add sessions to "
                                     "it; the file was left untouched")
            header = list(old.columns) if old is not None else []
            cols = list(header) if header else list(columns or [])
            for c in [*(columns or []), *row.keys()]:
                if c not in cols and (not header or c in row):
                    cols.append(c)
            line = _csv_line([row.get(c, "") for c in cols])
            if old is not None and cols == header:
                body = text if text.endswith(("\n", "\r")) else text + "\n"
                write_text(path, body + line)
            else:
                table = old.reindex(columns=cols, fill_value="") if old is not None else None
                rows = [] if table is None else table.astype(str).values.tolist()
                write_text(path, "".join(_csv_line(r) for r in [cols, *rows]) + line)
    except Timeout as err:
        raise OutputError(f"{path} is locked by another synktrack: try again shortly") from err
    except OSError as err:
        raise output_error(path, err) from err


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def append_session(path: str | os.PathLike[str], row: Mapping[str, Any]) -> None:
    """Append a session row to a history file (columns in the documented order)."""
    append_row(path, {**row, "schema_version": SCHEMA_VERSION}, list(session_columns()),
               max_schema=SCHEMA_VERSION)


def check_history(path: str | os.PathLike[str]) -> None:
    """Make sure a session row can be added to ``path`` later, before any work starts.

    Raises
    ------
    InputError
        ``path`` is a folder, or an existing file is not a readable history
        (bad CSV, a schema from a newer synktrack); the message names the line.
    OutputError
        The place is read-only.
    """
    path = Path(path)
    if path.exists():
        text = _read_text(path)
        newest = _newest_schema(path, _parse(path, text)) if text.strip() else None
        if newest is not None and newest > SCHEMA_VERSION:
            raise InputError(f"{path} was written by a newer synktrack (schema {newest}): "
                             "upgrade synktrack to add sessions to it; the file was left "
                             "untouched")
    check_writable(path)
    check_writable(path.parent)  # the temporary copy and the lock file go beside it


def read_csv_strict(path: str | os.PathLike[str]) -> pd.DataFrame | None:
    """A CSV as a table of text, or None when the file is empty; strict about its shape.

    Raises
    ------
    InputError
        ``path`` is a folder or unreadable, not UTF-8, an unterminated quote,
        a row with more or fewer fields than the header, or a repeated column
        name: one line naming the file and line.
    """
    path = Path(path)
    text = _read_text(path)
    return _parse(path, text) if text.strip() else None


def _read_text(path: Path) -> str:
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a CSV file: give a file such as "
                         f"{path / path.name}.csv")
    if not path.exists():
        return ""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError as err:
        raise InputError(f"{path} is not a UTF-8 text CSV (byte {err.start}); it was left "
                         "untouched") from err
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from err


def _parse(path: Path, text: str) -> pd.DataFrame:
    untouched = "fix or move that line; the file was left untouched"
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise InputError(f"{path}, line {line}: holds NUL bytes (damaged, e.g. by a crash or "
                         "a full disk?); restore it from a backup; the file was left untouched")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [r for r in reader if r]
    except csv.Error as err:
        raise InputError(f"{path}, line {reader.line_num}: not a readable CSV row ({err}); "
                         f"{untouched}") from err
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{path}, line 1: column {twice[0]!r} appears twice; {untouched}")
    body = rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise InputError(f"{path}: row {i + 1} has {len(r)} fields where the header has "
                             f"{len(header)}; {untouched}")
    return pd.DataFrame(body, columns=header, dtype=str)


def _newest_schema(path: Path, table: pd.DataFrame) -> int | None:
    """The highest ``schema_version`` in the file; every value must be a whole number."""
    if "schema_version" not in table.columns:
        return None
    newest = None
    for i, value in enumerate(table["schema_version"]):
        v = str(value).strip()
        if not v:
            continue
        try:
            number = float(v)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number.is_integer() and 0 <= number < 1e6):
            raise InputError(f"{path}: row {i + 1} has schema_version {v[:20]!r}, not a "
                             "schema number; fix or move that row; the file was left untouched")
        newest = max(newest or 0, int(number))
    return newest


def read_history(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a history CSV with numeric columns as numbers.

    Older schema versions load with missing columns added as empty; a file
    from a newer synktrack gets a clear message.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no history at {path}: analyse a session with --history {path} first")
    raw = read_csv_strict(path)
    cols = list(session_columns())
    if raw is None:
        return pd.DataFrame(columns=cols)
    newest = _newest_schema(path, raw)
    if newest is not None and newest > SCHEMA_VERSION:
        raise InputError(f"{path} was written by a newer synktrack (schema "
                         f"{newest}): upgrade synktrack to read it")
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
