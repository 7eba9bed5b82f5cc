"""What the batch modules share: the output layout's names, a clip's task and its outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from synktrack.errors import InputError, ModelError, NoFaceError, OutputError, SynktrackError

CLIPS_DIR = "clips"
DONE_JSON = "done.json"
SESSION_CSV = "session.csv"
EPOCHS_CSV = "epochs.csv"
SESSIONS_CSV = "sessions.csv"
ERRORS_CSV = "errors.csv"
DUPLICATES_CSV = "duplicates.csv"
BATCH_JSON = "batch.json"
LOCK_NAME = ".synktrack-batch.lock"
MANIFEST_FIELDS = ("path", "subject", "session_date", "affected_side", "protocol", "mirrored",
                   "offset_s")
ERROR_COLUMNS = ["clip_path", "source", "error_type", "reason", "exit_code", "category"]
MAX_ATTEMPTS = 2  # a clip that kills its worker process this often is listed as failed


class Submitter(Protocol):
    """Anything with ``submit(fn, *args)`` returning a future (an Executor, a Dask Client)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ClipTask:
    """Everything a worker needs to analyse one clip (picklable, no model inside)."""

    path: str
    clip_path: str
    clip_id: str
    sha256: str
    out_dir: str
    settings: dict[str, Any]
    settings_hash: str
    protocol: str | None = None
    offset_s: float = 0.0
    affected_side: str = "unknown"
    subject: str | None = None
    session_date: str | None = None
    mirrored: bool = False
    model: str | None = None
    max_frames: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    limit_threads: bool = True


@dataclass
class ClipOutcome:
    """What happened to one input: ``done``, ``skipped``, ``failed`` or ``duplicate``."""

    clip_path: str
    source: str
    status: str
    clip_id: str = ""
    seconds: float = 0.0
    frames: int = 0
    error_type: str = ""
    reason: str = ""
    exit_code: int = 0
    category: str = ""
    duplicate_of: str = ""


Progress = Callable[[int, int, ClipOutcome | None], None]
_CATEGORIES = ((NoFaceError, "no_face"), (ModelError, "model"), (InputError, "input"),
               (OutputError, "output"), (SynktrackError, "analysis"))


@dataclass
class BatchResult:
    """The outcome of :func:`batch`: per-input outcomes and the rebuilt tables."""

    out_dir: Path
    outcomes: list[ClipOutcome]
    sessions: pd.DataFrame
    epochs: pd.DataFrame
    files: dict[str, Path]
    seconds: float = 0.0

    def of(self, status: str) -> list[ClipOutcome]:
        """Outcomes with this status."""
        return [o for o in self.outcomes if o.status == status]

    @property
    def exit_code(self) -> int:
        """0 when every clip is done, 1 when some failed."""
        return 1 if self.of("failed") else 0


def failed_outcome(clip_path: str, source: str, err: BaseException, cid: str = "",
            category: str = "") -> ClipOutcome:
    category = category or next((c for t, c in _CATEGORIES if isinstance(err, t)), "internal")
    code = err.exit_code if isinstance(err, SynktrackError) else 1
    reason = " ".join(str(err).split()) or type(err).__name__
    return ClipOutcome(clip_path, source, "failed", cid, error_type=type(err).__name__,
                       reason=reason[:500], exit_code=code, category=category)

