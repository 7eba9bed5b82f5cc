"""Weekly check: time from the last prompt to the results on screen (goal: <= 5 s).

Two ways to measure, for a protocol-length recording (default: weekly-check):

* ``--mode browser`` (default when /usr/bin/chromium exists): the real page in
  headless Chromium with a fake camera looping a simulated face; the page's own
  clock measures from the end of the last step to the results being drawn.
* ``--mode server``: a protocol-length WebM fed to the server in 0.5 s chunks
  at recording speed; measures from the last chunk to the stored summary.

Usage::

    python benchmarks/bench_web.py [--mode browser|server] [--protocol weekly-check]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from _common import resolved_model

from synktrack.model import ResolvedModel
from synktrack.protocol import Protocol

CHROMIUM = Path("/usr/bin/chromium")


def _model() -> ResolvedModel:
    return resolved_model()


def bench_browser(protocol_name: str, tmp: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from synktrack.protocol import load_protocol
    from synktrack.web import CheckSettings, make_server
    from synktrack.web.fakecam import session_y4m

    model = _model()
    protocol = load_protocol(protocol_name)
    loop = load_protocol("quick-check")
    loop = type(loop)(loop.name, loop.version, loop.steps[:4])  # a 12 s looping clip
    y4m = session_y4m(tmp / "camera.y4m", loop, model.path, fps=30)
    server = make_server(protocol, model, subject="bench",
                         settings=CheckSettings(idle_timeout_s=60, ready_s=1.0),
                         say=lambda m: None)
    thread = threading.Thread(target=server.serve_until_stopped, daemon=True)
    thread.start()
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
            page = browser.new_page()
            page.goto(server.url)
            page.click("#btn-camera")
            page.wait_for_selector("#btn-start:enabled", timeout=120_000)
            page.click("#btn-start")
            page.wait_for_selector("#screen-results:not([hidden])",
                                   timeout=int((protocol.duration_s + 300) * 1000))
            timing = page.evaluate("window.synktrack.timing")
            summary = page.evaluate("window.synktrack.summary")
            browser.close()
    finally:
        server.app.stop("benchmark over")
        thread.join(10)
    out = {"last_prompt_to_results_s": (timing["resultsShown"] - timing["lastStepEnd"]) / 1000,
           "frames": float(summary.get("frames") or 0)}
    out.update({f"server_{k}": float(v) for k, v in (summary.get("timings") or {}).items()})
    return out


def _webm(protocol: Protocol, model_path: Path, fps: int = 30) -> tuple[bytes, float]:
    """A protocol-length VP8 WebM like MediaRecorder's: a simulated face, looped.

    One 12 s cycle (rest, smile, rest, eye closure) is simulated and repeated
    for the protocol's length; the analysis cost is the same as for any face.
    """
    import av

    from synktrack.fidelity import face_geometry
    from synktrack.protocol import load_protocol
    from synktrack.simulate import demo_portrait, session_simulate
    from synktrack.web.fakecam import place

    canvas = place(demo_portrait(480))
    geom = face_geometry(canvas, model_path)
    quick = load_protocol("quick-check")
    cycle = Protocol(quick.name, quick.version, quick.steps[:4])
    loop = [np.ascontiguousarray(f) for _, f in session_simulate(canvas, geom, cycle,
                                                                 fps=float(fps))]
    print(f"simulated a {len(loop)}-frame cycle; encoding {protocol.duration_s:.0f} s", flush=True)
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps,
                                options={"deadline": "realtime", "cpu-used": "8"})
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.time_base = Fraction(1, 1000)
        stream.bit_rate = 2_500_000
        for i in range(int(protocol.duration_s * fps)):
            vf = av.VideoFrame.from_ndarray(loop[i % len(loop)], format="rgb24")
            vf.pts = int(round(i * 1000 / fps))
            vf.time_base = Fraction(1, 1000)
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return buf.getvalue(), protocol.duration_s


def bench_server(protocol_name: str, tmp: Path) -> dict[str, float]:
    from synktrack.protocol import load_protocol
    from synktrack.web.live import LiveSession

    os.environ["SYNKTRACK_DATA_DIR"] = str(tmp / "store")
    model = _model()
    protocol = load_protocol(protocol_name)
    data, duration = _webm(protocol, model.path)
    live = LiveSession(protocol, subject="bench", affected_side="unknown", keep_video=False,
                       model=model)
    n_chunks = max(1, int(duration / 0.5))
    size = len(data) // n_chunks + 1
    t0 = time.monotonic()
    for i, step in enumerate(protocol.steps):
        live.step_start(i, 1, step.start_s)
        live.attempts[(i, 1)].end_s = step.end_s
        live.attempts[(i, 1)].accepted = True
    print(f"streaming {len(data) / 1e6:.1f} MB in {n_chunks} chunks at recording speed",
          flush=True)
    for k in range(n_chunks):
        live.add_chunk(k, data[k * size : (k + 1) * size])
        time.sleep(max(0.0, t0 + (k + 1) * 0.5 - time.monotonic()))  # recording speed
    t_last = time.perf_counter()
    summary = live.finish(True)
    return {"last_chunk_to_summary_s": time.perf_counter() - t_last,
            "frames": float(summary["frames"]),
            **{f"server_{k}": float(v) for k, v in summary["timings"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("browser", "server"),
                        default="browser" if CHROMIUM.exists() else "server")
    parser.add_argument("--protocol", default="weekly-check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNKTRACK_DATA_DIR"] = str(Path(tmp) / "store")
        fn = bench_browser if args.mode == "browser" else bench_server
        res = fn(args.protocol, Path(tmp))
    key = "last_prompt_to_results_s" if args.mode == "browser" else "last_chunk_to_summary_s"
    print(f"mode={args.mode} protocol={args.protocol}")
    for k, v in res.items():
        print(f"  {k:32s} {v:8.2f}")
    verdict = "OK" if res[key] <= 5.0 else "over the 5 s goal"
    print(f"last prompt -> results: {res[key]:.2f} s ({verdict}; goal <= 5 s)")


if __name__ == "__main__":
    main()
