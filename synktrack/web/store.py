"""Store one guided session: outputs in ``<subject>/sessions/<id>/`` and a history row.

Shared by the web check and the desktop recorder. Outputs are written to a
hidden folder first and renamed into place, then the history row is appended
under its lock, so a crash never leaves a row pointing at a missing session
and never damages the history file.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synktrack.analyze import SESSION_CSV, analyze_recording
from synktrack.atomic import write_json
from synktrack.errors import NoFaceError
from synktrack.history import append_session, history_path, subject_dir
from synktrack.landmarks import Recording
from synktrack.model import ResolvedModel
from synktrack.protocol import Protocol
from synktrack.provenance import now_iso, versions
from synktrack.session_row import new_session_id, session_row
from synktrack.web.summary import history_rows, previous_complete, session_summary

CHECK_JSON = "check.json"


@dataclass
class SessionInfo:
    """What is known about a guided session besides its landmarks."""

    subject: str | None
    affected_side: str
    protocol: Protocol
    performed: Protocol
    source: str
    complete: bool
    stopped_because: str | None = None
    input_info: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    video: Path | None = None  # raw video to keep in the session folder (moved there)
    video_name: str = "video.webm"
    # Face pictures for the summary figure: only when the patient keeps the video.
    snapshots: dict[str, tuple[int, np.ndarray]] | None = None


NOTHING_RECORDED = "Nothing was recorded, so nothing was saved."


def store_session(rec: Recording, info: SessionInfo,
                  model: ResolvedModel) -> tuple[dict[str, Any], Path | None]:
    """Analyse, store and summarise one session; returns (summary, session folder).

    An incomplete or faceless recording is still stored, marked incomplete. A
    session that recorded no frame at all is not a session: nothing is stored,
    no history row is added, and the folder is None.
    """
    if rec.n_frames == 0:
        if info.video is not None:
            info.video.unlink(missing_ok=True)
        return nothing_recorded(info.stopped_because), None
    sessions = subject_dir(info.subject) / "sessions"
    tmp = sessions / f".partial-{secrets.token_hex(6)}"
    kept = info.video is not None and info.video.exists()
    inp = {"path": info.source, "complete": info.complete,
           "stopped_because": info.stopped_because, "video_kept": kept, **info.input_info}
    row: dict[str, Any] | None = None
    try:
        if rec.n_frames and info.performed.steps:
            try:
                result = analyze_recording(
                    rec, tmp, protocol=info.performed, affected_side=info.affected_side,
                    subject=info.subject, mirrored=False, model=model, input_info=inp,
                    snapshots=info.snapshots if kept else None)
                row = result.session_row
            except NoFaceError:
                row = _read_row(tmp / SESSION_CSV)
        if row is None:
            row = _stub(tmp, info, inp, model)
        session_id = str(row["session_id"])
        write_json(tmp / CHECK_JSON, {
            "session_id": session_id, "protocol": info.protocol.to_dict(),
            "performed": info.performed.to_dict(), "complete": info.complete,
            "stopped_because": info.stopped_because, "video_kept": kept, **info.extra})
        if kept and info.video is not None:
            shutil.move(str(info.video), tmp / info.video_name)
        final = sessions / session_id
        if final.exists():
            final = sessions / f"{session_id}-{secrets.token_hex(3)}"
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    hist = history_path(info.subject)
    append_session(hist, row)
    summary = session_summary(row, previous_complete(history_rows(hist), session_id))
    summary.update(stopped_because=info.stopped_because, frames=rec.n_frames, video_kept=kept,
                   session_dir=str(final))
    return summary, final


def nothing_recorded(stopped_because: str | None = None) -> dict[str, Any]:
    """The summary of a session that recorded no frame (and was not stored)."""
    from synktrack.web.summary import NOT_A_DIAGNOSIS

    return {"session_id": "", "session_date": "", "complete": False, "recorded": False,
            "indices": [], "changes": [NOTHING_RECORDED], "flags": [], "gentler": "",
            "usable_fraction": None, "epochs_usable": 0, "epochs_total": 0,
            "note": NOT_A_DIAGNOSIS, "stopped_because": stopped_because, "frames": 0,
            "video_kept": False, "session_dir": None}


def _read_row(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {str(k): v for k, v in df.iloc[0].items()} if len(df) else None


def _stub(tmp: Path, info: SessionInfo, inp: dict[str, Any],
          model: ResolvedModel) -> dict[str, Any]:
    """A session with nothing to measure, kept as an incomplete record."""
    now = datetime.now().astimezone()
    v = versions()
    row = session_row(
        session_id=new_session_id(now, inp.get("sha256", "")),
        started_at=now.isoformat(timespec="seconds"), session_date=f"{now:%Y-%m-%d}",
        subject=info.subject, protocol=info.protocol.name,
        protocol_version=info.protocol.version, affected_side=info.affected_side,
        mirrored=False, complete=False, source=info.source,
        source_sha256=inp.get("sha256", ""), versions=v, model_sha256=model.sha256,
        duration_s=0.0, epochs_total=0, epochs_usable=0,
    )
    write_json(tmp / "session.json", {"created": now_iso(), "versions": v,
                                      "input": {**inp, "complete": False},
                                      "counts": {"frames": 0}})
    return row
