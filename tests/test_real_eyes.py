"""Eye measures on real, hand-annotated eyes, and the second (sliding-lid) injection model."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest

from synktrack.synth_lids import HandEye, apply_field, lid_field, read_template

ROOT = Path(__file__).resolve().parents[1]


def _eye() -> HandEye:
    return HandEye(outer=np.array([20.0, 50.0]), inner=np.array([100.0, 50.0]),
                   upper=np.array([[40.0, 38.0], [60.0, 35.0], [80.0, 38.0]]),
                   lower=np.array([[40.0, 60.0], [60.0, 62.0], [80.0, 60.0]]), limbus_px=30.0)


def test_sliding_lid_moves_the_margin_and_hides_the_eyeball() -> None:
    """The upper lid's centre drops by the asked amount; the eyeball below it does not move."""
    eye = _eye()
    field = lid_field((100, 120), eye, upper_px=6.0)
    dy = field[1]
    # at the centre column, the new margin (35 + 6 = 41) and the lid above it move by up to 6
    assert dy[41, 60] == pytest.approx(6.0, abs=0.05)
    assert np.all(dy[42:, 60] == 0)  # the eyeball below the new margin stays
    # the skin above stretches: the shift falls towards the brow, never beyond it
    assert 0 < dy[20, 60] < dy[35, 60] < 6.0
    assert np.all(dy[:, :20] == 0) and np.all(dy[:, 101:] == 0)  # nothing beyond the canthi


def test_lower_lid_rises_with_the_cheek() -> None:
    field = lid_field((100, 120), _eye(), lower_px=4.0)
    dy = field[1]
    assert dy[58, 60] == pytest.approx(-4.0, abs=0.05)  # 62 - 4: the new lower margin
    assert np.all(dy[:57, 60] == 0)
    assert -4.0 < dy[80, 60] < 0  # the cheek below is pushed up less and less


def test_an_image_warped_by_the_field_shows_the_lid_lower() -> None:
    img = np.zeros((100, 120, 3), np.uint8)
    img[:36] = 200  # "lid skin" above the margin at row 35
    out = apply_field(img, lid_field((100, 120), _eye(), upper_px=6.0))
    col = out[:, 60, 0]
    assert col[40] == 200 and col[43] == 0  # skin now reaches row 41, the eyeball below stays


@pytest.fixture(scope="module")
def annotated(shared_dir: Path) -> list[str]:
    tems = sorted(glob.glob(str(shared_dir / "media" / "annotated" / "canada" / "*.tem")))
    assert len(tems) >= 40
    return tems


@pytest.mark.slow
def test_limbus_found_in_the_image_matches_the_hand_placed_limbus(
        annotated: list[str], model_path: Path) -> None:
    """Iris diameter on 80 real eyes: closer to the hand limbus than MediaPipe's iris is."""
    import cv2

    from synktrack.landmarks import EYE_ORDER
    from synktrack.margins import MarginFinder

    finder = MarginFinder()
    from synktrack.fidelity import landmark_frames

    ratios, mp_ratios, hand, found = [], [], [], []
    for tem in annotated:
        rgb = cv2.cvtColor(cv2.imread(tem[:-4] + ".jpg"), cv2.COLOR_BGR2RGB)
        rec = landmark_frames([rgb], model_path)
        pts = rec.landmarks_px()[0, :, :2]
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        eyes = read_template(tem)
        for label in EYE_ORDER:
            m = finder.find(rgb[:, :, 1], gray, pts, label)
            assert m is not None
            from synktrack.measures.ids import EYE

            a, b = EYE[label]["iris_h"]
            truth = eyes[label].limbus_px
            ratios.append(m.iris_diameter_px / truth)
            mp_ratios.append(float(np.linalg.norm(pts[a] - pts[b])) / truth)
            hand.append(truth)
            found.append(m.iris_diameter_px)
    ratios_a = np.asarray(ratios)
    # within one photo set (one size) measured r 0.84; the goal is 0.95
    assert np.corrcoef(hand, found)[0, 1] >= 0.8
    # measured: median 1.028 (MediaPipe 1.077); the goal is within 2 %
    assert abs(np.median(ratios_a) - 1.0) <= 0.04
    assert abs(np.median(ratios_a) - 1.0) < abs(np.median(mp_ratios) - 1.0) - 0.03


