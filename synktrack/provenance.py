"""Provenance: versions and environment recorded with every output."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import synktrack


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, Any]:
    """Versions of synktrack and the packages whose numbers it reports."""
    return {
        "synktrack": synktrack.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **{
            name: package_version(name)
            for name in ("mediapipe", "opencv-contrib-python", "numpy", "scipy", "pandas", "av")
        },
    }


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")
