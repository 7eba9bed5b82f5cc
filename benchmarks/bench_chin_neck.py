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
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from synktrack.chin_neck import chin_neck_analyze, frame_textures, regions_place
from synktrack.fidelity import face_geometry

IMAGES = Path(os.environ.get("SYNKTRACK_MEDIA", "/work/shared/media")) / "images"
FLAG_PCT = 15.0  # texture change that counts as co-activation


def texture_inject(img: np.ndarray, points: np.ndarray, region: str, depth: float,
                   seed: int = 0) -> np.ndarray:
    """Modulate one region's brightness with dimples (chin) or vertical bands (neck)."""
    box = regions_place(points)[region]
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    inside = ((xx >= box.x0) & (xx < box.x1) & (yy >= box.y0) & (yy < box.y1)).astype(np.float32)
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
    res = chin_neck_analyze(_series(frames, pts), ~rest, rest)
    row: dict[str, object] = {"face": face, "injected": region or "none", "depth": depth,
                              "light": light, "size": size}
    for k, v in res.items():
        row[f"{k}_pct"] = "not visible" if v is None else round(v, 1)
    flagged = [k for k, v in res.items() if v is not None and v > FLAG_PCT]
    row["flagged"] = ",".join(flagged) or "-"
    return row


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
    main(sys.argv[1:] or ["001", "004"])
