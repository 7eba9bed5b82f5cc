"""Trend, quality and timeline figures of the report (matplotlib, Agg, grey-print safe).

Every figure shares the report's time range and draws the events on its time
axis, numbered as in the report's event list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from synktrack.events import SHORT, Event
from synktrack.report.reference import BANDS, MIN_SPAN, UNITS, label
from synktrack.report.style import (
    BAND_COLOR,
    EVENT_COLOR,
    EVENT_STYLE,
    SIDE_STYLE,
    margins,
    new_figure,
    side_label,
)
from synktrack.schema import INDICES, SIDES, index_column

WIDTH_IN = 7.0
EARLY_DAYS = 90  # events up to this long before the first session are still drawn
LEVEL_IN = 0.15  # height of one row of event labels above an axes (inches)


@dataclass(frozen=True)
class Axis:
    """The shared time axis: limits, tick positions and labels, and the numbered events."""

    start: pd.Timestamp
    end: pd.Timestamp
    events: tuple[tuple[int, Event], ...]
    ticks: tuple[float, ...] = ()
    tick_labels: tuple[str, ...] = ()

    @property
    def xlim(self) -> tuple[float, float]:
        """Limits as matplotlib date numbers."""
        return float(mdates.date2num(self.start)), float(mdates.date2num(self.end))

    def label_levels(self) -> list[int]:
        """Row (0, 1, 2) of each event's label, so that neighbouring labels do not overlap."""
        span = (self.end - self.start).total_seconds() or 1.0
        last = [-1.0, -1.0, -1.0]
        levels = []
        for _, event in self.events:
            frac = (pd.Timestamp(event.date) - self.start).total_seconds() / span
            level = next((i for i, x in enumerate(last) if frac - x > 0.11), 0)
            last[level] = frac
            levels.append(level)
        return levels

    @property
    def label_rows(self) -> int:
        return max(self.label_levels(), default=-1) + 1


def time_axis(dates: pd.Series, events: Sequence[Event]) -> Axis:
    """Limits covering the sessions and the events near them (numbered 1.. by date)."""
    d = pd.to_datetime(dates).dropna()
    numbered = list(enumerate(events, start=1))
    if len(d):
        first, last = d.min(), d.max()
        near = [(n, e) for n, e in numbered
                if pd.Timestamp(e.date) >= first - pd.Timedelta(days=EARLY_DAYS)]
    else:
        near = numbered
        days = [pd.Timestamp(e.date) for _, e in near]
        first = min(days) if days else pd.Timestamp.today().normalize()
        last = max(days) if days else first
    all_days = [first, last, *(pd.Timestamp(e.date) for _, e in near)]
    lo, hi = min(all_days), max(all_days)
    pad = max(pd.Timedelta(days=7), (hi - lo) * 0.03)
    start, end = lo - pad, hi + pad
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    values = [v for v in locator.tick_values(start.to_pydatetime(), end.to_pydatetime())
              if mdates.date2num(start) <= v <= mdates.date2num(end)]
    formats = ["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%S.%f"]  # days as "23 Feb"
    labels = mdates.ConciseDateFormatter(locator, formats=formats,
                                         show_offset=False).format_ticks(values)
    return Axis(start, end, tuple(near), tuple(values), tuple(labels))


def _date_axis(ax: Axes, axis: Axis, show_labels: bool = True) -> None:
    ax.set_xlim(axis.xlim)
    ax.xaxis.set_major_locator(FixedLocator(list(axis.ticks)))
    ax.xaxis.set_major_formatter(FixedFormatter(list(axis.tick_labels)))
    if not show_labels:
        ax.tick_params(labelbottom=False)


