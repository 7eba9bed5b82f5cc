"""Chin and neck co-activation through the whole pipeline: texture injected into a real face
in step with the smile and pucker prompts shows on its region and side in session.csv; a
control shows nothing; a neck out of the picture is "not visible", never a number."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

CASES = {"control": (None, 0.0, False), "chin_right": ("chin_right", 0.1, False),
         "neck_left": ("neck_left", 0.1, False), "cropped": (None, 0.0, True)}


@pytest.fixture(scope="module")
def rows(shared_dir: Path, model_path: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, dict[str, object]]:
    import bench_chin_neck as bench

    out = tmp_path_factory.mktemp("chin")
    rows = {name: bench.session_run("001", region, depth, out, crop_neck=crop)
            for name, (region, depth, crop) in CASES.items()}
    rows["_folder"] = {"path": out}
    return rows


def _z(row: dict[str, object], stem: str, side: str) -> float:
    assert row[f"{stem}_{side}_status"] == "ok", (stem, side)
    return float(row[f"{stem}_{side}_z"])  # type: ignore[arg-type]


@pytest.mark.slow
def test_injected_chin_dimpling_shows_on_its_side(rows: dict[str, dict[str, object]]) -> None:
    from synktrack.indices import TEXTURE_SEEN_Z

    row = rows["chin_right"]
    assert _z(row, "chin_coactivation", "right") > TEXTURE_SEEN_Z
    assert float(row["chin_coactivation_right_pct"]) > 30  # type: ignore[arg-type]
    for stem, side in (("chin_coactivation", "left"), ("neck_coactivation", "left"),
                       ("neck_coactivation", "right")):
        assert _z(row, stem, side) < TEXTURE_SEEN_Z, (stem, side)


@pytest.mark.slow
def test_injected_neck_bands_show_on_their_side(rows: dict[str, dict[str, object]]) -> None:
    from synktrack.indices import TEXTURE_SEEN_Z

    row = rows["neck_left"]
    assert _z(row, "neck_coactivation", "left") > TEXTURE_SEEN_Z
    for stem, side in (("neck_coactivation", "right"), ("chin_coactivation", "left"),
                       ("chin_coactivation", "right")):
        assert _z(row, stem, side) < TEXTURE_SEEN_Z, (stem, side)


@pytest.mark.slow
def test_control_is_clean(rows: dict[str, dict[str, object]]) -> None:
    from synktrack.indices import TEXTURE_SEEN_Z

    for stem in ("chin_coactivation", "neck_coactivation"):
        for side in ("left", "right"):
            assert abs(_z(rows["control"], stem, side)) < TEXTURE_SEEN_Z


@pytest.mark.slow
def test_a_neck_out_of_the_picture_is_not_visible(rows: dict[str, dict[str, object]]) -> None:
    row = rows["cropped"]
    for side in ("left", "right"):
        assert row[f"neck_coactivation_{side}_status"] == "not_visible"
        assert np.isnan(float(row[f"neck_coactivation_{side}_pct"]))  # type: ignore[arg-type]
        assert np.isnan(float(row[f"neck_coactivation_{side}_z"]))  # type: ignore[arg-type]
        assert row[f"chin_coactivation_{side}_status"] == "ok"


@pytest.mark.slow
def test_a_selfie_style_copy_keeps_the_patients_side(rows: dict[str, dict[str, object]],
                                                      model_path: Path) -> None:
    """The chin_right clip flipped left-right and analysed as mirrored: still the right side."""
    import bench_chin_neck as bench

    from synktrack.analyze import analyze_clip
    from synktrack.indices import TEXTURE_SEEN_Z
    from synktrack.simulate import mirror_clip

    folder = Path(str(rows["_folder"]["path"]))
    flipped = mirror_clip(folder / "001_chin_right_0.1.mp4", folder / "flipped.mp4", 25.0)
    row = analyze_clip(flipped, folder / "flipped", protocol=bench.SESSION, model=model_path,
                       mirrored=True).session_row
    assert row is not None
    assert _z(row, "chin_coactivation", "right") > TEXTURE_SEEN_Z
    assert _z(row, "chin_coactivation", "left") < TEXTURE_SEEN_Z
