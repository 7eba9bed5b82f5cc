"""Side fidelity on real faces: known one-sided movements injected, recovered and kept apart.

Every face goes through :func:`synktrack.fidelity.fidelity_run` with the real landmark model:
one eyelid narrowed by 30 % of its aperture (upper or lower lid), or one mouth corner moved
3 mm (out-and-up, up, in). Sensitivity = recovered / injected on the moved side; leak =
change on the other side / injected.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from synktrack.fidelity import eye_cases, face_geometry, fidelity_run, mouth_cases, summarise

pytestmark = pytest.mark.slow

LONDON = ("001", "004", "005", "006", "021", "024")
MOUTH_SENSITIVITY = (0.8, 1.2)
MOUTH_LEAK_MAX = 0.1
EYE_LEAK_MAX = 0.15
EYE_SENSITIVITY_MEDIAN_MIN = 0.6


def demo_face() -> np.ndarray:
    """The demo's portrait: skimage's astronaut, cropped around the face, 480 x 480."""
    from skimage import data

    crop = data.astronaut()[15:235, 115:335]
    return cv2.resize(crop, (480, 480), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def results(london_faces: dict[str, np.ndarray], model_path: Path) -> pd.DataFrame:
    faces = {name: london_faces[name] for name in LONDON}
    faces["astronaut"] = demo_face()
    runs = []
    for name, image in faces.items():
        geom = face_geometry(image, model_path)
        cases = eye_cases(geom) + mouth_cases()
        runs.append(fidelity_run(image, model_path, cases, geom=geom, name=name))
    df = pd.concat(runs, ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print("\n", df.round(3).to_string())
        print(summarise(df).round(3))
    return df


def _worst(df: pd.DataFrame, mask: pd.Series) -> str:
    cols = ["face", "measure", "movement", "side", "injected_mm", "recovered_mm",
            "other_side_mm", "sensitivity", "leak"]
    return "\n" + df.loc[mask, cols].round(3).to_string()


def test_every_face_and_case_was_measured(results: pd.DataFrame) -> None:
    assert set(results["face"]) == {*LONDON, "astronaut"}
    per_face = results.groupby("face")["measure"].value_counts().unstack()
    assert (per_face["eye"] == 4).all() and (per_face["mouth"] == 6).all()
    assert results[["sensitivity", "leak"]].notna().all().all()


@pytest.mark.parametrize("face", [*LONDON, "astronaut"])
def test_mouth_corner_sensitivity_and_leak(results: pd.DataFrame, face: str) -> None:
    mouth = results[(results["measure"] == "mouth") & (results["face"] == face)]
    lo, hi = MOUTH_SENSITIVITY
    bad = ~mouth["sensitivity"].between(lo, hi) | (mouth["leak"] > MOUTH_LEAK_MAX)
    assert not bad.any(), _worst(mouth, bad)


def test_eye_leak(results: pd.DataFrame) -> None:
    eye = results[results["measure"] == "eye"]
    bad = eye["leak"] > EYE_LEAK_MAX
    assert not bad.any(), _worst(eye, bad)


def test_eye_sensitivity_median(results: pd.DataFrame) -> None:
    eye = results[results["measure"] == "eye"]
    median = float(eye["sensitivity"].median())
    print(f"\neye sensitivity: median {median:.3f}, min {eye['sensitivity'].min():.3f}, "
          f"max {eye['sensitivity'].max():.3f} over {len(eye)} cases")
    assert median >= EYE_SENSITIVITY_MEDIAN_MIN


def test_eye_narrowing_never_reads_as_widening(results: pd.DataFrame) -> None:
    """Every injected narrowing must be recovered as a narrowing, and not overshoot 1.5x."""
    eye = results[results["measure"] == "eye"]
    bad = ~eye["sensitivity"].between(0.0, 1.5)
    assert not bad.any(), _worst(eye, bad)
