"""Provenance: versions and environment recorded with every output."""

from __future__ import annotations

import hashlib
import os
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


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 (64 lower-case hex digits) of a file's bytes, read in chunks.

    The one checksum of the package: the model's verification and every input recorded in
    provenance use it. ``OSError`` propagates; callers say what it means for them.
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
