"""`synktrack batch`: folders of clips in, one table of sessions out (local processes or Dask)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synktrack.cli._app import app
from synktrack.cli._progress import console, plural, say

if TYPE_CHECKING:
    from synktrack.batch import ClipOutcome


class Side(StrEnum):
    left = "left"
    right = "right"
    unknown = "unknown"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@app.command()
def batch(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Video files, folders (searched recursively) or glob patterns.",
                       show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "synktrack-batch"),
    protocol: Annotated[
        str | None, typer.Option(help="Protocol for every clip: built-in name, TOML file or "
                                      "'auto' (default: per-frame measures only).")
    ] = None,
    offset_s: Annotated[float, typer.Option(help="Time in each clip where the protocol "
                                                 "starts (s).")] = 0.0,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Clips analysed at once, one process "
                                                      "each (default: one per core).")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="CSV with per-clip path, subject, session_date, "
                                       "affected_side, protocol, mirrored, offset_s.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run on a Dask cluster: its scheduler address, e.g. "
                                      "tcp://10.0.0.5:8786 (needs synktrack\\[dask]).")
    ] = None,
    mirrored: Annotated[bool, typer.Option(help="Selfie-style (mirrored) videos.")] = False,
    affected_side: Annotated[
        Side, typer.Option(help="Patient's affected side, for asymmetry signs.")
    ] = Side.unknown,
    model: Annotated[
        Path | None, typer.Option(help="face_landmarker.task to use (default: see `synktrack "
                                       "model`).")
    ] = None,
    max_frames: Annotated[int | None, typer.Option(help="Stop each clip after this many "
                                                        "frames.")] = None,
) -> None:
    """Analyse every clip of folders or a manifest, in parallel, resumably.

    Each clip's outputs go to OUT/clips/<name>-<hash>/; clips already done with the
    same content and settings are skipped, so an interrupted run resumes. At the end,
    OUT/sessions.csv (one row per clip) and OUT/epochs.csv gather every finished clip,
    and OUT/errors.csv lists the clips that failed. Exit code: 0 when all clips are
    done, 1 when some failed, 2 when no clip was found.
    """
    from synktrack.batch import batch as run_batch
    from synktrack.batch import dask_client

    client = dask_client(scheduler) if scheduler else None
    if client is not None:
        say(f"dask: {scheduler} ({len(client.scheduler_info().get('workers', {}))} workers)")
    try:
        with _stop_on_sigterm(), _clip_progress() as progress:
            result = run_batch(
                inputs or [], out, executor=client, jobs=jobs or _cores(), manifest=manifest,
                protocol=protocol, offset_s=offset_s, affected_side=affected_side.value,
                mirrored=mirrored, model=model, max_frames=max_frames, progress=progress,
                announce=say)
    except KeyboardInterrupt:  # Typer would turn it into a return value that main() drops
        say(f"synktrack: interrupted; finished clips are kept in {out} and a rerun resumes")
        raise SystemExit(130) from None
    finally:
        if client is not None:
            client.close()
    n = {s: len(result.of(s)) for s in ("done", "skipped", "failed", "duplicate")}
    say(f"{n['done']} analysed, {n['skipped']} already done, {n['failed']} failed, "
        f"{n['duplicate']} duplicates left out ({result.seconds:.0f} s)")
    if n["duplicate"]:
        say(f"duplicates: {result.files['duplicates']}")
    if n["failed"]:
        say(f"failed clips: {result.files['errors']}")
    say(f"results: {result.files['sessions']} ({plural(len(result.sessions), 'clip')})")
    if result.exit_code:
        raise SystemExit(result.exit_code)


Update = Callable[[int, int, "ClipOutcome | None"], None]


@contextmanager
def _clip_progress() -> Iterator[Update]:
    """An overall bar with ETA on a terminal; one line per clip otherwise (logs)."""
    if not sys.stderr.isatty():
        def line(done: int, total: int, o: ClipOutcome | None) -> None:
            _line(f"{plural(total, 'clip')} to analyse" if o is None
                  else f"[{done}/{total}] {_describe(o)}")

        yield line
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("Analysing"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("clips"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("clips", total=None)

        def update(done: int, total: int, o: ClipOutcome | None) -> None:
            bar.update(task, completed=done, total=total)
            if o is not None and o.status == "failed":
                _line(_describe(o))

        yield update


def _line(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _describe(o: ClipOutcome) -> str:
    if o.status == "failed":
        return f"failed: {o.clip_path}: {o.reason}"
    return f"done: {o.clip_path} ({o.frames} frames, {o.seconds:.1f} s)"


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Treat `kill` like Ctrl-C: stop the workers and keep every finished clip."""
    def stop(signum: int, frame: FrameType | None) -> Any:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
