"""The report page: one self-contained HTML document (inline CSS, figures as data: PNGs).

Nothing in it points outside the file: no scripts, fonts or style sheets are
fetched, and references are plain text.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from synktrack.report.reference import (
    BANDS,
    DISCLAIMER,
    HOW,
    MDC_TEXT,
    PIPELINE,
    REFERENCES,
    description,
    group_of,
    label,
)
from synktrack.schema import INDICES, QUALITY_COLUMNS, SIDES, index_column

CSS = """
:root { --ink:#1b1b1b; --muted:#5f5f5f; --rule:#d4d4d4; --accent:#1d3f78; --soft:#f3f4f6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--ink); background: #fff; max-width: 1060px; margin: 0 auto;
       padding: 20px 28px 40px; }
h1 { font-size: 23px; margin: 0 0 2px; font-weight: 650; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 3px; border-bottom: 2px solid
     var(--accent); color: var(--accent); }
h3 { font-size: 14px; margin: 16px 0 4px; }
p { margin: 6px 0; }
.meta { color: var(--muted); margin: 2px 0 10px; }
.meta b { color: var(--ink); font-weight: 600; }
.disclaimer { background: var(--soft); border-left: 4px solid #8a8a8a; padding: 6px 10px;
              margin: 10px 0; font-size: 13px; }
.notes { background: #fff8e8; border-left: 4px solid #a66f00; padding: 6px 10px;
         margin: 10px 0; font-size: 13px; }
.findings { margin: 4px 0 0; padding-left: 20px; }
.findings li { margin: 3px 0; }
nav { font-size: 13px; color: var(--muted); margin: 6px 0 0; }
nav a { color: var(--accent); margin-right: 12px; text-decoration: none; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 6px; text-align: left;
         vertical-align: top; }
thead th { border-bottom: 2px solid #888; font-weight: 600; background: #fafafa; }
tr.group th { background: var(--soft); font-weight: 650; padding-top: 6px; }
td.idx { font-weight: 600; min-width: 11em; }
td.side { white-space: nowrap; }
.unit, .muted { color: var(--muted); font-weight: normal; }
table.glance .num { white-space: nowrap; }
table.glance td.change { min-width: 7.5em; }
table.glance td.idx { min-width: 9em; }
.scroll { overflow-x: auto; }
table.sessions { font-size: 11px; }
table.sessions td, table.sessions th { padding: 2px 5px; white-space: nowrap; }
table.sessions th { white-space: normal; min-width: 62px; }
table.sessions tr.event td { background: var(--soft); font-style: italic; white-space: normal; }
td.low { font-weight: 700; }
figure { margin: 12px 0 18px; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 3px; }
dl.methods dt { font-weight: 650; margin-top: 10px; }
dl.methods dd { margin: 2px 0 0 0; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
       font-size: 11.5px; background: var(--soft); padding: 0 3px; }
ol.refs { padding-left: 0; list-style: none; font-size: 12.5px; }
ol.refs li { margin: 4px 0; }
footer { margin-top: 26px; border-top: 1px solid var(--rule); padding-top: 6px;
         color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 12mm 11mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .newpage { break-before: page; page-break-before: always; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  table.sessions { font-size: 6.6pt; }
  table.sessions th { min-width: 0; }
  .scroll { overflow: visible; }
  figure img { border: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


@dataclass(frozen=True)
class Figure:
    """A rendered figure: file name stem, PNG bytes, alt text and caption (HTML)."""

    name: str
    png: bytes
    alt: str
    caption: str = ""

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        cap = f"<figcaption>{self.caption}</figcaption>" if self.caption else ""
        return (f'<figure id="fig-{escape(self.name)}"><img alt="{escape(self.alt)}" '
                f'src="data:image/png;base64,{data}">{cap}</figure>')


def band_caption(stem: str) -> str:
    """Where the grey band of an index comes from (or that it has none)."""
    band = BANDS.get(stem)
    cols = ", ".join(f"<code>{index_column(stem, s)}</code>" for s in SIDES)
    if band is None:
        if group_of(stem) == "target":
            return ("No healthy band: how far a movement goes varies between people, so the "
                    f"patient's other side is the reference. Columns: {cols}.")
        return f"No published healthy band is drawn. Columns: {cols}."
    return f"Grey band: {escape(band.source)} Columns: {cols}."


def methods_html() -> str:
    """How every index is computed, change and quality definitions, references."""
    items = []
    for stem in INDICES:
        cols = ", ".join(f"<code>{index_column(stem, s)}</code>" for s in SIDES)
        band = BANDS.get(stem)
        ref = f" <em>Reference band:</em> {escape(band.source)}" if band else ""
        items.append(f"<dt>{escape(label(stem))}</dt><dd>{escape(HOW[stem])} "
                     f"<span class='muted'>Definition: {escape(description(stem))}. "
                     f"Columns: {cols}.</span>{ref}</dd>")
    quality = "".join(f"<li><code>{escape(c)}</code>: {escape(d)}</li>"
                      for c, d in QUALITY_COLUMNS.items() if c != "norms_note")
    refs = "".join(f"<li>{escape(r)}</li>" for r in REFERENCES)
    pipeline = "".join(f"<p>{escape(p)}</p>" for p in PIPELINE)
    return (f'<section id="methods" class="newpage"><h2>Methods</h2>{pipeline}'
            f'<h3>Indices</h3><dl class="methods">{"".join(items)}</dl>'
            f"<h3>Change and measurement noise</h3><p>{escape(MDC_TEXT)}</p>"
            f"<h3>Session quality</h3><ul>{quality}</ul>"
            f'<h3>References</h3><ol class="refs">{refs}</ol></section>')


def page(title: str, meta: Sequence[tuple[str, str]], notes: Sequence[str],
         findings: Sequence[str], sections: Sequence[tuple[str, str, str]],
         footer: str) -> str:
    """The whole document.

    Parameters
    ----------
    title
        Heading (plain text).
    meta
        (label, value) pairs under the heading (plain text).
    notes
        Data notes (plain text), shown in a box when present.
    findings
        Key findings (HTML).
    sections
        (id, heading, HTML body) in order.
    footer
        Footer text (plain).
    """
    meta_html = " &nbsp;·&nbsp; ".join(f"{escape(k)} <b>{escape(v)}</b>" for k, v in meta)
    notes_html = ("<div class='notes'><strong>About the data:</strong> "
                  + " ".join(escape(n) for n in notes) + "</div>") if notes else ""
    nav = "".join(f'<a href="#{sid}">{escape(h)}</a>' for sid, h, _ in sections)
    nav += '<a href="#methods">Methods</a>'
    body = "".join(f'<section id="{sid}"><h2>{escape(h)}</h2>{html}</section>'
                   for sid, h, html in sections)
    items = "".join(f"<li>{f}</li>" for f in findings)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"referrer\" content=\"no-referrer\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p class='meta'>{meta_html}</p>"
        f"<div class='disclaimer'>{escape(DISCLAIMER)}</div>{notes_html}"
        f"<nav>{nav}</nav></header>"
        f"<section id='summary'><h2>Summary</h2><ul class='findings'>{items}</ul></section>"
        f"{body}{methods_html()}"
        f"<footer>{escape(footer)}<br>{escape(DISCLAIMER)}</footer></body></html>\n"
    )
