"""Per-side synkinesis indices from per-frame measures and epochs.

Every movement epoch is compared with the rest frames around it, per patient
side; session indices are means over repetitions (their SD is the
repeatability). Coupling is time-resolved: a regression over the frames of
each epoch of one region's change on the other region's change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synktrack.blink_coupling import CouplingStatus, SideCoupling, blink_coupling_analyze
from synktrack.index_specs import SPECS, Norm
from synktrack.schema import (
    INDICES,
    SIDES,
    TEXTURE_INDICES,
    asymmetry_column,
    index_column,
)

# Movements whose chin and neck texture is compared with rest (co-activation).
TEXTURE_MOVEMENTS = ("smile", "pucker", "eye_closure")
TEXTURE_MIN_FRAMES = 3  # fewest measured frames of a region on the plateau and at rest
# The rest texture's spread is never taken below this share of its level (a still image
# has almost none, and the score must stay finite).
TEXTURE_SPREAD_FLOOR = 0.002
TEXTURE_SEEN_Z = 4.0  # a change this many rest spreads is co-activation seen (benchmarks)


# Published healthy values, from the one spec per index (synktrack.index_specs).
NORMS: dict[str, Norm] = {s.stem: s.norm for s in SPECS if s.norm is not None}
# Eye measures shown unbiased on the injection harness (see synktrack.fidelity).
NORMS_VALID_FOR = ("image_lids",)


@dataclass(frozen=True)
class FlagRules:
    """When a side is flagged for discussion with a therapist (one-sided excess)."""

    smile_excess_pct: float = 10.0  # eye narrows this much more than the other eye in a smile
    pucker_excess_pct: float = 8.0  # ... in a pucker (healthy: ~2 % both sides)
    closure_corner_mm: float = 1.5  # mouth corner moves this far during eye closure
    closure_excess_mm: float = 1.0  # ... and this much more than the other corner
    smile_z: float = 2.0  # with valid norms: narrowing this far above healthy, one-sided
    # Mouth corner rises this much at the spontaneous blinks (about the averaged landmark
    # noise; an injected 0.5 mm pull reads 0.41-0.45 mm, see benchmarks/bench_blink_coupling)
    blink_pull_mm: float = 0.3
    blink_excess_mm: float = 0.2  # ... this much more than the other corner, CI above zero
    forceful_smile_mm: float = 8.0  # "gentler please" above these amplitudes
    forceful_pucker_mm: float = 9.0
    forceful_brow_mm: float = 10.0


def _side_cols(side: str) -> dict[str, str]:
    return {
        "ap": f"eye_aperture_{side}_mm",
        "x": f"mouth_corner_{side}_x_mm",
        "y": f"mouth_corner_{side}_y_mm",
        "brow": f"brow_height_{side}_mm",
    }


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 5 or np.nanstd(x[ok]) < 1e-6:
        return np.nan, np.nan
    x, y = x[ok], y[ok]
    slope = float(np.polyfit(x, y, 1)[0])
    r = float(np.corrcoef(x, y)[0, 1]) if np.std(y) > 1e-9 else 0.0
    return slope, r


def texture_change(rest: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """(% change, z-like score) of a region's texture on ``moving`` frames against ``rest``.

    The % is the change of the median against the rest median; the score divides the
    same change by the rest frames' robust SD (1.4826 x MAD, at least
    :data:`TEXTURE_SPREAD_FLOOR` of the rest level), so that a face whose skin
    already has much fine texture (a smaller % for the same dimpling) and a face with
    little read alike. NaN, NaN when the region is not measured on enough frames.
    """
    rest, moving = rest[np.isfinite(rest)], moving[np.isfinite(moving)]
    if len(rest) < TEXTURE_MIN_FRAMES or len(moving) < TEXTURE_MIN_FRAMES:
        return np.nan, np.nan
    base = float(np.median(rest))
    if base <= 0:
        return np.nan, np.nan
    change = float(np.median(moving)) - base
    spread = max(1.4826 * float(np.median(np.abs(rest - base))), TEXTURE_SPREAD_FLOOR * base)
    return 100.0 * change / base, change / spread


def epochs_analyze(frames: pd.DataFrame, epochs: pd.DataFrame,
                   blink: np.ndarray) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per-epoch, per-side numbers (the rows of epochs.csv) and pooled coupling samples.

    Parameters
    ----------
    frames
        Per-frame measures.
    epochs
        Output of :func:`synktrack.epochs.epochs_from_protocol` (with its
        private mask columns).
    blink
        (time,) frames inside blinks, left out of eye measures in non-eye epochs.
    """
    rows = []
    pooled: dict[str, list[np.ndarray]] = {}
    for _, ep in epochs.iterrows():
        for side in SIDES:
            c = _side_cols(side)
            row = {k: ep[k] for k in ep.index if not str(k).startswith("_")}
            row["side"] = side
            if not ep["usable"]:
                rows.append(row)
                continue
            eye_ok = ~blink if ep["movement"] != "eye_closure" else np.ones_like(blink)
            rest = frames.loc[ep["_rest"] & ~blink]
            plat = frames.loc[ep["_plateau"] & eye_ok]
            plat_all = frames.loc[ep["_plateau"]]
            rest_ap = float(rest[c["ap"]].median())
            ap = float(plat[c["ap"]].median()) if len(plat) else np.nan
            dx = float(plat_all[c["x"]].median() - rest[c["x"]].median())
            dy = float(plat_all[c["y"]].median() - rest[c["y"]].median())
            row.update(
                rest_eye_aperture_mm=rest_ap,
                eye_aperture_mm=ap,
                eye_narrowing_pct=100 * (rest_ap - ap) / rest_ap if rest_ap > 0 else np.nan,
                mouth_corner_dx_mm=dx,
                mouth_corner_dy_mm=dy,
                mouth_corner_excursion_mm=float(np.hypot(dx, dy)),
                brow_raise_mm=float(plat_all[c["brow"]].median() - rest[c["brow"]].median()),
                blink_frames=int((ep["_plateau"] & blink).sum()),
            )
            if ep["movement"] in TEXTURE_MOVEMENTS:
                for part in ("chin", "neck"):
                    col = f"{part}_texture_{side}"
                    if col in frames:
                        pct, z = texture_change(rest[col].to_numpy(float),
                                                plat_all[col].to_numpy(float))
                        row[f"{part}_texture_pct"], row[f"{part}_texture_z"] = pct, z
            # Time-resolved coupling over the epoch's frames (ramps included) and the rest
            # frames around it, which anchor the slope at rest: however much of the ramps
            # an epoch holds (a prompted step, or one found in the signals), the slope runs
            # from rest to the movement and never across movements.
            win = frames.loc[(ep["_window"] & eye_ok) | (ep["_rest"] & ~blink)]
            with np.errstate(divide="ignore", invalid="ignore"):  # closed eyes at rest
                narrow = 100 * (rest_ap - win[c["ap"]].to_numpy()) / rest_ap
            exc = np.hypot(win[c["x"]].to_numpy() - rest[c["x"]].median(),
                           win[c["y"]].to_numpy() - rest[c["y"]].median())
            if ep["movement"] in ("smile", "pucker"):
                row["coupling_slope"], row["coupling_r"] = _slope(exc, narrow)
                key = f"oral_ocular_{side}"
                pooled.setdefault(key + "_x", []).append(exc)
                pooled.setdefault(key + "_y", []).append(narrow)
            elif ep["movement"] == "eye_closure":
                row["coupling_slope"], row["coupling_r"] = _slope(narrow / 10, exc)
                key = f"ocular_oral_{side}"
                pooled.setdefault(key + "_x", []).append(narrow / 10)
                pooled.setdefault(key + "_y", []).append(exc)
            rows.append(row)
    table = pd.DataFrame(rows)
    return table, {k: np.concatenate(v) for k, v in pooled.items()}


