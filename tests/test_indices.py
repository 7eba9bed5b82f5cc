"""Epochs, blinks and per-side indices on synthetic per-frame tables with known truth.

No model here: each test builds a frames table (the columns of
:data:`synktrack.measures.COLUMNS`) from known rest values and known changes
per movement, adds noise, runs ``epochs_from_protocol`` -> ``blinks_detect`` ->
``epochs_analyze`` -> ``session_indices`` and checks the truth comes back.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from synktrack.epochs import blinks_detect, epochs_auto, epochs_from_protocol, rest_mask
from synktrack.indices import FlagRules, epochs_analyze, session_indices
from synktrack.measures import COLUMNS
from synktrack.protocol import Protocol, parse_protocol
from synktrack.schema import INDICES, SIDES, asymmetry_column, index_column, session_columns
from synktrack.simulate import envelope

FPS = 30.0
# Deliberately different per side, so a side mix-up changes the numbers.
REST = {
    "left": {"ap": 10.0, "x": 24.0, "y": -62.0, "brow": 18.0},
    "right": {"ap": 12.0, "x": 26.0, "y": -60.0, "brow": 20.0},
}
NOISE_MM = 0.02


def protocol_text(steps: list[tuple[str, float]], name: str = "unit") -> str:
    body = "".join(f'[[step]]\nmovement = "{m}"\nduration_s = {d}\n' for m, d in steps)
    return f'name = "{name}"\nversion = 1\n{body}'


FULL_STEPS = [
    ("rest", 3), ("smile", 3), ("rest", 3), ("eye_closure", 3), ("rest", 3), ("pucker", 3),
    ("rest", 3), ("brow_raise", 3), ("rest", 3), ("smile", 3), ("rest", 3), ("eye_closure", 3),
    ("rest", 3), ("pucker", 3), ("rest", 3),
]  # fmt: skip
FULL = parse_protocol(protocol_text(FULL_STEPS))


@dataclass
class Move:
    """Change at full activation, per patient side."""

    narrowing_pct: dict[str, float] = field(default_factory=dict)
    corner_mm: dict[str, tuple[float, float]] = field(default_factory=dict)  # (outward, up)
    brow_mm: dict[str, float] = field(default_factory=dict)


def healthy_moves(smile_narrowing: float = 20.0) -> dict[str, Move]:
    both = dict.fromkeys(SIDES)
    return {
        "smile": Move({s: smile_narrowing for s in both}, {s: (2.0, 2.5) for s in both}),
        "eye_closure": Move({s: 90.0 for s in both}),
        "pucker": Move({}, {s: (-3.5, 0.5) for s in both}),
        "brow_raise": Move({}, {}, {s: 3.0 for s in both}),
    }


def with_extra(moves: dict[str, Move], movement: str, *, narrowing: dict[str, float] | None = None,
               corner: dict[str, tuple[float, float]] | None = None) -> dict[str, Move]:
    """A copy of ``moves`` with extra per-side change added to one movement."""
    out = {k: Move(dict(v.narrowing_pct), dict(v.corner_mm), dict(v.brow_mm))
           for k, v in moves.items()}
    m = out.setdefault(movement, Move())
    for s, v in (narrowing or {}).items():
        m.narrowing_pct[s] = m.narrowing_pct.get(s, 0.0) + v
    for s, (dx, dy) in (corner or {}).items():
        ox, oy = m.corner_mm.get(s, (0.0, 0.0))
        m.corner_mm[s] = (ox + dx, oy + dy)
    return out


def make_frames(protocol: Protocol, moves: dict[str, Move], *, duration_s: float | None = None,
                noise: float = NOISE_MM, seed: int = 0,
                coupling_pct_per_mm: dict[str, float] | None = None,
                closure_lift_mm_per_10pct: dict[str, float] | None = None,
                onset_s: float = 0.3, fps: float = FPS) -> pd.DataFrame:
    """A frames table following ``protocol`` with known changes.

    ``coupling_pct_per_mm`` adds, per side, eye narrowing = k * (mouth-corner
    excursion) on every frame; ``closure_lift_mm_per_10pct`` lifts the mouth
    corner by m mm per 10 % of eye closure.
    """
    rng = np.random.default_rng(seed)
    n = int(round((duration_s or protocol.duration_s) * fps))
    t = np.arange(n) / fps
    narrowing = {s: np.zeros(n) for s in SIDES}
    dx = {s: np.zeros(n) for s in SIDES}
    dy = {s: np.zeros(n) for s in SIDES}
    brow = {s: np.zeros(n) for s in SIDES}
    for step in protocol.steps:
        if step.movement == "rest" or step.movement not in moves:
            continue
        a = envelope(t, step.start_s, step.end_s, onset=onset_s)
        m = moves[step.movement]
        for s in SIDES:
            narrowing[s] += a * m.narrowing_pct.get(s, 0.0)
            cx, cy = m.corner_mm.get(s, (0.0, 0.0))
            dx[s] += a * cx
            dy[s] += a * cy
            brow[s] += a * m.brow_mm.get(s, 0.0)
    for s, lift in (closure_lift_mm_per_10pct or {}).items():
        closure = np.zeros(n)
        for step in protocol.steps:
            if step.movement == "eye_closure":
                closure += envelope(t, step.start_s, step.end_s, onset=onset_s) * \
                    moves["eye_closure"].narrowing_pct.get(s, 0.0)
        dy[s] += lift * closure / 10
    for s, k in (coupling_pct_per_mm or {}).items():
        narrowing[s] += k * np.hypot(dx[s], dy[s])
    cols: dict[str, np.ndarray] = {c: np.zeros(n) for c in COLUMNS}
    cols.update(frame=np.arange(n), time_s=t, face_present=np.ones(n, int),
                n_faces=np.ones(n, int), usable=np.ones(n, int),
                face_width_px=np.full(n, 300.0), scale_mm_per_px=np.full(n, 0.1),
                landmark_jitter_mm=np.full(n, 0.1))
    for s in SIDES:
        r = REST[s]
        ap = r["ap"] * (1 - narrowing[s] / 100)
        cols[f"eye_aperture_{s}_mm"] = ap + rng.normal(0, noise, n)
        cols[f"eye_aperture_landmarks_{s}_mm"] = ap + rng.normal(0, noise, n)
        cols[f"eye_area_{s}_mm2"] = 3 * ap
        cols[f"mouth_corner_{s}_x_mm"] = r["x"] + dx[s] + rng.normal(0, noise, n)
        cols[f"mouth_corner_{s}_y_mm"] = r["y"] + dy[s] + rng.normal(0, noise, n)
        cols[f"brow_height_{s}_mm"] = r["brow"] + brow[s] + rng.normal(0, noise, n)
    return pd.DataFrame(cols)[list(COLUMNS)]


@dataclass
class Result:
    epochs: pd.DataFrame
    rows: pd.DataFrame
    ix: dict[str, object]
    blink: np.ndarray
    n_blinks: int


def analyse(frames: pd.DataFrame, protocol: Protocol, affected_side: str = "unknown",
            rules: FlagRules | None = None) -> Result:
    """The chain as analyze_recording runs it, from public functions."""
    ep = epochs_from_protocol(frames, protocol)
    rest = rest_mask(frames, protocol)
    blink, n = blinks_detect(frames, rest & frames["usable"].to_numpy().astype(bool))
    rows, pooled = epochs_analyze(frames, ep, blink)
    ix = session_indices(rows, pooled, affected_side=affected_side, rules=rules)
    return Result(ep, rows, ix, blink, n)


def col(stem: str, side: str) -> str:
    return index_column(stem, side)


def flagged(ix: dict[str, object]) -> dict[str, int]:
    return {s: int(ix[f"synkinesis_suspected_{s}"]) for s in SIDES}  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def healthy() -> Result:
    return analyse(make_frames(FULL, healthy_moves()), FULL)


# --------------------------------------------------------------------------- epochs


def test_epochs_follow_the_protocol(healthy: Result) -> None:
    ep = healthy.epochs
    movements = [s for s in FULL.steps if s.movement != "rest"]
    assert list(ep["movement"]) == [s.movement for s in movements]
    assert list(ep["start_s"]) == [s.start_s for s in movements]
    assert list(ep["repetition"]) == [1, 1, 1, 1, 2, 2, 2]
    assert ep["usable"].all(), ep["reason"].tolist()
    assert (ep["reason"] == "").all()
    # The plateau lies inside the step, after the reaction time and before the release.
    assert (ep["plateau_start_s"] >= ep["start_s"] + 0.8 - 1e-9).all()
    assert (ep["plateau_end_s"] < ep["end_s"] - 0.2).all()
    # Rest frames are rest: no frame of the movement window is used as rest.
    for _, row in ep.iterrows():
        assert not (row["_rest"] & row["_window"]).any()
        assert row["_rest"].sum() > 30


def test_index_keys_are_documented_columns(healthy: Result) -> None:
    documented = set(session_columns())
    missing = [k for k in healthy.ix if k not in documented]
    assert not missing, f"session_indices returns undocumented columns: {missing}"
    for stem in INDICES:
        for s in SIDES:
            assert col(stem, s) in healthy.ix
        assert asymmetry_column(stem) in healthy.ix


# --------------------------------------------------------------------------- amplitudes


def test_healthy_amplitudes_are_recovered(healthy: Result) -> None:
    ix = healthy.ix
    for s in SIDES:
        assert ix[col("eye_narrowing_smile", s)] == pytest.approx(20.0, abs=0.5)
        assert ix[col("eye_narrowing_pucker", s)] == pytest.approx(0.0, abs=0.5)
        assert ix[col("eye_closure", s)] == pytest.approx(90.0, abs=0.5)
        assert ix[col("smile_excursion", s)] == pytest.approx(np.hypot(2.0, 2.5), abs=0.1)
        assert ix[col("pucker_excursion", s)] == pytest.approx(np.hypot(3.5, 0.5), abs=0.1)
        assert ix[col("brow_raise", s)] == pytest.approx(3.0, abs=0.1)
        # eye closure moves no mouth corner: only noise (hypot of noise is >= 0)
        assert 0.0 <= ix[col("mouth_corner_eye_closure", s)] < 0.15
    rows = healthy.rows
    smile = rows[(rows["movement"] == "smile") & (rows["side"] == "right")]
    assert smile["rest_eye_aperture_mm"].to_numpy() == pytest.approx(12.0, abs=0.02)
    assert smile["eye_aperture_mm"].to_numpy() == pytest.approx(9.6, abs=0.05)
    assert smile["mouth_corner_dx_mm"].to_numpy() == pytest.approx(2.0, abs=0.05)
    assert smile["mouth_corner_dy_mm"].to_numpy() == pytest.approx(2.5, abs=0.05)


@pytest.mark.parametrize("pct", [5.0, 12.5, 33.0])
def test_eye_narrowing_percent_is_exact_per_side(pct: float) -> None:
    moves = with_extra(healthy_moves(), "pucker", narrowing={"right": pct})
    res = analyse(make_frames(FULL, moves, seed=3), FULL)
    ix = res.ix
    assert ix[col("eye_narrowing_pucker", "right")] == pytest.approx(pct, abs=0.4)
    assert ix[col("eye_narrowing_pucker", "left")] == pytest.approx(0.0, abs=0.4)
    assert ix[col("eye_narrowing_smile", "right")] == pytest.approx(20.0, abs=0.4)
    # Per repetition, and the repeatability (SD across repetitions) is small.
    assert ix["eye_narrowing_pucker_right_sd_pct"] < 0.5


def test_late_reaction_uses_the_plateau_not_the_ramp() -> None:
    """The patient starts 1.2 s after the prompt: the plateau follows the movement."""
    res = analyse(make_frames(FULL, healthy_moves(), onset_s=1.2), FULL)
    smile = res.epochs[res.epochs["movement"] == "smile"]
    assert (smile["plateau_start_s"] >= smile["start_s"] + 1.2).all()
    for s in SIDES:
        assert res.ix[col("eye_narrowing_smile", s)] == pytest.approx(20.0, abs=0.5)
        assert res.ix[col("smile_excursion", s)] == pytest.approx(np.hypot(2, 2.5), abs=0.1)


def test_mouth_excursion_per_side() -> None:
    moves = healthy_moves()
    moves["smile"].corner_mm = {"left": (1.0, 1.5), "right": (3.0, 4.0)}
    ix = analyse(make_frames(FULL, moves), FULL).ix
    assert ix[col("smile_excursion", "left")] == pytest.approx(np.hypot(1.0, 1.5), abs=0.08)
    assert ix[col("smile_excursion", "right")] == pytest.approx(5.0, abs=0.08)
    assert ix[asymmetry_column("smile_excursion")] == pytest.approx(5.0 - np.hypot(1, 1.5),
                                                                     abs=0.1)


# --------------------------------------------------------------------------- coupling


@pytest.mark.parametrize("k", [2.0, 6.0])
def test_oral_ocular_coupling_slope_is_recovered(k: float) -> None:
    """Eye narrowing = k x mouth-corner excursion, frame by frame -> slope k on that side."""
    moves = healthy_moves(smile_narrowing=0.0)
    frames = make_frames(FULL, moves, coupling_pct_per_mm={"left": k})
    res = analyse(frames, FULL)
    ix = res.ix
    assert ix[col("oral_ocular_coupling", "left")] == pytest.approx(k, rel=0.05)
    assert ix["oral_ocular_coupling_r_left"] > 0.98
    assert abs(ix[col("oral_ocular_coupling", "right")]) < 0.15 * k
    # Per-epoch slopes too.
    rows = res.rows
    per_epoch = rows[rows["movement"].isin(["smile", "pucker"]) & (rows["side"] == "left")]
    assert per_epoch["coupling_slope"].to_numpy() == pytest.approx(k, rel=0.08)


def test_ocular_oral_coupling_slope_is_recovered() -> None:
    """Mouth corner lifts 0.3 mm per 10 % of eye closure on the right -> slope 0.3."""
    frames = make_frames(FULL, healthy_moves(), closure_lift_mm_per_10pct={"right": 0.3})
    ix = analyse(frames, FULL).ix
    assert ix[col("ocular_oral_coupling", "right")] == pytest.approx(0.3, rel=0.08)
    assert ix["ocular_oral_coupling_r_right"] > 0.95
    assert abs(ix[col("ocular_oral_coupling", "left")]) < 0.05
    assert ix[col("mouth_corner_eye_closure", "right")] == pytest.approx(2.7, abs=0.1)


# --------------------------------------------------------------------------- asymmetry, flags


def test_asymmetry_signs() -> None:
    moves = with_extra(healthy_moves(), "pucker", narrowing={"left": 15.0})
    frames = make_frames(FULL, moves)
    stem = asymmetry_column("eye_narrowing_pucker")
    assert analyse(frames, FULL, "left").ix[stem] == pytest.approx(15.0, abs=0.6)
    assert analyse(frames, FULL, "right").ix[stem] == pytest.approx(-15.0, abs=0.6)
    # unknown: right minus left
    assert analyse(frames, FULL, "unknown").ix[stem] == pytest.approx(-15.0, abs=0.6)


def test_healthy_symmetric_smile_narrowing_is_not_flagged() -> None:
    """A healthy smile narrows both eyes ~22 %: symmetric, so never a flag."""
    res = analyse(make_frames(FULL, healthy_moves(smile_narrowing=22.0), seed=5), FULL)
    assert res.ix[col("eye_narrowing_smile", "left")] == pytest.approx(22.0, abs=0.5)
    assert flagged(res.ix) == {"left": 0, "right": 0}
    assert res.ix["synkinesis_reason_left"] == res.ix["synkinesis_reason_right"] == ""
    assert res.ix["gentler_please"] == 0


@pytest.mark.parametrize("side", SIDES)
def test_one_sided_pucker_narrowing_is_flagged_as_a_flag(side: str) -> None:
    other = "right" if side == "left" else "left"
    moves = with_extra(healthy_moves(), "pucker", narrowing={side: 15.0})
    ix = analyse(make_frames(FULL, moves), FULL).ix
    assert flagged(ix) == {side: 1, other: 0}
    reason = str(ix[f"synkinesis_reason_{side}"])
    assert "pucker" in reason and f"{side} eye" in reason
    assert "therapist" in reason and "not a diagnosis" in reason
    assert not re.search(r"\b(you have|diagnosed|disease|abnormal|patholog\w*)\b", reason, re.I)
    assert ix[f"synkinesis_reason_{other}"] == ""


def test_pucker_flag_threshold_can_fail() -> None:
    """A small one-sided excess (below the 8 % rule) is not flagged; above it is."""
    small = with_extra(healthy_moves(), "pucker", narrowing={"left": 5.0})
    big = with_extra(healthy_moves(), "pucker", narrowing={"left": 11.0})
    assert flagged(analyse(make_frames(FULL, small), FULL).ix)["left"] == 0
    assert flagged(analyse(make_frames(FULL, big), FULL).ix)["left"] == 1


def test_one_sided_closure_corner_is_flagged() -> None:
    moves = with_extra(healthy_moves(), "eye_closure", corner={"right": (0.0, 2.5)})
    ix = analyse(make_frames(FULL, moves), FULL).ix
    assert flagged(ix) == {"left": 0, "right": 1}
    assert "when the eyes close the right mouth corner moves" in str(ix["synkinesis_reason_right"])


def test_one_sided_smile_narrowing_is_flagged() -> None:
    moves = with_extra(healthy_moves(), "smile", narrowing={"left": 15.0})
    ix = analyse(make_frames(FULL, moves), FULL).ix
    assert flagged(ix) == {"left": 1, "right": 0}
    assert "during a smile the left eye narrows 15 % more" in str(ix["synkinesis_reason_left"])


# --------------------------------------------------------------------------- blinks


def add_blink(frames: pd.DataFrame, start_s: float, length_s: float = 0.2,
              depth: float = 0.15, sides: tuple[str, ...] = SIDES) -> pd.DataFrame:
    f = frames.copy()
    t = f["time_s"].to_numpy()
    sel = (t >= start_s) & (t < start_s + length_s)
    for s in sides:
        f.loc[sel, f"eye_aperture_{s}_mm"] = depth * REST[s]["ap"]
    return f


def test_blink_in_a_smile_plateau_is_found_and_left_out() -> None:
    smile1 = next(s for s in FULL.steps if s.movement == "smile")
    # Narrowing = 3 x excursion on the left, nothing else: the true slope is 3 on the left.
    moves = healthy_moves(smile_narrowing=0.0)
    clean = make_frames(FULL, moves, coupling_pct_per_mm={"left": 3.0})
    blinky = add_blink(clean, smile1.start_s + 1.6, 0.2)
    a, b = analyse(clean, FULL), analyse(blinky, FULL)
    assert a.n_blinks == 0
    assert b.n_blinks == 1
    t = blinky["time_s"].to_numpy()
    dip = (t >= smile1.start_s + 1.6) & (t < smile1.start_s + 1.8)
    assert b.blink[dip].all(), "every frame of the dip is a blink frame"
    assert b.blink.sum() <= dip.sum() + 2, "only the dip (padded by one frame each side)"
    rows = b.rows
    first = rows[(rows["movement"] == "smile") & (rows["repetition"] == 1)]
    assert (first["blink_frames"] >= dip.sum()).all()
    assert b.ix[col("oral_ocular_coupling", "left")] == pytest.approx(3.0, rel=0.04)
    assert b.ix[col("eye_narrowing_smile", "left")] == pytest.approx(3.0 * np.hypot(2, 2.5),
                                                                     abs=0.4)
    assert b.ix[col("eye_narrowing_smile", "right")] == pytest.approx(0.0, abs=0.4)
    for s in SIDES:
        for stem in ("eye_narrowing_smile", "oral_ocular_coupling"):
            assert b.ix[col(stem, s)] == pytest.approx(a.ix[col(stem, s)], abs=0.1), (stem, s)


def test_blink_not_left_out_would_change_the_coupling() -> None:
    """Guard for the test above: without blink exclusion the dip does move the numbers."""
    smile1 = next(s for s in FULL.steps if s.movement == "smile")
    clean = make_frames(FULL, healthy_moves(smile_narrowing=0.0),
                        coupling_pct_per_mm={"left": 3.0})
    blinky = add_blink(clean, smile1.start_s + 1.6, 0.2)
    ep = epochs_from_protocol(blinky, FULL)
    ix = session_indices(*epochs_analyze(blinky, ep, np.zeros(len(blinky), bool)))
    assert abs(ix[col("oral_ocular_coupling", "left")] - 3.0) > 0.3


def test_long_closures_and_winks_are_not_blinks() -> None:
    frames = make_frames(FULL, healthy_moves())
    rest2 = FULL.steps[2]
    long = add_blink(frames, rest2.start_s + 0.5, 1.0)
    wink = add_blink(frames, rest2.start_s + 0.5, 0.2, sides=("left",))
    for f in (long, wink):
        t = f["time_s"].to_numpy()
        rest = np.zeros(len(f), bool)
        for s in FULL.steps:
            if s.movement == "rest":
                rest |= (t >= s.start_s) & (t < s.end_s)
        _, n = blinks_detect(f, rest)
        assert n == 0
    # The eye-closure movement itself (3 s) is not a blink either.
    assert analyse(frames, FULL).n_blinks == 0


def test_blink_during_rest_does_not_shift_the_rest_aperture() -> None:
    frames = make_frames(FULL, healthy_moves())
    f = frames
    for step in FULL.steps:
        if step.movement == "rest":
            f = add_blink(f, step.start_s + 1.5, 0.25)
    res = analyse(f, FULL)
    assert res.n_blinks == sum(s.movement == "rest" for s in FULL.steps)
    for s in SIDES:
        assert res.ix[col("eye_narrowing_smile", s)] == pytest.approx(20.0, abs=0.5)


# --------------------------------------------------------------------------- gentler please


def test_forceful_smile_asks_for_gentler() -> None:
    moves = healthy_moves()
    moves["smile"].corner_mm = {s: (6.0, 6.0) for s in SIDES}  # 8.5 mm
    ix = analyse(make_frames(FULL, moves), FULL).ix
    assert ix["gentler_please"] == 1
    assert "smile moved 8.5 mm" in str(ix["gentler_reason"])
    assert ix[col("smile_excursion", "left")] == pytest.approx(np.hypot(6, 6), abs=0.1)


def test_forceful_brow_raise_asks_for_gentler() -> None:
    moves = healthy_moves()
    moves["brow_raise"].brow_mm = {"left": 11.0, "right": 3.0}
    ix = analyse(make_frames(FULL, moves), FULL).ix
    assert ix["gentler_please"] == 1
    assert "brow raise" in str(ix["gentler_reason"])


def test_gentle_session_is_not_asked_to_be_gentler(healthy: Result) -> None:
    assert healthy.ix["gentler_please"] == 0
    assert healthy.ix["gentler_reason"] == ""


# --------------------------------------------------------------------------- bad sessions


def test_protocol_longer_than_the_clip() -> None:
    # The clip stops in the middle of the 4th movement (brow raise 21-24 s).
    frames = make_frames(FULL, healthy_moves(), duration_s=22.5)
    res = analyse(frames, FULL)
    ep = res.epochs
    ends_during = ep[(ep["start_s"] < 22.5) & (ep["end_s"] > 22.5)]
    after = ep[ep["start_s"] >= 22.5]
    before = ep[ep["end_s"] <= 21.0]
    assert len(ends_during) == 1 and len(after) == 3 and len(before) == 3
    assert not ends_during["usable"].any()
    assert not after["usable"].any()
    for reason in [*ends_during["reason"], *after["reason"]]:
        assert reason.startswith("the clip ends"), reason
    assert before["usable"].all()
    # What was recorded still gives its indices; the rest are from one repetition.
    assert res.ix[col("eye_narrowing_smile", "left")] == pytest.approx(20.0, abs=0.5)
    assert np.isnan(res.ix["eye_narrowing_smile_left_sd_pct"])
    assert np.isnan(res.ix[col("brow_raise", "left")])


def lose_face(frames: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    f = frames.copy()
    t = f["time_s"].to_numpy()
    sel = (t >= start_s) & (t < end_s)
    measures = [c for c in COLUMNS if c.endswith(("_mm", "_mm2", "_deg")) or "score" in c]
    f.loc[sel, measures] = np.nan
    f.loc[sel, ["face_present", "usable"]] = 0
    return f


def test_face_lost_during_an_epoch() -> None:
    smile2 = [s for s in FULL.steps if s.movement == "smile"][1]
    frames = lose_face(make_frames(FULL, healthy_moves()), smile2.start_s + 0.5, smile2.end_s)
    res = analyse(frames, FULL)
    ep = res.epochs
    lost = ep[(ep["movement"] == "smile") & (ep["repetition"] == 2)]
    assert not lost["usable"].any()
    assert "face lost" in lost["reason"].iloc[0]
    assert ep.drop(lost.index)["usable"].all(), ep["reason"].tolist()
    rows = res.rows
    lost_rows = rows[(rows["movement"] == "smile") & (rows["repetition"] == 2)]
    assert lost_rows["eye_narrowing_pct"].isna().all()
    assert res.ix[col("eye_narrowing_smile", "left")] == pytest.approx(20.0, abs=0.5)
    assert np.isnan(res.ix["eye_narrowing_smile_left_sd_pct"])
    assert res.ix[col("eye_narrowing_pucker", "left")] == pytest.approx(0.0, abs=0.5)


def test_face_lost_raises_no_numpy_warnings() -> None:
    smile2 = [s for s in FULL.steps if s.movement == "smile"][1]
    frames = lose_face(make_frames(FULL, healthy_moves()), smile2.start_s + 0.5, smile2.end_s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyse(frames, FULL)
        epochs_auto(frames)


def test_face_lost_briefly_keeps_the_epoch() -> None:
    smile2 = [s for s in FULL.steps if s.movement == "smile"][1]
    frames = lose_face(make_frames(FULL, healthy_moves()), smile2.start_s + 1.2,
                       smile2.start_s + 1.5)
    res = analyse(frames, FULL)
    assert res.epochs["usable"].all()
    assert res.ix[col("eye_narrowing_smile", "right")] == pytest.approx(20.0, abs=0.5)


def test_face_lost_in_the_rest_around_a_movement() -> None:
    brow = next(s for s in FULL.steps if s.movement == "brow_raise")
    frames = lose_face(make_frames(FULL, healthy_moves()), brow.start_s - 3, brow.start_s)
    frames = lose_face(frames, brow.end_s, brow.end_s + 3)
    ep = analyse(frames, FULL).epochs
    row = ep[ep["movement"] == "brow_raise"].iloc[0]
    assert not row["usable"] and "rest" in row["reason"]


def test_too_short_step_says_so_not_face_lost() -> None:
    proto = parse_protocol(protocol_text([("rest", 2), ("smile", 1.0), ("rest", 2)]))
    res = analyse(make_frames(proto, healthy_moves(), fps=10.0), proto)
    (reason,) = res.epochs["reason"]
    assert reason, "4 plateau frames are too few: the epoch is unusable"
    assert "face lost" not in reason, reason


def test_a_movement_missing_from_the_protocol_gives_nan() -> None:
    steps = [("rest", 3), ("smile", 3), ("rest", 3), ("eye_closure", 3), ("rest", 3),
             ("smile", 3), ("rest", 3)]
    proto = parse_protocol(protocol_text(steps))
    res = analyse(make_frames(proto, healthy_moves()), proto, affected_side="left")
    ix = res.ix
    for stem in ("eye_narrowing_pucker", "pucker_excursion", "brow_raise"):
        for s in SIDES:
            assert np.isnan(ix[col(stem, s)]), stem
        assert np.isnan(ix[asymmetry_column(stem)])
    for s in SIDES:
        assert np.isnan(ix[f"eye_narrowing_pucker_{s}_z"])
        assert ix[col("eye_narrowing_smile", s)] == pytest.approx(20.0, abs=0.5)
    assert flagged(ix) == {"left": 0, "right": 0}


def test_no_movement_at_all_gives_all_nan() -> None:
    proto = parse_protocol(protocol_text([("rest", 5)]))
    res = analyse(make_frames(proto, {}), proto)
    assert len(res.epochs) == 0
    for stem in INDICES:
        for s in SIDES:
            assert np.isnan(res.ix[col(stem, s)])
    assert flagged(res.ix) == {"left": 0, "right": 0}


# --------------------------------------------------------------------------- auto epochs


def test_epochs_auto_finds_movements_at_the_right_times() -> None:
    truth = [("rest", 4), ("smile", 3), ("rest", 4), ("eye_closure", 3), ("rest", 4),
             ("pucker", 3), ("rest", 4), ("brow_raise", 3), ("rest", 4)]
    hidden = parse_protocol(protocol_text(truth))
    frames = make_frames(hidden, healthy_moves(), seed=11)
    auto, found = epochs_auto(frames)
    moves = [s for s in auto.steps if s.movement != "rest"]
    expected = [s for s in hidden.steps if s.movement != "rest"]
    assert [s.movement for s in moves] == [s.movement for s in expected], found
    for got, want in zip(moves, expected, strict=True):
        assert want.start_s <= got.start_s <= want.start_s + 1.2, (got, want)
        assert want.end_s - 1.0 <= got.end_s <= want.end_s, (got, want)
    assert len(found) == 4 and found[0].startswith("smile from")
    # The found protocol can be analysed like a prompted one.
    res = analyse(frames, auto)
    assert res.epochs["usable"].all(), res.epochs["reason"].tolist()
    assert res.ix[col("eye_narrowing_smile", "left")] == pytest.approx(20.0, abs=2.0)
    assert res.ix[col("eye_closure", "right")] == pytest.approx(90.0, abs=3.0)


def test_epochs_auto_on_a_still_face_finds_nothing() -> None:
    proto = parse_protocol(protocol_text([("rest", 10)]))
    auto, found = epochs_auto(make_frames(proto, {}))
    assert [s for s in auto.steps if s.movement != "rest"] == []
    assert "no movement" in found[0]


def _agree(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """Index keys on which two analyses of one clip disagree beyond a clinical tolerance."""
    bad = []
    for stem in INDICES:
        keys = [col(stem, s) for s in SIDES] + [asymmetry_column(stem)]
        if stem.endswith("coupling"):
            keys += [f"{stem}_r_{s}" for s in SIDES]
        for k in keys:
            x, y = float(a[k]), float(b[k])  # type: ignore[arg-type]
            unit = INDICES[stem][0]
            tol = {"_pct": 2.0, "_mm": 0.2}.get(unit, 0.15 * abs(y) + 0.3)
            if k.endswith(("_r_left", "_r_right")):
                tol = 0.1
            if not (np.isnan(x) and np.isnan(y)) and not abs(x - y) <= tol:
                bad.append(f"{k}: auto {x:.3f}, timed {y:.3f}")
    return bad


def test_epochs_auto_and_timed_protocol_agree_on_every_index() -> None:
    """Regression: auto epochs held only the plateau, so the pooled coupling slope ran from
    the smile's plateau to the pucker's and flipped its sign (demo clip: -2.8 vs +11.1)."""
    moves = with_extra(healthy_moves(), "smile", narrowing={"left": 25.0})
    moves = with_extra(moves, "pucker", narrowing={"left": 25.0})
    frames = make_frames(FULL, moves, coupling_pct_per_mm={"right": 2.0},
                         closure_lift_mm_per_10pct={"left": 0.25}, seed=5)
    auto, _ = epochs_auto(frames)
    assert [s.movement for s in auto.steps if s.movement != "rest"] == \
        [s.movement for s in FULL.steps if s.movement != "rest"]
    a, b = analyse(frames, auto), analyse(frames, FULL)
    assert _agree(a.ix, b.ix) == []
    assert b.ix[col("oral_ocular_coupling", "left")] > 3.0  # a real, positive coupling


def test_coupling_is_anchored_at_rest() -> None:
    """The same clip, epochs cut tighter or looser: the coupling slope barely moves."""
    frames = make_frames(FULL, healthy_moves(), coupling_pct_per_mm={"left": 4.0}, seed=2)
    tight = epochs_auto(frames, ramp_level=1.0)[0]  # plateau only, no ramps
    loose = epochs_auto(frames)[0]
    a, b = analyse(frames, tight), analyse(frames, loose)
    for s in SIDES:
        k = col("oral_ocular_coupling", s)
        assert a.ix[k] == pytest.approx(b.ix[k], abs=0.15 * abs(b.ix[k]) + 0.3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- nothing moved


def test_a_still_face_has_no_usable_epoch() -> None:
    """Nothing moved: every epoch is unusable, saying so, and no index is a 0 % or 0 mm."""
    from synktrack.epochs import movements_missing

    res = analyse(make_frames(FULL, {}, noise=0.15, seed=4), FULL)
    ep = res.epochs
    assert (ep["usable"] == 0).all()
    assert set(ep["_cause"]) == {"not_seen"}
    assert all("seen on either side" in r and "rest noise" in r for r in ep["reason"])
    for stem in INDICES:
        for s in SIDES:
            assert np.isnan(res.ix[col(stem, s)]), stem
    assert movements_missing(ep, FULL) == FULL.movements()


def test_one_paralysed_side_still_counts_as_a_movement() -> None:
    """The movement on one side only (the other paralysed) is enough for a usable epoch."""
    moves = healthy_moves()
    for m in moves.values():
        for part in (m.narrowing_pct, m.corner_mm, m.brow_mm):
            part.pop("left", None)
    res = analyse(make_frames(FULL, moves, noise=0.15, seed=4), FULL)
    assert (res.epochs["usable"] == 1).all(), res.epochs["reason"].tolist()
    assert res.ix[col("smile_excursion", "left")] == pytest.approx(0.0, abs=0.3)
    assert res.ix[col("smile_excursion", "right")] == pytest.approx(3.2, abs=0.3)


def test_a_movement_skipped_once_leaves_the_other_repetition() -> None:
    """One smile not done: that epoch is unusable, the session still has the movement."""
    from synktrack.epochs import movements_missing

    frames = make_frames(FULL, healthy_moves(), seed=6)
    smile2 = [s for s in FULL.steps if s.movement == "smile"][1]
    still = make_frames(FULL, {}, seed=6)
    t = frames["time_s"]
    inside = (t >= smile2.start_s) & (t < smile2.end_s)
    frames.loc[inside] = still.loc[inside]
    ep = analyse(frames, FULL).epochs
    skipped = ep[(ep["movement"] == "smile") & (ep["repetition"] == 2)].iloc[0]
    assert skipped["usable"] == 0 and skipped["_cause"] == "not_seen"
    assert ep.drop(skipped.name)["usable"].all()
    assert movements_missing(ep, FULL) == []


def test_the_usable_column_is_0_or_1(healthy: Result) -> None:
    assert healthy.epochs["usable"].dtype.kind == "i"
    assert set(healthy.rows["usable"]) == {1}
