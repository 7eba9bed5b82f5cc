"""`synktrack demo` as a new user runs it: results on stdout, nothing left in the folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


@pytest.mark.slow
def test_demo_results_on_stdout_and_no_litter(tmp_path: Path, model_path: Path) -> None:
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]
    here = tmp_path / "cwd"
    here.mkdir()
    cache = tmp_path / "cache"
    env = {**os.environ, "SYNKTRACK_MODEL": str(model_path), "SYNKTRACK_CACHE_DIR": str(cache),
           "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([*cmd, "demo"], capture_output=True, text=True, env=env, cwd=here,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert list(here.iterdir()) == []  # the current folder stays clean
    out = cache / "demo"
    # results (the table, the flags, where the outputs are) on stdout; progress on stderr
    for text in ("Session indices", "injected L / R", "flag (left)", f"outputs: {out}/"):
        assert text in proc.stdout, proc.stdout
    assert "Session indices" not in proc.stderr
    assert "a healthy smile narrows both eyes by about 20 %" in proc.stdout
    row = pd.read_csv(out / "session.csv").iloc[0]
    assert row["complete"] == 1 and row["epochs_usable"] == row["epochs_total"] == 8
    # one spontaneous blink per rest step, the left corner pulled 1 mm at each (the default)
    assert row["blink_pull_left_status"] == "ok" and row["blink_pull_left_blinks_n"] >= 7
    assert 0.5 <= row["blink_pull_left_mm"] <= 1.3 and abs(row["blink_pull_right_mm"]) < 0.3
    assert "at each blink the left mouth corner rises" in row["synkinesis_reason_left"]
    for name in ("demo_session.mp4", "summary.png", "frames.csv", "epochs.csv", "session.json"):
        assert (out / name).is_file(), name
