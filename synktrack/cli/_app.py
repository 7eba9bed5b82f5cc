"""The Typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="synktrack",
    help=(
        "Measure facial synkinesis from a webcam or a recorded clip.\n\n"
        "Left and right are always the patient's own sides. Nothing leaves this computer."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _show_version(value: bool) -> None:
    if value:
        from synktrack import __version__

        typer.echo(f"synktrack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Show the version and exit.",
                                 is_eager=True, callback=_show_version),
) -> None:
    """Measure facial synkinesis from a webcam or a recorded clip."""
