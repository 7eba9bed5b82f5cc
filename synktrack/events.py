"""Treatments and other events on a subject's timeline (botulinum toxin, therapy, surgery...).

Events live in the per-user store, one CSV per subject
(:func:`synktrack.history.events_path`), with the columns in :data:`EVENT_COLUMNS`.
The same columns make an events CSV that can be given to ``synktrack report
--events FILE``. Everything here validates with one-line
:class:`~synktrack.errors.InputError` messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from synktrack.errors import InputError, one_line

EVENT_COLUMNS: dict[str, str] = {
    "id": "short id of the event (for `synktrack events edit` and `remove`); files without it "
    "get ids derived from each row's content",
    "date": "date of the event (YYYY-MM-DD)",
    "kind": "botox, therapy_start, surgery, note or other",
    "side": "patient's side treated: left, right, both (empty when not applicable)",
    "muscle": "muscle(s) treated, free text (e.g. orbicularis oculi)",
    "dose_units": "botulinum toxin dose in units (empty when not applicable)",
    "note": "free note",
}
KINDS: dict[str, str] = {
    "botox": "Botulinum toxin",
    "therapy_start": "Therapy start",
    "surgery": "Surgery",
    "note": "Note",
    "other": "Other",
}
SHORT: dict[str, str] = {
    "botox": "BTX",
    "therapy_start": "Therapy",
    "surgery": "Surgery",
    "note": "Note",
    "other": "Other",
}
EVENT_SIDES = ("left", "right", "both")
_ALIASES = {"botulinum": "botox", "btx": "botox", "therapy": "therapy_start",
            "therapy-start": "therapy_start", "therapy start": "therapy_start"}


@dataclass(frozen=True)
class Event:
    """One dated event on a subject's timeline.

    Attributes
    ----------
    date
        Day of the event.
    kind
        One of :data:`KINDS`.
    side
        ``"left"``, ``"right"``, ``"both"`` or ``""`` (patient's sides).
    muscle
        Muscle(s) treated, free text.
    dose_units
        Dose in units (botulinum toxin), or ``None``.
    note
        Free text.
    """

    date: dt.date
    kind: str
    side: str = ""
    muscle: str = ""
    dose_units: float | None = None
    note: str = ""
    id: str = field(default="", compare=False)  # who it is, not what it says

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    def dose_text(self) -> str:
        """The dose as text (``"5 U"``), or ``""``."""
        if self.dose_units is None:
            return ""
        return f"{self.dose_units:g} U"

    def describe(self) -> str:
        """One line: kind, side, muscle, dose and note."""
        parts = [self.kind_label]
        where = " ".join(p for p in (self.side, self.muscle) if p)
        if where:
            parts.append(where)
        if self.dose_units is not None:
            parts.append(self.dose_text())
        text = ", ".join(parts)
        return f"{text}: {self.note}" if self.note else text

    def to_row(self) -> dict[str, str]:
        """The event as a CSV row (all values text)."""
        return {"id": self.id, "date": self.date.isoformat(), "kind": self.kind,
                "side": self.side,
                "muscle": self.muscle,
                "dose_units": "" if self.dose_units is None else f"{self.dose_units:g}",
                "note": self.note}


def parse_date(text: str | dt.date) -> dt.date:
    """A calendar date from ``YYYY-MM-DD``.

    Raises
    ------
    InputError
        Not in that form, or not a real date.
    """
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    value = str(text).strip()
    if len(value) != 10:
        _bad_date(value)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _bad_date(value)


def _bad_date(value: str) -> NoReturn:
    raise InputError(f"date {value!r} is not a real date in the form YYYY-MM-DD "
                     "(e.g. 2024-03-18)")


def make_event(date: str | dt.date, kind: str, side: str | None = None,
               muscle: str | None = None, dose_units: float | str | None = None,
               note: str | None = None, event_id: str | None = None) -> Event:
    """A validated :class:`Event` from user input (kinds and sides are normalised:
    ``Botox`` is stored as ``botox``); a new id unless ``event_id`` is given.

    Raises
    ------
    InputError
        Bad date, unknown kind or side, or a dose that is not a positive number.
    """
    k = str(kind).strip().lower()
    k = _ALIASES.get(k, k)
    if k not in KINDS:
        raise InputError(f"event kind {kind!r} is not one of: {', '.join(KINDS)}")
    s = (side or "").strip().lower()
    if s and s not in EVENT_SIDES:
        raise InputError(f"event side {side!r} is not one of: {', '.join(EVENT_SIDES)}")
    dose = _dose(dose_units)
    return Event(parse_date(date), k, s, one_line(muscle), dose, one_line(note),
                 (event_id or "").strip() or uuid.uuid4().hex[:8])


def _dose(value: float | str | None) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        dose = float(value)
    except (TypeError, ValueError):
        raise InputError(f"dose {value!r} is not a number of units (e.g. 5 or 2.5)") from None
    if not math.isfinite(dose) or dose <= 0 or dose > 1000:
        raise InputError(f"dose {value!r} must be a positive number of units, at most 1000")
    return dose


def add_event(subject: str | None, event: Event) -> Path:
    """Append ``event`` to the subject's events file in the store (locked, atomic).

    Returns
    -------
    Path
        The events file.
    """
    from synktrack.history import append_row, events_path

    path = events_path(subject)
    read_events(path, missing_ok=True)  # a file that is not an events table is never rewritten
    append_row(path, event.to_row(), list(EVENT_COLUMNS))
    return path


def read_events(path: str | os.PathLike[str], missing_ok: bool = False) -> list[Event]:
    """Events from a CSV with (at least) the columns ``date`` and ``kind``, sorted by date.

    Parameters
    ----------
    path
        The CSV file.
    missing_ok
        Return no events (instead of an error) when the file does not exist.

    Raises
    ------
    InputError
        Missing file or columns, or a bad row (the message names its line).
    """
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return []
        raise InputError(f"no events file at {path}: give a CSV with columns "
                         f"{', '.join(EVENT_COLUMNS)}")
    from synktrack.history import read_csv_strict

    table = read_csv_strict(path)
    if table is None:
        return []
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("date", "kind") if c not in table.columns]
    if missing:
        raise InputError(f"{path} has no column {', '.join(missing)}: the columns are "
                         f"{', '.join(EVENT_COLUMNS)}")
    events = []
    for i, row in enumerate(table.to_dict("records")):
        try:
            events.append(make_event(row["date"], row["kind"], row.get("side"),
                                     row.get("muscle"), row.get("dose_units"), row.get("note"),
                                     row.get("id") or _derived_id(row, i)))
        except InputError as err:
            raise InputError(f"{path}, line {i + 2}: {err}") from None
    return sort_events(events)


def _derived_id(row: dict[Any, Any], index: int) -> str:
    """A stable id for a row written before events had ids (its content and position)."""
    text = "|".join(str(row.get(c, "")) for c in EVENT_COLUMNS if c != "id") + f"|{index}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _rewrite(subject: str | None, change: Callable[[list[Event]], list[Event]]) -> Path:
    """Read the subject's events, apply ``change`` and replace the file (locked, atomic)."""
    import io

    from filelock import FileLock, Timeout

    from synktrack.atomic import write_text
    from synktrack.errors import OutputError
    from synktrack.history import LOCK_TIMEOUT_S, events_path

    path = events_path(subject)
    try:
        with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S):
            events = change(read_events(path, missing_ok=True))
            buf = io.StringIO()
            events_frame(events).to_csv(buf, index=False)
            write_text(path, buf.getvalue())
    except Timeout as err:
        raise OutputError(f"{path} is locked by another synktrack: try again shortly") from err
    return path


