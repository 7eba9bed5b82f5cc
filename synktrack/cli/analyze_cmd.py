"""`synktrack analyze`: one recording in, per-frame measures (and indices) out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synktrack.cli._app import app
from synktrack.cli._progress import frame_progress, say


@app.command()
def analyze(
    video: Annotated[
        Path | None,
        typer.Argument(help="Video file (mp4, mov, mkv, avi, webm, gif), image or image folder.",
                       show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "synktrack-out"),
    mirrored: Annotated[
        bool, typer.Option(help="Selfie-style (mirrored) video: the patient's right is on the "
                                "image's right.")
    ] = False,
    model: Annotated[
        Path | None, typer.Option(help="face_landmarker.task to use (default: see `synktrack "
                                       "model`).", envvar="SYNKTRACK_MODEL")
    ] = None,
    camera: Annotated[
        int | None, typer.Option(help="Record from camera N instead of a file.")
    ] = None,
    max_frames: Annotated[int | None, typer.Option(help="Stop after this many frames.")] = None,
) -> None:
    """Measure eye aperture, mouth corners and brows per frame, on the patient's own sides.

    Writes OUT/frames.csv (one row per frame, units in column names),
    OUT/landmarks.npz (all landmarks, to re-run analysis without the model) and
    OUT/session.json (provenance, settings, timings).
    """
    from synktrack.analyze import analyze_clip
    from synktrack.errors import InputError

    if video is None and camera is None:
        raise InputError("give a VIDEO file or --camera N (see `synktrack analyze --help`)")
    source: Path | int = camera if camera is not None else video  # type: ignore[assignment]
    with frame_progress("Analysing") as progress:
        result = analyze_clip(source, out, mirrored=mirrored, model=model,
                              camera=camera is not None, max_frames=max_frames,
                              progress=progress, announce=say)
    s = result.session
    say(f"{s['counts']['frames']} frames, face in {s['counts']['face_frames']}, usable "
        f"{s['counts']['usable_frames']} ({s['timings']['frames_per_s']} frames/s)")
    if not result.complete:
        say(f"warning: recording incomplete ({s['input']['stopped_because']}); "
            "partial results kept")
    say(f"outputs: {result.out_dir}/")
