"""`synktrack analyze` end to end with the real model on real clips from ../shared/media."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from media import media_file

import synktrack
from synktrack.errors import OutputError
from synktrack.landmarks import CONTAINER_NAME, load_recording
from synktrack.measures import MeasureSettings, measures_process

pytestmark = pytest.mark.slow

REQUIRED = [
    "frame", "time_s", "face_present",
    "eye_aperture_left_mm", "eye_aperture_right_mm",
    "mouth_corner_left_x_mm", "mouth_corner_left_y_mm",
    "mouth_corner_right_x_mm", "mouth_corner_right_y_mm",
    "brow_height_left_mm", "brow_height_right_mm",
    "yaw_deg", "pitch_deg", "roll_deg",
    "several_faces", "pose_extreme", "face_small", "jitter_high", "usable",
]  # fmt: skip
MEASURES = [c for c in REQUIRED if c.endswith(("_mm", "_deg"))]
CPP_LOG_MARKERS = ("W0000", "I0000", "E0000", "INFO: Created TensorFlow", "absl::")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*args: str | Path, model: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``synktrack`` console script (falls back to the module entry)."""
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]
    env = {**os.environ, "SYNKTRACK_MODEL": str(model), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def assert_clean_stderr(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    for marker in CPP_LOG_MARKERS:
        assert marker not in stderr, f"MediaPipe/TensorFlow log line on stderr:\n{stderr}"
    noise = [ln for ln in stderr.splitlines() if "Warning:" in ln]
    assert not noise, f"Python warnings leak to stderr:\n{stderr}"


@pytest.fixture(scope="module")
def videos(media_dir: Path) -> Path:
    return media_dir / "videos"


@pytest.fixture(scope="module")
def single(videos: Path, model_path: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("single") / "out"
    proc = run_cli("analyze", videos / "pyfeat__single_face.mp4", "--out", out, model=model_path)
    return out, proc


# --------------------------------------------------------------------------- a normal run


def test_cli_writes_the_three_outputs(single: tuple[Path, subprocess.CompletedProcess[str]]
                                      ) -> None:
    out, proc = single
    assert proc.returncode == 0, proc.stderr
    assert_clean_stderr(proc.stderr)
    for name in ("frames.csv", CONTAINER_NAME, "session.json"):
        assert (out / name).is_file(), name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temp files left"
    df = pd.read_csv(out / "frames.csv")
    assert len(df) == 72
    missing = [c for c in REQUIRED if c not in df.columns]
    assert not missing
    assert df["frame"].tolist() == list(range(72))


def test_plausible_values(single: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    df = pd.read_csv(single[0] / "frames.csv")
    assert (df["face_present"] == 1).all()
    assert df[MEASURES].notna().all().all()
    assert (df[["several_faces", "face_small", "pose_extreme"]] == 0).all().all()
    # eyes open (the clip has one blink, around frames 26-28)
    blink = df[["blink_score_left", "blink_score_right"]].max(axis=1)
    open_ = df[blink < 0.25]
    assert len(open_) >= 60
    apertures = open_[["eye_aperture_left_mm", "eye_aperture_right_mm"]]
    assert apertures.min().min() >= 6.0 and apertures.max().max() <= 14.0, apertures.describe()
    # the blink reads as a blink, on both eyes
    for side in ("left", "right"):
        col = f"eye_aperture_{side}_mm"
        assert df[col].iloc[24:31].min() < 0.5 * open_[col].median()
    # mouth corners below the nasion and lateral of the midline; brows above the eyes
    for side in ("left", "right"):
        assert df[f"mouth_corner_{side}_x_mm"].between(15, 45).all()
        assert df[f"mouth_corner_{side}_y_mm"].between(-90, -50).all()
        assert df[f"brow_height_{side}_mm"].between(10, 40).all()
    assert df[["yaw_deg", "pitch_deg", "roll_deg"]].abs().max().max() < 15


def test_symmetric_smile_reads_symmetric(single: tuple[Path, subprocess.CompletedProcess[str]]
                                         ) -> None:
    """The man smiles broadly and evenly from about frame 20 (teeth showing); MediaPipe's
    own corner landmarks agree (both corners move out about 12 mm). A one-sided mouth
    measure would make a healthy smile look like a palsy."""
    df = pd.read_csv(single[0] / "frames.csv")
    rest = df.iloc[:12].median(numeric_only=True)
    smile = df.iloc[40:72].median(numeric_only=True)
    d = {s: smile[f"mouth_corner_{s}_x_mm"] - rest[f"mouth_corner_{s}_x_mm"]
         for s in ("left", "right")}
    print(f"\nsmile excursion out: left {d['left']:.2f} mm, right {d['right']:.2f} mm")
    assert min(d.values()) > 5.0
    assert abs(d["left"] - d["right"]) < 3.0


def test_landmarks_reproduce_frames(single: tuple[Path, subprocess.CompletedProcess[str]]
                                    ) -> None:
    """Re-running the measures on landmarks.npz, without the model, gives frames.csv."""
    out = single[0]
    session = json.loads((out / "session.json").read_text())
    rec = load_recording(out)
    assert rec.n_frames == 72
    settings = MeasureSettings(**session["settings"]["quality"])
    again = measures_process(rec, mirrored=session["settings"]["mirrored"], settings=settings)
    written = pd.read_csv(out / "frames.csv")
    for col in again.columns:
        np.testing.assert_allclose(written[col].to_numpy(float), again[col].to_numpy(float),
                                   atol=1e-4, rtol=1e-6, err_msg=col)


def test_time_s_is_the_container_timestamps(
    single: tuple[Path, subprocess.CompletedProcess[str]], videos: Path
) -> None:
    import av

    with av.open(str(videos / "pyfeat__single_face.mp4")) as container:
        stream = container.streams.video[0]
        pts = [float(f.pts * f.time_base) for f in container.decode(stream)]
    expected = np.asarray(pts) - pts[0]
    df = pd.read_csv(single[0] / "frames.csv")
    np.testing.assert_allclose(df["time_s"], expected, atol=1e-4)
    np.testing.assert_allclose(load_recording(single[0]).time_s, expected, atol=1e-9)


def test_session_provenance(single: tuple[Path, subprocess.CompletedProcess[str]],
                            videos: Path, model_path: Path) -> None:
    s = json.loads((single[0] / "session.json").read_text())
    assert s["versions"]["synktrack"] == synktrack.__version__
    assert s["versions"]["mediapipe"] == metadata.version("mediapipe")
    assert s["model"]["sha256"] == sha256(model_path)
    video = videos / "pyfeat__single_face.mp4"
    assert s["input"]["sha256"] == sha256(video)
    assert s["input"]["complete"] is True
    assert s["settings"]["mirrored"] is False
    assert set(s["settings"]["quality"]) == set(MeasureSettings().to_dict())
    t = s["timings"]
    assert t["landmarks_s"] > 0 and t["frames_per_s"] > 0
    assert {"measures_s", "analysis_s"} & set(t), t  # time spent after landmarking
    assert s["counts"]["frames"] == 72 and s["counts"]["face_frames"] == 72
    assert "eye_aperture_left_mm" in s["columns"]["frames.csv"]
    rec = load_recording(single[0])
    assert rec.attrs["model_sha256"] == s["model"]["sha256"]


# --------------------------------------------------------------------------- bad input


def _bad_inputs(tmp: Path, videos: Path) -> dict[str, Path]:
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp / "notes.mp4"
    text.write_text("these are my notes, not a video\n" * 20)
    good = (videos / "pyfeat__single_face.mp4").read_bytes()
    truncated = tmp / "truncated.mp4"
    truncated.write_bytes(good[: len(good) // 4])
    return {"missing": tmp / "missing.mp4", "empty": empty, "text": text,
            "truncated": truncated}


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated"])
def test_bad_input_is_one_line_and_exit_2(kind: str, videos: Path, model_path: Path,
                                          tmp_path: Path) -> None:
    path = _bad_inputs(tmp_path, videos)[kind]
    out = tmp_path / "out"
    proc = run_cli("analyze", path, "--out", out, model=model_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    assert lines[0].startswith("synktrack: error:") and path.name in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (out / "frames.csv").exists()


def test_no_face_writes_outputs_and_exits_3(media_dir: Path, model_path: Path,
                                            tmp_path: Path) -> None:
    clip = media_dir / "videos_negative" / "pyfeat__no_face.mp4"
    out = tmp_path / "out"
    proc = run_cli("analyze", clip, "--out", out, model=model_path)
    assert proc.returncode == 3, proc.stderr
    assert "no face" in proc.stderr.lower()
    assert_clean_stderr(proc.stderr)
    df = pd.read_csv(out / "frames.csv")
    assert len(df) > 50
    assert (df["face_present"] == 0).all() and (df["usable"] == 0).all()
    assert df[MEASURES].isna().all().all()
    session = json.loads((out / "session.json").read_text())
    assert session["counts"]["face_frames"] == 0
    assert load_recording(out).n_frames == len(df)


def test_face_lost_part_way(videos: Path, model_path: Path, tmp_path: Path) -> None:
    """The man for ~2.7 s, then black, then a cartoon title: rows without a face are flagged
    and empty, the others are measured."""
    out = tmp_path / "out"
    proc = run_cli("analyze", videos / "pyfeat__face_noface.mov", "--out", out, model=model_path)
    assert proc.returncode == 0, proc.stderr
    assert_clean_stderr(proc.stderr)
    df = pd.read_csv(out / "frames.csv")
    assert len(df) == 169
    face_part = df[df["time_s"] < 2.3]
    later = df[df["time_s"] > 2.6]
    assert len(face_part) > 50 and (face_part["face_present"] == 1).all()
    assert face_part[MEASURES].notna().all().all()
    # the model sees a "face" in the odd cartoon frame; nearly all later frames have none
    assert (later["face_present"] == 0).mean() > 0.95
    absent = df[df["face_present"] == 0]
    assert absent[MEASURES].isna().all().all()
    assert (absent["usable"] == 0).all()


def test_two_faces_flagged_and_one_followed(videos: Path, model_path: Path,
                                            tmp_path: Path) -> None:
    clip = media_file(videos, "intel__head-pose-face-detection-female-and-male_from_gif.mp4")
    out = tmp_path / "out"
    proc = run_cli("analyze", clip, "--out", out, model=model_path)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out / "frames.csv")
    assert len(df) == 56 and (df["face_present"] == 1).all()
    assert (df["several_faces"] == (df["n_faces"] > 1).astype(int)).all()
    assert df["several_faces"].mean() > 0.9
    # the two people stand at about 0.25 and 0.7 of the width: never switch
    rec = load_recording(out)
    x = rec.landmarks[:, :, 0].mean(axis=1)
    assert ((x > 0.5).all() or (x < 0.5).all()), np.round(x, 3)
    assert np.abs(np.diff(x)).max() < 0.05


def test_usable_frames_carry_measures(videos: Path, model_path: Path, tmp_path: Path) -> None:
    """The Pexels clip opens with the eyes shut (a grimace), so the image reference is taken
    late; frames before it cannot be put in the head frame. A frame flagged usable must
    carry its measures."""
    from synktrack.analyze import analyze_clip

    result = analyze_clip(videos / "pyfeat__WolfgangLanger_Pexels.mp4", tmp_path / "out",
                          model=model_path, max_frames=24)
    df = result.frames
    assert (df["face_present"] == 1).all()
    usable = df["usable"] == 1
    assert usable.sum() > 0
    unmeasured = df[MEASURES].isna().any(axis=1)
    assert not (usable & unmeasured).any(), (
        f"usable frames without measures: {df.loc[usable & unmeasured, 'frame'].tolist()}")


def test_stderr_has_no_mediapipe_log_lines(single: tuple[Path, subprocess.CompletedProcess[str]]
                                           ) -> None:
    assert_clean_stderr(single[1].stderr)


# --------------------------------------------------------------------------- atomic outputs


def _old_outputs(out: Path) -> dict[str, bytes]:
    out.mkdir(parents=True)
    old = {"frames.csv": b"frame,time_s\n0,0.0\n", "session.json": b'{"old": true}\n'}
    for name, content in old.items():
        (out / name).write_bytes(content)
    return old


def test_failure_after_landmarking_keeps_earlier_outputs(
    videos: Path, model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import synktrack.analyze as analyze_mod

    out = tmp_path / "out"
    old = _old_outputs(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("measures failed")

    monkeypatch.setattr(analyze_mod, "measures_process", broken)
    with pytest.raises(RuntimeError, match="measures failed"):
        analyze_mod.analyze_clip(videos / "pyfeat__single_face.mp4", out, model=model_path,
                                 max_frames=10)
    for name, content in old.items():
        assert (out / name).read_bytes() == content, f"{name} was overwritten"
    assert sorted(p.name for p in out.iterdir()) == sorted(old), "partial files left"


def test_failure_while_writing_keeps_the_folder_consistent(
    videos: Path, model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If session.json cannot be written, frames.csv must not already be the new one:
    a folder mixing two runs is half-overwritten."""
    import synktrack.analyze as analyze_mod

    out = tmp_path / "out"
    old = _old_outputs(out)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OutputError("disk full")

    monkeypatch.setattr(analyze_mod, "write_json", disk_full)
    with pytest.raises(OutputError):
        analyze_mod.analyze_clip(videos / "pyfeat__single_face.mp4", out, model=model_path,
                                 max_frames=10)
    for name, content in old.items():
        assert (out / name).read_bytes() == content, f"{name} was overwritten"
    assert not (out / CONTAINER_NAME).exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temp files left"


def test_a_still_real_face_is_not_a_complete_session(media_dir: Path, model_path: Path,
                                                     tmp_path: Path) -> None:
    """A real photo held still for a whole guided protocol (camera noise added): nothing
    moved, so no epoch is usable, each says why, and the session is not complete."""
    import cv2
    from short_protocol import SHORT_PROTOCOL

    from synktrack.protocol import parse_protocol
    from synktrack.simulate import write_clip

    bgr = cv2.imread(str(media_dir / "images" / "pyfeat__single_face.jpg"))
    img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    proto_file = tmp_path / "short.toml"
    proto_file.write_text(SHORT_PROTOCOL)
    fps = 10.0
    rng = np.random.default_rng(0)
    n = int(parse_protocol(SHORT_PROTOCOL).duration_s * fps)
    frames = ((i / fps, np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8))
              for i in range(n))
    clip = write_clip(frames, tmp_path / "still.mp4", fps)
    out = tmp_path / "out"
    proc = run_cli("analyze", clip, "--protocol", proto_file, "--out", out, model=model_path)
    assert proc.returncode == 0, proc.stderr
    assert "session not complete" in proc.stderr
    assert "Session indices" in proc.stdout and "Session indices" not in proc.stderr
    assert "complete no" in proc.stdout
    row = pd.read_csv(out / "session.csv").iloc[0]
    assert row["complete"] == 0
    assert row["epochs_usable"] == 0 and row["epochs_total"] > 0
    for stem in ("smile_excursion", "eye_closure", "eye_narrowing_smile"):
        assert np.isnan(row[f"{stem}_left_{'pct' if 'eye' in stem else 'mm'}"])
    epochs = pd.read_csv(out / "epochs.csv")
    assert set(epochs["usable"]) == {0}
    assert epochs["reason"].str.contains("seen on either side").all()
    session = json.loads((out / "session.json").read_text())
    assert session["movements_missing"]


@pytest.mark.parametrize("kind", ["still", "video"])
def test_settings_recorded_as_used(kind: str, model_path: Path, tmp_path: Path) -> None:
    """session.json records the settings the run used: a still cannot wait for open eyes, so it
    is registered with ``max_wait = 1``; a clip with the default wait; the epoch timing and
    flag rules of the indices are recorded too."""
    from dataclasses import asdict

    import cv2

    from synktrack.analyze import analyze_clip
    from synktrack.epochs import EpochSettings
    from synktrack.indices import FlagRules
    from synktrack.lids import MAX_WAIT_FRAMES
    from synktrack.simulate import demo_portrait, write_clip

    face = demo_portrait(320)
    if kind == "still":
        src = tmp_path / "face.png"
        cv2.imwrite(str(src), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    else:
        src = tmp_path / "face.mp4"
        write_clip(((i / 10.0, face) for i in range(5)), src, 10.0)
    result = analyze_clip(src, tmp_path / "out", model=model_path, protocol="quick-check")
    saved = json.loads((tmp_path / "out" / "session.json").read_text())["settings"]
    assert saved["refine"]["max_wait"] == (1 if kind == "still" else MAX_WAIT_FRAMES)
    assert saved["epochs"] == asdict(EpochSettings())
    assert saved["flags"] == asdict(FlagRules())
    assert result.session["settings"]["refine"] == saved["refine"]
