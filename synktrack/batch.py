"""Many clips over any :class:`concurrent.futures.Executor`: local processes or a Dask cluster.

Layout of the output folder ``DIR``::

    clips/<clip_id>/   analyze_clip's outputs for one clip, then done.json (written last)
    sessions.csv       one row per finished clip: clip_path, clip_id, the session.csv columns
    epochs.csv         every finished clip's epoch rows, with clip_path and clip_id
    errors.csv         clips of this run that failed: path, error type, reason, exit code
    duplicates.csv     inputs left out because the same file or content was already listed
    batch.json         provenance of the last run (options, versions, counts, timings)

A clip whose ``done.json`` names the same input SHA-256 and the same settings
is skipped, so an interrupted run resumes where it stopped. ``sessions.csv``
and ``epochs.csv`` are rebuilt at the end from every finished clip folder, so
clips from earlier runs into the same ``DIR`` are included. Every file is
written atomically. With a Dask cluster, the workers must see the clips and
``DIR`` at the same paths (a shared file system) and run the same synktrack;
start them with ``--nthreads 1`` (one clip per core) and, for about 20 % more
throughput, without Dask's sampling profiler
(``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from synktrack.atomic import atomic_path, write_json
from synktrack.errors import InputError, ModelError, NoFaceError, OutputError, SynktrackError
from synktrack.io.video import VIDEO_SUFFIXES, file_sha256
from synktrack.measures.ids import AFFECTED_SIDES

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
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{10})$")
_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}


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


# --------------------------------------------------------------------------- finding clips


def find_clips(inputs: Iterable[str | os.PathLike[str]]) -> tuple[list[tuple[Path, str]],
                                                                  list[ClipOutcome]]:
    """Clips named by files, folders (recursed) and glob patterns.

    Returns
    -------
    found
        ``(path, clip_path)`` pairs: ``clip_path`` is the path relative to the
        folder or pattern root (with the folder's name), or the file name.
    missing
        Failed outcomes for inputs that match nothing.
    """
    found: list[tuple[Path, str]] = []
    missing: list[ClipOutcome] = []
    for item in inputs:
        text = os.path.expanduser(os.fspath(item))
        path = Path(text)
        if path.is_dir():
            found += _walk(path)
        elif path.is_file():
            found.append((path, path.name))
        elif glob.has_magic(text) and (matches := sorted(glob.glob(text, recursive=True))):
            root = _glob_root(text)
            for m in map(Path, matches):
                if m.is_dir():
                    found += _walk(m, root)
                elif m.is_file() and m.suffix.lower() in VIDEO_SUFFIXES:
                    found.append((m, _rel(m, root)))
        else:
            missing.append(_failed(text, text, InputError(
                f"{text}: no such file or folder, and no file matches it")))
    return found, missing


def _walk(folder: Path, root: Path | None = None) -> list[tuple[Path, str]]:
    out = []
    for base, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            p = Path(base) / name
            if not name.startswith(".") and p.suffix.lower() in VIDEO_SUFFIXES:
                out.append((p, _rel(p, root or folder)))
    return out


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    literal = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return Path(*literal) if literal else Path(".")


def _rel(path: Path, root: Path) -> str:
    name = root.resolve().name
    rel = path.relative_to(root).as_posix()
    return f"{name}/{rel}" if name else rel


def clip_id(clip_path: str, sha256: str) -> str:
    """Folder name of a clip: a slug of its relative path and 10 hex digits of its SHA-256."""
    stem = clip_path.rsplit(".", 1)[0] if "." in Path(clip_path).name else clip_path
    slug = _SAFE.sub("_", stem.replace("/", "__"))[-60:].strip("._-") or "clip"
    return f"{slug}-{sha256[:10]}"


# --------------------------------------------------------------------------- the manifest


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a manifest CSV with lower-case column names; ``path`` made absolute.

    Columns: ``path`` (required; relative to the manifest's folder or absolute),
    and optionally ``subject``, ``session_date`` (YYYY-MM-DD), ``affected_side``,
    ``protocol`` (name or TOML file, relative to the manifest), ``mirrored``
    (1/0, yes/no) and ``offset_s``. Other columns are copied to sessions.csv.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
                    for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"cannot read manifest {path}: {err}") from err
    if not rows or "path" not in rows[0]:
        raise InputError(f"manifest {path} needs a header with a 'path' column (optional: "
                         f"{', '.join(MANIFEST_FIELDS[1:])})")
    base = path.resolve().parent
    for r in rows:
        r["clip_path"] = r["path"]
        r["path"] = str(base / Path(r["path"]).expanduser()) if r["path"] else ""
        proto = r.get("protocol", "")
        if proto and (base / proto).is_file():
            r["protocol"] = str(base / proto)
    return rows


def _options(row: Mapping[str, str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Per-clip options: manifest values over the batch defaults; InputError when invalid."""
    opts = dict(defaults)
    if row.get("subject"):
        opts["subject"] = row["subject"]
    if row.get("session_date"):
        try:
            opts["session_date"] = date.fromisoformat(row["session_date"]).isoformat()
        except ValueError as err:
            raise InputError(f"session_date {row['session_date']!r} is not YYYY-MM-DD") from err
    if row.get("affected_side"):
        opts["affected_side"] = row["affected_side"].lower()
    if opts["affected_side"] not in AFFECTED_SIDES:
        raise InputError(f"affected_side must be left, right or unknown, not "
                         f"{opts['affected_side']!r}")
    if row.get("mirrored"):
        flag = row["mirrored"].lower()
        if flag not in _TRUE | _FALSE:
            raise InputError(f"mirrored must be 1 or 0 (yes/no), not {row['mirrored']!r}")
        opts["mirrored"] = flag in _TRUE
    if row.get("offset_s"):
        try:
            opts["offset_s"] = float(row["offset_s"])
        except ValueError as err:
            raise InputError(f"offset_s {row['offset_s']!r} is not a number") from err
    if row.get("protocol"):
        opts["protocol"] = row["protocol"]
    return opts


def _protocol_key(spec: str | None) -> str | None:
    """What identifies a protocol's content (validates it; InputError when unusable)."""
    if spec is None or spec == "auto":
        return spec
    from synktrack.protocol import load_protocol

    d = load_protocol(spec).to_dict()
    d.pop("source", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _protocol_spec(spec: str | os.PathLike[str] | None) -> str | None:
    if spec is None:
        return None
    return str(Path(spec).resolve()) if Path(spec).is_file() else str(spec)


# --------------------------------------------------------------------------- planning


def _plan(entries: list[tuple[Path, str, dict[str, str]]], out: Path, defaults: dict[str, Any],
          fixed: dict[str, Any]) -> tuple[list[ClipTask], list[ClipOutcome]]:
    """Hash and de-duplicate the clips; their tasks, and outcomes for the rest."""
    outcomes: list[ClipOutcome] = []
    seen_paths: dict[str, str] = {}
    unique: list[tuple[Path, str, dict[str, str]]] = []
    for path, rel, row in entries:
        key = str(path.resolve())
        if key in seen_paths:
            outcomes.append(ClipOutcome(rel, str(path), "duplicate", reason="same file",
                                        duplicate_of=seen_paths[key]))
            continue
        seen_paths[key] = rel
        unique.append((path, rel, row))
    with cf.ThreadPoolExecutor(4) as pool:
        hashes = list(pool.map(_try_hash, [p for p, _, _ in unique]))
    existing = _existing_ids(out / CLIPS_DIR)
    seen_hashes: dict[str, str] = {}
    tasks: list[ClipTask] = []
    protocol_keys: dict[str | None, str | None] = {}
    for (path, rel, row), sha in zip(unique, hashes, strict=True):
        if isinstance(sha, SynktrackError):
            outcomes.append(_failed(rel, str(path), sha))
            continue
        if sha in seen_hashes:
            outcomes.append(ClipOutcome(rel, str(path), "duplicate", reason="same content",
                                        duplicate_of=seen_hashes[sha]))
            continue
        seen_hashes[sha] = rel
        try:
            opts = _options(row, defaults)
            spec = opts["protocol"]
            if spec not in protocol_keys:
                protocol_keys[spec] = _protocol_key(spec)
        except InputError as err:
            outcomes.append(_failed(rel, str(path), err))
            continue
        settings = {**{k: opts[k] for k in sorted(opts)}, "protocol": protocol_keys[spec],
                    **fixed["settings"]}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        cid = existing.get(sha[:10]) or clip_id(rel, sha)
        extra = {k: v for k, v in row.items() if k not in (*MANIFEST_FIELDS, "clip_path")}
        tasks.append(ClipTask(
            path=str(path.resolve()), clip_path=rel, clip_id=cid, sha256=sha,
            out_dir=str(out / CLIPS_DIR / cid), settings=settings, settings_hash=digest[:16],
            extra=extra, model=fixed["model"], max_frames=fixed["max_frames"],
            limit_threads=fixed["limit_threads"], **opts))
    return tasks, outcomes


def _try_hash(path: Path) -> str | SynktrackError:
    try:
        return file_sha256(path)
    except SynktrackError as err:
        return err


def _existing_ids(clips: Path) -> dict[str, str]:
    """Clip folders already in DIR/clips by the 10 hex digits of their content hash."""
    if not clips.is_dir():
        return {}
    out: dict[str, str] = {}
    for d in sorted(clips.iterdir()):
        m = _HASH_SUFFIX.search(d.name)
        if m and d.is_dir():
            out.setdefault(m.group(1), d.name)
    return out


def is_done(task: ClipTask) -> bool:
    """Whether the clip's folder holds finished outputs for this content and these settings."""
    marker = _read_marker(Path(task.out_dir))
    if marker is None:
        return False
    return (marker.get("input_sha256") == task.sha256
            and marker.get("settings_hash") == task.settings_hash
            and all((Path(task.out_dir) / f).is_file() for f in marker.get("files", [SESSION_CSV])))


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / DONE_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


# --------------------------------------------------------------------------- the worker


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
            _write_csv(out / SESSION_CSV, table.reindex(columns=list(session_columns())),
                       float_format="%.4f")
        files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != DONE_JSON
                       and not p.name.startswith("."))
        seconds = time.perf_counter() - t0
        frames = int(result.session["counts"]["frames"])
        write_json(out / DONE_JSON, {
            "clip_path": task.clip_path, "source": task.path, "clip_id": task.clip_id,
            "input_sha256": task.sha256, "settings_hash": task.settings_hash,
            "settings": task.settings, "extra": task.extra, "files": files,
            "frames": frames, "seconds": round(seconds, 3), "finished": _now(),
            "warnings": sorted({str(w.message).splitlines()[0] for w in caught})})
    except Exception as err:  # bad clip, bug or library failure: the batch goes on
        with contextlib.suppress(OSError):
            out.rmdir()  # only when analyze_clip wrote nothing
        return _failed(task.clip_path, task.path, err, task.clip_id)
    return ClipOutcome(task.clip_path, task.path, "done", task.clip_id, seconds, frames)


def limit_threads() -> None:
    """Keep this process to one compute thread (BLAS, OpenMP, OpenCV)."""
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    with contextlib.suppress(Exception):
        import cv2

        cv2.setNumThreads(1)


def _worker_init(parent_pid: int | None = None) -> None:
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
    from synktrack.schema import SCHEMA_VERSION

    s, fr = result.session, result.frames
    t = fr["time_s"].to_numpy() if len(fr) else []
    return {
        "schema_version": SCHEMA_VERSION, "session_id": task.clip_id,
        "started_at": s.get("created", ""),
        "session_date": task.session_date or str(s.get("created", ""))[:10],
        "subject": task.subject or "", "protocol": "", "protocol_version": "",
        "affected_side": task.affected_side, "mirrored": int(task.mirrored),
        "complete": int(bool(s["input"].get("complete", True))),
        "source": s["input"].get("path", task.path), "source_sha256": task.sha256,
        "synktrack_version": s["versions"].get("synktrack"),
        "mediapipe_version": s["versions"].get("mediapipe"),
        "model_sha256": s.get("model", {}).get("sha256"),
        "duration_s": round(float(t[-1] - t[0]), 3) if len(t) else 0.0,
        "usable_frame_fraction": round(float(fr["usable"].mean()), 3) if len(fr) else 0.0,
    }


def _failed(clip_path: str, source: str, err: BaseException, cid: str = "",
            category: str = "") -> ClipOutcome:
    category = category or next((c for t, c in _CATEGORIES if isinstance(err, t)), "internal")
    code = err.exit_code if isinstance(err, SynktrackError) else 1
    reason = " ".join(str(err).split()) or type(err).__name__
    return ClipOutcome(clip_path, source, "failed", cid, error_type=type(err).__name__,
                       reason=reason[:500], exit_code=code, category=category)


# --------------------------------------------------------------------------- running


def _execute(tasks: list[ClipTask], executor: Submitter | None, jobs: int,
             report: Callable[[ClipOutcome], None]) -> None:
    """Run every task on the executor (or on local spawned processes), reporting outcomes."""
    if executor is not None:
        for task in _drain(executor, tasks, len(tasks), report):
            report(_worker_died(task))
        return
    attempts: Counter[str] = Counter()
    remaining = tasks
    with _single_thread_env():
        while remaining:
            pool = cf.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(remaining))),
                                          mp_context=get_context("spawn"),
                                          initializer=_worker_init,
                                          initargs=(os.getpid(),))
            clean = False
            try:
                broken = _drain(pool, remaining, jobs, report)
                clean = True
            finally:
                _shutdown(pool, clean)
                if not clean:  # workers killed mid-write leave temporary files behind
                    _sweep(remaining)
            remaining = []
            for task in broken:
                attempts[task.clip_id] += 1
                if attempts[task.clip_id] >= MAX_ATTEMPTS:
                    report(_worker_died(task))
                else:
                    remaining.append(task)


