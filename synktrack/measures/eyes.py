"""Eye aperture (palpebral fissure height), eye opening area, and blinks in an aperture series."""

from __future__ import annotations

import numpy as np

from synktrack.measures.ids import EYE, PAIR_WEIGHTS


def centre_aperture_px(points: np.ndarray, label: str) -> np.ndarray:
    """(time,) vertical distance of the centre lid pair (image-tracked lids), head-frame px."""
    up, lo = EYE[label]["pairs"][0]
    return np.clip(points[:, up, 1] - points[:, lo, 1], 0.0, None)


def aperture_px(points: np.ndarray, label: str) -> np.ndarray:
    """(time,) weighted vertical lid distance near the eye centre, head-frame pixels."""
    pairs = EYE[label]["pairs"]
    gaps = np.stack([points[:, up, 1] - points[:, lo, 1] for up, lo in pairs], axis=1)
    return np.clip(gaps @ np.asarray(PAIR_WEIGHTS), 0.0, None)


def area_px2(points: np.ndarray, label: str) -> np.ndarray:
    """(time,) area of the eye-opening polygon (shoelace), head-frame pixels squared."""
    poly = points[:, list(EYE[label]["contour"]), :2]
    x, y = poly[..., 0], poly[..., 1]
    return 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1))
