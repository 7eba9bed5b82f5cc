"""Blink detection under the second, independent lid model (sliding lids, camera effects).

Usage::

    python benchmarks/bench_blinks_model_b.py [--faces 001 004 ...] [--seconds 12]

The blink-locked coupling index stands on blink detection. Its own injection harness
(:func:`synktrack.simulate.blinks_simulate`) closes the lids with the project's layered
model; here each real London face blinks with :mod:`synktrack.synth_lids` instead (the
upper lid slides down over a still eyeball from the blind hand-placed margins, the lower
lid rises, the skin stretches; 90 % closure, 150-300 ms, sin^2 in time, every 2.5 s +- 30 %),
then blur, sensor noise and H.264 (:func:`synktrack.synth_lids.camera`). Prints per face:
blinks injected, detected, hits (a detected blink within 0.2 s of an injected one), false
detections, and the most-closed frame of each hit as % of the rest aperture (the tool's
``eye_aperture``, both eyes' mean). Needs ``../shared``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from bench_lid_models import LONDON, MEDIA, hand_eyes, london, model_path

FPS = 25.0


def blink_clip(image: np.ndarray, eyes: dict, seconds: float, seed: int
               ) -> tuple[list[np.ndarray], list[float]]:
    """Frames of a rest clip with model-B blinks, and the blink onsets (s)."""
    from synktrack.simulate import blink_schedule
    from synktrack.synth_lids import apply_field, camera, lid_field

    onsets, durs = blink_schedule(seconds, 2.5, np.random.default_rng(seed))
    full = sum(lid_field(image.shape[:2], e, 0.85 * 0.9 * e.aperture_px(),
                         0.15 * 0.9 * e.aperture_px()) for e in eyes.values())
    frames = []
    for i in range(int(round(seconds * FPS))):
        t = i / FPS
        u = [(t - o) / d for o, d in zip(onsets, durs, strict=True)]
        k = max((float(np.sin(np.pi * x) ** 2) if 0 <= x <= 1 else 0.0) for x in u)
        frames.append(apply_field(image, np.asarray(full) * round(k, 2)) if k > 0 else image)
    return camera(frames, seed=seed, fps=int(FPS)), onsets


def run_face(n: str, model: str, seconds: float, seed: int = 0) -> dict[str, object]:
    from synktrack.epochs import blink_bottoms, blinks_detect
    from synktrack.fidelity import landmark_frames
    from synktrack.measures import MeasureSettings, measures_process
    from synktrack.measures.ids import SIDES

    frames, onsets = blink_clip(london(n), hand_eyes(n, 0.5), seconds, seed)
    df = measures_process(landmark_frames(frames, model, fps=FPS),
                          settings=MeasureSettings(max_jitter_mm=np.inf))
    mask, count = blinks_detect(df, np.ones(len(df), bool))
    bottoms = blink_bottoms(df, mask)
    ap = df[[f"eye_aperture_{s}_mm" for s in SIDES]].to_numpy().mean(axis=1)
    rest = float(np.nanmedian(ap))
    t = df["time_s"].to_numpy()
    hits, depth = 0, []
    for b in bottoms:
        if any(-0.2 <= t[b] - o <= 0.5 for o in onsets):
            hits += 1
            depth.append(100 * ap[b] / rest)
    return {"face": n, "injected": len(onsets), "detected": count, "hits": hits,
            "false": count - hits, "bottom_pct_median": float(np.median(depth)) if depth
            else float("nan"), "bottom_pct_max": float(np.max(depth)) if depth
            else float("nan")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", nargs="+", default=list(LONDON))
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args(argv)
    if not (MEDIA / "annotated").is_dir():
        print("needs ../shared/media", file=sys.stderr)
        return 2
    model = model_path()
    rows = pd.DataFrame([run_face(n, model, args.seconds) for n in args.faces])
    pd.set_option("display.width", 140)
    print(rows.round(1).to_string(index=False))
    tot = rows[["injected", "detected", "hits", "false"]].sum()
    print(f"\nall faces: {tot.hits}/{tot.injected} injected blinks found "
          f"({100 * tot.hits / tot.injected:.0f} %), {tot['false']} false detections; "
          f"most-closed frame median {rows.bottom_pct_median.median():.0f} % of rest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
