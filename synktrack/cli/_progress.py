"""Results and listings on stdout; progress bars and messages on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True, highlight=False)  # progress and diagnostics
results = Console(highlight=False)  # results and listings (stdout: `> out.txt` keeps them)


def plural(n: int, word: str) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def number(value: float, decimals: int) -> str:
    """``value`` rounded to ``decimals``, never written ``-0`` or ``-0.0``."""
    return f"{round(float(value), decimals) + 0.0:.{decimals}f}"


def say(message: str) -> None:
    """One line for the user, on stderr (never wrapped: a message stays one line)."""
    console.print(message, markup=False, soft_wrap=True)


@contextmanager
def frame_progress(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A per-clip progress bar; yields ``update(done, total)``."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("frames"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            if done % 5 == 0 or done == total:
                bar.update(task, completed=done, total=total)

        yield update


def print_indices(row: dict, epochs: object = None,
                  injected: dict[str, tuple[float, float]] | None = None) -> None:
    """A compact per-side table of the session's main indices (optionally beside the truth),
    on stdout."""
    import math

    from rich.table import Table

    from synktrack.schema import INDICES, index_column

    table = Table(title="Session indices (patient's sides)", title_justify="left")
    table.add_column("index")
    table.add_column("left", justify="right")
    table.add_column("right", justify="right")
    if injected:
        table.add_column("injected L / R", justify="right")
    for stem, (unit, _) in INDICES.items():
        vals = [row.get(index_column(stem, s)) for s in ("left", "right")]
        cells = ["-" if v is None or (isinstance(v, float) and math.isnan(v)) else number(v, 1)
                 for v in vals]
        extra = []
        if injected:
            truth = injected.get(stem)
            extra = [f"{truth[0]:.1f} / {truth[1]:.1f}" if truth else ""]
        table.add_row(f"{stem}{unit.replace('_', ' ')}", *cells, *extra)
    results.print(table)
    for side in ("left", "right"):
        if row.get(f"synkinesis_suspected_{side}"):
            results.print(f"[bold]flag ({side}):[/bold] {row[f'synkinesis_reason_{side}']}")
    if row.get("gentler_please"):
        results.print(f"gentler please: {row['gentler_reason']}")
    results.print(f"usable frames {100 * float(row.get('usable_frame_fraction', 0)):.0f} %, "
                  f"epochs usable {row.get('epochs_usable')}/{row.get('epochs_total')}, "
                  f"blinks {row.get('blinks_n')}, "
                  f"complete {'yes' if row.get('complete') else 'no'}",
                  markup=False)
