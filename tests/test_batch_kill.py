"""`synktrack batch` killed with SIGKILL: its workers (and the resource tracker) die too."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_tools import synktrack_cmd

CLIPS = ["pyfeat__single_face.mp4", "jefapato__test_format_2sec.mp4",
         "intel__head-pose-face-detection-male_from_gif.mp4"]


@pytest.mark.slow
def test_sigkill_of_batch_takes_its_workers_along(shared_dir: Path, model_path: Path,
                                                  tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    for name in CLIPS:
        shutil.copy(shared_dir / "media" / "videos" / name, tmp_path / name)
    env = {**os.environ, "SYNKTRACK_MODEL": str(model_path)}
    proc = subprocess.Popen([*synktrack_cmd(), "batch", *[str(tmp_path / c) for c in CLIPS],
                             "--out", str(tmp_path / "out"), "-j", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    children: list = []
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the two workers and the resource tracker
            children = parent.children(recursive=True)
            if len(children) >= 3:
                break
            time.sleep(0.2)
        assert len(children) >= 2, children
        time.sleep(1.0)  # workers busy (model loading or analysing)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [p.cmdline()[:3] for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in children:  # never leave orphans behind, even when the test fails
            if p.is_running():
                p.kill()