def draw_events(ax: Axes, axis: Axis, labels: bool = True) -> None:
    """Vertical lines at the events; numbered labels in rows just above the axes."""
    if not axis.events:
        return
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    offset = ax.figure.dpi_scale_trans if ax.figure is not None else None  # inches
    for (n, event), level in zip(axis.events, axis.label_levels(), strict=True):
        x = float(mdates.date2num(pd.Timestamp(event.date)))
        ax.axvline(x, color=EVENT_COLOR, zorder=1, alpha=0.85, **EVENT_STYLE[event.kind])
        if not labels or offset is None:
            continue
        shift = ScaledTranslation(0, 0.02 + LEVEL_IN * level, offset)
        text = f" {n} {SHORT[event.kind]} {event.dose_text()}".rstrip()
        ax.text(x, 1.0, text, transform=trans + shift, fontsize=6.8, ha="left", va="bottom",
                color="#111111", clip_on=False)
        if level:  # a leader from the axes up to the raised label
            height_in = ax.bbox.height / ax.figure.dpi
            top = 1.0 + (0.02 + LEVEL_IN * level + 0.08) / height_in
            ax.plot([x, x], [1.0, top], transform=trans, clip_on=False, color=EVENT_COLOR,
                    lw=0.6)


def _plot_side(ax: Axes, dates: pd.Series, values: pd.Series, side: str,
               affected: str) -> bool:
    ok = values.notna() & dates.notna()
    if not ok.any():
        return False
    style = SIDE_STYLE[side]
    ax.plot(dates[ok].to_numpy(), values[ok].to_numpy(dtype=float),
            label=side_label(side, affected), zorder=3, **style)
    return True


def _legend_row(title: str, labels: Sequence[str]) -> bool:
    """True when the legend will not fit beside the title and needs a row of its own."""
    title_in = 0.082 * len(title)
    legend_in = sum(0.056 * len(t) + 0.5 for t in labels)
    return title_in + legend_in + 0.3 > WIDTH_IN


def _header(fig: Figure, title: str, legend: bool = True, own_row: bool = False) -> None:
    """Title at the top left; legend at the top right, beside the title or below it."""
    w, h = fig.get_size_inches()
    fig.text(0.08 / w, 1 - 0.08 / h, title, ha="left", va="top", fontsize=9.5,
             fontweight="bold")
    if legend and any(a.get_legend_handles_labels()[0] for a in fig.axes):
        y = 1 - (0.3 if own_row else 0.02) / h
        fig.legend(loc="upper right", bbox_to_anchor=(1 - 0.05 / w, y), ncol=3,
                   handlelength=2.6, borderaxespad=0.0)


def _top_in(axis: Axis, own_row: bool = False) -> float:
    return 0.3 + LEVEL_IN * max(axis.label_rows, 1) + (0.22 if own_row else 0.0)


def trend_figure(history: pd.DataFrame, stem: str, affected: str, axis: Axis) -> Figure:
    """One index over time, left and right, with its reference band and the events."""
    band = BANDS.get(stem)
    names = [band.label] if band else []
    names += [side_label(s, affected) for s in SIDES]
    own_row = _legend_row(label(stem), names)
    fig = new_figure(WIDTH_IN, 2.0 + LEVEL_IN * axis.label_rows + (0.22 if own_row else 0))
    ax = fig.add_subplot()
    fig.subplots_adjust(**margins(fig, 0.62, 0.3, _top_in(axis, own_row), 0.3))
    if band is not None:
        ax.axhspan(band.low, band.high, color=BAND_COLOR, zorder=0, lw=0, label=band.label)
        ax.axhline(band.centre, color="#9a9a9a", lw=0.8, zorder=0.5)
    any_data = False
    for side in SIDES:
        col = index_column(stem, side)
        if col in history:
            values = pd.to_numeric(history[col], errors="coerce")
            any_data |= _plot_side(ax, history["date"], values, side, affected)
    if not any_data:
        ax.text(0.5, 0.5, "no measurements of this index", transform=ax.transAxes,
                ha="center", va="center", color="#555555")
    ax.set_ylabel(UNITS[stem])
    ax.set_ylim(*min_span(ax.get_ylim(), MIN_SPAN[INDICES[stem][0]]))
    _date_axis(ax, axis)
    draw_events(ax, axis)
    _header(fig, label(stem), own_row=own_row)
    return fig


