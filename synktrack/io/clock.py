"""Presentation times from container timestamps: strictly increasing, 0.0 on the first frame."""

from __future__ import annotations

from fractions import Fraction

from synktrack.io.frames import NUDGE_S


class Clock:
    """Turn container timestamps into strictly increasing seconds from the first frame.

    A missing pts continues from the previous time plus the nominal frame duration; a
    repeated or backward pts is nudged 1 ms after the previous time. Later valid pts are
    still read against the first valid one, so one bad stamp does not shift the rest.
    """

    def __init__(self, nominal_dt: float) -> None:
        self.nominal_dt = nominal_dt
        self.repaired = 0
        self._prev: float | None = None
        self._anchor: tuple[int, float] | None = None  # (pts, seconds) of first valid pts

    def time_of(self, pts: int | None, time_base: Fraction | None) -> float:
        """Seconds since the first frame for a frame with this ``pts``."""
        prev = self._prev
        if pts is None or not time_base:
            t = 0.0 if prev is None else prev + self.nominal_dt
            if prev is not None:
                self.repaired += 1
        else:
            if self._anchor is None:
                self._anchor = (pts, 0.0 if prev is None else prev + self.nominal_dt)
            pts0, t0 = self._anchor
            t = t0 + float((pts - pts0) * time_base)
            if prev is not None and t <= prev:
                t = prev + NUDGE_S
                self.repaired += 1
        self._prev = t
        return t


def rate(value: Fraction | None) -> float | None:
    return float(value) if value else None

