"""Plain-language results for the finish screen, and the history as JSON for the trend chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from synktrack.blink_coupling import CouplingSettings
from synktrack.index_specs import SPECS
from synktrack.schema import SIDES, TEXTURE_INDICES, index_column

# (stem, plain label, unit shown, change that counts as "about the same"), from the one
# spec per index (synktrack.index_specs).
MAIN_INDICES: tuple[tuple[str, str, str, float], ...] = tuple(
    (s.stem, s.check.label, s.check.unit, s.check.same) for s in SPECS if s.check is not None)
BLINK_MIN = CouplingSettings().min_blinks  # blinks needed for the blink-locked value
NOT_A_DIAGNOSIS = ("This is not a diagnosis. These numbers help you and your therapist follow "
                   "changes over time: share them with your therapist.")


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _round(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    return round(value, 0 if unit == "%" else 1) + 0.0  # + 0.0: never -0


def _text(value: float, unit: str) -> str:
    """The value as shown (0 decimals for %, 1 for mm), never ``-0``."""
    digits = 0 if unit == "%" else 1
    return f"{round(value, digits) + 0.0:.{digits}f}"


def _change_text(label: str, side: str, now: float | None, before: float | None, unit: str,
                 same: float) -> str | None:
    if now is None or before is None:
        return None
    diff = now - before
    if abs(diff) < same:
        return f"{label}, {side} side: about the same as last time."
    word = "more" if diff > 0 else "less"
    return (f"{label}, {side} side: {word} than last time ({_text(before, unit)} {unit} then, "
            f"{_text(now, unit)} {unit} now).")


def blink_summary(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Per side, the blink-locked mouth-corner movement in plain words (or why there is none)."""
    out = []
    for side in SIDES:
        pull = _num(row.get(index_column("blink_pull", side)))
        n = _num(row.get(f"blink_pull_{side}_blinks_n"))
        n_blinks = int(n) if n is not None else 0
        ok = str(row.get(f"blink_pull_{side}_status") or "") == "ok" and pull is not None
        lo = _num(row.get(f"blink_pull_{side}_ci_low_mm"))
        hi = _num(row.get(f"blink_pull_{side}_ci_high_mm"))
        if ok and pull is not None and lo is not None and hi is not None:
            text = (f"Your {side} mouth corner at your blinks: {_text(pull, 'mm')} mm on "
                    f"average over {n_blinks} blinks (most likely between {_text(lo, 'mm')} "
                    f"and {_text(hi, 'mm')} mm).")
        else:
            text = (f"Your {side} mouth corner at your blinks: not enough blinks to tell "
                    f"({n_blinks} outside the movements, {BLINK_MIN} needed).")
        out.append({"side": side, "status": "ok" if ok else "not_enough_blinks",
                    "pull_mm": _round(pull, "mm") if ok else None, "blinks": n_blinks,
                    "text": text})
    return out


def session_summary(row: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """This session's main indices per side, flags and changes since ``previous``.

    Parameters
    ----------
    row
        The session's history row.
    previous
        The last earlier complete session's row, if any.
    """
    indices = []
    changes: list[str] = []
    for stem, label, unit, same in MAIN_INDICES:
        entry: dict[str, Any] = {"stem": stem, "label": label, "unit": unit}
        for side in SIDES:
            col = index_column(stem, side)
            now = _num(row.get(col))
            before = _num(previous.get(col)) if previous else None
            entry[side] = _round(now, unit)
            if stem in TEXTURE_INDICES:  # "not visible" is a status, never a number
                entry[f"status_{side}"] = str(row.get(f"{stem}_{side}_status") or "")
            entry[f"previous_{side}"] = _round(before, unit)
            text = _change_text(label, side, now, before, unit, same)
            if text and "about the same" not in text:
                changes.append(text)
        indices.append(entry)
    if previous is None:
        changes = ["This is your first check here: next time you will see what changed."]
    elif not changes:
        changes = ["Everything is about the same as last time."]
    flags = [str(row.get(f"synkinesis_reason_{side}"))
             for side in SIDES if _num(row.get(f"synkinesis_suspected_{side}"))]
    complete = bool(_num(row.get("complete")) if row.get("complete") not in (None, "") else 1)
    return {
        "session_id": row.get("session_id", ""),
        "session_date": str(row.get("session_date", ""))[:10],
        "complete": complete,
        "indices": indices,
        "blink": blink_summary(row),
        "changes": changes,
        "flags": flags,
        "gentler": str(row.get("gentler_reason") or "") if _num(row.get("gentler_please")) else "",
        "usable_fraction": _num(row.get("usable_frame_fraction")),
        "epochs_usable": _num(row.get("epochs_usable")),
        "epochs_total": _num(row.get("epochs_total")),
        "note": NOT_A_DIAGNOSIS,
    }


def history_rows(path: str | Path) -> list[dict[str, Any]]:
    """History rows as plain dicts (oldest first); empty when there is no history yet."""
    from synktrack.history import read_history

    path = Path(path)
    if not path.exists():
        return []
    df = read_history(path)
    rows = []
    for rec in df.to_dict(orient="records"):
        out: dict[str, Any] = {}
        for k, v in rec.items():
            if v is pd.NaT or (isinstance(v, float) and not math.isfinite(v)):
                out[str(k)] = None
            elif isinstance(v, pd.Timestamp):
                out[str(k)] = v.strftime("%Y-%m-%d")
            else:
                out[str(k)] = v.item() if hasattr(v, "item") else v
        rows.append(out)
    return rows


def history_json(path: str | Path, subject: str) -> dict[str, Any]:
    """The subject's history for the trend chart: one point per session and index side."""
    series = []
    rows = history_rows(path)
    for stem, label, unit, _ in MAIN_INDICES:
        points = []
        for r in rows:
            vals = {side: _round(_num(r.get(index_column(stem, side))), unit) for side in SIDES}
            if any(v is not None for v in vals.values()):
                points.append({"date": str(r.get("session_date") or "")[:10],
                               "session_id": r.get("session_id", ""),
                               "complete": bool(_num(r.get("complete")) or 0), **vals})
        series.append({"stem": stem, "label": label, "unit": unit, "points": points})
    return {"subject": subject, "sessions": len(rows), "series": series}


def previous_complete(rows: list[dict[str, Any]], session_id: str) -> dict[str, Any] | None:
    """The last complete session before ``session_id`` (rows oldest first)."""
    ids = [r.get("session_id") for r in rows]
    upto = ids.index(session_id) if session_id in ids else len(rows)
    earlier = [r for r in rows[:upto] if _num(r.get("complete"))]
    return earlier[-1] if earlier else None
