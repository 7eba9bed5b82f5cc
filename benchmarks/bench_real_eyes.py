"""Eye measures against real eyes annotated by hand (no landmark software in the truth).

Usage::

    python benchmarks/bench_real_eyes.py [--csv OUT.csv]

Prints, tool and raw MediaPipe landmarks side by side (n, r, slope, bias, MAE):

* **iris diameter** on every eye of ``../shared/media/annotated`` (40 Canadian faces and
  the 8 London templates) against the hand-placed limbus (its extent along the canthal
  axis): the limbus found in the image (:mod:`synktrack.margins`) and MediaPipe's iris.
  Goal: median ratio within +-2 %, r >= 0.95.
* **aperture** (centre lid gap, in mm with the hand-placed limbus as 11.7 mm) against the
  annotators' middle lid points: the tool's ``eye_aperture`` (on a still this is the
  landmarks' own: the lid tracker takes its template there), the margins found afresh in
  the image (``eye_aperture_margins``) and the landmarks. The annotators place the upper
  point on or above the lash line, so a constant offset is expected; read r and slope.
* **smile narrowing per eye** on the 8 London neutral/smiling pairs against the blind hand
  annotation in ``benchmarks/data/london_lids.csv`` (two passes, convention and
  repeatability in ``london_lids_README.md``): narrowing = 1 - aperture_smile /
  aperture_neutral with each photo scaled by its inter-pupil distance (hand) or the
  tool's own mm scale. Tool figures: each photo analysed as a still, and the pair analysed
  as a two-frame clip (neutral first: the lid tracker's template). Goal: r >= 0.9, slope
  0.85-1.15, MAE <= 3 points.

Needs ``../shared`` (media and model); about half a minute.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import _common
import cv2
import numpy as np
import pandas as pd
from _common import ROOT, SHARED

MEDIA = SHARED / "media"
HAND = ROOT / "benchmarks" / "data" / "london_lids.csv"
HAND_2 = ROOT / "benchmarks" / "data" / "london_lids_2.csv"  # a second blind annotator
LONDON = ("001", "004", "005", "006", "021", "024", "025", "042")
# FRL template points, by the patient's side (the image-left eye is the patient's right).
TEM = {"right": {"iris": range(2, 10), "canthi": (18, 22), "up": 20, "lo": 29},
       "left": {"iris": range(10, 18), "canthi": (23, 27), "up": 25, "lo": 32}}


def model_path() -> str:
    return str(_common.model_path())


def read_rgb(path: Path | str) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def analyse(images: list[np.ndarray], model: str) -> tuple[pd.DataFrame, object]:
    from synktrack.fidelity import landmark_frames
    from synktrack.measures import MeasureSettings, measures_process

    rec = landmark_frames(images, model)
    return measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf)), rec


def stats(truth: np.ndarray, got: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(truth) & np.isfinite(got)
    t, g = truth[ok], got[ok]
    return {"n": int(ok.sum()), "r": float(np.corrcoef(t, g)[0, 1]),
            "slope": float(np.polyfit(t, g, 1)[0]), "bias": float(np.mean(g - t)),
            "MAE": float(np.mean(np.abs(g - t))), "median_ratio": float(np.median(g / t))}


def annotated_eyes(model: str) -> pd.DataFrame:
    """One row per hand-annotated eye: hand, tool and landmark iris and aperture."""
    from synktrack.landmarks import EYE_ORDER
    from synktrack.measures.ids import EYE

    rows = []
    tems = sorted(glob.glob(str(MEDIA / "annotated" / "canada" / "*.tem")))
    tems += sorted(glob.glob(str(MEDIA / "annotated" / "london" / "*.tem")))
    for tem in tems:
        ann = np.loadtxt(tem, skiprows=1, max_rows=189)
        name = Path(tem).stem
        img = Path(tem).with_suffix(".jpg") if "canada" in tem else MEDIA / "images" / f"{name}.jpg"
        df, rec = analyse([read_rgb(img)], model)
        pts = rec.landmarks_px()[0, :, :2]  # type: ignore[attr-defined]
        for side, a in TEM.items():
            c0, c1 = ann[a["canthi"][0]], ann[a["canthi"][1]]
            axis = (c1 - c0) / np.linalg.norm(c1 - c0)
            normal = np.array([-axis[1], axis[0]])
            proj = ann[list(a["iris"])] @ axis
            iris_hand = float(proj.max() - proj.min())
            mm = 11.7 / iris_hand  # hand scale for every aperture of this eye
            e = EYE[side]
            up, lo = e["pairs"][0]
            ia, ib = e["iris_h"]
            tool_px = {c: float(df[f"eye_aperture{c}_{side}_mm"].iloc[0]) / float(
                df.attrs["mm_per_px"]) for c in ("", "_margins")}
            rows.append({
                "face": name, "eye": side, "iris_hand_px": iris_hand,
                "iris_image_px": float(rec.iris_px[0, EYE_ORDER.index(side)]),  # type: ignore[attr-defined]
                "iris_landmarks_px": float(np.linalg.norm(pts[ia] - pts[ib])),
                "aperture_hand_mm": abs(float((ann[a["lo"]] - ann[a["up"]]) @ normal)) * mm,
                "aperture_landmarks_mm": float(np.linalg.norm(pts[up] - pts[lo])) * mm,
                # tool columns are in the tool's own mm: back to px, then the hand scale
                "aperture_tool_mm": tool_px[""] * mm,
                "aperture_margins_mm": tool_px["_margins"] * mm,
                "confidence": float(df[f"eye_confidence_{side}"].iloc[0]),
            })
    return pd.DataFrame(rows)


def hand_lids() -> pd.DataFrame:
    """Both blind annotations, one row per photo and eye (patient's side).

    ``aperture_mean`` and ``pupil_x`` are the first annotator's, ``aperture_b`` and
    ``pupil_x_b`` the second's (image-left eye = the patient's right).
    """
    a = pd.read_csv(HAND, dtype={"subject": str})
    b = pd.read_csv(HAND_2)
    b["subject"] = b.photo.str.slice(8, 11)
    b["expression"] = b.photo.str.slice(12)
    b["eye"] = b.eye_imgside.map({"imgleft": "right", "imgright": "left"})
    b["aperture_b"] = (b.lower_y_1 + b.lower_y_2 - b.upper_y_1 - b.upper_y_2) / 2
    b["iris_w_b"] = (b.limbus_right_x_1 + b.limbus_right_x_2
                     - b.limbus_left_x_1 - b.limbus_left_x_2) / 2
    b = b.rename(columns={"pupil_x": "pupil_x_b"})
    return a.merge(b[["subject", "expression", "eye", "pupil_x_b", "aperture_b", "iris_w_b"]],
                   on=["subject", "expression", "eye"], validate="one_to_one")


def smile_narrowing(model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-eye smile narrowing (%), and absolute apertures (% of the inter-pupil distance):
    blind hand annotation, tool and landmarks."""
    from synktrack.landmarks import EYE_ORDER
    from synktrack.measures.ids import EYE

    hand = hand_lids()
    rows: list[dict] = []
    apertures: list[dict] = []
    for subject in LONDON:
        h = hand[hand.subject == subject].set_index(["expression", "eye"])
        imgs = {x: read_rgb(MEDIA / "images" / f"london__{subject}_{x}.jpg")
                for x in ("neutral", "smiling")}
        stills = {x: analyse([imgs[x]], model) for x in imgs}
        pair, _ = analyse([imgs["neutral"], imgs["smiling"]], model)
        for side in ("right", "left"):
            def ratio(x: str, side: str = side, h: pd.DataFrame = h, who: str = "") -> float:
                px, ap = ("pupil_x_b", "aperture_b") if who == "2" else ("pupil_x", "aperture_mean")
                ipd = abs(h.loc[(x, "left"), px] - h.loc[(x, "right"), px])
                return float(h.loc[(x, side), ap]) / float(ipd)

            def lm_ratio(x: str, side: str = side, stills: dict = stills) -> float:
                pts = stills[x][1].landmarks_px()[0, :, :2]  # type: ignore[attr-defined]
                up, lo = EYE[side]["pairs"][0]
                ipd = np.linalg.norm(pts[468] - pts[473])
                return float(np.linalg.norm(pts[up] - pts[lo]) / ipd)

            col = f"eye_aperture_{side}_mm"
            mcol = f"eye_aperture_margins_{side}_mm"
            for x in ("neutral", "smiling"):  # absolute aperture, in IPD units x 100
                df_x, rec_x = stills[x]
                pts = rec_x.landmarks_px()[0, :, :2]  # type: ignore[attr-defined]
                ipd_px = float(np.linalg.norm(pts[468] - pts[473]))
                k = float(df_x.attrs["mm_per_px"])
                apertures.append({
                    "subject": subject, "eye": side, "expression": x,
                    "hand": 100 * ratio(x), "hand_2": 100 * ratio(x, who="2"),
                    "tool": 100 * float(df_x[col].iloc[0]) / k / ipd_px,
                    "margins": 100 * float(df_x[mcol].iloc[0]) / k / ipd_px,
                    "landmarks": 100 * lm_ratio(x),
                    "iris_hand": float(h.loc[(x, side), "iris_w_mean"]),
                    "iris_hand_2": float(h.loc[(x, side), "iris_w_b"]),
                    "iris_tool": float(rec_x.iris_px[0, EYE_ORDER.index(side)])})
            rows.append({
                "subject": subject, "eye": side,
                "hand_pct": 100 * (1 - ratio("smiling") / ratio("neutral")),
                "hand_2_pct": 100 * (1 - ratio("smiling", who="2") / ratio("neutral", who="2")),
                "landmarks_pct": 100 * (1 - lm_ratio("smiling") / lm_ratio("neutral")),
                "tool_stills_pct": 100 * (1 - stills["smiling"][0][col].iloc[0]
                                          / stills["neutral"][0][col].iloc[0]),
                "tool_pair_pct": 100 * (1 - pair[col].iloc[1] / pair[col].iloc[0]),
                "margins_stills_pct": 100 * (1 - stills["smiling"][0][mcol].iloc[0]
                                             / stills["neutral"][0][mcol].iloc[0]),
            })
    return pd.DataFrame(rows), pd.DataFrame(apertures)


