"""`synktrack record`: the desktop fallback, in a real window on a virtual screen (Xvfb)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack.protocol import parse_protocol

SCREENS = Path("/tmp/synktrack_screens")
from short_protocol import SHORT_PROTOCOL as PROTOCOL  # noqa: E402


def test_render_draws_prompt_and_countdown() -> None:
    from synktrack.record import SIZE, render

    face = np.full((480, 640, 3), 120, np.uint8)
    img = render(face, "Gentle smile", "Smile gently, lips closed.", kind="Movement",
                 count="3", frac=0.5, progress=(1, 5))
    assert img.shape == (SIZE[1], SIZE[0], 3)
    assert (img[70:550, 30:670] == 120).all()  # the camera picture, as a mirror
    assert (img[:, 700:] < 100).any()  # dark text on the right


@pytest.fixture()
def xvfb() -> object:
    """A private virtual screen; skips when Xvfb is absent."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is absent: install the Debian package `xvfb` (CI installs it)")
    proc = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    number = proc.stdout.readline().decode().strip()
    if not number.isdigit():
        proc.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


@pytest.mark.slow
def test_record_from_a_file_in_a_window(xvfb: str, tmp_path: Path, model_path: Path) -> None:
    from synktrack.fidelity import face_geometry
    from synktrack.simulate import demo_portrait, session_simulate, write_clip
    from synktrack.web.fakecam import place

    protocol_file = tmp_path / "short.toml"
    protocol_file.write_text(PROTOCOL, encoding="utf-8")
    canvas = place(demo_portrait(480))
    clip = write_clip(session_simulate(canvas, face_geometry(canvas, model_path),
                                       parse_protocol(PROTOCOL), fps=30.0),
                      tmp_path / "clip.mp4", 30.0)
    store = tmp_path / "store"
    snaps = tmp_path / "snaps"
    env = {**os.environ, "DISPLAY": xvfb, "SYNKTRACK_DATA_DIR": str(store),
           "SYNKTRACK_MODEL": str(model_path), "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from synktrack.cli import main; main()", "record", "--source",
         str(clip), "--subject", "pat02", "--protocol", str(protocol_file), "--snapshots",
         str(snaps), "--close-after", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    screenshot = tmp_path / "record-screen.png"
    if shutil.which("import"):  # a real screenshot of the window, during the smile step
        deadline = time.monotonic() + 120
        while not (snaps / "record-2-step-2-smile.png").exists() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        subprocess.run(["import", "-display", xvfb, "-window", "root", str(screenshot)],
                       check=False, timeout=30, capture_output=True)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err.decode()[-2000:]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for png in [*snaps.glob("*.png"), screenshot]:
        if png.exists():
            shutil.copy(png, SCREENS / png.name)
    assert (snaps / "record-2-step-2-smile.png").is_file()
    assert (snaps / "record-4-results.png").is_file()
    hist = pd.read_csv(store / "subjects" / "pat02" / "history.csv")
    assert len(hist) == 1
    row = hist.iloc[0]
    assert row["complete"] == 1 and row["epochs_usable"] == 2, row.to_dict()
    for side in ("left", "right"):
        assert 1.0 < row[f"smile_excursion_{side}_mm"] < 8.0
        assert row[f"eye_closure_{side}_pct"] > 40
    session = store / "subjects" / "pat02" / "sessions" / row["session_id"]
    for name in ("frames.csv", "epochs.csv", "session.json", "landmarks.npz", "check.json"):
        assert (session / name).is_file(), name
    frames = pd.read_csv(session / "frames.csv")
    assert len(frames) >= 440  # every frame of the 15 s clip was analysed (30 fps)
    check = json.loads((session / "check.json").read_text())
    assert check["front_end"] == "synktrack record"