def blink_coupling_session(frames: pd.DataFrame, rest: np.ndarray,
                           prompted: np.ndarray) -> dict[str, SideCoupling]:
    """Blink-locked corner pull per side from a session's frames.

    Parameters
    ----------
    frames
        Per-frame measures; frames not ``usable`` (pose, jitter, no face) do not
        count in the corner average (their corner position is left out).
    rest
        (time,) bool, usable rest frames (the open-eye aperture for blink detection).
    prompted
        (time,) bool, frames inside prompted movements (and their release): blinks
        there are left out.
    """
    usable = frames["usable"].to_numpy().astype(bool) if "usable" in frames else \
        np.ones(len(frames), bool)
    masked = frames.copy()
    for side in SIDES:
        col = f"mouth_corner_{side}_y_mm"
        masked[col] = masked[col].where(usable)
    return blink_coupling_analyze(masked, rest, prompted)


def _texture_indices(usable: pd.DataFrame) -> dict[str, object]:
    """Chin and neck co-activation per side: mean over the usable smile, pucker and
    eye-closure epochs, its SD, the z-like score and a status (``not_visible``: no number)."""
    unit = "_pct"
    out: dict[str, object] = {}
    for stem in TEXTURE_INDICES:
        part = stem.split("_")[0]
        for side in SIDES:
            sel = usable[usable["movement"].isin(TEXTURE_MOVEMENTS) & (usable["side"] == side)] \
                if len(usable) else usable
            pct = sel[f"{part}_texture_pct"].to_numpy(float) \
                if f"{part}_texture_pct" in sel else np.array([])
            z = sel[f"{part}_texture_z"].to_numpy(float) \
                if f"{part}_texture_z" in sel else np.array([])
            ok = np.isfinite(pct)
            status = "ok" if ok.any() else ("not_visible" if len(sel) else "no_movement")
            out[index_column(stem, side)] = float(np.mean(pct[ok])) if ok.any() else np.nan
            out[f"{stem}_{side}_sd{unit}"] = float(np.std(pct[ok], ddof=1)) if ok.sum() > 1 \
                else np.nan
            out[f"{stem}_{side}_z"] = float(np.mean(z[ok])) if ok.any() else np.nan
            out[f"{stem}_{side}_status"] = status
    return out


