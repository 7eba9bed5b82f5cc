"""Blink-locked coupling through the whole pipeline: an injected clip -> session.csv, history,
session.json, the report and the check's result summary."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from synktrack.protocol import Protocol, Step

DURATION_S = 20.0
FPS = 25.0
PULL_MM = 1.0


def _face(shared: Path, face: str) -> np.ndarray:
    path = shared / "media" / "images" / f"london__{face}_neutral.jpg"
    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    scale = 480 / max(img.shape[:2])
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def sessions(shared_dir: Path, model_path: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, tuple[dict[str, object], list[float], Path]]:
    """Face 001, a rest recording with spontaneous blinks: right corner pulled, and control."""
    from synktrack.analyze import analyze_clip
    from synktrack.fidelity import face_geometry
    from synktrack.simulate import blinks_simulate, write_clip

    img = _face(shared_dir, "001")
    geom = face_geometry(img, str(model_path))
    proto = Protocol("rest-blinks", 1, (Step("rest", DURATION_S, "", 0.0),), source="test")
    root = tmp_path_factory.mktemp("blinks")
    out = {}
    for name, side in (("pull", "right"), ("control", None)):
        frames, onsets = blinks_simulate(img, geom, DURATION_S, FPS, pull_side=side,
                                         pull_mm=PULL_MM if side else 0.0)
        clip = write_clip(frames, root / f"{name}.mp4", FPS)
        res = analyze_clip(clip, root / name, protocol=proto, model=model_path,
                           history=root / "history.csv", subject="blinks")
        assert res.session_row is not None
        out[name] = (res.session_row, onsets, root)
    return out


@pytest.mark.slow
def test_pull_shows_on_the_right_side_in_session_csv(
        sessions: dict[str, tuple[dict[str, object], list[float], Path]]) -> None:
    row, onsets, root = sessions["pull"]
    table = pd.read_csv(root / "pull" / "session.csv")
    got = table.iloc[0]
    assert got["blink_pull_right_status"] == "ok"
    assert got["blink_pull_right_blinks_n"] >= len(onsets) - 1
    assert 0.5 * PULL_MM <= got["blink_pull_right_mm"] <= 1.3 * PULL_MM
    assert got["blink_pull_right_ci_low_mm"] > 0
    assert got["blink_pull_right_ci_low_mm"] <= got["blink_pull_right_mm"] <= \
        got["blink_pull_right_ci_high_mm"]
    assert 0.1 <= got["blink_pull_right_lag_s"] <= 0.5  # the pull starts 0.1 s after onset
    assert abs(got["blink_pull_left_mm"]) < 0.25 * PULL_MM + 0.1
    assert got["blink_pull_asymmetry_mm"] > 0.5 * PULL_MM  # right minus left (side unknown)
    assert got["synkinesis_suspected_right"] == 1 and got["synkinesis_suspected_left"] == 0
    assert "blink" in str(got["synkinesis_reason_right"])


@pytest.mark.slow
def test_control_is_clean(sessions: dict[str, tuple[dict[str, object], list[float], Path]]
                          ) -> None:
    row, onsets, _ = sessions["control"]
    for side in ("left", "right"):
        assert row[f"blink_pull_{side}_status"] == "ok"
        assert abs(float(row[f"blink_pull_{side}_mm"])) < 0.2  # type: ignore[arg-type]
        assert row[f"synkinesis_suspected_{side}"] == 0


@pytest.mark.slow
def test_history_json_report_and_result_screen_carry_it(
        sessions: dict[str, tuple[dict[str, object], list[float], Path]],
        tmp_path: Path) -> None:
    import json

    from synktrack.history import read_history
    from synktrack.report.build import make_report
    from synktrack.web.summary import session_summary

    row, _, root = sessions["pull"]
    hist = read_history(root / "history.csv")
    assert len(hist) == 2
    pulled = hist.iloc[0]
    assert pulled["blink_pull_right_status"] == "ok" and pulled["blink_pull_right_mm"] > 0.5
    meta = json.loads((root / "pull" / "session.json").read_text())
    assert "blink_coupling" in meta["methods"] and "cannot tell" in meta["methods"][
        "blink_coupling"]
    assert "blink_pull_right_lag_s" in meta["columns"]["session.csv"]
    html = make_report(root / "history.csv", tmp_path / "r.html",
                       events=[]).path.read_text("utf-8")
    assert "Mouth corner at spontaneous blinks" in html
    assert "Mouth-corner pull at spontaneous blinks" in html
    summary = session_summary(row)
    right = next(b for b in summary["blink"] if b["side"] == "right")
    assert right["status"] == "ok" and right["pull_mm"] >= 0.5
    assert "right mouth corner at your blinks" in right["text"]
