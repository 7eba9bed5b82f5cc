"""``synktrack report`` (the therapist trend report) and ``synktrack events`` (treatments)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synktrack.cli._app import app
from synktrack.cli._progress import plural, results, say

events_app = typer.Typer(
    name="events",
    help=(
        "Record treatments and other events (botulinum toxin, therapy start, surgery, notes) "
        "for a subject. They are drawn on every time axis of the report."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(events_app, name="events")

SubjectOpt = Annotated[
    str | None, typer.Option("--subject", "-s", help="Subject id (default: 'default').",
                             show_default=False)]


@events_app.command("add")
def events_add(
    date: Annotated[str, typer.Option("--date", help="Day of the event, YYYY-MM-DD.",
                                      show_default=False)],
    kind: Annotated[str, typer.Option(
        "--kind", help="botox, therapy_start, surgery, note or other.", show_default=False)],
    subject: SubjectOpt = None,
    side: Annotated[str | None, typer.Option(
        "--side", help="Patient's side treated: left, right or both.", show_default=False)] = None,
    muscle: Annotated[str | None, typer.Option(
        "--muscle", help="Muscle(s) treated, e.g. 'orbicularis oculi'.",
        show_default=False)] = None,
    dose_units: Annotated[float | None, typer.Option(
        "--dose-units", help="Botulinum toxin dose in units.", show_default=False)] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free note.",
                                             show_default=False)] = None,
) -> None:
    """Add one event to the subject's events in the per-user store."""
    from synktrack.events import add_event, make_event

    event = make_event(date, kind, side, muscle, dose_units, note)
    add_event(subject, event)
    results.print(f"added for {subject or 'default'}: [{event.id}] {event.date.isoformat()} "
                  f"{event.describe()}", markup=False)


EventId = Annotated[str, typer.Argument(help="The event's id (see `synktrack events list`).",
                                        show_default=False)]


@events_app.command("remove")
def events_remove(event_id: EventId, subject: SubjectOpt = None) -> None:
    """Remove one event (by id) from the subject's events."""
    from synktrack.events import remove_event

    event = remove_event(subject, event_id)
    results.print(f"removed from {subject or 'default'}: [{event.id}] "
                  f"{event.date.isoformat()} {event.describe()}", markup=False)


@events_app.command("edit")
def events_edit(
    event_id: EventId,
    subject: SubjectOpt = None,
    date: Annotated[str | None, typer.Option("--date", help="New day, YYYY-MM-DD.",
                                             show_default=False)] = None,
    kind: Annotated[str | None, typer.Option(
        "--kind", help="botox, therapy_start, surgery, note or other.", show_default=False)] = None,
    side: Annotated[str | None, typer.Option(
        "--side", help="left, right or both ('' clears it).", show_default=False)] = None,
    muscle: Annotated[str | None, typer.Option("--muscle", help="Muscle(s) treated.",
                                               show_default=False)] = None,
    dose_units: Annotated[str | None, typer.Option(
        "--dose-units", help="Dose in units ('' clears it).", show_default=False)] = None,
    note: Annotated[str | None, typer.Option("--note", help="Free note.",
                                             show_default=False)] = None,
) -> None:
    """Correct one event (by id); options not given keep their value."""
    from synktrack.events import edit_event

    event = edit_event(subject, event_id, date=date, kind=kind, side=side, muscle=muscle,
                       dose_units=dose_units, note=note)
    results.print(f"edited for {subject or 'default'}: [{event.id}] {event.date.isoformat()} "
                  f"{event.describe()}", markup=False)


@events_app.command("list")
def events_list(subject: SubjectOpt = None) -> None:
    """Show the subject's events, oldest first."""
    from rich.console import Console
    from rich.table import Table

    from synktrack.events import read_events
    from synktrack.history import events_path

    path = events_path(subject)
    events = read_events(path, missing_ok=True)
    if not events:
        say(f"no events for subject {subject or 'default'} (add one with `synktrack events "
            "add`)")
        return
    table = Table(title=f"Events of {subject or 'default'}", title_justify="left")
    for col in ("id", "date", "kind", "side", "muscle", "dose", "note"):
        table.add_column(col, overflow="fold")
    for e in events:
        table.add_row(e.id, e.date.isoformat(), e.kind, e.side, e.muscle, e.dose_text(),
                      e.note)
    Console(soft_wrap=True).print(table)


@app.command()
def report(
    history: Annotated[Path, typer.Option(
        "--history", help="History CSV (one row per session; see `synktrack analyze "
                          "--history`).", show_default=False, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.",
                                      dir_okay=False)] = Path("report.html"),
    subject: Annotated[str | None, typer.Option(
        "--subject", "-s", help="Only this subject's sessions (column 'subject'); their "
                                "events come from the store unless --events is given.",
        show_default=False)] = None,
    events: Annotated[Path | None, typer.Option(
        "--events", help="Events CSV: date, kind, side, muscle, dose_units, note.",
        show_default=False, dir_okay=False)] = None,
    png: Annotated[Path | None, typer.Option(
        "--png", help="Also write every figure as a PNG into this folder.",
        show_default=False, file_okay=False)] = None,
) -> None:
    """Write one offline HTML trend report for a therapist.

    Trends of every index per side with healthy reference bands, target movement
    amplitudes, session quality, treatments on every time axis, change since
    baseline and since the previous session against the minimal detectable
    change, a table of sessions and the methods. Everything is inside the one
    file: it opens without network access and loads nothing from anywhere.
    """
    from synktrack.report.build import make_report

    result = make_report(history, out, subject=subject, events_file=events, png_dir=png)
    say(f"report: {result.path} ({plural(result.sessions, 'session')}, "
        f"{plural(result.events, 'event')}, "
        f"{result.seconds:.1f} s)")
    if result.pngs:
        say(f"figures: {png}/ ({len(result.pngs)} PNG)")