def _drain(executor: Submitter, tasks: list[ClipTask], limit: int,
           report: Callable[[ClipOutcome], None]) -> list[ClipTask]:
    """Keep at most ``limit`` tasks in flight; return those lost with a broken process pool."""
    queue, broken = deque(tasks), []
    running: dict[Any, ClipTask] = {}
    client = _is_dask_client(executor)
    try:
        while queue or running:
            while queue and len(running) < limit:
                task = queue.popleft()
                try:
                    fut = (executor.submit(run_clip, task, pure=False,
                                           key=f"synktrack-{task.clip_id}-{time.time_ns()}")
                           if client else executor.submit(run_clip, task))
                except BrokenProcessPool:
                    broken += [task, *queue]
                    queue.clear()
                    break
                running[fut] = task
            if not running:
                break
            for fut in _first_completed(list(running)):
                task = running.pop(fut)
                outcome = _outcome(fut, task)
                if outcome is None:
                    broken.append(task)
                else:
                    report(outcome)
    except BaseException:
        for fut in running:
            fut.cancel()
        raise
    return broken


def _worker_died(task: ClipTask) -> ClipOutcome:
    err = BrokenProcessPool("the worker process analysing it died (crash or out of memory)")
    return _failed(task.clip_path, task.path, err, task.clip_id, "worker")


