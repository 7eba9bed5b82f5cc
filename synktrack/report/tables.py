"""HTML tables of the report: change at a glance, events, sessions, plus the key-findings text.

Everything returned is an HTML fragment with all user text escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from synktrack.events import Event
from synktrack.index_specs import BY_STEM
from synktrack.report.reference import BANDS, HIGHER, LOWER, SHORT_UNITS, label
from synktrack.report.stats import Change, beyond_mdc, step_flags
from synktrack.schema import SIDES, SYNKINESIS_INDICES, TARGET_INDICES, index_column

DASH = "—"


def fmt(value: float, stem: str, signed: bool = False) -> str:
    """A value with the precision its unit deserves (``—`` when missing)."""
    if value is None or not math.isfinite(value):
        return DASH
    spec = BY_STEM.get(stem)
    digits = spec.decimals if spec is not None else 1
    value = round(value, digits) + 0.0  # adding +0.0 turns -0.0 into 0.0
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "−")


def fmt_date(ts: pd.Timestamp | None) -> str:
    return ts.strftime("%Y-%m-%d") if ts is not None and pd.notna(ts) else DASH


def verdict(delta: float, mdc: float, stem: str) -> str:
    """``"▼ less eye narrowing"`` beyond the MDC95, ``"within noise"`` inside it."""
    if not math.isfinite(delta):
        return ""
    beyond = beyond_mdc(delta, mdc)
    if beyond is None:
        if math.isfinite(delta) and not math.isfinite(mdc):
            return '<span class="muted">no MDC</span>'
        return DASH
    if not beyond:
        return '<span class="muted">within noise</span>'
    words = HIGHER[stem] if delta > 0 else LOWER[stem]
    arrow = "▲" if delta > 0 else "▼"
    return f'<strong>{arrow} {escape(words)}</strong>'


def side_order(affected: str) -> list[str]:
    return [affected, *[s for s in SIDES if s != affected]] if affected in SIDES else list(SIDES)


def _band_text(stem: str) -> str:
    band = BANDS.get(stem)
    if band is None:
        return DASH
    mark = "" if band.published else " †"
    return f"{fmt(band.centre, stem)} ± {fmt(band.half_width, stem)}{mark}"


def glance_table(changes: Sequence[Change], affected: str) -> str:
    """Baseline, previous and latest value per index and side, with both changes vs. MDC95."""
    by_key = {(c.stem, c.side): c for c in changes}
    head = ("<tr><th>Index</th><th>Side</th><th>Healthy ref.</th><th>Baseline</th>"
            "<th>Previous</th><th>Latest</th><th>Change since baseline</th>"
            "<th>Change since previous</th><th>MDC95</th></tr>")
    groups = (("Synkinesis signs", SYNKINESIS_INDICES),
              ("Target movements: is the patient moving less, or more?", TARGET_INDICES))
    rows: list[str] = []
    for title, stems in groups:
        rows.append(f'<tr class="group"><th colspan="9">{escape(title)}</th></tr>')
        for stem in stems:
            sides = side_order(affected)
            for k, side in enumerate(sides):
                c = by_key[(stem, side)]
                unit = SHORT_UNITS[stem]
                name = (f'<td rowspan="{len(sides)}" class="idx">{escape(label(stem))} '
                        f'<span class="unit">({escape(unit)})</span></td>') if k == 0 else ""
                side_txt = side.capitalize() + (" (affected)" if side == affected else "")
                rows.append(
                    f"<tr>{name}<td class='side'>{side_txt}</td>"
                    f"<td class='num'>{_band_text(stem)}</td>"
                    f"<td class='num'>{fmt(c.baseline, stem)}</td>"
                    f"<td class='num'>{fmt(c.previous, stem)}</td>"
                    f"<td class='num'><strong>{fmt(c.latest, stem)}</strong></td>"
                    f"<td class='change'><span class='num'>{fmt(c.since_baseline, stem, True)}"
                    f"</span> {verdict(c.since_baseline, c.mdc, stem)}</td>"
                    f"<td class='change'><span class='num'>{fmt(c.since_previous, stem, True)}"
                    f"</span> {verdict(c.since_previous, c.mdc, stem)}</td>"
                    f"<td class='num'>{fmt(c.mdc, stem)}</td></tr>")
    return (f'<table class="glance"><thead>{head}</thead><tbody>{"".join(rows)}</tbody>'
            "</table>")


def events_table(events: Sequence[Event], drawn: set[int]) -> str:
    """All events, numbered as on the figures."""
    if not events:
        return ('<p class="muted">No events recorded. Add them with <code>synktrack events '
                "add</code> or give a CSV with <code>--events</code>.</p>")
    rows = []
    for n, e in enumerate(events, start=1):
        where = "" if n in drawn else ' <span class="muted">(before the plotted period)</span>'
        rows.append(
            f"<tr><td>{n}</td><td>{e.date.isoformat()}</td><td>{escape(e.kind_label)}{where}"
            f"</td><td>{escape(e.side) or DASH}</td><td>{escape(e.muscle) or DASH}</td>"
            f"<td>{escape(e.dose_text()) or DASH}</td><td>{escape(e.note) or DASH}</td></tr>")
    return ('<table class="events"><thead><tr><th>#</th><th>Date</th><th>Event</th>'
            "<th>Side</th><th>Muscle</th><th>Dose</th><th>Note</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _cell(num: dict[str, np.ndarray], i: int, stem: str,
          flags: dict[str, np.ndarray]) -> str:
    parts = []
    for side in SIDES:
        col = num.get(index_column(stem, side))
        v = float(col[i]) if col is not None else math.nan
        f = flags[side][i]
        mark = "▲" if f == 1 else ("▼" if f == -1 else "")
        text = fmt(v, stem)
        parts.append(f"<b>{text}{mark}</b>" if mark else text)
    return " / ".join(parts)


def _numeric_columns(history: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every column as float numbers (NaN where not a number), converted once."""
    return {c: pd.to_numeric(history[c], errors="coerce").to_numpy(dtype=float)
            for c in history.columns if c != "date"}


