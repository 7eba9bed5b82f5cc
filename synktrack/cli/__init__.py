"""Command-line interface: thin Typer commands over the library.

Each command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys

from synktrack.cli._app import app
from synktrack.errors import SynktrackError

# Importing a command module registers its commands.
from synktrack.cli import (  # noqa: E402,F401  isort: skip
    analyze_cmd,
    batch_cmd,
    check_cmd,
    demo_cmd,
    model_cmd,
    protocol_cmd,
    report_cmd,
)

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: one line per error, meaningful exit codes."""
    try:
        code = app(standalone_mode=False)
    except SynktrackError as err:
        print(f"synktrack: error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("synktrack: interrupted; finished outputs were kept", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            sys.exit(err.exit_code)
        if isinstance(err, click.exceptions.Abort):
            print("synktrack: aborted", file=sys.stderr)
            sys.exit(130)
        raise
    if isinstance(code, int) and code:  # Typer returns typer.Exit(n) and Ctrl-C (130)
        if code == 130:
            print("synktrack: interrupted; finished outputs were kept", file=sys.stderr)
        sys.exit(code)
