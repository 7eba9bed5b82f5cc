"""Run many ``synktrack`` command lines fast: the CLI's ``main()`` in a forked child per case.

Usage: ``python fuzz_runner.py CASES.json RESULTS.json``. Each case is
``{"args": [...], "env": {...}}``; each result is ``{"code", "stderr", "seconds"}``.

The parent imports the heavy libraries once; every case runs in its own forked
process exactly as the console script runs it (``synktrack.cli.main`` with
``sys.argv``), with its own stdout/stderr files and exit code, so one case can
neither crash nor influence another. A case that takes longer than its
timeout is killed and reported with code -9.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time


def run_case(args: list[str], env: dict[str, str], timeout: float) -> dict[str, object]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: become `synktrack ARGS`
            _child(args, env, out.fileno(), err.fileno())
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = None
        code = -9 if status is None else os.waitstatus_to_exitcode(status)
        err.seek(0)
        return {"code": code, "stderr": err.read().decode("utf-8", "replace"),
                "seconds": round(time.perf_counter() - t0, 3)}


def _child(args: list[str], env: dict[str, str], out_fd: int, err_fd: int) -> None:
    code = 1
    try:
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.environ.update(env)
        sys.argv = ["synktrack", *args]
        from synktrack.cli import main

        try:
            main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001  what a traceback would look like
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    cases_file, results_file = sys.argv[1:3]
    with open(cases_file, encoding="utf-8") as fh:
        cases = json.load(fh)
    # heavy imports once, before forking (no threads are started by importing them)
    import matplotlib

    matplotlib.use("Agg")
    import av  # noqa: F401
    import cv2  # noqa: F401
    import mediapipe  # noqa: F401
    import pandas  # noqa: F401
    import typer  # noqa: F401

    import synktrack.analyze  # noqa: F401
    import synktrack.cli  # noqa: F401
    import synktrack.report.build  # noqa: F401

    results = [run_case(c["args"], c.get("env", {}), c.get("timeout", 120)) for c in cases]
    with open(results_file, "w", encoding="utf-8") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main()