def sessions_table(history: pd.DataFrame, events: Sequence[Event]) -> str:
    """One row per session (index values as left / right), events as rows in between."""
    if history.empty:
        return '<p class="muted">No sessions.</p>'
    stems = [*SYNKINESIS_INDICES, *TARGET_INDICES]
    flags = {stem: {side: step_flags(history, stem, side).to_numpy(dtype=float)
                    for side in SIDES} for stem in stems}
    num = _numeric_columns(history)
    head = "".join(f"<th>{escape(label(s))}<br><span class='unit'>L / R "
                   f"({escape(SHORT_UNITS[s])})</span></th>" for s in stems)
    head = ("<tr><th>Date</th><th>Usable frames</th><th>Epochs usable</th>"
            f"<th>Gentler please</th><th>Synkinesis flag L / R</th>{head}</tr>")
    pending = sorted(enumerate(events, start=1), key=lambda ne: ne[1].date)
    rows: list[str] = []
    for i in range(len(history)):
        day = history["date"].iloc[i]
        while pending and pd.notna(day) and pd.Timestamp(pending[0][1].date) <= day:
            n, e = pending.pop(0)
            rows.append(_event_row(n, e, len(stems) + 5))
        rows.append(_session_row(history, num, i, stems, flags))
    rows.extend(_event_row(n, e, len(stems) + 5) for n, e in pending)
    return (f'<table class="sessions"><thead>{head}</thead><tbody>{"".join(rows)}</tbody>'
            "</table>")


def _event_row(n: int, e: Event, span: int) -> str:
    return (f'<tr class="event"><td colspan="{span}">{n}. {e.date.isoformat()} '
            f"{escape(e.describe())}</td></tr>")


def _num(history: pd.DataFrame, col: str, i: int) -> float:
    if col not in history:
        return math.nan
    v = pd.to_numeric(pd.Series([history[col].iloc[i]]), errors="coerce").iloc[0]
    return float(v)


def _at(num: dict[str, np.ndarray], col: str, i: int) -> float:
    return float(num[col][i]) if col in num else math.nan


