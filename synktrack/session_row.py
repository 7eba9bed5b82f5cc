"""The session row: one builder for its metadata, one id scheme, one affected-side check.

Every front end (``analyze``, ``batch``, the weekly check's store) writes its
``session.csv`` / history row through :func:`session_row`; the indices and quality
columns come from whoever measured them.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from synktrack.errors import InputError
from synktrack.measures.ids import AFFECTED_SIDES
from synktrack.schema import SCHEMA_VERSION


def new_session_id(created: datetime, source_sha256: str = "") -> str:
    """A session id unique even for parallel runs on one clip in the same second.

    ``<date>-<time>-<first 8 of the input's sha256>-<8 random hex>``: sortable by
    time, traceable to the input, and never shared by two sessions.
    """
    head = (source_sha256 or uuid.uuid4().hex)[:8]
    return f"{created:%Y%m%d-%H%M%S}-{head}-{secrets.token_hex(4)}"


def check_affected_side(value: str, name: str = "affected side") -> str:
    """``value`` if it is ``left``, ``right`` or ``unknown``; else a one-line InputError."""
    if value not in AFFECTED_SIDES:
        raise InputError(f"{name} must be left, right or unknown, not {value!r}")
    return value


def session_row(*, session_id: str, started_at: str, session_date: str, subject: str | None,
                protocol: str, protocol_version: Any, affected_side: str, mirrored: bool,
                complete: bool, source: str, source_sha256: str, versions: dict[str, Any],
                model_sha256: str | None, eye_measure: str | None = None,
                **columns: Any) -> dict[str, Any]:
    """A session row: the metadata columns in schema order, then ``columns``.

    ``eye_measure`` is left out when None (a row without eye indices).
    """
    row: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "session_id": session_id,
        "started_at": started_at,
        "session_date": session_date,
        "subject": subject or "",
        "protocol": protocol,
        "protocol_version": protocol_version,
        "affected_side": affected_side,
        "mirrored": int(mirrored),
        "complete": int(complete),
        "source": source,
        "source_sha256": source_sha256,
        "synktrack_version": versions.get("synktrack"),
        "mediapipe_version": versions.get("mediapipe"),
        "model_sha256": model_sha256,
    }
    if eye_measure is not None:
        row["eye_measure"] = eye_measure
    row.update(columns)
    return row
