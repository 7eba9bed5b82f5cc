"""The run's one-page summary figure, from a recording and its tables (the output writer draws
it; :mod:`synktrack.analyze` only asks for it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synktrack.landmarks import Recording
from synktrack.protocol import Protocol


def run_summary(out: Path, rec: Recording, frames: pd.DataFrame, epochs: pd.DataFrame | None,
             snaps: dict[str, tuple[int, np.ndarray]], mirrored: bool,
             proto: Protocol | None, subject: str | None) -> Path:
    """``summary.png`` of one run: rest and movement frames, traces with epochs shaded.

    Picks the snapshots' landmarks and tracked lids (by the patient's side) out of the
    recording and hands them to :func:`synktrack.report.summary.summary_figure`. The figure
    module is imported here, when a run draws it, not when :mod:`synktrack.analyze` is.
    """
    from synktrack.report.summary import summary_figure

    pts = rec.landmarks_px()
    labels = {"right": "left", "left": "right"} if mirrored else {"right": "right", "left": "left"}

    def parts(key: str) -> tuple[np.ndarray | None, np.ndarray | None, dict | None]:
        if key not in snaps:
            return None, None, None
        idx, img = snaps[key]
        if not rec.face_present[idx]:
            return img, None, None
        tr = rec.tracked[idx]
        lids = {labels["right"]: tr[2:4], labels["left"]: tr[4:6]}
        return img, pts[idx], lids

    rest_img, rest_lm, rest_lids = parts("rest")
    move_img, move_lm, move_lids = parts("move")
    title = " - ".join(x for x in (subject, proto.name if proto else None,
                                    str(rec.attrs.get("source", ""))) if x)
    move = next((s.movement for s in proto.steps if s.movement == "smile"), None) if proto \
        else None
    return summary_figure(out, frames, epochs, rest_img, move_img, rest_lm, move_lm, rest_lids,
                          move_lids, title,
                          move_label=f"{(move or 'movement').replace('_', ' ').capitalize()}")
