"""The weekly check in a private local web page (``synktrack check``).

The server (:mod:`synktrack.web.server`) binds to 127.0.0.1 only, requires a
random token on every request and serves a page that lives in the package.
The page guides the patient through framing and the protocol's steps while
the recording is landmarked as it arrives (:mod:`synktrack.web.live`), so the
results are on screen seconds after the last prompt.
"""

from __future__ import annotations

import os
import signal
import threading
import webbrowser
from collections.abc import Callable
from typing import Any

from synktrack.model import ResolvedModel
from synktrack.protocol import Protocol
from synktrack.web.app import CheckApp, CheckSettings
from synktrack.web.server import CheckServer, check_port

__all__ = ["CheckApp", "CheckServer", "CheckSettings", "make_server", "run_check"]


def make_server(protocol: Protocol, model: ResolvedModel, *, subject: str | None = None,
                affected_side: str = "unknown", keep_video: bool = False, port: int = 0,
                settings: CheckSettings | None = None,
                say: Callable[[str], None] | None = None) -> CheckServer:
    """A ready (not yet serving) check server on 127.0.0.1; see :class:`CheckApp`.

    Raises
    ------
    InputError
        ``port`` is not a port number, is in use or needs privileges.
    """
    check_port(port)
    app = CheckApp(protocol, model, subject=subject, affected_side=affected_side,
                   keep_video=keep_video, settings=settings, say=say)
    try:
        return CheckServer(app, port)
    except BaseException:
        app.framing.close()
        raise


def run_check(protocol: Protocol, model: ResolvedModel, *, subject: str | None = None,
              affected_side: str = "unknown", keep_video: bool = False, port: int = 0,
              open_browser: bool = True, settings: CheckSettings | None = None,
              say: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Serve the check page until it is closed; return the sessions' summaries.

    SIGTERM and Ctrl-C save an unfinished session as incomplete before exiting.
    """
    server = make_server(protocol, model, subject=subject, affected_side=affected_side,
                         keep_video=keep_video, port=port, settings=settings, say=say)
    app = server.app
    app.say("synktrack: the weekly check is at this address (everything stays on this "
            "computer; close the page to finish):")
    print(server.url, flush=True)  # on its own line, never wrapped: copy it into a browser
    if open_browser and not os.environ.get("SYNKTRACK_NO_BROWSER"):
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        def _term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
    try:
        server.serve_until_stopped()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    app.say(f"synktrack: check closed ({app.stop_reason})")
    return [s for s in app.summaries if s]
