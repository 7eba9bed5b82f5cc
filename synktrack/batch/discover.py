"""Finding clips: files, folders (recursed) and glob patterns, each with its relative path."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from synktrack.batch.tasks import ClipOutcome, failed_outcome
from synktrack.errors import InputError
from synktrack.io.video import VIDEO_SUFFIXES


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
            missing.append(failed_outcome(text, text, InputError(
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