def _outcome(fut: Any, task: ClipTask) -> ClipOutcome | None:
    try:
        outcome = fut.result()
    except BrokenProcessPool:
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # worker lost, cancelled, unpicklable...: this clip fails
        return _failed(task.clip_path, task.path, err, task.clip_id, "worker")
    assert isinstance(outcome, ClipOutcome)
    return outcome


def _first_completed(futures: list[Any]) -> set[Any]:
    if type(futures[0]).__module__.startswith("distributed"):
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
    else:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
    return set(done)


def _is_dask_client(executor: object) -> bool:
    return type(executor).__module__.startswith("distributed") and hasattr(executor, "gather")


def _shutdown(pool: cf.ProcessPoolExecutor, clean: bool) -> None:
    """Join the workers, or stop them at once after Ctrl-C or an error."""
    if clean:
        pool.shutdown(wait=True)
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())  # ours, to stop them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=10)


def _sweep(tasks: list[ClipTask]) -> None:
    """Remove temporary files from the folders of clips that are not done."""
    for task in tasks:
        if not is_done(task):
            for tmp in Path(task.out_dir).glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()


@contextlib.contextmanager
def _single_thread_env() -> Iterator[None]:
    """Spawned workers inherit one-thread limits for BLAS/OpenMP from the environment."""
    old = {v: os.environ.get(v) for v in _THREAD_VARS}
    os.environ.update({v: "1" for v in _THREAD_VARS})
    try:
        yield
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val