def blink_row(blink: dict[str, SideCoupling] | None) -> dict[str, object]:
    """The session.csv columns of the blink-locked pull (a status, never a made-up number)."""
    out: dict[str, object] = {}
    for side in SIDES:
        res = blink.get(side) if blink else None
        ok = res is not None and res.status is CouplingStatus.OK
        out[index_column("blink_pull", side)] = res.pull_mm if ok and res else np.nan
        out[f"blink_pull_{side}_ci_low_mm"] = res.ci_low_mm if ok and res else np.nan
        out[f"blink_pull_{side}_ci_high_mm"] = res.ci_high_mm if ok and res else np.nan
        out[f"blink_pull_{side}_blinks_n"] = res.n_blinks if res else 0
        out[f"blink_pull_{side}_lag_s"] = res.lag_s if ok and res else np.nan
        out[f"blink_pull_{side}_status"] = (res.status.value if res
                                            else CouplingStatus.NOT_ENOUGH_BLINKS.value)
    return out


def session_indices(ep_rows: pd.DataFrame, pooled: dict[str, np.ndarray],
                    affected_side: str = "unknown", eye_measure: str = "image_lids",
                    rules: FlagRules | None = None,
                    blink: dict[str, SideCoupling] | None = None) -> dict[str, object]:
    """Session indices per side, asymmetries, norms, flags and repeatability.

    ``blink`` is the blink-locked coupling per side (:func:`blink_coupling_session`);
    without it the blink columns say ``not_enough_blinks``.
    """
    rules = rules or FlagRules()
    out: dict[str, object] = {}
    usable = ep_rows[ep_rows["usable"].astype(bool)] if len(ep_rows) else ep_rows
    source = {
        "eye_narrowing_smile": ("smile", "eye_narrowing_pct"),
        "eye_narrowing_pucker": ("pucker", "eye_narrowing_pct"),
        "mouth_corner_eye_closure": ("eye_closure", "mouth_corner_excursion_mm"),
        "smile_excursion": ("smile", "mouth_corner_excursion_mm"),
        "pucker_excursion": ("pucker", "mouth_corner_excursion_mm"),
        "eye_closure": ("eye_closure", "eye_narrowing_pct"),
        "brow_raise": ("brow_raise", "brow_raise_mm"),
    }
    for stem, (movement, col) in source.items():
        unit = INDICES[stem][0]
        for side in SIDES:
            sel = usable[(usable["movement"] == movement) & (usable["side"] == side)] \
                if len(usable) else usable
            vals = sel[col].dropna().to_numpy() if len(sel) and col in sel else np.array([])
            out[index_column(stem, side)] = float(np.mean(vals)) if len(vals) else np.nan
            out[f"{stem}_{side}_sd{unit}"] = float(np.std(vals, ddof=1)) if len(vals) > 1 \
                else np.nan
    for stem, key in (("oral_ocular_coupling", "oral_ocular"),
                      ("ocular_oral_coupling", "ocular_oral")):
        for side in SIDES:
            x = pooled.get(f"{key}_{side}_x", np.array([]))
            y = pooled.get(f"{key}_{side}_y", np.array([]))
            slope, r = _slope(x, y) if len(x) else (np.nan, np.nan)
            out[index_column(stem, side)] = slope
            out[f"{stem}_r_{side}"] = r
    out.update(blink_row(blink))
    out.update(_texture_indices(usable))
    for stem in INDICES:
        left, right = out[index_column(stem, "left")], out[index_column(stem, "right")]
        if affected_side in SIDES:
            other = "right" if affected_side == "left" else "left"
            a, b = out[index_column(stem, affected_side)], out[index_column(stem, other)]
        else:
            a, b = right, left
        out[asymmetry_column(stem)] = float(a) - float(b)  # type: ignore[arg-type]
    norms_ok = eye_measure in NORMS_VALID_FOR
    for stem, (mean, sd, _, _) in NORMS.items():
        for side in SIDES:
            v = out[index_column(stem, side)]
            out[f"{stem}_{side}_z"] = (float(v) - mean) / sd if norms_ok else np.nan  # type: ignore[arg-type]
    out["norms_note"] = (
        "z-scores against traced-lid norms: smile " + NORMS["eye_narrowing_smile"].text()
        + ", pucker " + NORMS["eye_narrowing_pucker"].text() if norms_ok else
        f"no z-scores: the eye measure '{eye_measure}' has not been shown unbiased against "
        "traced lids; flags use the one-sided excess only"
    )
    out.update(_flags(out, rules, norms_ok))
    out.update(_gentler(out, rules))
    return out


