"""The check server under hostile or clumsy clients: 4xx not 500, a quiet terminal.

The server runs as the patient starts it (``synktrack check`` through the console
script), so anything it prints on the patient's terminal is seen here.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_tools import assert_one_line_error, run_cli, synktrack_cmd


class Check:
    def __init__(self, proc: subprocess.Popen[str], url: str, store: Path) -> None:
        self.proc, self.store = proc, store
        parts = urllib.parse.urlsplit(url)
        self.port = int(parts.port or 0)
        self.token = urllib.parse.parse_qs(parts.query)["t"][0]

    def raw(self, request: bytes, read: bool = True) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as s:
            s.sendall(request)
            if not read:
                return b""
            chunks = []
            while True:
                got = s.recv(65536)
                if not got:
                    break
                chunks.append(got)
        return b"".join(chunks)

    def post(self, path: str, body: bytes, extra: str = "") -> int:
        head = (f"POST {path}?t={self.token} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n")
        reply = self.raw(head.encode() + body)
        return int(reply.split(b" ", 2)[1])


@pytest.fixture()
def check(tmp_path: Path, model_path: Path) -> Iterator[Check]:
    store = tmp_path / "store"
    env = {**os.environ, "SYNKTRACK_DATA_DIR": str(store), "SYNKTRACK_MODEL": str(model_path),
           "NO_COLOR": "1"}
    proc = subprocess.Popen([*synktrack_cmd(), "check", "--no-browser", "--idle-timeout", "4",
                             "--subject", "pat"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        yield Check(proc, url, store)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def finish(check: Check) -> str:
    """Wait for the server to stop by itself (the 'page' went silent); its stderr."""
    _, err = check.proc.communicate(timeout=60)
    assert check.proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Errno" not in err, err
    return err


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR of the given size with a tiny (wrong) IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.slow
def test_hostile_requests_get_4xx_and_the_terminal_stays_quiet(check: Check) -> None:
    # a Content-Length that str.isdigit() accepts but int() does not
    head = (f"POST /api/session/start?t={check.token} HTTP/1.1\r\nHost: 127.0.0.1:{check.port}"
            f"\r\nContent-Length: \u00b2\r\nConnection: close\r\n\r\n").encode()
    reply = check.raw(head)
    assert reply.split(b" ", 2)[1] == b"411"
    # JSON nested 60 000 deep (under the 64 KB cap)
    assert check.post("/api/session/start", b"[" * 60000 + b"]" * 10) == 400
    assert check.post("/api/session/start", b"[" * 30000 + b"]" * 30000) == 400
    # a decoding bomb: 16000 x 16000 pixels announced in 100 bytes
    t0 = time.monotonic()
    assert check.post("/api/frame", _png_header_only(16000, 16000)) == 400
    assert time.monotonic() - t0 < 5
    # clients that hang up before the answer (reset, not a polite close)
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", check.port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(f"GET /?t={check.token} HTTP/1.1\r\nHost: 127.0.0.1:{check.port}\r\n\r\n"
                  .encode())
        s.close()
    err = finish(check)
    assert len(err.splitlines()) <= 6, err


@pytest.mark.slow
def test_restarts_that_record_nothing_add_no_history_rows(check: Check) -> None:
    body = json.dumps({"keep_video": False}).encode()
    for _ in range(20):
        assert check.post("/api/session/start", body) == 200
    finish(check)
    subject = check.store / "subjects" / "pat"
    hist = subject / "history.csv"
    assert not hist.exists() or len(hist.read_text().splitlines()) <= 1
    sessions = subject / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_bad_port_is_one_line(port: str) -> None:
    proc = run_cli("check", "--no-browser", f"--port={port}")
    line = assert_one_line_error(proc, 2)
    assert "port" in line


@pytest.mark.slow
def test_port_in_use_is_one_line(tmp_path: Path, model_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_cli("check", "--no-browser", "--port", str(port),
                       env={"SYNKTRACK_DATA_DIR": str(tmp_path / "store"),
                            "SYNKTRACK_MODEL": str(model_path)}, timeout=120)
    line = assert_one_line_error(proc, 2)
    assert f"port {port}" in line and "in use" in line


def test_png_header_reader_sees_the_size() -> None:
    from synktrack.web.framing import MAX_SNAPSHOT_PIXELS, _image_size

    assert _image_size(_png_header_only(5000, 4000)) == (5000, 4000)
    w, h = _image_size(_png_header_only(16000, 16000)) or (0, 0)
    assert w * h > MAX_SNAPSHOT_PIXELS
    assert _image_size(b"not an image") is None
