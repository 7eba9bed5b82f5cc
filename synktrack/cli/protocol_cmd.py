"""`synktrack protocols`: list and show guided-session protocols."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from synktrack.cli._app import app

out = Console(highlight=False)  # listings are data: stdout


@app.command()
def protocols(
    name: Annotated[
        str | None, typer.Argument(help="Show the steps of this protocol (name or TOML file).",
                                   show_default=False)
    ] = None,
) -> None:
    """List the built-in guided-session protocols, or show one's steps."""
    from rich.table import Table

    from synktrack.protocol import builtin_names, load_protocol

    if name is None:
        table = Table(title="Built-in protocols", title_justify="left")
        for col in ("name", "version", "length", "movements", "description"):
            table.add_column(col)
        for n in builtin_names():
            p = load_protocol(n)
            table.add_row(p.name, str(p.version), f"{p.duration_s:.0f} s",
                          ", ".join(p.movements()), p.description)
        out.print(table)
        out.print("Use one with `synktrack analyze VIDEO --protocol NAME`, or write your own "
                      "TOML file (see `synktrack protocols weekly-check`).", markup=False)
        return
    p = load_protocol(name)
    table = Table(title=f"{p.name} v{p.version} ({p.duration_s:.0f} s)", title_justify="left")
    for col in ("start", "movement", "seconds", "prompt"):
        table.add_column(col)
    for s in p.steps:
        table.add_row(f"{s.start_s:.0f} s", s.movement, f"{s.duration_s:g}", s.prompt)
    out.print(table)