def _get(ix: dict[str, object], key: str) -> float:
    """``ix[key]`` as a float, NaN when missing or not a number."""
    try:
        return float(ix.get(key, np.nan))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _flags(ix: dict[str, object], rules: FlagRules, norms_ok: bool) -> dict[str, object]:
    def v(stem: str, side: str) -> float:
        return float(ix[index_column(stem, side)])  # type: ignore[arg-type]

    res: dict[str, object] = {}
    for side in SIDES:
        other = "right" if side == "left" else "left"
        reasons = []
        smile_ex = v("eye_narrowing_smile", side) - v("eye_narrowing_smile", other)
        if smile_ex > rules.smile_excess_pct:
            reasons.append(f"during a smile the {side} eye narrows {smile_ex:.0f} % more than "
                           f"the {other}")
        elif norms_ok and v("eye_narrowing_smile", side) > NORMS["eye_narrowing_smile"].mean + \
                rules.smile_z * NORMS["eye_narrowing_smile"].sd and \
                smile_ex > rules.smile_excess_pct / 2:
            reasons.append(f"during a smile the {side} eye narrows more than in most healthy "
                           "people, and more than the other eye")
        pucker_ex = v("eye_narrowing_pucker", side) - v("eye_narrowing_pucker", other)
        if pucker_ex > rules.pucker_excess_pct:
            reasons.append(f"during a pucker the {side} eye narrows {pucker_ex:.0f} % more than "
                           f"the {other}")
        corner = v("mouth_corner_eye_closure", side)
        corner_ex = corner - v("mouth_corner_eye_closure", other)
        if corner > rules.closure_corner_mm and corner_ex > rules.closure_excess_mm:
            reasons.append(f"when the eyes close the {side} mouth corner moves {corner:.1f} mm")
        pull, low = _get(ix, index_column("blink_pull", side)), \
            _get(ix, f"blink_pull_{side}_ci_low_mm")
        other_pull = _get(ix, index_column("blink_pull", other))
        pull_ex = pull - (other_pull if np.isfinite(other_pull) else 0.0)
        if pull > rules.blink_pull_mm and low > 0 and pull_ex > rules.blink_excess_mm:
            reasons.append(f"at each blink the {side} mouth corner rises {pull:.1f} mm")
        res[f"synkinesis_suspected_{side}"] = int(bool(reasons))
        res[f"synkinesis_reason_{side}"] = (
            "; ".join(reasons) + " - worth discussing with your therapist (not a diagnosis)"
            if reasons else ""
        )
    return res


