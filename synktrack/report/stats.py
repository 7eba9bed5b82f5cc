"""Change since baseline and since the previous session, against the minimal detectable change.

``MDC95 = 1.96 * sqrt(2) * SEM``; the SEM of an index on one side is the
within-session SD of its repetitions (history columns ``*_sd_*``) pooled over
sessions as the root mean square, and never less than the measurement's own
noise floor (:data:`SEM_FLOOR`): two repetitions that happen to agree do not make
a measure more precise than its landmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synktrack.schema import INDICES, SIDES, index_column

Z95_SQRT2 = 1.96 * math.sqrt(2.0)
# Noise floor of the SEM, by unit suffix: the frame-to-frame SD of the measures on a still
# real face (the still-face test in tests/test_analyze.py and the demo clip's rest: mouth
# corner 0.11-0.21 mm, brow 0.08-0.13 mm, eye aperture 0.03-0.04 mm, i.e. 0.5-1 % of a
# 6-8 mm aperture), rounded up. Coupling slopes have no floor (and no SD: no MDC).
SEM_FLOOR: dict[str, float] = {"_mm": 0.2, "_pct": 1.5}


def sem_floor(stem: str) -> float:
    """The smallest SEM an index can have (NaN when it has none)."""
    return SEM_FLOOR.get(INDICES[stem][0], math.nan)


def sd_column(stem: str, side: str) -> str:
    """History column with the within-session repetition SD of an index."""
    unit, _ = INDICES[stem]
    return f"{stem}_{side}_sd{unit}"


def pooled_sem(history: pd.DataFrame, stem: str, side: str) -> float:
    """Root mean square of the per-session repetition SDs, at least :func:`sem_floor`
    (the floor alone without any SD; NaN for indices without a floor)."""
    col = sd_column(stem, side)
    floor = sem_floor(stem)
    if stem == "blink_pull":
        return _blink_sem(history, side, floor)
    if col not in history:
        return floor
    sd = pd.to_numeric(history[col], errors="coerce").to_numpy(dtype=float)
    sd = sd[np.isfinite(sd) & (sd >= 0)]
    if not sd.size:
        return floor
    sem = float(np.sqrt(np.mean(sd**2)))
    return max(sem, floor) if math.isfinite(floor) else sem


def _blink_sem(history: pd.DataFrame, side: str, floor: float) -> float:
    """SEM of the blink-locked pull: the standard error over blinks of each session (its
    95 % interval half-width / 1.96), pooled as the root mean square, at least ``floor``."""
    lo, hi = (f"blink_pull_{side}_ci_{end}_mm" for end in ("low", "high"))
    if lo not in history or hi not in history:
        return floor
    half = (pd.to_numeric(history[hi], errors="coerce")
            - pd.to_numeric(history[lo], errors="coerce")).to_numpy(dtype=float) / 2
    se = half[np.isfinite(half) & (half >= 0)] / 1.96
    return max(float(np.sqrt(np.mean(se**2))), floor) if se.size else floor


def mdc95(sem: float) -> float:
    """Minimal detectable change at 95 % confidence from a standard error of measurement."""
    return Z95_SQRT2 * sem


@dataclass(frozen=True)
class Change:
    """How one index on one side changed over the sessions of a report.

    ``baseline`` is the first session with a value, ``latest`` the last and
    ``previous`` the one before it; values are NaN (dates ``None``) when
    there are not enough sessions.
    """

    stem: str
    side: str
    n: int
    baseline: float
    previous: float
    latest: float
    baseline_date: pd.Timestamp | None
    previous_date: pd.Timestamp | None
    latest_date: pd.Timestamp | None
    sem: float
    mdc: float

    @property
    def since_baseline(self) -> float:
        return self.latest - self.baseline if self.n >= 2 else math.nan

    @property
    def since_previous(self) -> float:
        return self.latest - self.previous if self.n >= 2 else math.nan


def beyond_mdc(delta: float, mdc: float) -> bool | None:
    """True if ``|delta| > mdc``; None when either is unknown."""
    if not (math.isfinite(delta) and math.isfinite(mdc)):
        return None
    return abs(delta) > mdc


def index_change(history: pd.DataFrame, stem: str, side: str) -> Change:
    """Baseline, previous and latest value of one index on one side, with its MDC95.

    ``history`` must be sorted by date (as :func:`synktrack.history.read_history` returns it)
    and have a ``date`` column.
    """
    col = index_column(stem, side)
    values = pd.to_numeric(history[col], errors="coerce") if col in history else \
        pd.Series(np.nan, index=history.index)
    ok = values.notna().to_numpy()
    vals = values.to_numpy(dtype=float)[ok]
    dates = list(history["date"].to_numpy()[ok]) if "date" in history else [None] * ok.sum()
    n = int(ok.sum())
    sem = pooled_sem(history, stem, side)

    def at(i: int) -> tuple[float, pd.Timestamp | None]:
        if n == 0 or (i == -2 and n < 2):
            return math.nan, None
        d = dates[i]
        return float(vals[i]), (pd.Timestamp(d) if d is not None and pd.notna(d) else None)

    b, bd = at(0)
    p, pd_ = at(-2)
    last, ld = at(-1)
    return Change(stem, side, n, b, p, last, bd, pd_, ld, sem, mdc95(sem))


def all_changes(history: pd.DataFrame) -> list[Change]:
    """:func:`index_change` for every index and side, in schema order."""
    return [index_change(history, stem, side) for stem in INDICES for side in SIDES]


def step_flags(history: pd.DataFrame, stem: str, side: str) -> pd.Series:
    """Per session: +1 / -1 if the change since the previous measured session exceeds the
    MDC95 upwards / downwards, 0 if not, NaN when it cannot be judged."""
    col = index_column(stem, side)
    out = pd.Series(np.nan, index=history.index)
    if col not in history:
        return out
    mdc = mdc95(pooled_sem(history, stem, side))
    values = pd.to_numeric(history[col], errors="coerce").dropna()
    if not math.isfinite(mdc) or len(values) < 2:
        return out
    delta = values.diff().iloc[1:]
    out.loc[delta.index] = np.where(delta > mdc, 1.0, np.where(delta < -mdc, -1.0, 0.0))
    return out
