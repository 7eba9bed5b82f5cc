"""Side fidelity: how much of a known one-sided movement each measure recovers.

For each real face, one eyelid or one mouth corner is moved by a known amount
(:mod:`synktrack.synth`), the warped and unwarped stills go through the real
landmark model and the measures, and we report

* ``sensitivity`` = recovered change on the injected side / injected change;
* ``leak`` = change on the other side / injected change (0 is perfect).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synktrack.landmarks import Recording
from synktrack.measures import MeasureSettings, measures_process
from synktrack.measures.ids import EYE
from synktrack.synth import SIDES, FaceGeometry, Injection, Warper
from synktrack.synth_lids import HandEye, apply_field, camera, corner_field, lid_field, moved_point


def landmark_frames(images: Sequence[np.ndarray], model_path: str | os.PathLike[str],
                    fps: float = 30.0, symmetric: bool = True) -> Recording:
    """Run the real landmark model over images as consecutive video frames.

    ``symmetric=False`` leaves the model's own left-right bias in the
    reference frame (see :class:`synktrack.track.ClipTracker`), for comparison.
    """
    from synktrack.track import ClipTracker

    with ClipTracker(model_path, capacity=len(images), symmetric=symmetric) as tracker:
        for i, img in enumerate(images):
            tracker.process(img, i / fps)
        h, w = images[0].shape[:2]
        return tracker.recording({"width": w, "height": h, "source": "synthetic"})


def face_geometry(image: np.ndarray, model_path: str | os.PathLike[str]) -> FaceGeometry:
    """Landmarks of an unwarped still, for driving warps."""
    rec = landmark_frames([image], model_path)
    if not rec.face_present[0]:
        raise ValueError("no face found in the source image")
    iris = rec.iris_px[0]
    return FaceGeometry(rec.landmarks_px()[0, :, :2].astype(np.float64),
                        float(np.nanmean(iris)) if np.isfinite(iris).any() else float("nan"))


@dataclass(frozen=True)
class Case:
    """One injected movement and the measure that should see it."""

    measure: str  # "eye" or "mouth"
    side: str
    injection: Injection
    direction: tuple[float, float] = (0.0, 0.0)  # mouth: unit (outward, up)
    size_mm: float = 0.0


def eye_cases(geom: FaceGeometry, fractions: Iterable[float] = (0.3,),
              lids: Iterable[str] = ("upper", "lower")) -> list[Case]:
    """One-sided narrowing of each eye by fractions of its rest aperture."""
    cases = []
    for side in SIDES:
        up, lo = EYE[side]["pairs"][0]
        aperture_mm = float(np.linalg.norm(geom.points[up] - geom.points[lo])) * geom.mm_per_px
        for frac in fractions:
            for lid in lids:
                mm = frac * aperture_mm
                inj = Injection(lid_upper_mm={side: mm}) if lid == "upper" else \
                    Injection(lid_lower_mm={side: mm})
                cases.append(Case("eye", side, inj, size_mm=mm))
    return cases


def mouth_cases(sizes_mm: Iterable[float] = (3.0,)) -> list[Case]:
    """One mouth corner moved outwards-and-up, straight up, or inwards."""
    cases = []
    for side in SIDES:
        for size in sizes_mm:
            for out, up in ((0.6, 0.8), (0.0, 1.0), (-1.0, 0.0)):
                inj = Injection(corner_mm={side: (size * out, size * up)})
                cases.append(Case("mouth", side, inj, direction=(out, up), size_mm=size))
    return cases


def fidelity_run(image: np.ndarray, model_path: str | os.PathLike[str], cases: Sequence[Case],
                 geom: FaceGeometry | None = None, name: str = "face") -> pd.DataFrame:
    """Sensitivity and leak of every case on one face.

    The clip alternates the unwarped face and each warped version, so every
    change is measured against rest frames of the same recording.
    """
    geom = geom or face_geometry(image, model_path)
    warper = Warper(image, geom)
    frames = [image, image]
    for case in cases:
        frames += [warper.apply(case.injection), image]
    rec = landmark_frames(frames, model_path)
    df = measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))
    rest_rows = [0, 1, *range(3, len(frames), 2)]
    rest = df.iloc[rest_rows].median(numeric_only=True)
    rows = []
    for i, case in enumerate(cases):
        row = df.iloc[2 + 2 * i]
        other = "right" if case.side == "left" else "left"
        if case.measure == "eye":
            col = "eye_aperture_{}_mm"
            got = rest[col.format(case.side)] - row[col.format(case.side)]
            leak = rest[col.format(other)] - row[col.format(other)]
            label = "upper" if case.injection.lid_upper_mm else "lower"
        else:
            d = np.asarray(case.direction)

            def delta(s: str, row: pd.Series = row) -> np.ndarray:
                return np.array([row[f"mouth_corner_{s}_x_mm"] - rest[f"mouth_corner_{s}_x_mm"],
                                 row[f"mouth_corner_{s}_y_mm"] - rest[f"mouth_corner_{s}_y_mm"]])

            got = float(delta(case.side) @ d)
            leak = float(np.linalg.norm(delta(other)))
            label = f"out{d[0]:+.1f}_up{d[1]:+.1f}"
        rows.append({
            "face": name, "measure": case.measure, "movement": label, "side": case.side,
            "injected_mm": case.size_mm, "recovered_mm": got, "other_side_mm": leak,
            "sensitivity": got / case.size_mm, "leak": abs(leak) / case.size_mm,
        })
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Median sensitivity and leak per measure (and the worst leak)."""
    g = results.groupby("measure")
    return pd.DataFrame({
        "sensitivity_median": g["sensitivity"].median(),
        "sensitivity_min": g["sensitivity"].min(),
        "leak_median": g["leak"].median(),
        "leak_max": g["leak"].max(),
        "n": g.size(),
    })