def _gentler(ix: dict[str, object], rules: FlagRules) -> dict[str, object]:
    def top(stem: str) -> float:
        vals = [ix[index_column(stem, s)] for s in SIDES]
        return float(np.nanmax(vals)) if np.isfinite(vals).any() else np.nan  # type: ignore[arg-type]

    reasons = []
    for stem, limit, what in (("smile_excursion", rules.forceful_smile_mm, "smile"),
                              ("pucker_excursion", rules.forceful_pucker_mm, "pucker"),
                              ("brow_raise", rules.forceful_brow_mm, "brow raise")):
        val = top(stem)
        if np.isfinite(val) and val > limit:
            reasons.append(f"{what} moved {val:.1f} mm (gentle is under {limit:.0f} mm)")
    return {"gentler_please": int(bool(reasons)), "gentler_reason": "; ".join(reasons)}



def _flags_text(r: FlagRules) -> str:
    """The methods text of ``synkinesis_suspected``, from the rules it describes."""
    return (
        "synkinesis_suspected marks a one-sided excess: a smile narrowing the eye more "
        f"than {r.smile_excess_pct:g} % beyond the other eye, a pucker {r.pucker_excess_pct:g} "
        f"% beyond, a mouth corner moving more than {r.closure_corner_mm:g} mm (and "
        f"{r.closure_excess_mm:g} mm beyond the other) during eye closure, or a mouth corner "
        f"rising more than {r.blink_pull_mm:g} mm at the spontaneous blinks (95 % interval "
        f"above zero, and {r.blink_excess_mm:g} mm beyond the other corner). Symmetric "
        "narrowing, as in a healthy smile, never raises it. It is a prompt to talk with a "
        "therapist, not a diagnosis.")


def _gentler_text(r: FlagRules) -> str:
    """The methods text of ``gentler_please``, from the rules it describes."""
    return (f"Raised when a smile moved a mouth corner more than {r.forceful_smile_mm:g} mm, a "
            f"pucker more than {r.forceful_pucker_mm:g} mm or a brow raise more than "
            f"{r.forceful_brow_mm:g} mm: therapy asks for small, gentle movements.")