def _session_row(history: pd.DataFrame, num: dict[str, np.ndarray], i: int,
                 stems: Sequence[str], flags: dict[str, dict[str, np.ndarray]]) -> str:
    frac = _at(num, "usable_frame_fraction", i)
    eu, et = _at(num, "epochs_usable", i), _at(num, "epochs_total", i)
    gentle = _at(num, "gentler_please", i)
    reason = str(history["gentler_reason"].iloc[i]) if "gentler_reason" in history else ""
    reason = "" if reason in ("nan", "None") else reason
    gentle_txt = (f'<span title="{escape(reason)}">yes</span>' if gentle > 0 else
                  ("no" if math.isfinite(gentle) else DASH))
    marks = []
    for s in SIDES:
        v = _at(num, f"synkinesis_suspected_{s}", i)
        marks.append("yes" if v > 0 else ("no" if math.isfinite(v) else DASH))
    cells = "".join(f"<td>{_cell(num, i, s, flags[s])}</td>" for s in stems)
    epochs = f"{eu:.0f} / {et:.0f}" if math.isfinite(eu) and math.isfinite(et) else DASH
    usable = f"{frac * 100:.0f} %" if math.isfinite(frac) else DASH
    low = ' class="low"' if math.isfinite(frac) and frac < 0.7 else ""
    return (f"<tr><td>{fmt_date(history['date'].iloc[i])}</td><td{low}>{usable}</td>"
            f"<td>{epochs}</td><td>{gentle_txt}</td><td>{' / '.join(marks)}</td>{cells}</tr>")


def _change_items(changes: Sequence[Change], side: str,
                  attr: str) -> tuple[list[str], list[str], list[str]]:
    """Changes beyond the MDC95 (HTML items), labels of those within it, and changes that
    cannot be judged (no MDC95) as short text."""
    moved, still, unjudged = [], [], []
    for c in changes:
        if c.side != side:
            continue
        delta = getattr(c, attr)
        before = c.baseline if attr == "since_baseline" else c.previous
        beyond = beyond_mdc(delta, c.mdc)
        if beyond:
            words = HIGHER[c.stem] if delta > 0 else LOWER[c.stem]
            moved.append(f"<strong>{escape(label(c.stem))}</strong> {fmt(before, c.stem)} → "
                         f"{fmt(c.latest, c.stem)} {escape(SHORT_UNITS[c.stem])}: "
                         f"{escape(words)} ({fmt(delta, c.stem, True)}; MDC95 "
                         f"{fmt(c.mdc, c.stem)})")
        elif beyond is False:
            still.append(label(c.stem).lower())
        elif math.isfinite(delta):
            unjudged.append(f"{label(c.stem).lower()} {fmt(before, c.stem)} → "
                            f"{fmt(c.latest, c.stem)} {SHORT_UNITS[c.stem]}")
    return moved, still, unjudged


def key_findings(history: pd.DataFrame, changes: Sequence[Change], affected: str) -> list[str]:
    """A few plain items (HTML) a clinician reads first."""
    if history.empty:
        return ["No sessions in this history yet."]
    n = len(history)
    dates = history["date"]
    first, last = fmt_date(dates.iloc[0]), fmt_date(dates.iloc[-1])
    if n == 1:
        return [f"One session, on {first}: change can be judged from the second session on.",
                _latest_blink(history), _latest_texture(history), _latest_quality(history)]
    out = [f"{n} sessions from {first} to {last}."]
    focus = [affected] if affected in SIDES else list(SIDES)
    for side in focus:
        side_txt = side + (" (affected)" if side == affected else "") + " side"
        for attr, when in (("since_baseline", f"since baseline ({first})"),
                           ("since_previous", f"since the previous session "
                                              f"({fmt_date(dates.iloc[-2])})")):
            moved, still, unjudged = _change_items(changes, side, attr)
            items = [f"<li>{m}</li>" for m in moved]
            if still and moved:
                items.append(f"<li>within measurement noise: {escape(', '.join(still))}</li>")
            if unjudged and attr == "since_baseline":
                items.append("<li class='muted'>not judged (no repeatability data): "
                             f"{escape('; '.join(unjudged))}</li>")
            head = f"{side_txt.capitalize()}, {when}"
            if not moved and still:
                head += ": no change beyond measurement noise"
            if items:
                out.append(f"{head}:<ul>{''.join(items)}</ul>")
            elif still:
                out.append(f"{head}.")
    out.append(_latest_blink(history))
    out.append(_latest_texture(history))
    out.append(_latest_quality(history))
    return out


