"""Mouth-corner position relative to the head-fixed origin (nasion)."""

from __future__ import annotations

import numpy as np

from synktrack.measures.ids import MOUTH_CORNER


def corner_px(points: np.ndarray, label: str, patient_side: str) -> tuple[np.ndarray, np.ndarray]:
    """(lateral, vertical) corner position in head-frame pixels.

    Lateral is positive away from the midline on the patient's ``patient_side``;
    vertical is positive upwards.
    """
    p = points[:, MOUTH_CORNER[label]]
    outward = 1.0 if patient_side == "left" else -1.0
    return outward * p[:, 0], p[:, 1]
