"""Brow height above the eye's canthal line."""

from __future__ import annotations

import numpy as np

from synktrack.measures.ids import BROW, EYE


def height_px(points: np.ndarray, label: str) -> np.ndarray:
    """(time,) brow height above that eye's canthal line, head-frame pixels.

    The brow point is the middle of the brow (image-tracked when available);
    the canthal line is taken once per recording (median over frames) so that
    eye movements such as a smile's cheek raise do not read as brow movement.
    """
    canthi = (points[:, EYE[label]["outer"], 1] + points[:, EYE[label]["inner"], 1]) / 2.0
    if not np.isfinite(canthi).any():  # no face in the whole recording
        return np.full(len(points), np.nan)
    return points[:, BROW[label][2], 1] - np.nanmedian(canthi)
