"""Millimetre scale from the iris, fixed once per recording.

The horizontal visible iris diameter is about 11.7 mm in adults (SD ~0.5).
The iris ring that the model draws shrinks as the lids close, so the scale is
taken once, from frames where the eyes are open, in the head-fixed frame
(which already compensates head pose and distance).
"""

from __future__ import annotations

import numpy as np

from synktrack.measures.ids import EYE

IRIS_DIAMETER_MM = 11.7


def iris_diameter_px(points: np.ndarray) -> np.ndarray:
    """(time, side) horizontal iris diameter, head-frame px; MediaPipe labels (right, left)."""
    cols = []
    for label in ("right", "left"):
        a, b = EYE[label]["iris_h"]
        cols.append(np.linalg.norm(points[:, a, :2] - points[:, b, :2], axis=1))
    return np.stack(cols, axis=1)


def mm_per_px(points: np.ndarray, aperture_px: np.ndarray) -> float:
    """One mm-per-pixel factor for the recording.

    Parameters
    ----------
    points
        (time, landmark, space) head-frame landmarks.
    aperture_px
        (time,) mean eye aperture, used to keep only open-eye frames.
    """
    diam = iris_diameter_px(points).mean(axis=1)  # both irises come from the same frame
    good = np.isfinite(diam) & np.isfinite(aperture_px)
    if not good.any():
        return float("nan")
    open_eyes = aperture_px[good] >= np.nanpercentile(aperture_px[good], 40)
    return IRIS_DIAMETER_MM / float(np.median(diam[good][open_eyes]))