# --- eyelids: one-sided and symmetric narrowings, image and landmark measures ---------------

EYE_MEASURES = {"image": "eye_aperture_{}_mm", "margins": "eye_aperture_margins_{}_mm",
                "landmarks": "eye_aperture_landmarks_{}_mm"}


def rest_aperture_mm(geom: FaceGeometry, side: str) -> float:
    """Centre lid gap of one eye of an unwarped still (mm, iris scale)."""
    up, lo = EYE[side]["pairs"][0]
    return float(np.linalg.norm(geom.points[up] - geom.points[lo])) * geom.mm_per_px


def eye_fidelity_run(image: np.ndarray, model_path: str | os.PathLike[str],
                     geom: FaceGeometry | None = None, name: str = "face",
                     fractions: Iterable[float] = (0.1, 0.2, 0.3, 0.4, 0.5),
                     symmetric: Iterable[tuple[float, float]] = ((0.05, 0.15),),
                     ) -> pd.DataFrame:
    """Eyelid fidelity of one face, for the image-tracked and the landmark-only aperture.

    Cases: each eye narrowed alone by each fraction of its rest aperture, by the
    upper lid falling or the lower lid rising; and both eyes narrowed at once by
    ``(upper, lower)`` fractions (the healthy smile narrows both eyes). As in
    :func:`fidelity_run`, the clip alternates the unwarped face and each warped
    version.

    Returns
    -------
    pandas.DataFrame
        One row per case and measured side: ``face``, ``kind`` ("one-sided" or
        "symmetric"), ``lid`` ("upper", "lower", "both"), ``fraction``, ``side``,
        ``injected_mm`` (on that side), then per measure (``image``,
        ``landmarks``) ``{measure}_recovered_mm`` and ``{measure}_sensitivity``,
        and for one-sided cases ``{measure}_leak`` (the other eye's change /
        injected, absolute; NaN for symmetric rows).
    """
    geom = geom or face_geometry(image, model_path)
    warper = Warper(image, geom)
    rest_ap = {s: rest_aperture_mm(geom, s) for s in SIDES}
    cases: list[tuple[str, str, float, Injection]] = []
    for side in SIDES:
        for frac in fractions:
            mm = frac * rest_ap[side]
            cases.append(("one-sided", "upper", frac, Injection(lid_upper_mm={side: mm})))
            cases.append(("one-sided", "lower", frac, Injection(lid_lower_mm={side: mm})))
    for up, lo in symmetric:
        inj = Injection(lid_upper_mm={s: up * rest_ap[s] for s in SIDES},
                        lid_lower_mm={s: lo * rest_ap[s] for s in SIDES})
        cases.append(("symmetric", "both", up + lo, inj))
    frames = [image, image]
    for *_, inj in cases:
        frames += [warper.apply(inj), image]
    rec = landmark_frames(frames, model_path)
    df = measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))
    rest = df.iloc[[0, 1, *range(3, len(frames), 2)]].median(numeric_only=True)
    rows = []
    for i, (kind, lid, frac, inj) in enumerate(cases):
        row = df.iloc[2 + 2 * i]
        injected = {s: inj.lid_upper_mm.get(s, 0.0) + inj.lid_lower_mm.get(s, 0.0)
                    for s in SIDES}
        for side in SIDES:
            if injected[side] == 0:
                continue
            other = "right" if side == "left" else "left"
            out: dict[str, object] = {"face": name, "kind": kind, "lid": lid, "fraction": frac,
                                      "side": side, "injected_mm": injected[side]}
            for measure, col in EYE_MEASURES.items():
                got = rest[col.format(side)] - row[col.format(side)]
                out[f"{measure}_recovered_mm"] = got
                out[f"{measure}_sensitivity"] = got / injected[side]
                leak = np.nan
                if kind == "one-sided":
                    leak = abs(rest[col.format(other)] - row[col.format(other)]) / injected[side]
                out[f"{measure}_leak"] = leak
            rows.append(out)
    return pd.DataFrame(rows)


