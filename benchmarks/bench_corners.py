"""Mouth-corner fidelity under both injection models, on the eight London faces.

Usage::

    python benchmarks/bench_corners.py [--seeds N]

Each mouth corner alone is moved 3 mm outwards-and-up (a smile), straight up, and inwards
(a pucker); the other corner must not move.

* **Model A** (:func:`synktrack.fidelity.fidelity_run`): the project's own harness, a warp
  of the landmark mesh (mm from MediaPipe's iris).
* **Model B** (:func:`synktrack.fidelity.sliding_corner_run`): a smooth Gaussian stretch of
  the skin around the *hand-placed* corner of the FRL templates (mm from the hand-placed
  limbus), then blur, sensor noise and H.264, under ``--seeds`` camera realisations.

Prints median, min and max of the sensitivity (the tool's move along the direction /
injected) and of the still corner's move (mm). Goal (issue "Real eyes"): 0.95-1.05x,
leak <= 0.5 mm. Needs ``../shared``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from bench_lid_models import LONDON, MEDIA, london, model_path


def model_a(model: str) -> pd.DataFrame:
    from synktrack.fidelity import fidelity_run, mouth_cases

    return pd.concat([fidelity_run(london(n), model, mouth_cases(), name=n) for n in LONDON])


def model_b(model: str, seeds: int) -> pd.DataFrame:
    from synktrack.fidelity import read_mouth_corners, sliding_corner_run
    from synktrack.synth_lids import read_template

    rows = []
    for n in LONDON:
        tem = MEDIA / "annotated" / "london" / f"london__{n}_neutral.tem"
        eyes = read_template(str(tem))
        # the London photos are 1350 px, analysed at 675 px
        mm_per_px = 11.7 / np.mean([e.limbus_px for e in eyes.values()]) * 2.0
        corners = {s: c * 0.5 for s, c in read_mouth_corners(str(tem)).items()}
        rows += [sliding_corner_run(london(n), corners, mm_per_px, model, name=n, seed=seed)
                 for seed in range(seeds)]
    return pd.concat(rows)


def table(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("movement")
    out = pd.DataFrame({"sens_median": g.sensitivity.median(), "sens_min": g.sensitivity.min(),
                        "sens_max": g.sensitivity.max(),
                        "other_mm_median": g.other_side_mm.median(),
                        "other_mm_max": g.other_side_mm.max(), "n": g.size()})
    out.loc["all"] = [df.sensitivity.median(), df.sensitivity.min(), df.sensitivity.max(),
                      df.other_side_mm.median(), df.other_side_mm.max(), len(df)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="camera realisations under model B")
    args = ap.parse_args(argv)
    if not (MEDIA / "annotated").is_dir():
        print("needs ../shared/media", file=sys.stderr)
        return 2
    model = model_path()
    pd.set_option("display.width", 160)
    print("== model A (project harness, mesh warp) ==")
    print(table(model_a(model)).round(3).to_string())
    print("\n== model B (skin stretch at hand-placed corners, camera) ==")
    print(table(model_b(model, args.seeds)).round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
