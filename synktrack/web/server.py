"""A small local HTTP server for the weekly check: loopback only, one secret token.

Every request must carry the token (``?t=`` or the ``X-Synktrack-Token``
header) and a loopback ``Host``; bodies are size-capped; the page and its
script come from the package, under a strict Content-Security-Policy. Nothing
the page sends is used as a file name.
"""

from __future__ import annotations

import errno
import hmac
import json
import math
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from synktrack.errors import InputError, OutputError, SynktrackError
from synktrack.web.app import CheckApp

MAX_JSON_BYTES = 64 * 1024
MAX_FRAME_BYTES = 1024 * 1024
MAX_CHUNK_BYTES = 16 * 1024 * 1024
MAX_DISCARD_BYTES = 64 * 1024 * 1024  # a refused body is drained up to this, never stored
TOKEN_HEADER = "X-Synktrack-Token"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}


def static_text(name: str) -> str:
    """One of the page's files, from the installed package."""
    return (resources.files("synktrack") / "web" / "static" / name).read_text("utf-8")


class CheckServer(ThreadingHTTPServer):
    """HTTP server bound to 127.0.0.1 that serves one :class:`CheckApp`.

    Parameters
    ----------
    app
        The state behind the page.
    port
        Port to listen on; 0 picks a free one.
    """

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, app: CheckApp, port: int = 0) -> None:
        self.app = app
        check_port(port)
        try:
            super().__init__(("127.0.0.1", port), CheckHandler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise InputError(f"port {port} on 127.0.0.1 is in use (another check still "
                                 "open?): close it, or give another --port (0 picks a free "
                                 "one)") from err
            if err.errno in (errno.EACCES, errno.EPERM):
                raise InputError(f"port {port} needs administrator rights: give a port above "
                                 "1023, or 0 to pick a free one") from err
            raise InputError(f"cannot listen on 127.0.0.1:{port} "
                             f"({err.strerror or err}): give another --port") from err
        self.port = int(self.server_address[1])
        self.allowed_hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?t={self.app.token}"

    def serve_until_stopped(self) -> None:
        """Serve until the page is gone (watchdog) or Ctrl-C; saves a partial session."""
        self.app.watch(self.shutdown)
        try:
            self.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            self.app.stop("synktrack was interrupted", "page_closed")
        finally:
            self.app.stop("the server stopped", "page_closed")
            self.server_close()


    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away early is normal; anything else is one line, not a traceback."""
        err = sys.exc_info()[1]
        if isinstance(err, ConnectionError | TimeoutError):
            return
        print(f"synktrack: a request failed: {type(err).__name__}: {err}", file=sys.stderr)


def check_port(port: object) -> int:
    """``port`` if it is a TCP port number (0 = pick a free one), else :class:`InputError`."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise InputError(f"--port {port!r} is not a port: give a number from 1024 to 65535, "
                         "or 0 to pick a free one")
    return port


