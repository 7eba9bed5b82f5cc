"""Column contracts of the per-session outputs (session.csv, epochs.csv, history).

One place that says what every column means and in which unit, used by the
writers, the history store, the report and the docs. Sides are the patient's.
"""

from __future__ import annotations

import pandas as pd

from synktrack.index_specs import BY_STEM, SPECS, stems
from synktrack.measures.ids import SIDES

# 2: coupling columns carry their units (oral_ocular_coupling_left -> ..._left_pct_per_mm).
SCHEMA_VERSION = 2

# Index stems: name -> (unit suffix, description), read from the one spec per index
# (synktrack.index_specs). Columns are f"{stem}_{side}{unit}".
INDICES: dict[str, tuple[str, str]] = {s.stem: (s.unit, s.description) for s in SPECS}
# Indices that are synkinesis signs (the rest are target-movement amplitudes).
SYNKINESIS_INDICES = stems("synkinesis")
TARGET_INDICES = stems("target")


# Columns renamed between schema versions: old name -> new name (readers accept both).
RENAMED_COLUMNS: dict[str, str] = {
    f"{stem}_{where}": f"{stem}_{where}{unit}"
    for stem, unit in (("oral_ocular_coupling", "_pct_per_mm"),
                       ("ocular_oral_coupling", "_mm_per_10pct"))
    for where in (*SIDES, "asymmetry")
}


def upgrade_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with columns of older schema versions under their current names.

    Where a file holds both (old rows beside rows appended by a newer synktrack),
    each row keeps whichever of the two it has.
    """
    out = table.copy()
    for old, new in RENAMED_COLUMNS.items():
        if old not in out.columns:
            continue
        if new in out.columns:
            empty = out[new].isna() | (out[new].astype(str) == "")
            out.loc[empty, new] = out.loc[empty, old]
            out = out.drop(columns=old)
        else:
            out = out.rename(columns={old: new})
    return out


# Indices measured once per session (no repetitions, so no repeatability SD column).
NO_REPETITION_SD = tuple(s.stem for s in SPECS if not s.repetition_sd)
# Status of the blink-locked index per side: "ok", or why there is no number.
BLINK_STATUSES = ("ok", "not_enough_blinks")


def blink_columns(side: str) -> dict[str, str]:
    """Columns that go with ``blink_pull_{side}_mm``: CI, blinks used, lag and status."""
    return {
        f"blink_pull_{side}_ci_low_mm": f"patient's {side}: lower end of the 95 % confidence "
        "interval of blink_pull (mm)",
        f"blink_pull_{side}_ci_high_mm": f"patient's {side}: upper end of the 95 % confidence "
        "interval of blink_pull (mm)",
        f"blink_pull_{side}_blinks_n": f"patient's {side}: spontaneous blinks the blink_pull "
        "average is made of",
        f"blink_pull_{side}_lag_s": f"patient's {side}: time from blink onset to the peak of "
        "the averaged corner movement (s)",
        f"blink_pull_{side}_status": "ok, or not_enough_blinks (then blink_pull is empty: too "
        "few spontaneous blinks outside the prompted movements to average)",
    }


# Chin and neck co-activation per side: a z-like score and whether the region was seen.
TEXTURE_INDICES = stems(kind="texture")
TEXTURE_STATUSES = ("ok", "not_visible", "no_movement")


def texture_columns(stem: str, side: str) -> dict[str, str]:
    """Columns that go with ``{stem}_{side}_pct``: the z-like score and the status."""
    region = stem.split("_")[0]
    return {
        f"{stem}_{side}_z": f"patient's {side}: the same change in units of the rest texture's "
        "own spread (robust SD over the rest frames): comparable between faces",
        f"{stem}_{side}_status": f"ok; not_visible (the {region} region was out of the "
        "picture, then the values are empty); no_movement (no usable smile, pucker or eye "
        "closure)",
    }


def _companion_columns(stem: str, side: str) -> dict[str, str]:
    """Columns that go with one side's index, by how the index is measured."""
    kind = BY_STEM[stem].kind
    if kind == "coupling":
        return {f"{stem}_r_{side}": f"correlation behind {stem}_{side}"}
    if kind == "blink":
        return blink_columns(side)
    if kind == "texture":
        return texture_columns(stem, side)
    return {}


def index_column(stem: str, side: str) -> str:
    unit, _ = INDICES[stem]
    return f"{stem}_{side}{unit}"


def asymmetry_column(stem: str) -> str:
    unit, _ = INDICES[stem]
    return f"{stem}_asymmetry{unit}"


