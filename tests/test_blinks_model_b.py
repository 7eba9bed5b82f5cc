"""Blink detection under the independent lid model (sliding lids, camera effects).

The blink-locked index stands on blink detection; its own harness closes lids with the
project's layered model. Here real London faces blink with ``synth_lids`` instead (see
``benchmarks/bench_blinks_model_b.py``). Measured on all 8 faces: 40/40 blinks found, no
false detection; the most-closed frame reads 31-53 % of rest for a 90 % closure (the lid
tracker under-reads this model's deep closures, see issue "Real eyes").
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("face", ["001", "004", "021"])
def test_model_b_blinks_are_found_without_false_ones(shared_dir: Path, model_path: Path,
                                                     face: str) -> None:
    from bench_blinks_model_b import run_face

    row = run_face(face, str(model_path), seconds=12.0)
    assert row["injected"] == 5
    assert row["hits"] == row["injected"] and row["false"] == 0, row
    assert row["bottom_pct_max"] < 60.0  # a 90 % closure reads as a blink, not a flicker
