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


def blink_dips(aperture: np.ndarray, time_s: np.ndarray, depth: float = 0.5,
               max_duration_s: float = 0.5, window_s: float = 1.0) -> list[int]:
    """Frames at the bottom of blinks: short, deep dips of an aperture series.

    The open level at each frame is the 80th percentile of the aperture within
    ``window_s`` around it, and counts only where it is at least half the
    series' 90th percentile (an open eye). A blink is a run of frames below
    ``depth`` times that level lasting at most ``max_duration_s`` (longer runs
    are eye closures, not blinks).

    Parameters
    ----------
    aperture
        (time,) eye aperture (any unit; NaN where unmeasured).
    time_s
        (time,) frame times.
    depth
        Fraction of the open level a blink must fall below.
    max_duration_s
        Longest blink.
    window_s
        Half width of the window of the open level.

    Returns
    -------
    list of int
        Index of the smallest aperture of each blink, in time order.
    """
    ap = np.asarray(aperture, dtype=np.float64)
    t = np.asarray(time_s, dtype=np.float64)
    ok = np.isfinite(ap) & np.isfinite(t)
    level = np.full(len(ap), np.nan)
    idx = np.flatnonzero(ok)
    for k in idx:
        near = idx[np.abs(t[idx] - t[k]) <= window_s]
        level[k] = np.percentile(ap[near], 80)
    if not idx.size:
        return []
    # Only dips from an open eye count (not noise while the eyes stay shut).
    with np.errstate(invalid="ignore"):
        low = ok & (level >= 0.5 * np.nanpercentile(ap, 90)) & (ap < depth * level)
    dips: list[int] = []
    i = 0
    while i < len(ap):
        if not low[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(ap) and low[j + 1]:
            j += 1
        if t[j] - t[i] <= max_duration_s:
            dips.append(i + int(np.nanargmin(ap[i : j + 1])))
        i = j + 1
    return dips
