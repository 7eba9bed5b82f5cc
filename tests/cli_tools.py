"""Helpers for tests that meet the tool the way a user does: the real console script."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Exit codes documented in the README (synktrack.cli).
DOCUMENTED_EXITS = {0, 2, 3, 4, 5, 130}


def synktrack_cmd() -> list[str]:
    """The installed ``synktrack`` console script of this interpreter's environment."""
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]


def run_cli(*args: str | os.PathLike[str], env: dict[str, str] | None = None,
            timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``synktrack ARGS`` in a subprocess, capturing text output."""
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full.pop("SYNKTRACK_DEBUG", None)
    return subprocess.run([*synktrack_cmd(), *map(str, args)], capture_output=True, text=True,
                          env=full, timeout=timeout, check=False, cwd=cwd)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The run failed with ``code`` and exactly one line on stderr, no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("synktrack: error:")]
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(errors) == 1, proc.stderr
    return errors[0]


def digest(path: Path) -> dict[str, str]:
    """SHA-256 of every file under ``path`` (or of the file itself), by relative name."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _mount(args: list[str]) -> bool:
    try:
        subprocess.run(args, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    """A small tmpfs at ``path`` (a real "disk full" even for root); skips if mounting fails."""
    path.mkdir(parents=True, exist_ok=True)
    if not _mount(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs", str(path)]):
        pytest.skip("cannot mount a tmpfs here (needs root); CI runs as root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """Make the folder ``path`` (with what it holds) truly read-only, also for root.

    chmod does not stop root, so the folder's content is copied onto a tmpfs that
    is then remounted read-only over it (``EROFS`` for every writer).
    """
    keep = path.with_name(path.name + ".content")
    shutil.copytree(path, keep) if path.exists() else keep.mkdir(parents=True)
    path.mkdir(parents=True, exist_ok=True)
    if not _mount(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)]):
        pytest.skip("cannot mount a tmpfs here (needs root); CI runs as root")
    try:
        shutil.copytree(keep, path, dirs_exist_ok=True)
        if not _mount(["mount", "-o", "remount,ro", str(path)]):
            pytest.skip("cannot remount a tmpfs read-only here")
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
        shutil.rmtree(keep, ignore_errors=True)
