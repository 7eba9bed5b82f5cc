"""Whole simulated guided sessions on real faces: injected synkinesis vs what is recovered.

Usage::

    python benchmarks/bench_sessions.py [--faces 001,004,005,demo] [--oral-ocular-pct 20]
        [--ocular-oral-mm 2] [--healthy] [--mirrored] [--sizes 10:1,20:2,35:3.5]
        [--fps 15] [--out DIR]

For each face (London-set portraits from ``../shared/media/images`` at 675 px, and
``demo``, the NASA astronaut portrait shipped with scikit-image), a short guided session
(rest 2 s, then smile, eye closure and pucker, 2.5 s each, twice, 2 s rest between) is
animated by :func:`synktrack.simulate.session_simulate` with a known one-sided synkinesis
(sides alternate left/right over the faces), written with :func:`write_clip` and analysed
with :func:`synktrack.analyze.analyze_clip` exactly like a patient's recording.

Printed per face: the injected extra eye narrowing (smile and pucker, % of the rest
aperture) and mouth-corner lift during eye closure (mm); the recovered eye-narrowing
asymmetry (affected minus other side) for smile and pucker and its ratio to the injection;
the recovered mouth-corner displacement on both sides during eye closure and the ratio;
and the flags. ``--healthy`` adds a healthy control per face (no synkinesis, symmetric
20 % smile narrowing), ``--mirrored`` re-analyses a mirrored (np.fliplr) copy of each
injected clip with ``mirrored=True``, ``--sizes`` a dose series on the first face.
CPU seconds are reported because the machines these run on are often shared.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from _common import SHARED, model_path

FACES = ("001", "004", "005", "006", "021", "024", "demo")
STEPS = [("rest", 2.0)] + [
    step for movement in ("smile", "eye_closure", "pucker") * 2
    for step in ((movement, 2.5), ("rest", 2.0))
]  # fmt: skip


def short_protocol():  # type: ignore[no-untyped-def]
    """The ~30 s test protocol, parsed from TOML like a user's file."""
    from synktrack.protocol import parse_protocol

    body = "".join(f'[[step]]\nmovement = "{m}"\nduration_s = {d}\n' for m, d in STEPS)
    return parse_protocol(f'name = "short-test"\nversion = 1\n{body}', "bench_sessions")


def load_face(name: str) -> np.ndarray:
    from synktrack.simulate import demo_portrait

    if name == "demo":
        return demo_portrait()
    bgr = cv2.imread(str(SHARED / "media" / "images" / f"london__{name}_neutral.jpg"))
    if bgr is None:
        sys.exit(f"bench_sessions: no London face {name} in {SHARED / 'media' / 'images'}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (675, 675), interpolation=cv2.INTER_AREA)


def run_session(image: np.ndarray, geom, syn, out: Path, model: Path, fps: float,  # type: ignore[no-untyped-def]
                affected: str, mirrored_copy: bool = False, seed: int = 0) -> dict:
    """Simulate, write and analyse one session; returns the session row (+ timings)."""
    from synktrack.analyze import analyze_clip
    from synktrack.simulate import mirror_clip, session_simulate, write_clip

    proto = short_protocol()
    cpu0 = time.process_time()
    clip = write_clip(session_simulate(image, geom, proto, syn, fps=fps, seed=seed),
                      out / "session.mp4", fps)
    cpu1 = time.process_time()
    res = analyze_clip(clip, out / "analysis", protocol=proto, model=model,
                       affected_side=affected)
    row = dict(res.session_row or {})
    row["_cpu_simulate_s"] = cpu1 - cpu0
    row["_cpu_analyse_s"] = time.process_time() - cpu1
    if mirrored_copy:
        flipped = mirror_clip(clip, out / "session_mirrored.mp4", fps)
        m = analyze_clip(flipped, out / "analysis_mirrored", protocol=proto, model=model,
                         affected_side=affected, mirrored=True)
        row["_mirrored"] = m.session_row
    return row


def describe(name: str, syn, row: dict) -> dict:  # type: ignore[no-untyped-def]
    side = syn.side
    other = "right" if side == "left" else "left"
    out = {"face": name, "side": side or "none", "inj_pct": syn.oral_ocular_pct,
           "inj_mm": syn.ocular_oral_mm}
    if side is None:
        out.update(
            smile_L=row["eye_narrowing_smile_left_pct"],
            smile_R=row["eye_narrowing_smile_right_pct"],
            pucker_L=row["eye_narrowing_pucker_left_pct"],
            pucker_R=row["eye_narrowing_pucker_right_pct"],
            corner_L=row["mouth_corner_eye_closure_left_mm"],
            corner_R=row["mouth_corner_eye_closure_right_mm"],
        )
    else:
        smile = row[f"eye_narrowing_smile_{side}_pct"] - row[f"eye_narrowing_smile_{other}_pct"]
        pucker = row[f"eye_narrowing_pucker_{side}_pct"] - \
            row[f"eye_narrowing_pucker_{other}_pct"]
        corner = row[f"mouth_corner_eye_closure_{side}_mm"]
        out.update(
            smile_asym=smile, smile_ratio=smile / syn.oral_ocular_pct,
            pucker_asym=pucker, pucker_ratio=pucker / syn.oral_ocular_pct,
            corner_aff=corner, corner_other=row[f"mouth_corner_eye_closure_{other}_mm"],
            corner_ratio=corner / syn.ocular_oral_mm,
        )
    out.update(flag_L=int(row["synkinesis_suspected_left"]),
               flag_R=int(row["synkinesis_suspected_right"]),
               epochs=f"{row['epochs_usable']}/{row['epochs_total']}",
               cpu_s=round(row["_cpu_simulate_s"] + row["_cpu_analyse_s"], 1))
    return out


def print_table(rows: list[dict], title: str) -> None:
    if not rows:
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    print(f"\n{title}")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for x in cells:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(x, widths, strict=True)) + " |")


