"""Build the therapist trend report: one offline HTML file (and, optionally, the PNGs)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure as MplFigure

from synktrack.atomic import write_text
from synktrack.events import Event
from synktrack.report import figures as figs
from synktrack.report.data import ReportData, load_report_data
from synktrack.report.page import Figure, band_caption, page
from synktrack.report.reference import label
from synktrack.report.stats import all_changes
from synktrack.report.style import png_bytes, styled
from synktrack.report.tables import events_table, glance_table, key_findings, sessions_table
from synktrack.schema import SYNKINESIS_INDICES, TARGET_INDICES


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    path: Path
    sessions: int
    events: int
    seconds: float
    pngs: list[Path] = field(default_factory=list)


def _render(fig: MplFigure) -> bytes:
    return png_bytes(fig)


def render_figures(data: ReportData) -> dict[str, list[Figure]]:
    """All figures of the report, by section: timeline, synkinesis, target, quality."""
    h = data.history
    axis = figs.time_axis(h["date"], data.events)
    out: dict[str, list[Figure]] = {"timeline": [], "synkinesis": [], "target": [],
                                    "quality": []}
    with styled():
        if len(h) or axis.events:
            out["timeline"].append(Figure(
                "timeline", _render(figs.timeline_figure(h, axis)),
                "Sessions and events on a time line",
                "Each tick is a session; numbered lines are the events listed below."))
        if h.empty:
            return out
        for group, stems in (("synkinesis", SYNKINESIS_INDICES), ("target", TARGET_INDICES)):
            for stem in stems:
                fig = figs.trend_figure(h, stem, data.affected_side, axis)
                out[group].append(Figure(f"trend_{stem}", _render(fig),
                                         f"{label(stem)} over time, left and right",
                                         band_caption(stem)))
        out["quality"].append(Figure(
            "quality", _render(figs.quality_figure(h, axis)),
            "Session quality over time",
            "Usable frames: share of frames with a well-measured face (head not turned too "
            "far, face large enough, steady landmarks). Triangles: sessions where a movement "
            "was forceful and synktrack asked for gentler movements."))
    return out


def _sections(data: ReportData, figures: dict[str, list[Figure]]) -> list[tuple[str, str, str]]:
    changes = all_changes(data.history)
    drawn = {n for n, _ in figs.time_axis(data.history["date"], data.events).events}
    has = not data.history.empty

    def block(name: str) -> str:
        return "".join(f.html() for f in figures[name])

    legend = ("<p class='muted'>Left and right are the patient's sides: left = filled "
              "circles, solid line; right = open squares, dashed line. Numbered vertical lines "
              "are the events.</p>")
    glance_intro = (
        "<p>Baseline is the first session with a value, latest the last, previous the one "
        "before it. Change is shown against the minimal detectable change (MDC95): a change "
        "smaller than it can be measurement noise (see Methods); ▲/▼ mark changes beyond "
        "it. † a synktrack convention ('little movement expected'), not a published range."
        "</p>")
    sections = [
        ("events", "Treatments and events",
         block("timeline") + events_table(data.events, drawn)),
    ]
    if has:
        sections += [
            ("glance", "Change at a glance", glance_intro
             + glance_table(changes, data.affected_side)),
            ("synkinesis", "Synkinesis signs over time", legend + block("synkinesis")),
            ("target", "Target movements: moving less, or more?",
             "<p>How far the intended movement goes. Compare the affected with the other "
             "side; a drop after an injection can be the treatment's effect.</p>"
             + block("target")),
            ("quality", "Session quality", block("quality")),
            ("sessions", "All sessions",
             "<p class='muted'>Values are left / right. ▲/▼: change since the previous "
             "session beyond the MDC95. Bold usable frames: below 70 %.</p>"
             "<div class='scroll'>" + sessions_table(data.history, data.events) + "</div>"),
        ]
    return sections


def build_report(data: ReportData, out: str | os.PathLike[str],
                 png_dir: str | os.PathLike[str] | None = None) -> ReportResult:
    """Write the report for ``data`` to ``out`` (atomically); the PNGs to ``png_dir`` too.

    Returns
    -------
    ReportResult
    """
    from synktrack import __version__ as version
    from synktrack.provenance import now_iso

    t0 = time.perf_counter()
    figures = render_figures(data)
    h = data.history
    period = "no sessions"
    if len(h):
        first, last = f"{h['date'].iloc[0]:%Y-%m-%d}", f"{h['date'].iloc[-1]:%Y-%m-%d}"
        period = first if first == last else f"{first} to {last}"
    meta = [("Subject", data.subject or "—"), ("Affected side", data.affected_side),
            ("Sessions", str(len(h))), ("Period", period)]
    if h.empty:
        findings = ["No sessions in this history yet: record and analyse a session with "
                    "<code>synktrack analyze --history FILE</code>, then build the report "
                    "again."]
    else:
        findings = key_findings(h, all_changes(h), data.affected_side)
    footer = (f"Made by synktrack {version} on {now_iso()[:16].replace('T', ' ')} from "
              f"{data.source or 'a history file'}, offline: this file loads nothing from "
              "the network.")
    title = "Synkinesis trend report" + (f": {data.subject}" if data.subject else "")
    html = page(title, meta, data.notes, findings, _sections(data, figures), footer)
    out = Path(out)
    write_text(out, html)
    pngs = _write_pngs(figures, png_dir) if png_dir is not None else []
    return ReportResult(out, len(h), len(data.events), time.perf_counter() - t0, pngs)


def _write_pngs(figures: dict[str, list[Figure]], png_dir: str | os.PathLike[str]) -> list[Path]:
    from synktrack.atomic import atomic_path

    folder = Path(png_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for group in figures.values():
        for f in group:
            path = folder / f"{f.name}.png"
            with atomic_path(path) as tmp:
                tmp.write_bytes(f.png)
            paths.append(path)
    return paths


def make_report(history_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
                subject: str | None = None, events_file: str | os.PathLike[str] | None = None,
                events: Sequence[Event] | None = None,
                png_dir: str | os.PathLike[str] | None = None) -> ReportResult:
    """Read a history (and events) and write the report.

    Parameters
    ----------
    history_file
        History CSV (``synktrack analyze --history``).
    out
        The HTML file to write.
    subject
        Report on this subject only.
    events_file
        Events CSV; default: the subject's events in the store.
    events
        Events to use instead of any file.
    png_dir
        Also write every figure as a PNG here.
    """
    data = load_report_data(history_file, subject, events_file)
    if events is not None:
        from synktrack.events import sort_events

        data.events = sort_events(events)
    return build_report(data, out, png_dir)


__all__ = ["ReportResult", "build_report", "make_report", "render_figures"]
