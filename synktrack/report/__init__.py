"""Reports for clinicians: the offline HTML trend report and the per-session summary figure.

``build_report``/``make_report`` write the trend report (see :mod:`synktrack.report.build`);
``summary_figure`` draws one session's summary (see :mod:`synktrack.report.summary`).
Submodules are imported on first use, so ``import synktrack.report`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "ReportResult": "synktrack.report.build",
    "build_report": "synktrack.report.build",
    "make_report": "synktrack.report.build",
    "load_report_data": "synktrack.report.data",
    "summary_figure": "synktrack.report.summary",
    "fake_history": "synktrack.report.fake",
    "fake_events": "synktrack.report.fake",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synktrack.report' has no attribute {name!r}")