def _fmt(v: object) -> str:
    if isinstance(v, float | np.floating):
        return "nan" if not np.isfinite(v) else f"{v:.2f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", default="001,004,005,demo",
                    help=f"comma-separated, from {', '.join(FACES)} (or 'all')")
    ap.add_argument("--oral-ocular-pct", type=float, default=20.0)
    ap.add_argument("--ocular-oral-mm", type=float, default=2.0)
    ap.add_argument("--healthy", action="store_true", help="add a healthy control per face")
    ap.add_argument("--mirrored", action="store_true", help="re-analyse mirrored copies")
    ap.add_argument("--sizes", default="", help="dose series on the first face, e.g. "
                    "10:1,20:2,35:3.5 (pct:mm)")
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--out", type=Path, default=None, help="keep clips and outputs here")
    args = ap.parse_args()

    from synktrack.fidelity import face_geometry
    from synktrack.simulate import Synkinesis

    model = model_path()
    names = list(FACES) if args.faces == "all" else args.faces.split(",")
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_sessions-"))
    injected, healthy, mirrored, doses = [], [], [], []
    for i, name in enumerate(names):
        image = load_face(name)
        geom = face_geometry(image, model)
        side = ("left", "right")[i % 2]
        syn = Synkinesis(side, args.oral_ocular_pct, args.ocular_oral_mm)
        row = run_session(image, geom, syn, root / name / "injected", model, args.fps, side,
                          mirrored_copy=args.mirrored)
        injected.append(describe(name, syn, row))
        print(f"{name}: injected {side}, {injected[-1]['cpu_s']} CPU s", file=sys.stderr)
        if args.mirrored:
            m = dict(row["_mirrored"], _cpu_simulate_s=0.0, _cpu_analyse_s=0.0)
            mirrored.append(describe(name, syn, m))
        if args.healthy:
            h = run_session(image, geom, Synkinesis(None), root / name / "healthy", model,
                            args.fps, "unknown")
            healthy.append(describe(name, Synkinesis(None), h))
        if args.sizes and i == 0:
            for pair in args.sizes.split(","):
                pct, mm = (float(x) for x in pair.split(":"))
                s = Synkinesis(side, pct, mm)
                d = run_session(image, geom, s, root / name / f"dose_{pct:g}_{mm:g}", model,
                                args.fps, side)
                doses.append(describe(name, s, d))
    print(f"protocol: {' '.join(f'{m} {d:g}' for m, d in STEPS)} s at {args.fps:g} fps")
    print_table(injected, "Injected one-sided synkinesis vs recovered (affected minus other)")
    print_table(mirrored, "Mirrored copies analysed with mirrored=True")
    print_table(healthy, "Healthy controls (symmetric 20 % smile narrowing, no synkinesis)")
    print_table(doses, "Dose series")
    if injected:
        for key in ("smile_ratio", "pucker_ratio", "corner_ratio"):
            vals = np.array([r[key] for r in injected], float)
            print(f"{key}: min {np.nanmin(vals):.2f}, median {np.nanmedian(vals):.2f}, "
                  f"max {np.nanmax(vals):.2f}")
    print(f"outputs in {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
