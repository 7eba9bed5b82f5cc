"""Chin dimpling and neck bands injected into real portraits: recovered per side?

For each London face the rest frames are the still with sensor noise; the "movement" frames
add a known local skin texture on one side (chin: blotchy dimpling, neck: vertical bands,
``depth`` = relative brightness modulation). Controls: the same face with no texture, darker
lighting (x 0.6) and a smaller image (x 0.6, farther camera). Regions come from the real
model's landmarks of the still.

Run: ``python benchmarks/bench_chin_neck.py [faces...]``; prints one row per case.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from synktrack.chin_neck import REGIONS, frame_textures, regions_place
from synktrack.fidelity import face_geometry
from synktrack.indices import TEXTURE_SEEN_Z, texture_change
from synktrack.protocol import Protocol, Step

IMAGES = Path(os.environ.get("SYNKTRACK_MEDIA", "/work/shared/media")) / "images"
FLAG_PCT = 15.0  # before: a texture change of this many % counted as co-activation
# A short guided session: smiles and a pucker between rests (the injected texture follows
# the smile and pucker prompts).
SESSION = Protocol("chin-neck-bench", 1, tuple(
    Step(m, 3.0, "", 3.0 * i) for i, m in enumerate(
        ("rest", "smile", "rest", "pucker", "rest", "smile", "rest"))), source="bench")


def texture_inject(img: np.ndarray, points: np.ndarray, region: str, depth: float,
                   seed: int = 0) -> np.ndarray:
    """Modulate one region's brightness with dimples (chin) or vertical bands (neck)."""
    box = regions_place(points)[region]
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Soft edges (blur 2 px) kept inside the region: the texture is the one side's, and does
    # not spill across the midline into the other side's region.
    m = 4.0
    inside = ((xx >= box.x0 + m) & (xx < box.x1 - m) & (yy >= box.y0 + m)
              & (yy < box.y1 - m)).astype(np.float32)
    inside = cv2.GaussianBlur(inside, (0, 0), 2.0)
    if region.startswith("chin"):
        rng = np.random.default_rng(seed)
        pat = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
        pat /= pat.std() + 1e-6
    else:
        period = max((box.x1 - box.x0) / 4, 3.0)
        pat = np.sin(2 * np.pi * xx / period).astype(np.float32)
    gain = 1.0 + depth * pat * inside
    return np.clip(img.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


def _series(frames: list[np.ndarray], points: np.ndarray) -> dict[str, np.ndarray]:
    rows = [frame_textures(f, points) for f in frames]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def run(face: str, region: str | None, depth: float = 0.1, light: float = 1.0,
        size: float = 1.0, n: int = 10) -> dict[str, object]:
    """Rest frames vs movement frames (with the injected texture on ``region``)."""
    model = os.environ["SYNKTRACK_MODEL"]
    img = cv2.cvtColor(cv2.imread(str(IMAGES / f"london__{face}_neutral.jpg")), cv2.COLOR_BGR2RGB)
    k = 480 * size / max(img.shape[:2])
    img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    img = np.clip(img.astype(np.float32) * light, 0, 255).astype(np.uint8)
    pts = face_geometry(img, model).points
    moved = texture_inject(img, pts, region, depth) if region else img
    rng = np.random.default_rng(1)

    def noisy(a: np.ndarray) -> np.ndarray:
        return np.clip(a + rng.normal(0, 1.5, a.shape), 0, 255).astype(np.uint8)

    frames = [noisy(img) for _ in range(n)] + [noisy(moved) for _ in range(n)]
    rest = np.arange(2 * n) < n
    series = _series(frames, pts)
    row: dict[str, object] = {"face": face, "injected": region or "none", "depth": depth,
                              "light": light, "size": size}
    seen_pct, seen_z = [], []
    for k in REGIONS:
        pct, z = texture_change(series[k][rest], series[k][~rest])
        row[f"{k}_pct"] = "not visible" if np.isnan(pct) else round(pct, 1)
        row[f"{k}_z"] = "not visible" if np.isnan(z) else round(z, 1)
        if pct > FLAG_PCT:
            seen_pct.append(k)
        if z > TEXTURE_SEEN_Z:
            seen_z.append(k)
    row["seen_pct"] = ",".join(seen_pct) or "-"  # before: % change over 15 %
    row["seen_z"] = ",".join(seen_z) or "-"  # after: over TEXTURE_SEEN_Z rest spreads
    return row


def session_run(face: str, region: str | None, depth: float, out: Path,
                crop_neck: bool = False, fps: float = 25.0) -> dict[str, object]:
    """A whole guided session through the pipeline, texture injected in step with the
    smile and pucker prompts; returns the session.csv row.

    ``crop_neck`` cuts the picture just below the chin: the neck is then not visible.
    """
    from synktrack.analyze import analyze_clip
    from synktrack.simulate import envelope, session_simulate, write_clip

    model = os.environ["SYNKTRACK_MODEL"]
    img = cv2.cvtColor(cv2.imread(str(IMAGES / f"london__{face}_neutral.jpg")), cv2.COLOR_BGR2RGB)
    k = 480 / max(img.shape[:2])
    img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    geom = face_geometry(img, model)
    if crop_neck:
        chin = regions_place(geom.points)["chin_left"].y1
        img = np.ascontiguousarray(img[: int(chin + 6)])
        geom = face_geometry(img, model)
    moves = [s for s in SESSION.steps if s.movement in ("smile", "pucker")]

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        for t, frame in session_simulate(img, geom, SESSION, fps=fps):
            a = max(float(envelope(t, s.start_s, s.end_s)) for s in moves)
            if region and a > 0:
                frame = texture_inject(frame, geom.points, region, depth * round(a, 2))
            yield t, frame

    clip = write_clip(frames(), out / f"{face}_{region}_{depth}.mp4", fps)
    res = analyze_clip(clip, out / clip.stem, protocol=SESSION, model=model)
    assert res.session_row is not None
    return res.session_row


def session_table(faces: list[str], out: Path) -> pd.DataFrame:
    """Sensitivity, other-side leak and controls over whole sessions (session.csv values)."""
    cases = [(None, 0.0), ("chin_right", 0.05), ("chin_right", 0.1), ("neck_left", 0.05),
             ("neck_left", 0.1)]
    rows = []
    for face in faces:
        for region, depth in cases:
            r = session_run(face, region, depth, out)
            row: dict[str, object] = {"face": face, "injected": region or "none",
                                      "depth": depth}
            for stem in ("chin_coactivation", "neck_coactivation"):
                for side in ("left", "right"):
                    key = f"{stem.split('_')[0]}_{side}"
                    if r[f"{stem}_{side}_status"] != "ok":
                        row[f"{key}_pct"] = row[f"{key}_z"] = r[f"{stem}_{side}_status"]
                    else:
                        row[f"{key}_pct"] = round(float(r[f"{stem}_{side}_pct"]), 1)
                        row[f"{key}_z"] = round(float(r[f"{stem}_{side}_z"]), 1)
            row["seen_z"] = ",".join(
                f"{st.split('_')[0]}_{sd}" for st in ("chin_coactivation", "neck_coactivation")
                for sd in ("left", "right")
                if r[f"{st}_{sd}_status"] == "ok" and float(r[f"{st}_{sd}_z"]) > TEXTURE_SEEN_Z
            ) or "-"
            rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    return table


def main(faces: list[str]) -> pd.DataFrame:
    rows = []
    for f in faces:
        rows.append(run(f, None))
        rows.append(run(f, None, light=0.6))
        rows.append(run(f, None, size=0.6))
        for region in ("chin_left", "chin_right", "neck_left", "neck_right"):
            for depth in (0.05, 0.1):
                rows.append(run(f, region, depth))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sessions"]:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            session_table(sys.argv[2:] or ["001", "004"], Path(tmp))
    else:
        main(sys.argv[1:] or ["001", "004"])
