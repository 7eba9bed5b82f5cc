"""`synktrack analyze`: one recording in, per-frame measures (and indices) out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synktrack.cli._app import AffectedSide, app
from synktrack.cli._progress import frame_progress, print_indices, say


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
                                       "model`).")
    ] = None,
    camera: Annotated[
        int | None, typer.Option(help="Record from camera N instead of a file.")
    ] = None,
    max_frames: Annotated[int | None, typer.Option(help="Stop after this many frames.")] = None,
    protocol: Annotated[
        str | None, typer.Option(
            "--protocol", "-p",
            help="Guided-session protocol: a built-in name (see `synktrack protocols`), a TOML "
                 "file, or 'auto' to find the movements in the video. Without it, only "
                 "per-frame measures are written.", show_default=False)
    ] = None,
    offset_s: Annotated[
        float, typer.Option("--offset-s", help="Time in the clip where the protocol starts (s).")
    ] = 0.0,
    affected_side: Annotated[
        AffectedSide, typer.Option(help="Side affected by the palsy (the patient's own), for "
                                        "asymmetry signs.", case_sensitive=False)
    ] = AffectedSide.unknown,
    subject: Annotated[str | None, typer.Option(help="Subject id for session.csv.")] = None,
    session_date: Annotated[
        str | None, typer.Option(help="Session date YYYY-MM-DD (default: today).")
    ] = None,
    history: Annotated[
        Path | None, typer.Option(help="History CSV to append this session's row to.")
    ] = None,
    annotated_video: Annotated[
        bool, typer.Option("--annotated-video",
                           help="Also write OUT/annotated.mp4 (H.264, plays in a browser): every "
                                "frame with the lid margins, irises, mouth corners and chin/neck "
                                "regions drawn, the protocol step and prompt, and live traces "
                                "per side. Re-decodes the video once more.")
    ] = False,
) -> None:
    """Measure eye aperture, mouth corners and brows per frame, on the patient's own sides.

    Writes OUT/frames.csv (one row per frame, units in column names),
    OUT/landmarks.npz (all landmarks, to re-run analysis without the model) and
    OUT/session.json (provenance, settings, timings). With --protocol also
    OUT/epochs.csv and OUT/session.csv (per-side synkinesis indices). With
    --annotated-video also OUT/annotated.mp4; if it cannot be made, the other
    outputs are kept and the exit code is 5.
    """
    from synktrack.analyze import analyze_clip
    from synktrack.errors import AnnotationError, InputError

    if video is None and camera is None:
        raise InputError("give a VIDEO file or --camera N (see `synktrack analyze --help`)")
    source: Path | int = camera if camera is not None else video  # type: ignore[assignment]
    with frame_progress("Analysing") as progress:
        result = analyze_clip(source, out, mirrored=mirrored, model=model,
                              camera=camera is not None, max_frames=max_frames,
                              progress=progress, announce=say, protocol=protocol,
                              offset_s=offset_s, affected_side=affected_side.value,
                              subject=subject, session_date=_date(session_date),
                              history=history, annotated_video=annotated_video)
    s = result.session
    say(f"{s['counts']['frames']} frames, face in {s['counts']['face_frames']}, usable "
        f"{s['counts']['usable_frames']} ({s['timings']['frames_per_s']} frames/s)")
    if not result.complete:
        say(f"warning: recording incomplete ({s['input']['stopped_because']}); "
            "partial results kept")
    if s.get("movements_missing"):
        say(f"warning: session not complete: no usable {', '.join(s['movements_missing'])} "
            "(see the reason column of epochs.csv)")
    for line in result.found:
        say(f"found: {line}")
    for line in result.notices:
        say(f"warning: {line}")
    if result.session_row is not None:
        print_indices(result.session_row, result.epochs)
    say(f"outputs: {result.out_dir}/")
    made = s.get("annotated_video")
    if made and made.get("file"):
        say(f"annotated video: {result.out_dir / made['file']} ({made['frames']} frames, "
            f"{made['ms_per_frame']} ms per frame)")
    elif made:
        raise AnnotationError(f"annotated video not written: {made['error']}; the other outputs "
                              f"are in {result.out_dir}/")


def _date(text: str | None) -> str | None:
    from datetime import date

    from synktrack.errors import InputError

    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as err:
        raise InputError(f"--session-date {text!r} is not a date like 2026-11-21") from err