def min_span(limits: tuple[float, float], span: float) -> tuple[float, float]:
    """Widen ``limits`` about their middle to at least ``span`` (clinical units), so a
    wobble of a few hundredths of a millimetre is not drawn as a change."""
    low, high = limits
    if high - low >= span:
        return low, high
    mid = (low + high) / 2
    return mid - span / 2, mid + span / 2


def quality_figure(history: pd.DataFrame, axis: Axis) -> Figure:
    """Usable frames and movement epochs per session, and sessions with forceful movements."""
    fig = new_figure(WIDTH_IN, 2.6 + LEVEL_IN * axis.label_rows)
    ax, ax2, ax3 = fig.subplots(3, 1, sharex=True, height_ratios=[1.5, 0.9, 0.35],
                                gridspec_kw={"hspace": 0.18,
                                             **margins(fig, 0.62, 0.3, _top_in(axis), 0.3)})
    dates = history["date"]
    frac = _numeric(history, "usable_frame_fraction") * 100
    ok = frac.notna() & dates.notna()
    if ok.any():
        ax.plot(dates[ok].to_numpy(), frac[ok].to_numpy(dtype=float), color="#222222",
                marker="o", ms=3.5, label="usable frames")
    ax.set_ylim(0, 105)
    ax.set_ylabel("usable\nframes (%)")
    share = _numeric(history, "epochs_usable") / _numeric(history, "epochs_total") * 100
    okb = share.notna() & dates.notna() & np.isfinite(share)
    if okb.any():
        ax2.bar(dates[okb].to_numpy(), share[okb].to_numpy(dtype=float), width=4.0,
                color="#8c8c8c", label="usable movement epochs")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("usable\nepochs (%)")
    gentle = _numeric(history, "gentler_please").fillna(0) > 0
    if gentle.any():
        ax3.plot(dates[gentle].to_numpy(), np.full(int(gentle.sum()), 0.5), linestyle="none",
                 marker="v", ms=6, color="#222222", markerfacecolor="white",
                 markeredgewidth=1.3, label="'gentler, please' (forceful movement)")
    ax3.set_ylim(0, 1)
    ax3.set_yticks([])
    ax3.grid(False)
    ax3.set_ylabel("'gentler,\nplease'", rotation=0, ha="right", va="center")
    for a in (ax, ax2, ax3):
        _date_axis(a, axis, show_labels=a is ax3)
        draw_events(a, axis, labels=a is ax)
    if not (ok.any() or okb.any()):
        ax.text(0.5, 0.5, "no quality data", transform=ax.transAxes, ha="center",
                color="#555555")
    _header(fig, "Session quality", legend=False)
    return fig


def _numeric(history: pd.DataFrame, col: str) -> pd.Series:
    if col not in history:
        return pd.Series(np.nan, index=history.index)
    return pd.to_numeric(history[col], errors="coerce")


def timeline_figure(history: pd.DataFrame, axis: Axis) -> Figure:
    """Sessions as ticks and the events as labelled lines on one strip."""
    fig = new_figure(WIDTH_IN, 0.85 + LEVEL_IN * axis.label_rows)
    ax = fig.add_subplot()
    fig.subplots_adjust(**margins(fig, 0.62, 0.3, _top_in(axis), 0.3))
    dates = history["date"].dropna()
    if len(dates):
        ax.plot(dates.to_numpy(), np.full(len(dates), 0.5), linestyle="none", marker="|",
                ms=12, mew=1.4, color="#1d3f78")
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("sessions", rotation=0, ha="right", va="center")
    ax.grid(False)
    ax.spines["left"].set_visible(False)
    _date_axis(ax, axis)
    draw_events(ax, axis)
    n = len(dates)
    _header(fig, f"Sessions ({n}) and events ({len(axis.events)})", legend=False)
    return fig