# --- the second, independent model: lids sliding over a still eyeball, through a camera ------


def _camera_clip(image: np.ndarray, moved: Sequence[np.ndarray],
                 model_path: str | os.PathLike[str], seed: int
                 ) -> tuple[pd.DataFrame, float, pd.Series]:
    """Measures of a clip alternating the still and each moved frame, through the camera.

    Returns the per-frame measures (moved frame ``i`` is row ``2 + 2 i``), the
    recording's mm per pixel and the median of the rest frames.
    """
    frames = [image, image]
    for frame in moved:
        frames += [frame, image]
    rec = landmark_frames(camera(frames, seed=seed), model_path)
    df = measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))
    rest = df.iloc[[0, 1, *range(3, len(frames), 2)]].median(numeric_only=True)
    return df, float(df.attrs["mm_per_px"]), rest


def sliding_lid_run(image: np.ndarray, hand: dict[str, HandEye],
                    model_path: str | os.PathLike[str], name: str = "face",
                    one_sided: Iterable[float] = (0.3,),
                    symmetric: Iterable[tuple[str, float, float]] = (
                        ("healthy smile", 0.05, 0.15), ("closure", 0.6, 0.2)),
                    seed: int = 0) -> pd.DataFrame:
    """Eyelid fidelity under :mod:`synktrack.synth_lids` (hand-placed lids, camera effects).

    Cases: each eye narrowed alone by each ``one_sided`` fraction of its
    hand-placed aperture, by the upper lid or the lower lid; and both eyes at
    once by (upper, lower) fractions. The whole clip (rest frames between the
    cases) goes through :func:`synktrack.synth_lids.camera` before the
    analysis. Returns one row per case and moved eye, as
    :func:`eye_fidelity_run` does, plus ``case``.
    """
    h, w = image.shape[:2]
    cases: list[tuple[str, str, float, dict[str, tuple[float, float]]]] = []
    for side in SIDES:
        ap = hand[side].aperture_px()
        for frac in one_sided:
            cases.append(("one-sided", "upper", frac, {side: (frac * ap, 0.0)}))
            cases.append(("one-sided", "lower", frac, {side: (0.0, frac * ap)}))
    for label, up, lo in symmetric:
        cases.append((label, "both", up + lo,
                      {s: (up * hand[s].aperture_px(), lo * hand[s].aperture_px())
                       for s in SIDES}))
    moved = [apply_field(image, np.asarray(sum(lid_field((h, w), hand[s], up, lo)
                                               for s, (up, lo) in moves.items())))
             for *_, moves in cases]
    df, k, rest = _camera_clip(image, moved, model_path, seed)
    rows = []
    for i, (kind, lid, frac, moves) in enumerate(cases):
        row = df.iloc[2 + 2 * i]
        for side, (up, lo) in moves.items():
            other = "right" if side == "left" else "left"
            injected = (up + lo) * k
            out: dict[str, object] = {"face": name, "kind": kind, "lid": lid, "fraction": frac,
                                      "side": side, "injected_mm": injected}
            for measure, col in EYE_MEASURES.items():
                got = rest[col.format(side)] - row[col.format(side)]
                out[f"{measure}_recovered_mm"] = got
                out[f"{measure}_sensitivity"] = got / injected
                leak = np.nan
                if kind == "one-sided":
                    leak = abs(rest[col.format(other)] - row[col.format(other)]) / injected
                out[f"{measure}_leak"] = leak
            rows.append(out)
    return pd.DataFrame(rows)


