"""synktrack: side-faithful measurement of facial synkinesis from video.

The data flows one way::

    source -> landmarks -> measures -> epochs -> indices -> outputs

Public entry points are re-exported here lazily so that ``import synktrack``
stays cheap (MediaPipe is only imported when a landmarker is built).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "analyze_clip": "synktrack.analyze",
    "Recording": "synktrack.landmarks",
    "load_recording": "synktrack.landmarks",
    "measures_process": "synktrack.measures",
    "resolve_model": "synktrack.model",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synktrack' has no attribute {name!r}")
