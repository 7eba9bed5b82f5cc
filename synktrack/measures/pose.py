"""Head pose in degrees from MediaPipe's facial transformation matrix.

Signs, in the patient's terms: yaw > 0 turns the face towards the patient's
left, pitch > 0 lifts the chin, roll > 0 tilts the head towards the patient's
right shoulder.
"""

from __future__ import annotations

import numpy as np

from synktrack.measures.geometry import orthonormal


def yaw_pitch_roll(matrix: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """(time, 3) yaw, pitch and roll in degrees; NaN where the matrix is missing."""
    out = np.full((len(matrix), 3), np.nan)
    ok = np.isfinite(matrix).all(axis=(1, 2))
    if not ok.any():
        return out
    rot = orthonormal(matrix[ok, :3, :3].astype(np.float64))
    fwd = rot[:, :, 2]
    up = rot[:, :, 1]
    yaw = np.degrees(np.arctan2(fwd[:, 0], fwd[:, 2]))
    pitch = np.degrees(np.arctan2(fwd[:, 1], np.hypot(fwd[:, 0], fwd[:, 2])))
    roll = np.degrees(np.arctan2(-up[:, 0], up[:, 1]))
    sign = -1.0 if mirrored else 1.0
    out[ok] = np.stack([sign * yaw, pitch, sign * roll], axis=1)
    return out
