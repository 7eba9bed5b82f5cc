"""What the benchmarks and the tests share: where ``../shared`` is, and the one model lookup.

Benchmarks run as ``python benchmarks/NAME.py`` (this folder is then on ``sys.path``); the tests'
``conftest.py`` puts this folder on ``sys.path`` and imports it too, so the face model is found
the same way everywhere: ``SYNKTRACK_MODEL`` if set, else ``../shared/models/face_landmarker.task``
beside the checkout, else whatever :func:`synktrack.model.resolve_model` finds (the cache).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synktrack.model import ResolvedModel

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_MODEL = SHARED / "models" / "face_landmarker.task"


def use_shared_model() -> None:
    """Point ``SYNKTRACK_MODEL`` at ``../shared``'s model when it is unset and that file exists."""
    if not os.environ.get("SYNKTRACK_MODEL") and SHARED_MODEL.is_file():
        os.environ["SYNKTRACK_MODEL"] = str(SHARED_MODEL)


def resolved_model() -> ResolvedModel:
    """The face model as the CLI resolves it, after :func:`use_shared_model`."""
    from synktrack.model import resolve_model

    use_shared_model()
    return resolve_model()


def model_path() -> Path:
    """Path of :func:`resolved_model`."""
    return resolved_model().path
