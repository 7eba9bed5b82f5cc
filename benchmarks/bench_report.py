"""Build time of the therapist trend report for a year of weekly sessions.

Usage::

    python benchmarks/bench_report.py [--sessions N] [--repeat R] [--keep DIR]

Writes a synthetic history (:mod:`synktrack.report.fake`, three events) to a
temporary folder, then builds the report R times and prints the wall-clock and
CPU time of each build (reading the history, drawing every figure, writing the
HTML). Goal: under 5 s for 52 sessions.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from synktrack.events import events_frame
from synktrack.report.build import make_report
from synktrack.report.fake import fake_events, fake_history

GOAL_S = 5.0


def bench(folder: Path, sessions: int, repeat: int) -> list[tuple[float, float]]:
    """Build the report ``repeat`` times; (wall, cpu) seconds of each build."""
    history = fake_history(folder / "history.csv", sessions, subject="bench")
    events = folder / "events.csv"
    events_frame(fake_events()).to_csv(events, index=False)
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        make_report(history, folder / "report.html", subject="bench", events_file=events)
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the history and report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        times = bench(folder, args.sessions, args.repeat)
        size = (folder / "report.html").stat().st_size
    for i, (wall, cpu) in enumerate(times, start=1):
        note = "" if i > 1 else "  (first build: imports, font cache)"
        print(f"build {i}: {wall:.2f} s wall, {cpu:.2f} s CPU{note}")
    best = min(w for w, _ in times)
    verdict = "meets" if best < GOAL_S else "MISSES"
    print(f"{args.sessions} sessions, report {size / 1e6:.2f} MB: best {best:.2f} s "
          f"({verdict} the {GOAL_S:.0f} s goal)")
    if hasattr(os, "getloadavg"):  # wall time on a busy machine is not the build's own cost
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(wall time is close to CPU time on an idle machine)")


if __name__ == "__main__":
    main()