@pytest.mark.slow
def test_sliding_lid_model_is_recovered_on_real_faces(shared_dir: Path,
                                                      model_path: Path) -> None:
    """The second injection model on the eight London faces whose margins were placed by hand.

    Lid margins come from the blind hand annotation (the mean of the two annotators in
    benchmarks/data), not from any landmark model; the lids slide over a still eyeball, the
    skin stretches, then blur, noise and H.264. Measured (bench_lid_models.py --margins mean,
    3 camera seeds): one-sided upper 1.00x, lower 0.98x, closure 0.89x, healthy smile 0.92x,
    leak <= 0.01x; before the fine lid stage 0.76x, 0.87x, 0.76x, 0.75x.
    """
    import sys

    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_lid_models as b

    from synktrack.fidelity import sliding_lid_run

    # two camera realisations (x264 itself does not always give the same bytes twice)
    rows = [sliding_lid_run(b.london(n), b.hand_eyes(n, 0.5, "mean"), model_path, name=n,
                            symmetric=b.SYMMETRIC, seed=seed)
            for n in b.LONDON for seed in (0, 1)]
    df = pd.concat(rows)
    med = df.groupby(["kind", "lid"]).image_sensitivity.median()
    assert 0.93 <= med["one-sided", "upper"] <= 1.07
    assert 0.93 <= med["one-sided", "lower"] <= 1.07
    assert med["closure", "both"] >= 0.85
    assert med["healthy smile", "both"] >= 0.85
    one = df[df.kind == "one-sided"]
    # the other eye: median 0.007-0.015x, 90th percentile 0.04-0.07x over camera seeds
    assert one.image_leak.median() <= 0.03 and one.image_leak.quantile(0.9) <= 0.1
    # the tracker beats the raw landmarks on a model it was not built around
    assert one.image_sensitivity.median() > one.landmarks_sensitivity.median() + 0.5


@pytest.mark.slow
def test_a_hidden_eye_has_no_aperture(shared_dir: Path, model_path: Path,
                                      tmp_path: Path) -> None:
    """A thumb in front of the patient's right eye (mediapipe-samples clip, from ~2.8 s):
    its lid fit collapses, so those frames carry no eye_aperture; the other eye keeps its."""
    from synktrack.analyze import analyze_clip

    clip = shared_dir / "media" / "videos" / "mpsamples__gesture_recognizer_test_video.mp4"
    frames = analyze_clip(clip, tmp_path, model=model_path).frames
    late, early = frames.time_s > 3.5, frames.time_s < 2.0
    assert frames.loc[late, "eye_confidence_right"].median() < 0.5
    assert frames.loc[late, "eye_aperture_right_mm"].isna().mean() > 0.8
    assert frames.loc[early, "eye_aperture_right_mm"].notna().all()
    assert frames["eye_aperture_left_mm"].notna().mean() > 0.95


def test_a_dip_next_to_unmeasured_frames_is_not_a_blink() -> None:
    """A closure whose start is hidden (no aperture) may be longer than a blink."""
    import pandas as pd

    from synktrack.epochs import blinks_detect

    t = np.arange(60) / 30
    ap = np.full(60, 10.0)
    ap[20:24] = 1.0  # a real blink: open before and after
    ap[40:44] = np.nan  # a hand over the eyes...
    ap[44:47] = 1.0  # ...then still shut
    frames = pd.DataFrame({"time_s": t, "eye_aperture_left_mm": ap,
                           "eye_aperture_right_mm": ap})
    mask, n = blinks_detect(frames, np.ones(60, bool))
    assert n == 1 and mask[21] and not mask[45]


@pytest.mark.slow
def test_margins_found_in_the_image_follow_blind_hand_margins(shared_dir: Path,
                                                              model_path: Path) -> None:
    """Aperture at the pupil column on the 32 London eyes (16 photos), in inter-pupil units.

    The truth is this project's blind hand annotation (``benchmarks/data``). Measured: r
    0.86, the image margins inside the hand ones by about 2 px per lid (the traced edge
    sits a little inside the lash line and the lower rim).
    """
    import cv2
    import pandas as pd

    from synktrack.fidelity import landmark_frames
    from synktrack.margins import MarginFinder

    hand = pd.read_csv(ROOT / "benchmarks" / "data" / "london_lids.csv", dtype={"subject": str})
    finder = MarginFinder()
    truth, found = [], []
    for (subject, expression), h in hand.groupby(["subject", "expression"]):
        path = shared_dir / "media" / "images" / f"london__{subject}_{expression}.jpg"
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        pts = landmark_frames([rgb], model_path).landmarks_px()[0, :, :2]
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        h = h.set_index("eye")
        ipd_hand = abs(h.loc["left", "pupil_x"] - h.loc["right", "pupil_x"])
        ipd_tool = float(np.linalg.norm(pts[468] - pts[473]))
        for label in ("right", "left"):
            m = finder.find(rgb[:, :, 1], gray, pts, label)
            assert m is not None
            truth.append(h.loc[label, "aperture_mean"] / ipd_hand)
            found.append(m.aperture_px / ipd_tool)
    t, f = np.asarray(truth), np.asarray(found)
    assert len(t) == 32
    assert np.corrcoef(t, f)[0, 1] >= 0.83
    assert abs(np.median(f / t) - 1.0) <= 0.2  # measured 0.85: inside the hand margins
