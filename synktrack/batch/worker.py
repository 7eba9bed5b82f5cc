"""The worker: one clip analysed into its folder, ``done.json`` written last; and how a
worker process keeps to one thread and dies with its parent."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from synktrack.atomic import write_json
from synktrack.batch.collect import write_csv
from synktrack.batch.tasks import (
    DONE_JSON,
    EPOCHS_CSV,
    SESSION_CSV,
    ClipOutcome,
    ClipTask,
    failed_outcome,
)
from synktrack.errors import OutputError
from synktrack.provenance import now_iso

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def run_clip(task: ClipTask) -> ClipOutcome:
    """Analyse one clip into its folder and write ``done.json`` last (runs in a worker).

    Never raises for a bad clip: the failure comes back as a ``failed`` outcome.
    """
    if task.limit_threads:
        limit_threads()
    from synktrack.analyze import analyze_clip

    out = Path(task.out_dir)
    t0 = time.perf_counter()
    try:
        _prepare(out)
        with warnings.catch_warnings(record=True) as caught:  # kept in done.json, not printed
            warnings.simplefilter("default")
            result = analyze_clip(
                task.path, out, protocol=task.protocol, offset_s=task.offset_s,
                affected_side=task.affected_side, subject=task.subject,
                session_date=task.session_date, mirrored=task.mirrored, model=task.model,
                max_frames=task.max_frames)
        row = getattr(result, "session_row", None)
        if row is None or not (out / SESSION_CSV).is_file():
            from synktrack.schema import session_columns

            table = pd.DataFrame([row or _minimal_row(result, task)])
            write_csv(out / SESSION_CSV, table.reindex(columns=list(session_columns())),
                       float_format="%.4f")
        files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != DONE_JSON
                       and not p.name.startswith("."))
        seconds = time.perf_counter() - t0
        frames = int(result.session["counts"]["frames"])
        write_json(out / DONE_JSON, {
            "clip_path": task.clip_path, "source": task.path, "clip_id": task.clip_id,
            "input_sha256": task.sha256, "settings_hash": task.settings_hash,
            "settings": task.settings, "extra": task.extra, "files": files,
            "frames": frames, "seconds": round(seconds, 3), "finished": now_iso(),
            "warnings": sorted({str(w.message).splitlines()[0] for w in caught})})
    except Exception as err:  # bad clip, bug or library failure: the batch goes on
        with contextlib.suppress(OSError):
            out.rmdir()  # only when analyze_clip wrote nothing
        return failed_outcome(task.clip_path, task.path, err, task.clip_id)
    return ClipOutcome(task.clip_path, task.path, "done", task.clip_id, seconds, frames)


def limit_threads() -> None:
    """Keep this process to one compute thread (BLAS, OpenMP, OpenCV)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    with contextlib.suppress(Exception):
        import cv2

        cv2.setNumThreads(1)


def worker_init(parent_pid: int | None = None) -> None:
    """Local worker processes leave Ctrl-C to the parent, and die with it.

    The parent stops its workers cleanly on Ctrl-C; if it is killed outright
    (SIGKILL, out of memory), each worker ends itself: at once on Linux
    (``PR_SET_PDEATHSIG``), within a second elsewhere (a watchdog thread that
    sees the parent process change).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads()
    if parent_pid is not None:
        die_with_parent(parent_pid)


PARENT_POLL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    """End this process when process ``parent_pid`` (its parent) goes away."""
    import threading

    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="synktrack-parent-watch", daemon=True).start()


def _prepare(out: Path) -> None:
    """Create the clip folder and clear what a new analysis replaces.

    Drops the done marker, the tables a new analysis may not rewrite (no epochs
    without a protocol) and temporary files left by a killed worker.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in (DONE_JSON, SESSION_CSV, EPOCHS_CSV):
            (out / name).unlink(missing_ok=True)
        for tmp in out.glob(".*.tmp"):  # files and staging folders of a killed worker
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write {out}: {err.strerror}; choose a writable --out "
                          "folder") from err


def _minimal_row(result: Any, task: ClipTask) -> dict[str, Any]:
    """The session row without protocol indices (when no protocol was given)."""
    from datetime import datetime

    from synktrack.session_row import new_session_id, session_row

    s, fr = result.session, result.frames
    t = fr["time_s"].to_numpy() if len(fr) else []
    created = str(s.get("created", ""))
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        when = datetime.now().astimezone()
    return session_row(
        session_id=new_session_id(when, task.sha256), started_at=created,
        session_date=task.session_date or created[:10], subject=task.subject,
        protocol="", protocol_version="", affected_side=task.affected_side,
        mirrored=task.mirrored, complete=bool(s["input"].get("complete", True)),
        source=s["input"].get("path", task.path), source_sha256=task.sha256,
        versions=s["versions"], model_sha256=s.get("model", {}).get("sha256"),
        duration_s=round(float(t[-1] - t[0]), 3) if len(t) else 0.0,
        usable_frame_fraction=round(float(fr["usable"].mean()), 3) if len(fr) else 0.0,
    )


