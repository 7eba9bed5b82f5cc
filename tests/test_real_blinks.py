"""Blinks on every real clip, against blinks counted by eye (all healthy: no flag).

Ground truth: every frame's eye region was looked at (contact sheets of eye crops, then whole
frames around each candidate). Times are blink onsets in the clip. ``None``: the eyes are a
few pixels tall (faces far from the camera, never a usable frame), so no count by eye.
Tolerance: +-1 where one event is ambiguous by eye (noted), else exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# clip -> (onset times counted by eye (s), tolerance in blinks, note)
BY_EYE: dict[str, tuple[list[float] | None, int, str]] = {
    "medusa__example_vid_pexels3063839.mp4": (
        [0.33, 2.0, 6.05, 7.76], 1,
        "0.33 s a fast partial blink (both eyes about half shut for one frame, right after a "
        "cut); 7.76 s shut for four frames mid-laugh, then back to a smiling squint and shut "
        "again for the long laugh from 8.3 s (counted, but ambiguous)"),
    "pyfeat__WolfgangLanger_Pexels.mp4": (
        [6.38, 8.43, 10.34, 12.01, 16.06, 17.73], 1,
        "eyes shut 0-4 s (grimace: not a blink), hand over the face to 5.8 s; 6.38 s and "
        "8.43 s partial blinks; 17.73 s the same mid-laugh closure as in the medusa take"),
    "pyfeat__single_face.mp4": ([0.87], 0, ""),
    "pyfeat__face_noface.mov": ([0.87], 0, "same take as single_face, then no face"),
    "pyfeat__noface_face.mov": ([4.81], 0, "no face first, then the single_face take"),
    "mpsamples__gesture_recognizer_test_video.mp4": (
        [], 0, "no blink; a thumb covers one eye from 2.5 s"),
    **{f"jefapato__test_format_2sec.{ext}": ([], 0, "1 s, eyes open throughout")
       for ext in ("mp4", "mov", "avi", "flv", "mts", "ts")},
}
ONSET_TOL_S = 0.12


@pytest.fixture(scope="module")
def analysed(shared_dir: Path, model_path: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, object]:
    """Every real clip through the real pipeline (epochs found in the signals)."""
    from synktrack.analyze import analyze_clip
    from synktrack.errors import NoFaceError

    out: dict[str, object] = {}
    root = tmp_path_factory.mktemp("real")
    for clip in sorted((shared_dir / "media" / "videos").iterdir()):
        try:
            out[clip.name] = analyze_clip(clip, root / clip.name, protocol="auto",
                                          model=model_path)
        except NoFaceError:
            out[clip.name] = None
    return out


def _onsets(result: object) -> list[float]:
    from synktrack.epochs import blinks_detect, epochs_auto, mask_runs, rest_mask

    frames = result.frames  # type: ignore[attr-defined]
    proto, _ = epochs_auto(frames)  # the epochs the pipeline found (deterministic)
    rest = rest_mask(frames, proto) & frames["usable"].to_numpy(bool)
    mask, _ = blinks_detect(frames, rest)
    t = frames["time_s"].to_numpy()
    return [float(t[min(a + 1, b - 1)]) for a, b in mask_runs(mask)]


@pytest.mark.slow
@pytest.mark.parametrize("clip", sorted(BY_EYE))
def test_blink_count_matches_the_count_by_eye(analysed: dict[str, object], clip: str) -> None:
    truth, tol, note = BY_EYE[clip]
    result = analysed[clip]
    assert result is not None and truth is not None
    row = result.session_row  # type: ignore[attr-defined]
    assert abs(int(row["blinks_n"]) - len(truth)) <= tol, (clip, row["blinks_n"], note)
    got = _onsets(result)
    matched = [t for t in truth if any(abs(t - g) <= ONSET_TOL_S for g in got)]
    assert len(truth) - len(matched) <= tol, (clip, got, truth)
    stray = [g for g in got if not any(abs(t - g) <= ONSET_TOL_S for t in truth)]
    assert not stray, (clip, stray)


@pytest.mark.slow
def test_no_real_clip_is_flagged(analysed: dict[str, object]) -> None:
    """Every clip is a healthy person: no synkinesis flag, blink-locked or other."""
    assert set(BY_EYE) <= set(analysed)
    for clip, result in analysed.items():
        if result is None:
            continue
        row = result.session_row  # type: ignore[attr-defined]
        for side in ("left", "right"):
            assert row[f"synkinesis_suspected_{side}"] == 0, (clip, side,
                                                             row[f"synkinesis_reason_{side}"])
            status = row[f"blink_pull_{side}_status"]
            assert status in ("ok", "not_enough_blinks")
            if status == "ok":
                assert abs(float(row[f"blink_pull_{side}_mm"])) < 0.5, clip


@pytest.mark.slow
def test_a_real_expressive_face_taken_as_all_rest_is_not_flagged(
        analysed: dict[str, object], tmp_path: Path) -> None:
    """The Pexels take as if it were one long rest: all six blinks count, but she smiles and
    laughs around them, so the corner average is wide; its interval includes zero: no flag."""
    from synktrack.analyze import analyze_recording
    from synktrack.protocol import Protocol, Step

    result = analysed["pyfeat__WolfgangLanger_Pexels.mp4"]
    rec = result.recording  # type: ignore[attr-defined]
    rest = Protocol("all-rest", 1, (Step("rest", float(rec.time_s[-1]) + 0.1, "", 0.0),),
                    source="test")
    row = analyze_recording(rec, tmp_path, protocol=rest).session_row
    assert row is not None
    for side in ("left", "right"):
        assert row[f"blink_pull_{side}_status"] == "ok"
        assert row[f"blink_pull_{side}_blinks_n"] >= 5
        assert row[f"blink_pull_{side}_ci_low_mm"] < 0 < row[f"blink_pull_{side}_ci_high_mm"]
        assert row[f"synkinesis_suspected_{side}"] == 0


@pytest.mark.slow
def test_neck_below_the_picture_is_not_measured(analysed: dict[str, object]) -> None:
    """Looked at: in both Pexels takes the chin touches the bottom of the picture (no neck);
    the single_face and gesture clips show the neck. Chin halves are in every clip."""
    import numpy as np

    for clip, neck_in_picture in (("medusa__example_vid_pexels3063839.mp4", False),
                                  ("pyfeat__WolfgangLanger_Pexels.mp4", False),
                                  ("pyfeat__single_face.mp4", True),
                                  ("mpsamples__gesture_recognizer_test_video.mp4", True)):
        frames = analysed[clip].frames  # type: ignore[attr-defined]
        face = frames["usable"].to_numpy(bool)
        for side in ("left", "right"):
            neck = np.isfinite(frames[f"neck_texture_{side}"].to_numpy(float)[face]).mean()
            chin = np.isfinite(frames[f"chin_texture_{side}"].to_numpy(float)[face]).mean()
            assert chin > 0.8, (clip, side, chin)
            assert (neck > 0.9) if neck_in_picture else (neck < 0.05), (clip, side, neck)
