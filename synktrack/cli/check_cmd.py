"""`synktrack check`, `synktrack record` and `synktrack history`: the patient's weekly check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synktrack.cli._app import AffectedSide, app
from synktrack.cli._progress import number, plural, results, say

_SIDE_HELP = "The side affected by the palsy (left, right or unknown), for asymmetry signs."


@app.command()
def check(
    subject: Annotated[str | None, typer.Option(help="Subject id (default: 'default').")] = None,
    protocol: Annotated[str, typer.Option(help="Built-in protocol name or TOML file.")] =
    "weekly-check",
    affected_side: Annotated[AffectedSide, typer.Option(help=_SIDE_HELP, case_sensitive=False)
                             ] = AffectedSide.unknown,
    keep_video: Annotated[bool, typer.Option(help="Tick 'keep my video' by default.")] = False,
    no_browser: Annotated[bool, typer.Option("--no-browser",
                                             help="Print the address instead of opening it.")]
    = False,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = a free one).")] = 0,
    model: Annotated[Path | None, typer.Option(help="face_landmarker.task to use.")] = None,
    idle_timeout: Annotated[float, typer.Option(hidden=True)] = 20.0,
    ready_s: Annotated[float, typer.Option(hidden=True)] = 3.0,
) -> None:
    """A guided weekly check in a private page on this computer (nothing leaves it).

    Opens the browser on a local page that checks the framing, prompts each
    movement with a countdown, and shows this week's results and the trend.
    The session is stored with the subject's history; the video is deleted
    unless the patient ticks "keep my video".
    """
    from synktrack.model import resolve_model
    from synktrack.protocol import load_protocol
    from synktrack.web import CheckSettings, run_check
    from synktrack.web.server import check_port

    check_port(port)  # a wrong port is said at once, before the model loads
    proto = load_protocol(protocol)
    resolved = resolve_model(model, announce=say)
    settings = CheckSettings(idle_timeout_s=idle_timeout, ready_s=ready_s)
    summaries = run_check(proto, resolved, subject=subject,
                          affected_side=affected_side.value, keep_video=keep_video,
                          port=port, open_browser=not no_browser, settings=settings, say=say)
    for s in summaries:
        _print_summary(s)


def _print_summary(s: dict[str, Any]) -> None:
    from rich.table import Table

    state = "complete" if s.get("complete") else "INCOMPLETE"
    table = Table(title=f"Session {s.get('session_id', '')} ({state})")
    for col in ("measure", "left", "right"):
        table.add_column(col)
    for ix in s.get("indices", []):
        table.add_row(ix["label"], _fmt(ix.get("left"), ix["unit"]),
                      _fmt(ix.get("right"), ix["unit"]))
    results.print(table)
    for line in s.get("changes", []):
        results.print(line, markup=False)


def _fmt(value: Any, unit: str) -> str:
    if value is None or value != value:
        return "-"
    return f"{number(value, 0 if unit == '%' else 1)} {unit}"


@app.command()
def history(
    subject: Annotated[str | None, typer.Option(help="Subject id (default: 'default').")] = None,
    history_file: Annotated[Path | None, typer.Option(
        "--history", help="A history CSV (e.g. written by `synktrack analyze --history FILE`) "
                          "instead of the subject's in the per-user store.",
        show_default=False, dir_okay=False)] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print the raw CSV instead.")] = False,
) -> None:
    """Print a session history (one row per session): the subject's, or --history FILE."""
    import math

    from rich.table import Table

    from synktrack.errors import InputError
    from synktrack.history import history_path
    from synktrack.schema import index_column
    from synktrack.web.summary import MAIN_INDICES, history_rows

    if history_file is not None:
        path = history_file
        if not path.is_file():
            raise InputError(f"no history file at {path}: give the CSV that `synktrack analyze "
                             "--history` wrote")
    else:
        path = history_path(subject)
        if not path.exists():
            raise InputError(f"no history for subject {subject or 'default'!r} yet ({path}): "
                             "run `synktrack check` (or `synktrack analyze --history FILE`, "
                             "then `synktrack history --history FILE`)")
    if csv:
        from synktrack.history import read_history

        read_history(path)  # an unreadable file is one line, not a traceback
        typer.echo(path.read_text("utf-8"), nl=False)
        return
    rows = history_rows(path)
    if subject is not None and history_file is not None:
        rows = [r for r in rows if str(r.get("subject") or "") == subject]
    who = subject or ("all subjects" if history_file is not None else "default")
    table = Table(title=f"synktrack history: {who} ({path})")
    table.add_column("date")
    table.add_column("session", no_wrap=True)
    table.add_column("done")
    shown = MAIN_INDICES[:4]
    for _, label, unit, _same in shown:
        table.add_column(f"{label} ({unit})\nleft / right", justify="right")
    table.add_column("flag")
    for r in rows:
        cells = [str(r.get("session_date") or "")[:10], str(r.get("session_id", "")),
                 "yes" if r.get("complete") in (1, 1.0, "1") else "no"]
        for stem, _label, unit, _same in shown:
            vals = []
            for side in ("left", "right"):
                v = r.get(index_column(stem, side))
                ok = isinstance(v, int | float) and math.isfinite(v)
                vals.append(_fmt(v, unit).removesuffix(unit).strip() if ok else "-")
            cells.append(" / ".join(vals))
        flags = [s for s in ("left", "right") if r.get(f"synkinesis_suspected_{s}") in (1, 1.0)]
        cells.append(", ".join(flags) or "")
        table.add_row(*cells)
    results.print(table)
    say(plural(len(rows), "session"))


@app.command()
def record(
    camera: Annotated[int, typer.Option(help="Camera number.")] = 0,
    subject: Annotated[str | None, typer.Option(help="Subject id (default: 'default').")] = None,
    protocol: Annotated[str, typer.Option(help="Built-in protocol name or TOML file.")] =
    "weekly-check",
    affected_side: Annotated[AffectedSide, typer.Option(help=_SIDE_HELP, case_sensitive=False)
                             ] = AffectedSide.unknown,
    model: Annotated[Path | None, typer.Option(help="face_landmarker.task to use.")] = None,
    source: Annotated[Path | None, typer.Option(hidden=True, help="Video file instead of the "
                                                "camera (for tests).")] = None,
    snapshots: Annotated[Path | None, typer.Option(hidden=True)] = None,
    close_after: Annotated[float | None, typer.Option(hidden=True)] = None,
) -> None:
    """The weekly check in a desktop window, for computers without a browser.

    Shows the camera with the same prompts and countdown as `synktrack check`;
    Space or Enter starts, Esc stops (what was recorded is kept, marked
    incomplete). Stores the session and history row the same way.
    """
    from synktrack.model import resolve_model
    from synktrack.protocol import load_protocol
    from synktrack.record import record_session

    proto = load_protocol(protocol)
    resolved = resolve_model(model, announce=say)
    summary = record_session(source if source is not None else camera, proto, resolved,
                             subject=subject, affected_side=affected_side.value,
                             snapshots=snapshots, close_after=close_after, say=say)
    _print_summary(summary)