METHODS = {
    "epochs": "Each movement step of the protocol is compared with the rest steps right before "
    "and after it. The first 0.8 s of a movement (reaction and ramp) and its last 0.2 s are "
    "skipped; within that, the plateau is the frames where the movement reaches 60 % of its "
    "peak. Rest steps skip their first second. Frames with no face, pose beyond the limits, a "
    "face too small or jittery landmarks are left out and counted; an epoch with fewer than "
    "half its frames usable is marked unusable with the reason.",
    "blinks": "A blink is a dip of both eyes below half their rest aperture lasting at most "
    "0.6 s, or a partial blink: a fast dip of both eyes by at least 30 % of their aperture "
    "just before (within 0.2 s), below half-way for at most 0.3 s, and back to at least 75 % "
    "within 0.3 s. Only blinks with well-measured frames around them count. Blink frames "
    "are left out of eye measures except during eye closure.",
    "eye_narrowing": "Eye aperture (palpebral fissure height at the eye centre, lid margins "
    "found in the image) on the plateau, median, as a reduction in % of the rest aperture; mean "
    "over repetitions; SD across repetitions is the repeatability.",
    "mouth_corner": "Mouth-corner position in a head-fixed frame registered on the image "
    "(nose and inner canthi), in mm scaled by the iris (11.7 mm); excursion is the distance "
    "from the rest position, median over the plateau.",
    "coupling": "Oral-ocular coupling: over all frames of the smile and pucker epochs and the "
    "rest frames around them, the "
    "least-squares slope of eye narrowing (% of rest) on same-side mouth-corner excursion "
    "(mm), with its correlation r. Ocular-oral coupling: over the eye-closure epochs, the slope "
    "of mouth-corner excursion (mm) per 10 % of same-side eye closure.",
    "blink_coupling": "Blink-locked ocular-oral coupling (blink_pull): every spontaneous blink "
    "outside the prompted movements (a blink whose 0.25 s before or 0.6 s after touches a "
    "movement step or the second after it is left out) is a trigger. For each side the "
    "vertical mouth-corner position (head-fixed, mm, + = up) is cut from 0.25 s before to "
    "0.6 s after blink onset, each cut minus its own mean over the 0.25 s before the blink, "
    "and averaged over blinks. The lag is the time of the largest averaged movement; the "
    "value is the mean over blinks around that lag, with a 95 % t confidence interval and "
    "the number of blinks used. Fewer than 5 blinks gives the status not_enough_blinks and "
    "no number. What it can tell: a mouth corner that rises in step with the blinks (eye-to-"
    "mouth synkinesis at its most frequent natural trigger), how large and how late, with a "
    "confidence interval from many repetitions. What it cannot tell: movements under about "
    "0.3 mm (landmark noise), movement that is not vertical, a pull that comes later than "
    "0.6 s, or synkinesis that appears only with forceful eye closure; blinks it misses (very "
    "shallow, or with the head turned) are simply not averaged, and a corner that moves at "
    "random times only widens the interval. A smile or talking that happens to coincide with "
    "blinks can raise it, so it is a prompt to look, not a diagnosis.",
    "chin_neck": "Chin (mentalis) and upper-neck (platysma) co-activation: regions placed "
    "from the face landmarks in every frame, while the frame is analysed (chin halves between "
    "the lower lip, the chin tip and each mouth corner; upper-neck halves from 0.2 to 1.2 "
    "lip-to-chin heights below the chin tip). Each region is resampled to 32 x 32 pixels (so "
    "camera distance does not change it) and its fine texture is the SD of the Laplacian "
    "divided by the mean brightness (so a change of light gain does not change it). For each "
    "smile, pucker and eye-closure epoch: the plateau median against the median of the rest "
    "around it, in % of the rest texture (chin_coactivation, neck_coactivation, mean over "
    "the epochs, SD across them) and in robust SDs of the rest frames' texture (the _z "
    "columns), which reads alike on faces with much or little skin texture. A region out of "
    "the picture (the neck often is) is not_visible, never a number. What it can tell: skin "
    "that dimples or bands appear in step with a prompted movement, on which side. What it "
    "cannot tell: which muscle it is, movement without a texture change, or anything under "
    "a beard, a collar or heavy video compression; head turns and shadows that move with the "
    "movement can change texture too. Not part of the synkinesis flag: no palsy recordings "
    "have validated a threshold.",
    "asymmetry": "Affected minus other side (right minus left when the affected side is "
    "unknown).",
    "norms": "z = (value - healthy mean) / healthy SD: smile eye narrowing "
    + NORMS["eye_narrowing_smile"].text() + ", pucker " + NORMS["eye_narrowing_pucker"].text()
    + ". Only given for an eye measure shown unbiased on the injection harness.",
    "flags": _flags_text(FlagRules()),
    "gentler_please": _gentler_text(FlagRules()),
}