class CheckHandler(BaseHTTPRequestHandler):
    """Routes, token and size checks, security headers."""

    server: CheckServer
    server_version = "synktrack"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the terminal stays quiet; nothing is logged to disk

    def handle(self) -> None:
        """Serve the connection; a client that disconnects early is not an error."""
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    # ---------------------------------------------------------------- plumbing

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_file(self, path: Any, ctype: str) -> None:
        """A file, whole or the one byte range asked for (so a <video> can seek)."""
        size = path.stat().st_size
        start, end = 0, size - 1
        ask = self.headers.get("Range", "")
        ranged = ask.startswith("bytes=") and "," not in ask
        if ranged:
            lo, _, hi = ask[6:].strip().partition("-")
            try:
                if lo:
                    start, end = int(lo), min(int(hi) if hi else size - 1, size - 1)
                else:
                    start = max(0, size - int(hi))
            except ValueError:
                ranged = False
            if ranged and not 0 <= start <= end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if not ranged:
                start, end = 0, size - 1
        self.send_response(HTTPStatus.PARTIAL_CONTENT if ranged else HTTPStatus.OK)
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = fh.read(min(left, 1 << 16))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(_finite(obj), allow_nan=False, default=str).encode(),
                   "application/json")

    def _error(self, code: int, message: str) -> None:
        self._json(code, {"ok": False, "error": message})

    def _authorised(self, query: dict[str, list[str]]) -> bool:
        if self.headers.get("Host", "") not in self.server.allowed_hosts:
            return False
        given = self.headers.get(TOKEN_HEADER) or (query.get("t") or [""])[0]
        if not hmac.compare_digest(given.encode(), self.server.app.token.encode()):
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin in {f"http://{h}" for h in self.server.allowed_hosts}

    def _body(self, cap: int) -> bytes | None:
        """The request body, or None after answering 411/413."""
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()) or len(length) > 12:
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        n = int(length)
        if n > cap:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {cap} bytes")
            self._discard(n)
            return None
        return self.rfile.read(n)

    def _discard(self, n: int) -> None:
        """Read and drop a refused body (bounded), so the client sees the answer, not a reset."""
        left = min(n, MAX_DISCARD_BYTES)
        self.connection.settimeout(5.0)
        try:
            while left > 0:
                got = self.rfile.read(min(left, 1 << 16))
                if not got:
                    break
                left -= len(got)
        except OSError:
            pass

    def _json_body(self) -> dict[str, Any] | None:
        raw = self._body(MAX_JSON_BYTES)
        if raw is None:
            return None
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            self._error(HTTPStatus.BAD_REQUEST, "not JSON (or nested too deeply)")
            return None
        if not isinstance(data, dict):
            self._error(HTTPStatus.BAD_REQUEST, "expected a JSON object")
            return None
        return data

    # ---------------------------------------------------------------- methods

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def do_DELETE(self) -> None:  # noqa: N802
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._authorised(query):
            self.close_connection = True
            self._error(HTTPStatus.FORBIDDEN, "forbidden")
            return
        app = self.server.app
        app.touch()
        try:
            if method == "GET":
                self._get(url.path, query)
            else:
                self._post(url.path, query)
        except InputError as err:
            self._error(HTTPStatus.BAD_REQUEST, str(err))
        except OutputError as err:  # the store cannot be written: say so here and on the page
            print(f"synktrack: error: {err}", file=sys.stderr)
            self._error(HTTPStatus.INSUFFICIENT_STORAGE, str(err))
        except SynktrackError as err:  # e.g. the annotated video could not be made
            print(f"synktrack: error: {err}", file=sys.stderr)
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(err))
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the page went away mid-answer
        except Exception as err:  # noqa: BLE001  answer the page, report here
            print(f"synktrack: internal error on {url.path}: {type(err).__name__}: {err}",
                  file=sys.stderr)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        app = self.server.app
        if path in STATIC:
            name, ctype = STATIC[path]
            text = static_text(name)
            if name == "index.html":
                text = text.replace("__TOKEN__", app.token)
            self._send(HTTPStatus.OK, text.encode("utf-8"), ctype)
        elif path == "/api/config":
            self._json(HTTPStatus.OK, app.config())
        elif path == "/api/protocol":
            self._json(HTTPStatus.OK, app.protocol.to_dict())
        elif path == "/api/history":
            self._json(HTTPStatus.OK, app.history())
        elif path == "/api/session/annotated.mp4":
            self._send_file(app.annotated_file((query.get("id") or [""])[0]), "video/mp4")
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def _post(self, path: str, query: dict[str, list[str]]) -> None:
        app = self.server.app
        if path == "/api/frame":
            data = self._body(MAX_FRAME_BYTES)
            if data is not None:
                self._json(HTTPStatus.OK, app.frame(data))
        elif path == "/api/session/chunk":
            seq_s = (query.get("seq") or [""])[0]
            if not seq_s.isdigit() or len(seq_s) > 7:
                self._error(HTTPStatus.BAD_REQUEST, "seq must be a whole number")
                return
            data = self._body(MAX_CHUNK_BYTES)
            if data is not None:
                self._json(HTTPStatus.OK, app.chunk(int(seq_s), data))
        elif path in ("/api/heartbeat", "/api/bye"):
            self._body(MAX_JSON_BYTES)
            if path == "/api/bye":
                app.bye()
            self._json(HTTPStatus.OK, {"ok": True})
        elif path in _JSON_ROUTES:
            body = self._json_body()
            if body is not None:
                self._json(HTTPStatus.OK, getattr(app, _JSON_ROUTES[path])(body))
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN and infinities become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _finite(obj.item())
    return obj


_JSON_ROUTES = {
    "/api/session/start": "start",
    "/api/session/step": "step_start",
    "/api/session/step_end": "step_end",
    "/api/session/finish": "finish",
    "/api/session/annotate": "annotate",
}
