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


def _open_eye_diameters(diam: np.ndarray, aperture_px: np.ndarray) -> np.ndarray:
    """Per-frame diameters of the measured frames whose eyes are open (top 60 % aperture)."""
    good = np.isfinite(diam) & np.isfinite(aperture_px)
    if not good.any():
        return np.empty(0)
    return diam[good][aperture_px[good] >= np.nanpercentile(aperture_px[good], 40)]


def image_mm_per_px(iris_px: np.ndarray, aperture_px: np.ndarray) -> tuple[float, float, int]:
    """mm-per-pixel factor from the limbus found in the image, once per recording.

    Parameters
    ----------
    iris_px
        (time, eye) limbus diameters found in the image, head-frame pixels.
    aperture_px
        (time,) mean eye aperture, used to keep only open-eye frames.

    Returns
    -------
    mm_per_px, spread_pct, n
        The factor (NaN when no limbus was found), the spread of the per-frame
        diameters (half the inter-quartile range, % of the median) and the
        number of frames used.
    """
    n_found = np.isfinite(iris_px).sum(axis=1)
    diam = np.where(n_found > 0, np.nansum(iris_px, axis=1) / np.maximum(n_found, 1), np.nan)
    d = _open_eye_diameters(diam, aperture_px)
    if not len(d):
        return float("nan"), float("nan"), 0
    med = float(np.median(d))
    q1, q3 = np.percentile(d, [25, 75])
    return IRIS_DIAMETER_MM / med, float(50.0 * (q3 - q1) / med), int(len(d))


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
    d = _open_eye_diameters(diam, aperture_px)
    return IRIS_DIAMETER_MM / float(np.median(d)) if len(d) else float("nan")
