"""Whole simulated guided sessions on real faces, with the real model: is the truth recovered?

Each session animates a real portrait through a short protocol (parsed from TOML
like a user's file) with a known one-sided synkinesis (``synktrack.simulate``),
writes it as an mp4 and analyses it with ``analyze_clip`` exactly like a
patient's recording. Sessions are simulated lazily and shared by all tests of
the run; ``benchmarks/bench_sessions.py`` prints the same figures for more faces.

Thresholds, set from ``bench_sessions.py --faces all --healthy --mirrored`` (six
London faces and the demo portrait, 20 % / 2 mm injected, plain and mirrored clips).
With the nose-only head registration (5891d9f) the recovered eye-narrowing asymmetry
(affected minus other) was 0.94-1.11x the injected extra narrowing (0.94-1.28x on
mirrored copies); the earlier registration gave 0.81-1.36x. ASYM_MIN_RATIO = 0.8 holds
for both with a margin on today's code. The mouth corner during eye closure was
0.83-1.05x the injected lift (CORNER_RATIO 0.7-1.3), the other corner <= 0.41 mm;
healthy controls were symmetric within 2.2 %; mirrored minus plain differed by
<= 3.6 % per eye and <= 0.3 mm per corner (<= 4.5 % and 0.24 mm before).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack.protocol import Protocol, parse_protocol
from synktrack.simulate import (
    Synkinesis,
    demo_portrait,
    expected_indices,
    mirror_clip,
    write_clip,
)
from synktrack.synth import FaceGeometry

pytestmark = pytest.mark.slow

FPS = 15.0
INJECT_PCT, INJECT_MM = 20.0, 2.0
# Face -> injected side (both sides are exercised).
FACES = {"001": "left", "004": "right", "005": "left", "demo": "right"}
HEALTHY_FACES = ("004", "demo")
DOSE_FACE = "demo"
DOSES = ((10.0, 1.0), (20.0, 2.0), (35.0, 3.5))  # (oral_ocular_pct, ocular_oral_mm)
MIRROR_FACE = "demo"

ASYM_MIN_RATIO = 0.8  # recovered / injected eye-narrowing asymmetry, smile and pucker
ASYM_MAX_RATIO = 1.6  # ... and no runaway over-reporting
CORNER_RATIO = (0.7, 1.3)  # recovered / injected mouth-corner lift during eye closure
CORNER_OTHER_MAX_MM = 0.6  # the other corner stays still (guards the head registration:
# a scale error while the eyes are shut moves both corners by mm)
HEALTHY_ASYM_MAX_PCT = 6.0  # |right - left| eye narrowing in a healthy control
MIRROR_EYE_TOL_PCT = 6.0  # mirrored copy vs plain clip, per eye
MIRROR_CORNER_TOL_MM = 0.4  # ... per mouth corner

SHORT_TOML = 'name = "short-test"\nversion = 1\n' + "".join(
    f'\n[[step]]\nmovement = "{m}"\nduration_s = {d}\n'
    for m, d in [("rest", 2.0)] + [
        step for movement in ("smile", "eye_closure", "pucker") * 2
        for step in ((movement, 2.5), ("rest", 2.0))
    ]
)  # fmt: skip


@dataclass
class Session:
    face: str
    syn: Synkinesis
    mirrored: bool
    clip: Path
    row: dict[str, object]
    epochs: pd.DataFrame

    def v(self, stem: str, side: str) -> float:
        from synktrack.schema import index_column

        return float(self.row[index_column(stem, side)])  # type: ignore[arg-type]

    def asym(self, stem: str) -> float:
        """Affected minus other side (the clip was analysed with the injected side)."""
        from synktrack.schema import asymmetry_column

        return float(self.row[asymmetry_column(stem)])  # type: ignore[arg-type]


def other(side: str) -> str:
    return "right" if side == "left" else "left"


@pytest.fixture(scope="session")
def short_protocol() -> Protocol:
    p = parse_protocol(SHORT_TOML, "test_sessions")
    assert p.duration_s == pytest.approx(29.0)
    return p


@pytest.fixture(scope="session")
def faces(request: pytest.FixtureRequest) -> Callable[[str], np.ndarray]:
    """``face(name)``: the demo portrait always; a London portrait only with ../shared (a test
    on one of those skips without it, the demo-face tests still run)."""
    def face(name: str) -> np.ndarray:
        if name == "demo":
            return demo_portrait()
        return request.getfixturevalue("london_faces")[name]  # type: ignore[no-any-return]

    return face


SessionGetter = Callable[..., Session]


@pytest.fixture(scope="session")
def sessions(faces: Callable[[str], np.ndarray], model_path: Path, short_protocol: Protocol,
             tmp_path_factory: pytest.TempPathFactory) -> SessionGetter:
    """``get(face, synkinesis, mirrored=False)``: simulated and analysed once per run."""
    from synktrack.analyze import analyze_clip
    from synktrack.fidelity import face_geometry
    from synktrack.model import resolve_model
    from synktrack.simulate import session_simulate

    model = resolve_model(model_path)
    root = tmp_path_factory.mktemp("sessions")
    geoms: dict[str, FaceGeometry] = {}
    cache: dict[tuple[str, Synkinesis, bool], Session] = {}

    def get(face: str, syn: Synkinesis, mirrored: bool = False) -> Session:
        key = (face, syn, mirrored)
        if key in cache:
            return cache[key]
        tag = f"{face}_{syn.side or 'none'}_{syn.oral_ocular_pct:g}_{syn.ocular_oral_mm:g}"
        if mirrored:
            clip = mirror_clip(get(face, syn).clip, root / f"{tag}_mirrored.mp4", FPS)
        else:
            image = faces(face)
            if face not in geoms:
                geoms[face] = face_geometry(image, model.path)
            frames = session_simulate(image, geoms[face], short_protocol, syn, fps=FPS)
            clip = write_clip(frames, root / f"{tag}.mp4", FPS)
        res = analyze_clip(clip, root / (tag + ("_mirrored" if mirrored else "")),
                           protocol=short_protocol, model=model,
                           affected_side=syn.side or "unknown", mirrored=mirrored)
        assert res.session_row is not None and res.epochs is not None
        cache[key] = Session(face, syn, mirrored, clip, res.session_row, res.epochs)
        return cache[key]

    return get


def injected(face: str) -> Synkinesis:
    return Synkinesis(FACES[face], INJECT_PCT, INJECT_MM)


# --------------------------------------------------------------------------- injected side


@pytest.mark.parametrize("face", list(FACES))
def test_every_epoch_is_usable(sessions: SessionGetter, face: str) -> None:
    s = sessions(face, injected(face))
    assert s.row["epochs_total"] == 6
    assert s.row["epochs_usable"] == 6, s.epochs[["movement", "reason"]].drop_duplicates()
    assert s.row["complete"] == 1
    assert float(s.row["usable_frame_fraction"]) > 0.95  # type: ignore[arg-type]
    assert s.row["gentler_please"] == 0, s.row["gentler_reason"]


@pytest.mark.parametrize("face", list(FACES))
def test_the_injected_side_is_flagged_and_only_it(sessions: SessionGetter, face: str) -> None:
    s = sessions(face, injected(face))
    side = FACES[face]
    assert s.row[f"synkinesis_suspected_{side}"] == 1
    assert s.row[f"synkinesis_suspected_{other(side)}"] == 0, \
        s.row[f"synkinesis_reason_{other(side)}"]
    reason = str(s.row[f"synkinesis_reason_{side}"])
    for what in ("during a smile", "during a pucker", "when the eyes close"):
        assert what in reason, reason
    assert "not a diagnosis" in reason


@pytest.mark.parametrize("face", list(FACES))
def test_mouth_corner_during_eye_closure(sessions: SessionGetter, face: str) -> None:
    s = sessions(face, injected(face))
    side = FACES[face]
    lo, hi = CORNER_RATIO
    got = s.v("mouth_corner_eye_closure", side)
    assert lo * INJECT_MM <= got <= hi * INJECT_MM, f"{got:.2f} mm for {INJECT_MM} mm injected"
    assert s.v("mouth_corner_eye_closure", other(side)) < CORNER_OTHER_MAX_MM


@pytest.mark.parametrize("face", list(FACES))
def test_eye_narrowing_asymmetry(sessions: SessionGetter, face: str) -> None:
    s = sessions(face, injected(face))
    for stem in ("eye_narrowing_smile", "eye_narrowing_pucker"):
        ratio = s.asym(stem) / INJECT_PCT
        assert ASYM_MIN_RATIO <= ratio <= ASYM_MAX_RATIO, f"{stem}: {ratio:.2f} x injected"
    # The other eye keeps its healthy values: ~20 % in a smile, ~0 % in a pucker.
    side = other(FACES[face])
    assert 10.0 <= s.v("eye_narrowing_smile", side) <= 30.0
    assert abs(s.v("eye_narrowing_pucker", side)) <= 5.0


# --------------------------------------------------------------------------- controls


@pytest.mark.parametrize("face", HEALTHY_FACES)
def test_healthy_controls_are_never_flagged(sessions: SessionGetter, face: str) -> None:
    s = sessions(face, Synkinesis(None))
    assert s.row["synkinesis_suspected_left"] == 0, s.row["synkinesis_reason_left"]
    assert s.row["synkinesis_suspected_right"] == 0, s.row["synkinesis_reason_right"]
    for side in ("left", "right"):
        # the healthy, symmetric 20 % smile narrowing is seen on both eyes...
        assert 10.0 <= s.v("eye_narrowing_smile", side) <= 30.0
        assert abs(s.v("eye_narrowing_pucker", side)) <= 5.0
        assert s.v("mouth_corner_eye_closure", side) < CORNER_OTHER_MAX_MM
    # ... and is symmetric (unknown side: right minus left).
    assert abs(s.asym("eye_narrowing_smile")) < HEALTHY_ASYM_MAX_PCT
    assert abs(s.asym("eye_narrowing_pucker")) < HEALTHY_ASYM_MAX_PCT


def test_indices_grow_with_the_injected_size(sessions: SessionGetter) -> None:
    side = FACES[DOSE_FACE]
    runs = [sessions(DOSE_FACE, Synkinesis(side, pct, mm)) for pct, mm in DOSES]
    for stem, dose in (("eye_narrowing_smile", 0), ("eye_narrowing_pucker", 0),
                       ("mouth_corner_eye_closure", 1)):
        got = [r.asym(stem) for r in runs]
        sizes = [d[dose] for d in DOSES]
        steps = np.diff(got)
        # Strictly increasing, and each step is at least half the injected step.
        assert (steps >= 0.5 * np.diff(sizes)).all(), f"{stem}: {got} for {sizes}"
    for r in runs:
        assert r.row[f"synkinesis_suspected_{other(side)}"] == 0


def test_mirrored_copy_gives_the_same_sides(sessions: SessionGetter) -> None:
    syn = injected(MIRROR_FACE)
    a = sessions(MIRROR_FACE, syn)
    b = sessions(MIRROR_FACE, syn, mirrored=True)
    for side in ("left", "right"):
        assert b.row[f"synkinesis_suspected_{side}"] == a.row[f"synkinesis_suspected_{side}"]
        assert b.v("eye_narrowing_smile", side) == pytest.approx(
            a.v("eye_narrowing_smile", side), abs=MIRROR_EYE_TOL_PCT)
        assert b.v("eye_narrowing_pucker", side) == pytest.approx(
            a.v("eye_narrowing_pucker", side), abs=MIRROR_EYE_TOL_PCT)
        assert b.v("mouth_corner_eye_closure", side) == pytest.approx(
            a.v("mouth_corner_eye_closure", side), abs=MIRROR_CORNER_TOL_MM)
    assert b.row[f"synkinesis_suspected_{syn.side}"] == 1
    assert b.row[f"synkinesis_suspected_{other(str(syn.side))}"] == 0
    for stem in ("eye_narrowing_smile", "eye_narrowing_pucker"):
        assert b.asym(stem) >= ASYM_MIN_RATIO * INJECT_PCT, stem


# --------------------------------------------------------------------------- the figures


def test_print_injected_vs_recovered(sessions: SessionGetter,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The table for the issue note (also: python benchmarks/bench_sessions.py)."""
    lines = ["| face | side | injected % / mm | smile asym % (x) | pucker asym % (x) | "
             "corner aff / other mm (x) | flags L/R |", "|" + "---|" * 7]
    ratios = []
    for face in FACES:
        s = sessions(face, injected(face))
        side = FACES[face]
        sm, pu = s.asym("eye_narrowing_smile"), s.asym("eye_narrowing_pucker")
        co = s.v("mouth_corner_eye_closure", side)
        ratios.append((sm / INJECT_PCT, pu / INJECT_PCT, co / INJECT_MM))
        lines.append(
            f"| {face} | {side} | {INJECT_PCT:g} / {INJECT_MM:g} | {sm:.1f} ({sm / INJECT_PCT:.2f})"
            f" | {pu:.1f} ({pu / INJECT_PCT:.2f}) | {co:.2f} / "
            f"{s.v('mouth_corner_eye_closure', other(side)):.2f} ({co / INJECT_MM:.2f}) | "
            f"{s.row['synkinesis_suspected_left']}/{s.row['synkinesis_suspected_right']} |")
    truth = expected_indices(Synkinesis(None))
    lines.append(f"(healthy truth: smile narrowing {truth['eye_narrowing_smile'][0]:g} % both "
                 "eyes; asymmetry ratios are recovered / injected)")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    r = np.array(ratios)
    assert np.isfinite(r).all()


def test_auto_epochs_agree_with_the_timed_protocol(sessions: SessionGetter,
                                                    tmp_path: Path) -> None:
    """The same real clip analysed with ``protocol="auto"``: every index as with the timing."""
    from synktrack.analyze import analyze_recording
    from synktrack.landmarks import load_recording
    from synktrack.schema import INDICES, asymmetry_column, index_column

    s = sessions(DOSE_FACE, injected(DOSE_FACE))
    rec = load_recording(s.clip.parent / s.clip.stem / "landmarks.npz")
    auto = analyze_recording(rec, tmp_path, protocol="auto",
                             affected_side=FACES[DOSE_FACE]).session_row
    assert auto is not None
    bad = []
    for stem, (unit, _) in INDICES.items():
        for k in [index_column(stem, side) for side in ("left", "right")] + \
                [asymmetry_column(stem)]:
            x, y = float(auto[k]), float(s.row[k])  # type: ignore[arg-type]
            tol = {"_pct": 3.0, "_mm": 0.3}.get(unit, 0.2 * abs(y) + 0.5)
            if not (np.isnan(x) and np.isnan(y)) and not abs(x - y) <= tol:
                bad.append(f"{k}: auto {x:.2f}, timed {y:.2f}")
    assert bad == []
