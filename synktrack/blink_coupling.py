"""Blink-locked ocular-oral coupling: does a mouth corner move at every spontaneous blink?

Each spontaneous blink is a brief, repeated trigger. For each patient side the
vertical mouth-corner position is cut into epochs time-locked to blink onsets
(found by :func:`synktrack.epochs.blinks_detect`), each epoch minus its own
baseline just before the blink, and averaged over blinks (an event-related
average). The peak of the average within a short window after onset gives the
lag; the per-blink values at that lag give the mean pull and its t confidence
interval. Blinks that fall inside prompted movements are left out. Too few
blinks gives the status ``not_enough_blinks`` and no number.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from synktrack.epochs import EpochSettings, blinks_detect, mask_runs
from synktrack.measures.ids import SIDES


class CouplingStatus(enum.Enum):
    """Whether a blink-locked value could be measured."""

    OK = "ok"
    NOT_ENOUGH_BLINKS = "not_enough_blinks"


@dataclass(frozen=True)
class CouplingSettings:
    """Windows (s), minimum blinks and flag floor."""

    baseline_s: float = 0.25  # baseline window just before blink onset
    window_s: float = 0.6  # search the peak this long after onset
    min_blinks: int = 5
    flag_mm: float = 0.3  # flag a side whose CI lower bound of the upward pull exceeds this
    ci: float = 0.95


@dataclass(frozen=True)
class SideCoupling:
    """Blink-locked upward pull of one mouth corner.

    ``pull_mm`` is the mean over blinks of the corner's rise (mm, up positive)
    at ``lag_s`` after blink onset, relative to the baseline before each blink.
    """

    status: CouplingStatus
    n_blinks: int
    pull_mm: float = float("nan")
    ci_low_mm: float = float("nan")
    ci_high_mm: float = float("nan")
    lag_s: float = float("nan")
    flag: bool = False


def blink_onsets(frames: pd.DataFrame, rest: np.ndarray,
                 settings: EpochSettings | None = None) -> np.ndarray:
    """Frame index where each detected blink starts (the first frame below the drop)."""
    mask, _ = blinks_detect(frames, rest, settings)
    runs = mask_runs(mask)
    # blinks_detect pads each blink by one frame; undo the padding at the start
    return np.array([a + 1 if a > 0 else a for a, _ in runs], dtype=int)


def blink_coupling_analyze(frames: pd.DataFrame, rest: np.ndarray,
                           prompted: np.ndarray | None = None,
                           settings: CouplingSettings | None = None,
                           epoch_settings: EpochSettings | None = None
                           ) -> dict[str, SideCoupling]:
    """Event-related average of each mouth corner's rise after spontaneous blinks.

    Parameters
    ----------
    frames
        Per-frame measures (``time_s``, ``eye_aperture_{side}_mm``,
        ``mouth_corner_{side}_y_mm``).
    rest
        (time,) bool, frames of rest (sets the open-eye aperture for blink detection).
    prompted
        (time,) bool, frames inside prompted movements; blinks whose window
        touches them are excluded. ``None`` keeps every blink.
    settings, epoch_settings
        Windows and limits; blink-detection rules.

    Returns
    -------
    dict
        ``{"left": SideCoupling, "right": SideCoupling}``, patient's sides.
    """
    s = settings or CouplingSettings()
    t = frames["time_s"].to_numpy(float)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    n_base = max(1, int(round(s.baseline_s / dt)))
    n_win = max(1, int(round(s.window_s / dt)))
    busy = np.zeros(len(t), bool) if prompted is None else np.asarray(prompted, bool)
    onsets = [i for i in blink_onsets(frames, rest, epoch_settings)
              if i - n_base >= 0 and i + n_win < len(t)
              and not busy[i - n_base : i + n_win + 1].any()]
    out = {}
    for side in SIDES:
        y = frames[f"mouth_corner_{side}_y_mm"].to_numpy(float)
        epochs = []
        for i in onsets:
            base = np.nanmean(y[i - n_base : i]) if np.isfinite(y[i - n_base : i]).any() \
                else np.nan
            seg = y[i : i + n_win + 1] - base
            if np.isfinite(seg).all():
                epochs.append(seg)
        out[side] = _side(np.array(epochs).reshape(-1, n_win + 1), dt, s)
    return out


def _side(epochs: np.ndarray, dt: float, s: CouplingSettings) -> SideCoupling:
    n = len(epochs)
    if n < s.min_blinks:
        return SideCoupling(CouplingStatus.NOT_ENOUGH_BLINKS, n)
    avg = epochs.mean(axis=0)
    k = int(np.argmax(np.abs(avg)))
    lo, hi = max(k - 1, 0), min(k + 2, epochs.shape[1])
    per_blink = epochs[:, lo:hi].mean(axis=1)  # one value per blink around the lag
    m = float(per_blink.mean())
    half = float(stats.t.ppf(0.5 + s.ci / 2, n - 1) * per_blink.std(ddof=1) / np.sqrt(n))
    return SideCoupling(CouplingStatus.OK, n, m, m - half, m + half, k * dt,
                        flag=bool(m - half > s.flag_mm))