METADATA_COLUMNS: dict[str, str] = {
    "schema_version": "version of this column layout",
    "session_id": "unique id of the session",
    "started_at": "date and time the recording was analysed or recorded (ISO 8601)",
    "session_date": "date of the session (YYYY-MM-DD)",
    "subject": "subject id",
    "protocol": "protocol name",
    "protocol_version": "protocol version",
    "affected_side": "left, right or unknown",
    "mirrored": "1 if the video was selfie-style (mirrored)",
    "complete": "1 if the whole recording was read and every movement of the protocol was "
    "seen and measured at least once",
    "source": "input file (or camera)",
    "source_sha256": "SHA-256 of the input file",
    "synktrack_version": "synktrack version",
    "mediapipe_version": "mediapipe version",
    "model_sha256": "SHA-256 of the face landmark model",
    "eye_measure": "which eye-aperture measure the indices use",
}

QUALITY_COLUMNS: dict[str, str] = {
    "duration_s": "length of the recording (s)",
    "usable_frame_fraction": "fraction of frames with a usable face",
    "epochs_total": "movement epochs in the protocol",
    "epochs_usable": "movement epochs with enough usable frames",
    "blinks_n": "blinks detected",
    "gentler_please": "1 if a movement was forceful (exaggerated movements train the wrong "
    "pattern)",
    "gentler_reason": "which movement was forceful, and by how much",
    "norms_note": "why normative z-scores are (or are not) given",
}


def session_columns() -> dict[str, str]:
    """All session.csv / history columns with descriptions, in order."""
    cols = dict(METADATA_COLUMNS)
    for stem, (_, desc) in INDICES.items():
        for side in SIDES:
            cols[index_column(stem, side)] = f"patient's {side}: {desc}"
        for side in SIDES:
            cols.update(_companion_columns(stem, side))
        cols[asymmetry_column(stem)] = (
            f"{stem}: affected minus other side (right minus left when the side is unknown)"
        )
    for stem in INDICES:
        if stem in NO_REPETITION_SD:
            continue
        unit, _ = INDICES[stem]
        for side in SIDES:
            cols[f"{stem}_{side}_sd{unit}"] = (
                f"repeatability: SD of {stem}_{side} across repetitions of the movement"
            )
    for stem in (spec.stem for spec in SPECS if spec.norm is not None):
        for side in SIDES:
            cols[f"{stem}_{side}_z"] = f"z-score of {stem}_{side} against published healthy values"
    for side in SIDES:
        cols[f"synkinesis_suspected_{side}"] = (
            f"1 if the {side} side shows a pattern worth discussing with a therapist "
            "(a flag, not a diagnosis)"
        )
        cols[f"synkinesis_reason_{side}"] = "why the flag was raised"
    cols.update(QUALITY_COLUMNS)
    return cols


EPOCH_COLUMNS: dict[str, str] = {
    "epoch": "epoch number in the protocol (0-based)",
    "movement": "rest, smile, eye_closure, pucker or brow_raise",
    "repetition": "1 for the first time this movement is done, 2 for the second...",
    "side": "patient's side",
    "start_s": "epoch start in the clip (s)",
    "end_s": "epoch end in the clip (s)",
    "plateau_start_s": "start of the analysed plateau (s)",
    "plateau_end_s": "end of the analysed plateau (s)",
    "frames": "frames in the step",
    "usable_frames": "usable frames in the step",
    "usable_fraction": "usable share of the step's frames once the reaction (first 0.8 s) and "
    "release (last 0.2 s) are skipped",
    "blink_frames": "frames left out of eye measures because of a blink",
    "usable": "1 if the epoch had enough usable frames and the movement was seen on at least "
    "one side (0 otherwise, with the reason)",
    "reason": "why the epoch is unusable (empty when usable)",
    "rest_eye_aperture_mm": "eye aperture at the surrounding rest (mm)",
    "eye_aperture_mm": "median eye aperture on the plateau (mm)",
    "eye_narrowing_pct": "aperture reduction from rest, % of rest (+ = narrower)",
    "mouth_corner_dx_mm": "mouth-corner lateral change from rest (+ = outward) (mm)",
    "mouth_corner_dy_mm": "mouth-corner vertical change from rest (+ = up) (mm)",
    "mouth_corner_excursion_mm": "mouth-corner displacement from rest (mm)",
    "brow_raise_mm": "brow lift from rest (mm)",
    "chin_texture_pct": "chin-half texture change from rest on the plateau, % of rest",
    "chin_texture_z": "the same change in robust SDs of the rest texture",
    "neck_texture_pct": "upper-neck texture change from rest on the plateau, % of rest "
    "(empty when the neck is not in the picture)",
    "neck_texture_z": "the same change in robust SDs of the rest texture",
    "coupling_slope": "within-epoch slope of the cross-region coupling (see session.json)",
    "coupling_r": "correlation behind coupling_slope",
}
