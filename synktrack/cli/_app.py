"""The Typer application that every command module registers on."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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


class AffectedSide(StrEnum):
    """The side affected by the palsy (the patient's own), for asymmetry signs."""

    left = "left"
    right = "right"
    unknown = "unknown"


def _hide_flag_types() -> None:
    """Show no type after plain flags in ``--help`` (typer 0.29 prints ``<bool>`` there)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()


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
