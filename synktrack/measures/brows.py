"""Brow height above the eye's canthal line."""

from __future__ import annotations

import numpy as np

from synktrack.measures.ids import BROW, EYE


def height_px(points: np.ndarray, label: str) -> np.ndarray:
    """(time,) mean brow height above the midpoint of the two canthi, head-frame pixels."""
    canthi = (points[:, EYE[label]["outer"], 1] + points[:, EYE[label]["inner"], 1]) / 2.0
    return points[:, list(BROW[label]), 1].mean(axis=1) - canthi