def blink_text(row: Mapping[Any, Any], side: str) -> str:
    """``0.1 mm (95 % CI −0.1 to 0.3; 24 blinks; peak 0.3 s after onset)``, or why not."""
    def num(col: str) -> float:
        v = pd.to_numeric(pd.Series([row.get(col)]), errors="coerce").iloc[0]
        return float(v)

    n = num(f"blink_pull_{side}_blinks_n")
    n_txt = f"{n:.0f}" if math.isfinite(n) else "no"
    status = str(row.get(f"blink_pull_{side}_status") or "")
    pull = num(f"blink_pull_{side}_mm")
    if status != "ok" or not math.isfinite(pull):
        return f"not enough blinks ({n_txt} outside the prompted movements)"
    lo, hi = num(f"blink_pull_{side}_ci_low_mm"), num(f"blink_pull_{side}_ci_high_mm")
    lag = num(f"blink_pull_{side}_lag_s")
    return (f"{fmt(pull, 'blink_pull', True)} mm (95 % CI {fmt(lo, 'blink_pull')} to "
            f"{fmt(hi, 'blink_pull')}; {n_txt} blinks; peak {lag:.1f} s after onset)")


def texture_text(row: Mapping[Any, Any], stem: str, side: str) -> str:
    """``+3 % (z 1.2)``, ``not visible`` or ``no movement to compare``."""
    status = str(row.get(f"{stem}_{side}_status") or "")
    pct = pd.to_numeric(pd.Series([row.get(f"{stem}_{side}_pct")]), errors="coerce").iloc[0]
    z = pd.to_numeric(pd.Series([row.get(f"{stem}_{side}_z")]), errors="coerce").iloc[0]
    if status == "not_visible":
        return "not visible"
    if status != "ok" or not math.isfinite(pct):
        return "no movement to compare"
    z_txt = f", {fmt(float(z), stem)} rest SDs" if math.isfinite(z) else ""
    return f"{fmt(float(pct), stem, True)} %{z_txt}"


def _latest_texture(history: pd.DataFrame) -> str:
    """The latest session's chin and neck texture change during movements, per side."""
    row = history.iloc[-1].to_dict()
    parts = []
    for stem, what in (("chin_coactivation", "chin"), ("neck_coactivation", "neck")):
        sides = ", ".join(f"{s} {escape(texture_text(row, stem, s))}" for s in SIDES)
        parts.append(f"{what}: {sides}")
    when = fmt_date(history["date"].iloc[-1])
    return (f"Chin and neck skin texture during movements, latest session ({when}): "
            + "; ".join(parts) + ".")


def _latest_blink(history: pd.DataFrame) -> str:
    """The latest session's blink-locked mouth-corner pull, per side."""
    row = history.iloc[-1].to_dict()
    parts = [f"{s}: {escape(blink_text(row, s))}" for s in SIDES]
    when = fmt_date(history["date"].iloc[-1])
    return (f"Mouth corner at spontaneous blinks, latest session ({when}): "
            + "; ".join(parts) + ".")


def _latest_quality(history: pd.DataFrame) -> str:
    i = len(history) - 1
    frac = _num(history, "usable_frame_fraction", i)
    eu, et = _num(history, "epochs_usable", i), _num(history, "epochs_total", i)
    bits = [f"usable frames {frac * 100:.0f} %" if math.isfinite(frac) else "usable frames —"]
    if math.isfinite(eu) and math.isfinite(et):
        bits.append(f"{eu:.0f} of {et:.0f} movements usable")
    gentle = _num(history, "gentler_please", i)
    bits.append("<strong>'gentler, please' was shown</strong> (a forceful movement)"
                if gentle > 0 else "movements were gentle")
    flags = [s for s in SIDES if _num(history, f"synkinesis_suspected_{s}", i) > 0]
    text = f"Latest session ({fmt_date(history['date'].iloc[i])}): {', '.join(bits)}."
    if flags:
        reasons = "; ".join(
            f"{s}: {escape(str(history[f'synkinesis_reason_{s}'].iloc[i]))}"
            for s in flags if f"synkinesis_reason_{s}" in history)
        text += f" synktrack flagged a pattern worth discussing ({reasons or ', '.join(flags)})."
    return text