# --- mouth corners under the second model: a smooth skin stretch at hand-placed corners ------

CORNER_DIRECTIONS = ((0.6, 0.8), (0.0, 1.0), (-1.0, 0.0))  # (outward, up): smile, lift, pucker


def read_mouth_corners(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Hand-placed mouth corners of a 189-point FRL template, keyed by the *patient's* side.

    Points 87 and 93 are the image-left and image-right corners; the image-left
    one of a normal photograph is the patient's right.
    """
    pts = np.loadtxt(path, skiprows=1, max_rows=189)
    return {"right": pts[87], "left": pts[93]}


def sliding_corner_run(image: np.ndarray, corners: dict[str, np.ndarray], mm_per_px: float,
                       model_path: str | os.PathLike[str], name: str = "face",
                       size_mm: float = 3.0, radius: float = 0.35, seed: int = 0
                       ) -> pd.DataFrame:
    """Mouth-corner fidelity under a model the tracker was not built around.

    Each corner alone is pulled ``size_mm`` outwards-and-up, straight up and
    inwards (:data:`CORNER_DIRECTIONS`) by :func:`synktrack.synth_lids.corner_field`
    (a Gaussian stretch of SD ``radius`` mouth widths around the *hand-placed*
    corner, image pixels scaled by ``mm_per_px`` from the hand-placed limbus),
    and the whole clip goes through :func:`synktrack.synth_lids.camera`. The
    truth is where the corner lands (:func:`synktrack.synth_lids.moved_point`),
    in the tool's own mm (its scale error is left out, as in
    :func:`sliding_lid_run`). Returns one row per case: ``sensitivity`` (the
    tool's corner move along the direction / the true move), ``other_side_mm``
    (the still corner's move) and ``cross_mm`` (the moved corner's error across
    the direction).
    """
    h, w = image.shape[:2]
    mouth = corners["left"] - corners["right"]
    width = float(np.linalg.norm(mouth))
    along = mouth / width  # image x of the patient's right -> left corner
    up = np.array([along[1], -along[0]])
    if up[1] > 0:
        up = -up
    cases = []
    for side in SIDES:
        out = along if side == "left" else -along
        for d_out, d_up in CORNER_DIRECTIONS:
            move = (d_out * out + d_up * up) * size_mm / mm_per_px
            cases.append((side, (d_out, d_up), move))
    moved = [apply_field(image, corner_field((h, w), corners[side], move, radius * width))
             for side, _, move in cases]
    df, k, rest = _camera_clip(image, moved, model_path, seed)
    rows = []
    for i, (side, (d_out, d_up), move) in enumerate(cases):
        row = df.iloc[2 + 2 * i]
        other = "right" if side == "left" else "left"

        def delta(s: str, row: pd.Series = row) -> np.ndarray:
            return np.array([row[f"mouth_corner_{s}_x_mm"] - rest[f"mouth_corner_{s}_x_mm"],
                             row[f"mouth_corner_{s}_y_mm"] - rest[f"mouth_corner_{s}_y_mm"]])

        true_mm = float(np.linalg.norm(moved_point(corners[side], move, radius * width)
                                       - corners[side])) * k
        d = np.array([d_out, d_up]) / np.hypot(d_out, d_up)
        got = delta(side)
        rows.append({"face": name, "side": side, "movement": f"out{d_out:+.1f}_up{d_up:+.1f}",
                     "injected_mm": true_mm, "recovered_mm": float(got @ d),
                     "sensitivity": float(got @ d) / true_mm,
                     "cross_mm": float(abs(got[0] * d[1] - got[1] * d[0])),
                     "other_side_mm": float(np.linalg.norm(delta(other)))})
    return pd.DataFrame(rows)
