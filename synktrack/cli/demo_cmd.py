"""`synktrack demo`: a whole guided session from a built-in face, with known synkinesis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from synktrack.cli._app import app
from synktrack.cli._progress import frame_progress, print_indices, results, say


def demo_dir() -> Path:
    """Where the demo writes by default: ``<user cache>/synktrack/demo`` (``SYNKTRACK_CACHE_DIR``
    replaces ``<user cache>/synktrack``), never the current folder."""
    from synktrack.model import cache_dir

    return cache_dir().parent / "demo"


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (default: a 'demo' folder in synktrack's per-user "
                            "cache, printed at the end).", show_default=False)] = None,
    side: Annotated[
        str, typer.Option(help="Patient side given synkinesis: left, right or none (a healthy "
                               "control).")
    ] = "left",
    oral_ocular_pct: Annotated[
        float, typer.Option(help="Extra eye narrowing on that side during smile and pucker "
                                 "(% of the rest aperture).")
    ] = 25.0,
    ocular_oral_mm: Annotated[
        float, typer.Option(help="Mouth-corner lift on that side during eye closure (mm).")
    ] = 2.5,
    blink_pull_mm: Annotated[
        float, typer.Option(help="Mouth-corner lift on that side at every spontaneous blink "
                                 "(mm; one blink in each rest step).")
    ] = 1.0,
    model: Annotated[
        Path | None, typer.Option(help="face_landmarker.task to use (default: see `synktrack "
                                       "model`).")
    ] = None,
) -> None:
    """Run a whole guided session on a built-in face and compare the indices with the truth.

    A real public-domain portrait (NASA's astronaut photo, shipped with
    scikit-image) is animated through the 'quick-check' protocol by synktrack's
    own injection harness: gentle healthy movements on both sides plus a known
    one-sided synkinesis. The clip is then analysed exactly like a patient's
    recording. Needs no network once the model is cached.
    """
    from synktrack.analyze import analyze_clip
    from synktrack.errors import InputError
    from synktrack.fidelity import face_geometry
    from synktrack.model import resolve_model
    from synktrack.protocol import load_protocol
    from synktrack.simulate import (
        Synkinesis,
        demo_portrait,
        expected_indices,
        session_simulate,
        write_clip,
    )

    out = out if out is not None else demo_dir()
    side = side.lower()
    if side not in ("left", "right", "none"):
        raise InputError(f"--side must be left, right or none, not {side!r}")
    resolved = resolve_model(model, announce=say)
    protocol = load_protocol("quick-check")
    syn = Synkinesis(None if side == "none" else side, oral_ocular_pct, ocular_oral_mm,
                     blink_pull_mm)
    say(f"demo: NASA astronaut portrait (public domain, from scikit-image), protocol "
        f"'{protocol.name}' ({protocol.duration_s:.0f} s); injected: "
        + (f"{side}-sided synkinesis, eye narrowing +{oral_ocular_pct:g} % with smile and "
           f"pucker, mouth corner lift {ocular_oral_mm:g} mm with eye closure and "
           f"{blink_pull_mm:g} mm at each spontaneous blink"
           if syn.side else "none (healthy control)"))
    face = demo_portrait()
    geom = face_geometry(face, resolved.path)
    fps = 25.0
    clip = out / "demo_session.mp4"
    out.mkdir(parents=True, exist_ok=True)
    with frame_progress("Making the demo clip") as progress:
        frames = session_simulate(face, geom, protocol, syn, fps=fps, blinks=True)
        n_total = int(round(protocol.duration_s * fps))

        def counted() -> Iterator[tuple[float, np.ndarray]]:
            for i, item in enumerate(frames, 1):
                progress(i, n_total)
                yield item

        write_clip(counted(), clip, fps)
    with frame_progress("Analysing") as progress:
        result = analyze_clip(clip, out, protocol=protocol, model=resolved, subject="demo",
                              progress=progress)
    assert result.session_row is not None
    truth = expected_indices(syn)
    print_indices(result.session_row, result.epochs, injected=truth)
    healthy = expected_indices(Synkinesis(None))["eye_narrowing_smile"][0]
    results.print(
        f"injected L / R is the truth the clip was made with: gentle healthy movements on both "
        f"sides (a healthy smile narrows both eyes by about {healthy:g} %: that is the "
        f"{healthy:g} on the healthy side), plus the synkinesis on the "
        + (f"{side} side (+{oral_ocular_pct:g} % on top of it)." if syn.side else
           "- none here (healthy control).") + " No truth is given for the coupling slopes.",
        markup=False)
    results.print(f"outputs: {out}/ (demo_session.mp4, summary.png, frames.csv, epochs.csv, "
                  "session.csv, session.json, landmarks.npz)", markup=False)
