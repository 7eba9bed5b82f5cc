"""Command-line interface: thin Typer commands over the library.

Each command lives in its own module and registers itself on :data:`app`.
Every failure reaches the user as one line on stderr and a documented exit
code (see the README's exit-code table):

====  =========================================================
0     done
1     unexpected internal error (please report it)
2     bad input or usage (nothing written)
3     no face in any frame (outputs written, marked face_present = 0)
4     an output place cannot be written (earlier files untouched)
5     ``analyze --annotated-video``: the video could not be made (other outputs written)
130   interrupted (finished outputs kept)
====  =========================================================
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

from synktrack.cli._app import app
from synktrack.errors import SynktrackError, one_line

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

__all__ = ["app", "main", "one_line"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int) -> NoReturn:
    print(f"synktrack: error: {one_line(message)}", file=sys.stderr)
    sys.exit(code)


def _usage_message(err: typer.TyperException) -> str:
    """One line for a usage mistake, with where to find help."""
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    ctx = getattr(err, "ctx", None)
    where = ctx.command_path if ctx is not None else "synktrack"
    if isinstance(err, NoArgsIsHelpError):
        return f"{where} needs a command or an argument; see `{where} --help`"
    text = err.format_message()
    if isinstance(err, UsageError):
        return f"{text} (see `{where} --help`)"
    return text


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """Python warnings reach the user as one ``warning:`` line, without source lines."""
    print(f"warning: {one_line(message)}", file=sys.stderr)


def _quiet_warnings() -> None:
    import warnings

    warnings.showwarning = _show_warning
    # numeric noise (all-NaN slices, empty means) is handled by the analysis itself
    warnings.filterwarnings("ignore", category=RuntimeWarning)


def main() -> None:
    """Console-script entry point: one line per error, meaningful exit codes."""
    if not os.environ.get("SYNKTRACK_DEBUG"):
        _quiet_warnings()
    try:
        code = app(standalone_mode=False)
    except SynktrackError as err:
        _fail(str(err), err.exit_code)
    except KeyboardInterrupt:
        print("synktrack: interrupted; finished outputs were kept", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except typer.Abort:  # Ctrl-C or EOF at a prompt
        print("synktrack: aborted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as err:
        # typer >= 0.29 vendors click: usage errors are typer._click.exceptions.*,
        # all subclasses of the public typer.TyperException.
        code = getattr(err, "exit_code", EXIT_USAGE)
        _fail(_usage_message(err), code if code else EXIT_USAGE)
    except BrokenPipeError:  # stdout closed early (`synktrack ... | head`)
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except RecursionError:
        _fail("an input file is nested too deeply to read", EXIT_USAGE)
    except MemoryError:
        _fail("out of memory: try a shorter clip or --max-frames", EXIT_INTERNAL)
    except Exception as err:  # a bug: one line for the user, the traceback on request
        if os.environ.get("SYNKTRACK_DEBUG"):
            raise
        _fail(f"internal error ({type(err).__name__}: {err}); please report it, with the "
              "traceback from SYNKTRACK_DEBUG=1", EXIT_INTERNAL)
    if isinstance(code, int) and code:  # Typer returns typer.Exit(n) and Ctrl-C (130)
        if code == EXIT_INTERRUPTED:
            print("synktrack: interrupted; finished outputs were kept", file=sys.stderr)
        sys.exit(code)
