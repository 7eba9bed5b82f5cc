"""The report's inputs: one subject's dated sessions and events, with notes for the reader.

The history is read with :func:`synktrack.history.read_history` (older schema
versions load with their missing columns empty); what the reader should know
about the data (older schema, sessions without a date...) becomes a note.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synktrack.errors import InputError
from synktrack.events import Event, read_events
from synktrack.schema import INDICES, SCHEMA_VERSION, SIDES, index_column


@dataclass
class ReportData:
    """Everything the report shows.

    Attributes
    ----------
    history
        The subject's sessions, oldest first, with a ``date`` column (day, no time).
    events
        The subject's events, by date.
    subject
        Subject id as shown ("" when unknown).
    affected_side
        ``"left"``, ``"right"`` or ``"unknown"`` (from the latest session that says).
    source
        Where the history came from (file name).
    notes
        Sentences about the data the reader should know.
    """

    history: pd.DataFrame
    events: list[Event]
    subject: str = ""
    affected_side: str = "unknown"
    source: str = ""
    notes: list[str] = field(default_factory=list)


def _id_text(value: object) -> str:
    """A subject id as text; ids read back as numbers (``7.0``) become ``"7"``."""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return str(int(text)) if text.isdigit() else text


def select_subject(history: pd.DataFrame, subject: str | None,
                   source: str = "the history") -> tuple[pd.DataFrame, str]:
    """The rows of one subject, and that subject's id.

    Without ``subject`` the history must hold a single subject (or none). A history
    without subject ids is returned whole.

    Raises
    ------
    InputError
        ``subject`` is not in the history, or the history mixes subjects and none was chosen.
    """
    if "subject" not in history or history.empty:
        return history, subject or ""
    ids = history["subject"].map(_id_text)
    present = sorted({i for i in ids if i})
    if not present:
        return history, subject or ""
    if subject is None:
        if len(present) > 1:
            shown = ", ".join(present[:8]) + (" ..." if len(present) > 8 else "")
            raise InputError(f"{source} holds sessions of {len(present)} subjects ({shown}): "
                             "choose one with --subject")
        return history, present[0] if present else ""
    keep = ids == _id_text(subject)
    if not keep.any():
        shown = ", ".join(present[:8]) or "none"
        raise InputError(f"no sessions of subject {subject!r} in {source} "
                         f"(subjects there: {shown})")
    return history[keep].reset_index(drop=True), subject


def add_dates(history: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add a ``date`` column (session_date, else the day of started_at); drop undated rows."""
    notes: list[str] = []
    date = pd.Series(pd.NaT, index=history.index, dtype="datetime64[ns]")
    if "session_date" in history:
        date = pd.to_datetime(history["session_date"], errors="coerce")
    if "started_at" in history:
        started = pd.to_datetime(history["started_at"].astype(str), errors="coerce", utc=True)
        started = started.dt.tz_convert(None)
        date = date.fillna(started)
    out = history.assign(date=pd.to_datetime(date).dt.normalize())
    undated = int(out["date"].isna().sum())
    if undated:
        notes.append(f"{undated} session{'s' if undated != 1 else ''} without a date "
                     "(no session_date or started_at) left out.")
        out = out[out["date"].notna()]
    out = out.sort_values("date", kind="stable").reset_index(drop=True)
    return out, notes


def schema_notes(history: pd.DataFrame) -> list[str]:
    """Notes on sessions from an older synktrack and on indices that were never measured."""
    notes = []
    if "schema_version" in history and len(history):
        v = pd.to_numeric(history["schema_version"], errors="coerce")
        old = int(((v < SCHEMA_VERSION) | v.isna()).sum())
        if old:
            versions = sorted({int(x) for x in v.dropna() if x < SCHEMA_VERSION})
            which = f" (schema {', '.join(map(str, versions))})" if versions else ""
            notes.append(f"{old} session{'s' if old != 1 else ''} were written by an older "
                         f"synktrack{which}; values it did not record are shown as —.")
    if len(history):
        empty = [stem for stem in INDICES if not any(_has_values(history, index_column(stem, s))
                                                      for s in SIDES)]
        if empty and len(empty) < len(INDICES):
            from synktrack.report.reference import label

            names = ", ".join(label(stem).lower() for stem in empty)
            notes.append(f"No values in this history for: {names}.")
        elif empty:
            notes.append("No index values in this history (only session metadata).")
    return notes


def _has_values(history: pd.DataFrame, col: str) -> bool:
    return col in history and bool(pd.to_numeric(history[col], errors="coerce").notna().any())


def affected_side(history: pd.DataFrame) -> str:
    """The affected side the latest session states (``"unknown"`` if none does)."""
    if "affected_side" not in history:
        return "unknown"
    for value in reversed(history["affected_side"].astype(str).str.strip().str.lower().tolist()):
        if value in SIDES:
            return value
    return "unknown"


def load_report_data(history_file: str | os.PathLike[str], subject: str | None = None,
                     events_file: str | os.PathLike[str] | None = None) -> ReportData:
    """Read a history (and events) for the report.

    Parameters
    ----------
    history_file
        A history CSV.
    subject
        Keep only this subject's sessions; its events come from the store unless
        ``events_file`` is given.
    events_file
        An events CSV (columns ``date, kind, side, muscle, dose_units, note``).
    """
    from synktrack.history import events_path, read_history

    path = Path(history_file)
    raw = read_history(path)
    history, who = select_subject(raw, subject, str(path))
    history, notes = add_dates(history)
    notes = schema_notes(history) + notes
    if subject is not None and len(history) and (
            "subject" not in raw or not raw["subject"].map(_id_text).any()):
        notes.append("This history has no subject ids: all its sessions are shown.")
    if events_file is not None:
        events = read_events(events_file)
    else:
        events = read_events(events_path(who or None), missing_ok=True)
    return ReportData(history, events, who, affected_side(history), path.name, notes)
