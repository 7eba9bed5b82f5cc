"""What `--help` shows a new user: no type after plain flags, the same side choices everywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _help(*cmd: str) -> str:
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    base = [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]
    proc = subprocess.run([*base, *cmd, "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("cmd", [("analyze",), ("check",), ("record",), ("batch",), ("demo",),
                                 ("history",), ("events", "list")])
def test_help_has_no_bool_after_flags(cmd: tuple[str, ...]) -> None:
    text = _help(*cmd)
    assert "<bool>" not in text, text
    assert "--help" in text


@pytest.mark.parametrize("cmd", ["analyze", "check", "record", "batch"])
def test_affected_side_shows_its_choices(cmd: str) -> None:
    line = next(ln for ln in _help(cmd).splitlines() if "--affected-side" in ln)
    assert "<left|right|unknown>" in line, line
