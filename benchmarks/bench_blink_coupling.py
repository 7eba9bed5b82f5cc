"""Blink-locked ocular-oral coupling recovered from real faces with injected blinks.

Each London face gets a 20 s rest clip with spontaneous blinks (real lid closure over
150-300 ms, one every 2.5 s +- 30 %) and a one-sided upward corner pull locked to them
(peak 0.1 s + half the pull's duration after blink start). The clip goes through the real
landmark model, the measures and :func:`blink_coupling_analyze`.

Run: ``python benchmarks/bench_blink_coupling.py [faces...]``; prints one row per clip.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from synktrack.blink_coupling import blink_coupling_analyze
from synktrack.fidelity import face_geometry, landmark_frames
from synktrack.indices import session_indices
from synktrack.measures import MeasureSettings, measures_process
from synktrack.simulate import blinks_simulate

IMAGES = Path(os.environ.get("SYNKTRACK_MEDIA", "/work/shared/media")) / "images"
AMPLITUDES_MM = (0.0, 0.5, 1.0, 2.0)


def run(face: str, pull_mm: float, side: str = "left", fps: float = 25.0,
        duration_s: float = 20.0) -> dict[str, object]:
    """One clip: inject, track, analyse; one table row."""
    model = os.environ["SYNKTRACK_MODEL"]
    img = cv2.cvtColor(cv2.imread(str(IMAGES / f"london__{face}_neutral.jpg")), cv2.COLOR_BGR2RGB)
    scale = 480 / max(img.shape[:2])
    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    geom = face_geometry(img, model)
    frames, onsets = blinks_simulate(img, geom, duration_s, fps,
                                     pull_side=side if pull_mm else None, pull_mm=pull_mm)
    rec = landmark_frames([f for _, f in frames], model, fps=fps)
    df = measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))
    res = blink_coupling_analyze(df, np.ones(len(df), bool))
    other = "right" if side == "left" else "left"
    a, b = res[side], res[other]
    # the session's synkinesis flag (FlagRules), as session.csv would carry it
    ix = session_indices(pd.DataFrame(columns=["usable", "movement", "side"]), {}, blink=res)
    return {
        "face": face, "injected_mm": pull_mm, "blinks_true": len(onsets),
        "blinks_used": a.n_blinks, "status": a.status.value,
        "pull_mm": round(a.pull_mm, 2), "ci_low_mm": round(a.ci_low_mm, 2),
        "sensitivity": round(a.pull_mm / pull_mm, 2) if pull_mm else float("nan"),
        "other_side_mm": round(b.pull_mm, 2),
        "leak": round(b.pull_mm / pull_mm, 2) if pull_mm else float("nan"),
        "flag_side": bool(ix[f"synkinesis_suspected_{side}"]),
        "flag_other": bool(ix[f"synkinesis_suspected_{other}"]), "lag_s": round(a.lag_s, 2),
    }


def main(faces: list[str]) -> pd.DataFrame:
    rows = [run(f, mm) for f in faces for mm in AMPLITUDES_MM]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main(sys.argv[1:] or ["001", "004"])


def real_clips(videos: Path = IMAGES.parent / "videos") -> pd.DataFrame:
    """Blink count and blink-locked coupling on every real clip (all healthy: no flag expected)."""
    from synktrack.epochs import blinks_detect

    model = os.environ["SYNKTRACK_MODEL"]
    rows = []
    for path in sorted(videos.iterdir()):
        cap = cv2.VideoCapture(str(path))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        imgs = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            imgs.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
        if not imgs:
            continue
        df = measures_process(landmark_frames(imgs, model, fps=fps))
        rest = np.ones(len(df), bool)
        _, n = blinks_detect(df, rest)
        res = blink_coupling_analyze(df, rest)
        rows.append({"clip": path.name, "frames": len(df), "blinks": n,
                     **{f"{s}_status": res[s].status.value for s in ("left", "right")},
                     "flag": any(res[s].flag for s in ("left", "right"))})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    return table
