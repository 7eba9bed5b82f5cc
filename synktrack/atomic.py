"""Atomic file writes: write to a temporary sibling, fsync, then rename.

A reader never sees a half-written file, and a failure leaves any earlier
file of the same name untouched. :func:`atomic_files` does the same for a
set of files that belong together (one analysis run): every file is written
into a hidden staging folder beside them and renamed into place only once
all are complete, and files of an earlier run that the new run does not
write are removed, so a folder never mixes two runs.

Temporary names carry the writer's process id
(``.NAME.<pid>.<random>.tmp``, ``.run.<pid>.<random>.tmp/``), so debris
left by a killed writer is recognised and removed by the next writer
(:func:`clean_stale`) without touching the files of a writer still running.

Every ``OSError`` becomes an :class:`~synktrack.errors.OutputError` that
names the file the user asked for, never a temporary name.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from synktrack.errors import OutputError

STALE_AFTER_S = 24 * 3600.0  # a temp file of a live pid older than this is debris too


def _file_mode() -> int:
    """Mode for new files under the user's umask (mkstemp alone would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def ensure_dir(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and parents); an ``OSError`` becomes a one-line :class:`OutputError`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder; choose "
                          "another place")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(folder, err) from err
    return folder


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse early when ``path`` (a file or folder, existing or not) cannot be written.

    Looks at ``path`` if it exists, else at its nearest existing parent folder;
    ``access(2)`` reports a read-only mount even for root.

    Raises
    ------
    OutputError
        Read-only file system or no permission (one line naming ``path``).
    """
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    mode = os.W_OK | (os.X_OK if probe.is_dir() else 0)
    if probe.exists() and not os.access(probe, mode):
        code = errno.EROFS if _read_only(probe) else errno.EACCES
        raise output_error(path, OSError(code, os.strerror(code)))


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it over ``path`` on success."""
    path = Path(path)
    tmp_path: Path | None = None
    try:
        ensure_dir(path.parent)
        clean_stale(path.parent, path.name)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp_path, _FILE_MODE)
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as err:
        _discard(tmp_path)
        raise output_error(path, err) from err
    except BaseException:
        _discard(tmp_path)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kw: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling for writing; it replaces ``path`` when the block ends cleanly."""
    with atomic_path(path) as tmp, open(tmp, mode, **kw) as fh:
        yield fh


@contextlib.contextmanager
def atomic_files(folder: str | os.PathLike[str],
                 owned: Iterable[str] = ()) -> Iterator[Path]:
    """Write a set of files that belong together; all replace their old versions at once.

    Yields a hidden staging folder inside ``folder``: write every file of the
    run into it under its final name (any writer, atomic or not). When the
    block ends cleanly the files are fsynced and renamed into ``folder``;
    then every name in ``owned`` that this run did not write is removed (a
    file of the previous run). If the block fails nothing in ``folder``
    changes and the staging folder is removed; an ``OSError`` (or an
    :class:`OutputError` about a staged file) names the file in ``folder``.

    ``session.json``-style completion markers: the last name of ``owned``
    that the run wrote is renamed last, after the old one was removed first,
    so its presence means the folder holds one complete run.
    """
    folder = Path(folder)
    owned = list(owned)
    stage: Path | None = None
    try:
        ensure_dir(folder)
        clean_stale(folder, "run")
        try:
            stage = Path(tempfile.mkdtemp(prefix=f".run.{os.getpid()}.", suffix=".tmp",
                                          dir=folder))
        except OSError as err:
            raise output_error(folder, err) from err
        yield stage
        written = sorted(p.name for p in stage.iterdir() if p.is_file()
                         and not p.name.startswith("."))
        for name in written:
            with open(stage / name, "rb") as fh:
                os.fsync(fh.fileno())
        marker = next((n for n in reversed(owned) if n in written), None)
        if marker is not None:
            (folder / marker).unlink(missing_ok=True)
        for name in [*[n for n in written if n != marker], *([marker] if marker else [])]:
            os.replace(stage / name, folder / name)
        for name in owned:
            if name not in written:
                (folder / name).unlink(missing_ok=True)
        _fsync_dir(folder)
    except OutputError as err:
        raise _restage(err, stage, folder) from err
    except OSError as err:
        target = _target(err.filename, stage, folder)
        raise output_error(target, err) from err
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def json_text(data: Any) -> str:
    """Strict JSON (no NaN/Infinity: those become null), indented, with a final newline."""
    return json.dumps(_finite(data), indent=2, sort_keys=False, default=_json_default,
                      allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    write_text(path, json_text(data))


def clean_stale(folder: Path, name: str, *, any_pid: bool = False) -> int:
    """Remove temporary debris of ``name`` in ``folder`` left by writers that died.

    A temporary (``.NAME.<pid>.<random>.tmp`` file or folder) is debris when its
    process no longer runs, when it is older than :data:`STALE_AFTER_S`, or,
    with ``any_pid`` (the caller holds the lock every writer of ``name``
    takes), always. Returns how many were removed; errors are ignored.
    """
    removed = 0
    try:
        candidates = list(folder.glob(f".{name}.*.tmp"))
    except OSError:
        return 0
    now = time.time()
    for tmp in candidates:
        pid = _pid_of(tmp.name, name)
        try:
            old = now - tmp.lstat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        if not (any_pid or old or (pid is not None and not _alive(pid))):
            continue
        try:
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def output_error(path: str | os.PathLike[str], err: OSError) -> OutputError:
    """A one-line :class:`OutputError` naming ``path`` (what the user asked to write)."""
    path = Path(path)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        out = OutputError(f"disk full while writing {path}: free some space and run again; "
                          "earlier files were left as they were")
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "read-only file system" if err.errno == errno.EROFS else "permission denied"
        out = OutputError(f"cannot write {path} ({why}): choose a writable place")
    elif err.errno == errno.ENOTDIR:
        out = OutputError(f"cannot write {path}: a part of that path is a file, not a folder")
    elif err.errno == errno.EISDIR:
        out = OutputError(f"cannot write {path}: it is a folder")
    else:
        out = OutputError(f"cannot write {path}: {err.strerror or err}")
    out.path, out.errno = path, err.errno
    return out


def _restage(err: OutputError, stage: Path | None, folder: Path) -> OutputError:
    """The same error, naming the final file instead of its staged copy."""
    path = getattr(err, "path", None)
    if stage is None or path is None or not _under(Path(path), stage):
        return err
    return output_error(_target(path, stage, folder),
                        OSError(getattr(err, "errno", None) or 0, "cannot write"))


def _target(filename: Any, stage: Path | None, folder: Path) -> Path:
    if filename is None:
        return folder
    path = Path(os.fsdecode(filename))
    if stage is not None and _under(path, stage):
        rel = path.relative_to(stage)
        # a writer's own temp sibling: .NAME.<pid>.<random>.tmp -> NAME
        head = rel.parts[0]
        if head.startswith(".") and head.endswith(".tmp"):
            head = head[1:].rsplit(".", 3)[0]
        return folder / head
    return path


def _under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _pid_of(tmp_name: str, name: str) -> int | None:
    rest = tmp_name[len(name) + 2:]
    head = rest.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _discard(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _finite(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None (strict JSON has no NaN)."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return _finite(obj.item())
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
