"""Odd inputs through the real console script: one line and exit 2, or a run with a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_tools import assert_one_line_error, run_cli

CLIP = "pyfeat__single_face.mp4"


@pytest.fixture(scope="module")
def clip(shared_dir: Path, model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    os.environ["SYNKTRACK_MODEL"] = str(model_path)
    root = tmp_path_factory.mktemp("inputs")
    shutil.copy(shared_dir / "media" / "videos" / CLIP, root / CLIP)
    return root / CLIP


def test_corrupt_stbl_byte_is_one_line(clip: Path, tmp_path: Path) -> None:
    data = bytearray(clip.read_bytes())
    data[data.find(b"stbl")] = 0x51
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    proc = run_cli("analyze", bad, "--out", tmp_path / "out", "--max-frames", "5")
    line = assert_one_line_error(proc, 2)
    assert "bad.mp4" in line


def test_deeply_nested_protocol_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    proc = run_cli("protocols", p)
    line = assert_one_line_error(proc, 2)
    assert "nested" in line


def test_huge_protocol_is_refused_fast(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text('name = "huge"\n' + '[[step]]\nmovement = "rest"\nduration_s = 0.1\n' * 20000)
    proc = run_cli("analyze", tmp_path / "none.mp4", "--protocol", p, "--out", tmp_path / "o")
    line = assert_one_line_error(proc, 2)
    assert "at most" in line


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_offset_must_be_a_finite_time(value: str, clip: Path, tmp_path: Path) -> None:
    proc = run_cli("analyze", clip, "--out", tmp_path / "o", "--protocol", "weekly-check",
                   f"--offset-s={value}")
    line = assert_one_line_error(proc, 2)
    assert "--offset-s" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_warnings_history_without_protocol_and_protocol_longer_than_clip(
        clip: Path, tmp_path: Path) -> None:
    hist = tmp_path / "h.csv"
    proc = run_cli("analyze", clip, "--out", tmp_path / "a", "--max-frames", "20",
                   "--history", hist)
    assert proc.returncode == 0, proc.stderr
    assert any(ln.startswith("warning: --history") for ln in proc.stderr.splitlines())
    assert not hist.exists()
    proc = run_cli("analyze", clip, "--out", tmp_path / "b", "--max-frames", "20",
                   "--protocol", "weekly-check", "--history", hist)
    assert proc.returncode == 0, proc.stderr
    warn = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: the protocol")]
    assert len(warn) == 1 and "clip ends" in warn[0]
    session = json.loads((tmp_path / "b" / "session.json").read_text())
    assert any("clip ends" in w for w in session["warnings"])
    assert len(pd.read_csv(hist)) == 1


@pytest.mark.slow
def test_upside_down_face_warns(clip: Path, tmp_path: Path) -> None:
    """A clip turned upside down: the face is found in few frames, and the user is told."""
    import av
    import numpy as np

    flipped = tmp_path / "flipped.mp4"
    with av.open(str(clip)) as src, av.open(str(flipped), "w") as dst:
        stream = dst.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i >= 30:
                break
            img = np.ascontiguousarray(frame.to_ndarray(format="rgb24")[::-1, ::-1])
            for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                dst.mux(pkt)
        for pkt in stream.encode():
            dst.mux(pkt)
    proc = run_cli("analyze", flipped, "--out", tmp_path / "o")
    session = json.loads((tmp_path / "o" / "session.json").read_text())
    n_face, n = session["counts"]["face_frames"], session["counts"]["frames"]
    assert 0 < n_face < 0.5 * n  # (6 of 30 with mediapipe 1.2.2)
    assert proc.returncode == 0, proc.stderr
    warn = [ln for ln in proc.stderr.splitlines() if "face was found in only" in ln]
    assert len(warn) == 1 and f"{n_face} of {n}" in warn[0]
    assert any("face was found in only" in w for w in session["warnings"])


def test_session_ids_are_unique_in_one_second() -> None:
    from datetime import datetime

    from synktrack.session_row import new_session_id

    now = datetime.now().astimezone()
    ids = {new_session_id(now, "ab" * 32) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith(f"{now:%Y%m%d-%H%M%S}-abababab-") for i in ids)
