"""Blink-locked coupling: injected blinks and a corner pull, recovered on the right side."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack.blink_coupling import CouplingStatus, blink_coupling_analyze

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))


def _frames(n_blinks: int, pull: dict[str, float], fps: float = 25.0) -> pd.DataFrame:
    t = np.arange(int(fps * (3 * n_blinks + 2))) / fps
    ap = np.full(len(t), 10.0)
    y = {s: np.zeros(len(t)) for s in ("left", "right")}
    for k in range(n_blinks):
        o = 1.0 + 3 * k
        ap[(t >= o) & (t < o + 0.2)] = 1.0
        for s, mm in pull.items():
            y[s] += mm * np.exp(-(((t - o - 0.3) / 0.1) ** 2))
    rng = np.random.default_rng(0)
    return pd.DataFrame({"time_s": t, "eye_aperture_left_mm": ap, "eye_aperture_right_mm": ap,
                         **{f"mouth_corner_{s}_y_mm": v + rng.normal(0, 0.05, len(t))
                            for s, v in y.items()}})


def test_pull_found_on_its_side_only_with_lag() -> None:
    df = _frames(8, {"right": 1.0})
    res = blink_coupling_analyze(df, np.ones(len(df), bool))
    assert res["right"].flag and abs(res["right"].pull_mm - 1.0) < 0.15
    assert abs(res["right"].lag_s - 0.3) <= 0.08
    assert not res["left"].flag and abs(res["left"].pull_mm) < 0.1


def test_too_few_blinks_is_a_status_not_a_number() -> None:
    df = _frames(3, {"right": 1.0})
    res = blink_coupling_analyze(df, np.ones(len(df), bool))
    assert res["right"].status is CouplingStatus.NOT_ENOUGH_BLINKS
    assert np.isnan(res["right"].pull_mm) and res["right"].n_blinks == 3


def test_blinks_in_prompted_movements_are_excluded() -> None:
    df = _frames(8, {"right": 1.0})
    prompted = (df["time_s"] > 12).to_numpy()
    res = blink_coupling_analyze(df, np.ones(len(df), bool), prompted)
    assert res["right"].n_blinks == 4  # onsets at 1, 4, 7, 10 s; 13-22 s are inside the prompt
    assert res["right"].status is CouplingStatus.NOT_ENOUGH_BLINKS


@pytest.mark.slow
@pytest.mark.parametrize(("face", "mm"), [("001", 0.0), ("001", 0.5), ("001", 2.0),
                                          ("004", 0.0), ("004", 0.5)])
def test_real_face_injection(model_path: Path, face: str, mm: float) -> None:
    """flag_side / flag_other are the session's synkinesis flags (FlagRules)."""
    import bench_blink_coupling as bench

    row = bench.run(face, mm)
    assert row["status"] == "ok" and row["blinks_used"] >= row["blinks_true"] - 1
    assert not row["flag_other"]
    if mm:
        assert row["flag_side"] and 0.5 <= row["sensitivity"] <= 1.3
        assert abs(row["other_side_mm"]) < 0.25 * mm + 0.1
        assert 0.1 <= row["lag_s"] <= 0.5
    else:
        assert not row["flag_side"]
