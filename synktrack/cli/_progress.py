"""Progress bars and messages on stderr (stdout stays clean for data)."""

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

console = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """One line for the user, on stderr."""
    console.print(message, markup=False)


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