def _find(events: list[Event], event_id: str, subject: str | None) -> int:
    wanted = event_id.strip().lower()
    hits = [i for i, e in enumerate(events) if e.id.lower() == wanted]
    if not hits:
        raise InputError(f"no event with id {event_id!r} for subject {subject or 'default'!r}: "
                         "see `synktrack events list` for the ids")
    return hits[0]


def remove_event(subject: str | None, event_id: str) -> Event:
    """Delete one event (by id) from the subject's events; returns it."""
    removed: list[Event] = []

    def change(events: list[Event]) -> list[Event]:
        removed.append(events.pop(_find(events, event_id, subject)))
        return events

    _rewrite(subject, change)
    return removed[0]


def edit_event(subject: str | None, event_id: str, **fields: object) -> Event:
    """Change some fields of one event (by id); ``None`` leaves a field as it was.

    Fields: ``date``, ``kind``, ``side``, ``muscle``, ``dose_units``, ``note`` (an
    empty string clears the side, muscle, dose or note). Validated like
    :func:`make_event`; returns the edited event.
    """
    edited: list[Event] = []

    def change(events: list[Event]) -> list[Event]:
        i = _find(events, event_id, subject)
        row = {**events[i].to_row(), **{k: v for k, v in fields.items() if v is not None}}
        dose = row["dose_units"]
        new = make_event(str(row["date"]), str(row["kind"]), str(row["side"]),
                         str(row["muscle"]), dose if isinstance(dose, float | str) else str(dose),
                         str(row["note"]), events[i].id)
        events[i] = new
        edited.append(new)
        return events

    _rewrite(subject, change)
    return edited[0]


def sort_events(events: Iterable[Event]) -> list[Event]:
    """Events by date (stable for events on the same day)."""
    return sorted(events, key=lambda e: e.date)


def events_frame(events: Iterable[Event]) -> pd.DataFrame:
    """Events as a table with the columns in :data:`EVENT_COLUMNS`."""
    rows = [e.to_row() for e in events]
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