def table(truth: pd.Series, cols: dict[str, pd.Series]) -> pd.DataFrame:
    return pd.DataFrame({k: stats(truth.to_numpy(), v.to_numpy()) for k, v in cols.items()}).T


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, help="write the per-eye rows here")
    args = ap.parse_args(argv)
    if not (MEDIA / "annotated").is_dir():
        print("needs ../shared/media/annotated", file=sys.stderr)
        return 2
    model = model_path()
    pd.set_option("display.width", 140)
    pd.set_option("display.max_columns", 20)
    eyes = annotated_eyes(model)
    print(f"Iris diameter vs the hand-placed limbus ({len(eyes)} eyes), pixels")
    for group, sub in eyes.groupby(eyes.face.str.startswith("london")):
        print(f"-- {'London templates' if group else 'Canadian faces'}")
        print(table(sub.iris_hand_px, {"limbus found in the image": sub.iris_image_px,
                                       "MediaPipe iris": sub.iris_landmarks_px}).round(3))
    print("\nAperture vs the hand-placed lid points (mm, hand limbus = 11.7 mm)")
    for group, sub in eyes.groupby(eyes.face.str.startswith("london")):
        print(f"-- {'London templates' if group else 'Canadian faces'}")
        print(table(sub.aperture_hand_mm, {
            "tool eye_aperture": sub.aperture_tool_mm,
            "margins found in the image": sub.aperture_margins_mm,
            "raw landmarks": sub.aperture_landmarks_mm}).round(3))
    smiles, apertures = smile_narrowing(model)
    print("\nAperture vs the blind hand-placed margins (London, 32 eyes; % of the inter-pupil "
          "distance, so no scale enters)")
    for who, truth in (("annotator 1", apertures.hand), ("annotator 2", apertures.hand_2)):
        print(f"-- {who}")
        print(table(truth, {"tool eye_aperture": apertures.tool,
                            "margins found in the image": apertures.margins,
                            "raw landmarks": apertures.landmarks}).round(3))
    print("-- the two annotators against each other (annotator 2 as 'tool')")
    print(table(apertures.hand, {"annotator 2": apertures.hand_2}).round(3))
    print("\nIris width on the pupil's row vs the two blind annotators (London, 32 eyes, px)")
    print(table(apertures.iris_hand, {"limbus found in the image": apertures.iris_tool,
                                      "annotator 2": apertures.iris_hand_2}).round(3))
    print(table(apertures.iris_hand_2, {"limbus found in the image (vs annotator 2)":
                                        apertures.iris_tool}).round(3))
    print("\nSmile narrowing per eye vs the blind hand annotations (percentage points)")
    smiles["hand_mean_pct"] = (smiles.hand_pct + smiles.hand_2_pct) / 2
    tools = {"tool, pair as a clip": smiles.tool_pair_pct, "tool, stills": smiles.tool_stills_pct,
             "margins found in the image, stills": smiles.margins_stills_pct,
             "raw landmarks": smiles.landmarks_pct}
    for who, col in (("annotator 1", "hand_pct"), ("annotator 2", "hand_2_pct"),
                     ("mean of the two", "hand_mean_pct")):
        print(f"-- {who}")
        print(table(smiles[col], tools).round(3))
    print("-- the two annotators against each other: the ceiling any measure can show here")
    print(table(smiles.hand_pct, {"annotator 2": smiles.hand_2_pct}).round(3))
    print("\nper eye:\n" + smiles.round(1).to_string(index=False))
    if args.csv:
        pd.concat([eyes.assign(table="annotated"), smiles.assign(table="smiles")]).to_csv(
            args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