def dask_client(address: str, timeout_s: float = 20.0) -> Any:
    """A :class:`distributed.Client` for a running scheduler, with one-line errors."""
    try:
        from distributed import Client
    except ImportError as err:
        raise InputError("a Dask scheduler needs Dask: pip install 'synktrack[dask]'") from err
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(f"cannot reach the Dask scheduler at {address} ({err}); check the "
                         "address and that `dask scheduler` is running") from err


# --------------------------------------------------------------------------- results


def collect(out_dir: str | os.PathLike[str],
            current: Mapping[str, ClipTask] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Session and epoch rows of every finished clip folder in ``out_dir/clips``.

    Values are kept as the exact text of the per-clip files. ``current`` (tasks
    by clip id) gives this run's clip paths and manifest extras.
    """
    sessions, epochs = [], []
    clips = Path(out_dir) / CLIPS_DIR
    for d in sorted(clips.iterdir()) if clips.is_dir() else []:
        marker = _read_marker(d)
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


def _write_csv(path: Path, df: pd.DataFrame, float_format: str | None = None) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)


def _now() -> str:
    from synktrack.provenance import now_iso

    return now_iso()


# --------------------------------------------------------------------------- entry point


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
    if affected_side not in AFFECTED_SIDES:
        raise InputError(f"affected side must be left, right or unknown, not {affected_side!r}")
    defaults: dict[str, Any] = {
        "protocol": _protocol_spec(protocol), "offset_s": float(offset_s),
        "affected_side": affected_side, "subject": subject, "session_date": session_date,
        "mirrored": bool(mirrored)}
    _protocol_key(defaults["protocol"])  # a bad --protocol stops here
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
        tasks, more = _plan(entries, out, defaults, fixed)
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
            _execute(todo, executor, jobs, report)
        except BaseException:
            with contextlib.suppress(OutputError):
                _summaries(out, tasks, outcomes, {}, 0.0)
            raise
        run = {"created": _now(), "versions": vers, "inputs": [os.fspath(i) for i in inputs],
               "manifest": os.fspath(manifest) if manifest else None,
               "options": {**defaults, "jobs": jobs, "max_frames": max_frames,
                           "executor": type(executor).__name__ if executor else "local"}}
        return _summaries(out, tasks, outcomes, run, time.perf_counter() - t0)
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
    outcomes += [_failed(r["clip_path"], r["path"], InputError(f"{r['path']}: no such file"))
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


def _summaries(out: Path, tasks: list[ClipTask], outcomes: list[ClipOutcome],
               run: dict[str, Any], seconds: float) -> BatchResult:
    """Rebuild sessions.csv and epochs.csv; write errors.csv, duplicates.csv, batch.json."""
    sessions, epochs = collect(out, {t.clip_id: t for t in tasks})
    failed = [o for o in outcomes if o.status == "failed"]
    dups = [o for o in outcomes if o.status == "duplicate"]
    files = {"sessions": out / SESSIONS_CSV, "epochs": out / EPOCHS_CSV,
             "errors": out / ERRORS_CSV, "duplicates": out / DUPLICATES_CSV}
    _write_csv(files["sessions"], sessions)
    _write_csv(files["epochs"], epochs)
    _write_csv(files["errors"], pd.DataFrame([asdict(o) for o in failed], columns=ERROR_COLUMNS))
    _write_csv(files["duplicates"], pd.DataFrame(
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
