"""The entry point: :func:`batch` plans, skips what is done, runs the rest, rebuilds the tables."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from synktrack.batch.collect import summaries
from synktrack.batch.discover import find_clips
from synktrack.batch.executors import execute
from synktrack.batch.manifest import protocol_key, protocol_spec, read_manifest
from synktrack.batch.plan import is_done, plan
from synktrack.batch.tasks import (
    LOCK_NAME,
    BatchResult,
    ClipOutcome,
    Progress,
    Submitter,
    failed_outcome,
)
from synktrack.errors import InputError, OutputError
from synktrack.io.video import VIDEO_SUFFIXES
from synktrack.provenance import now_iso
from synktrack.session_row import check_affected_side


def batch(
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    executor: cf.Executor | Submitter | None = None,
    jobs: int = 1,
    manifest: str | os.PathLike[str] | None = None,
    protocol: str | os.PathLike[str] | None = None,
    offset_s: float = 0.0,
    affected_side: str = "unknown",
    subject: str | None = None,
    session_date: str | None = None,
    mirrored: bool = False,
    model: str | os.PathLike[str] | None = None,
    max_frames: int | None = None,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
) -> BatchResult:
    """Analyse many clips, one task per clip, skipping those already done.

    Parameters
    ----------
    inputs
        Video files, folders (searched recursively for video suffixes) and glob patterns.
    out_dir
        Output folder (see the module docstring for its layout).
    executor
        Any :class:`concurrent.futures.Executor`, a Dask ``Client`` or
        ``client.get_executor()``; default: ``jobs`` local processes (spawned,
        one compute thread each).
    jobs
        Local worker processes when ``executor`` is None.
    manifest
        CSV giving per-clip ``path``, ``subject``, ``session_date``,
        ``affected_side``, ``protocol``, ``mirrored``, ``offset_s`` (see
        :func:`read_manifest`); its values override the keyword defaults.
    protocol, offset_s, affected_side, subject, session_date, mirrored, max_frames
        Passed to :func:`synktrack.analyze.analyze_clip` for every clip.
    model
        Model file; default: each worker resolves it (``$SYNKTRACK_MODEL`` or the cache).
    progress
        Called with ``(done, total, None)`` once before the first clip, then
        ``(done, total, outcome)`` after each clip analysed or failed.
    announce
        Called once with where the model came from.

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        No clip found, or an invalid option or manifest (nothing is written).
    OutputError
        ``out_dir`` cannot be written (read-only, disk full): the batch stops.
    KeyboardInterrupt
        After stopping the workers and rebuilding the tables from finished clips.
    """
    from synktrack.model import resolve_model
    from synktrack.provenance import versions

    t0 = time.perf_counter()
    inputs = list(inputs)
    out = Path(out_dir).expanduser()
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1 (got {jobs})")
    check_affected_side(affected_side)
    defaults: dict[str, Any] = {
        "protocol": protocol_spec(protocol), "offset_s": float(offset_s),
        "affected_side": affected_side, "subject": subject, "session_date": session_date,
        "mirrored": bool(mirrored)}
    protocol_key(defaults["protocol"])  # a bad --protocol stops here
    entries, outcomes = _entries(inputs, manifest)
    resolved = resolve_model(model, announce=announce)
    vers = versions()
    fixed = {"model": str(resolved.path) if executor is None or model is not None else None,
             "max_frames": max_frames,
             "limit_threads": not isinstance(executor, cf.ThreadPoolExecutor),
             "settings": {"max_frames": max_frames, "model_sha256": resolved.sha256,
                          "synktrack": vers["synktrack"], "mediapipe": vers["mediapipe"]}}
    lock = _lock(out)
    try:
        tasks, more = plan(entries, out, defaults, fixed)
        outcomes += more
        todo = []
        for task in tasks:
            if is_done(task):
                outcomes.append(ClipOutcome(task.clip_path, task.path, "skipped", task.clip_id))
            else:
                todo.append(task)
        finished = 0

        def report(o: ClipOutcome) -> None:
            nonlocal finished
            finished += 1
            outcomes.append(o)
            if progress:
                progress(finished, len(todo), o)
            if o.category == "output":
                raise OutputError(o.reason)

        if progress:
            progress(0, len(todo), None)
        try:
            execute(todo, executor, jobs, report)
        except BaseException:
            with contextlib.suppress(OutputError):
                summaries(out, tasks, outcomes, {}, 0.0)
            raise
        run = {"created": now_iso(), "versions": vers, "inputs": [os.fspath(i) for i in inputs],
               "manifest": os.fspath(manifest) if manifest else None,
               "options": {**defaults, "jobs": jobs, "max_frames": max_frames,
                           "executor": type(executor).__name__ if executor else "local"}}
        return summaries(out, tasks, outcomes, run, time.perf_counter() - t0)
    finally:
        lock.release()


def _entries(inputs: list[str | os.PathLike[str]], manifest: str | os.PathLike[str] | None
             ) -> tuple[list[tuple[Path, str, dict[str, str]]], list[ClipOutcome]]:
    """Manifest rows, then clips found in ``inputs`` that the manifest does not list."""
    rows = read_manifest(manifest) if manifest is not None else []
    found, outcomes = find_clips(inputs)
    entries = [(Path(r["path"]), r["clip_path"], r) for r in rows if r["path"]]
    listed = {str(p.resolve()) for p, _, _ in entries}
    entries += [(p, rel, {}) for p, rel in found if str(p.resolve()) not in listed]
    outcomes += [failed_outcome(r["clip_path"], r["path"], InputError(f"{r['path']}: no such file"))
                 for r in rows if not r["path"] or not Path(r["path"]).is_file()]
    entries = [e for e in entries if e[0].is_file()]
    if not entries:
        what = ", ".join(os.fspath(i) for i in inputs) or str(manifest)
        raise InputError(f"no clips found in {what}: give video files "
                         f"({', '.join(sorted(VIDEO_SUFFIXES)[:6])}...) or folders of them")
    return entries, outcomes


def _lock(out: Path) -> Any:
    """Create ``out`` and hold its batch lock (one batch per folder at a time)."""
    from filelock import FileLock, Timeout

    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(out / LOCK_NAME), timeout=0)
        lock.acquire()
    except Timeout as err:
        raise OutputError(f"another synktrack batch is writing to {out}: wait for it to "
                          "finish or choose another --out") from err
    except OSError as err:
        raise OutputError(f"cannot write {out}: {err.strerror}; choose a writable --out "
                          "folder") from err
    return lock

