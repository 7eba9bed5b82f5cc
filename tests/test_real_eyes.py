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
def test_sliding_lid_model_is_recovered_on_real_faces(annotated: list[str],
                                                      model_path: Path) -> None:
    """The second injection model (hand-placed lids, camera effects) on two real faces.

    Measured today: one-sided 0.82-0.90x, leak <= 0.03x; the goal is 0.95-1.05x.
    """
    import cv2

    from synktrack.fidelity import sliding_lid_run
    from synktrack.synth_lids import scaled

    rows = []
    for tem in (annotated[0], annotated[-1]):
        rgb = cv2.cvtColor(cv2.imread(tem[:-4] + ".jpg"), cv2.COLOR_BGR2RGB)
        img = cv2.resize(rgb, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
        hand = {k: scaled(v, 0.4) for k, v in read_template(tem).items()}
        rows.append(sliding_lid_run(img, hand, model_path, name=Path(tem).stem))
    import pandas as pd

    df = pd.concat(rows)
    one = df[df.kind == "one-sided"]
    assert one.image_sensitivity.median() >= 0.75
    assert one.image_leak.median() <= 0.05  # measured 0.02-0.03, worst face 0.14
    assert one.image_leak.max() <= 0.2
    # the tracker beats the raw landmarks on a model it was not built around
    assert one.image_sensitivity.median() > one.landmarks_sensitivity.median() + 0.3
