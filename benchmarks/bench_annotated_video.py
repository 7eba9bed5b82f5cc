"""Cost of ``--annotated-video`` per frame: re-decoding, drawing, encoding.

Usage::

    python benchmarks/bench_annotated_video.py [CLIP ...] [--repeat R]

Each clip is landmarked once (``synktrack.analyze.analyze_clip``, no video); then, best of R
runs, wall-clock and CPU milliseconds per frame of

* **decode**: re-decoding the source (``synktrack.io.video.open_source``), the floor;
* **decode + draw**: plus :func:`synktrack.annotate.marks_of` and
  :func:`synktrack.annotate.compose` (picture, header, traces) on every frame;
* **whole video**: :func:`synktrack.annotate.write_annotated_video` (decode, draw, H.264
  encode, mux), what ``--annotated-video`` adds to a run;

and, from frames already in memory, the drawing split into its parts. Without the flag
none of this runs (the default path only imports the module for the file name).
Default clips: ``pyfeat__single_face.mp4`` (640x360, 72 frames), the medusa clip
(480x384, 232 frames) and ``mpsamples__gesture_recognizer_test_video.mp4`` (1280x720).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED, use_shared_model

VIDEOS = SHARED / "media" / "videos"
DEFAULT_CLIPS = [VIDEOS / "pyfeat__single_face.mp4",
                 VIDEOS / "medusa__example_vid_pexels3063839.mp4",
                 VIDEOS / "mpsamples__gesture_recognizer_test_video.mp4"]


def best(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best (wall, cpu) seconds of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - w0, time.process_time() - c0))
    return min(o[0] for o in out), min(o[1] for o in out)


def bench_clip(clip: Path, proto: object, repeat: int) -> tuple[str, str]:
    """One clip: the table row and the drawing split, as text."""
    from synktrack import annotate as A
    from synktrack.analyze import analyze_clip
    from synktrack.io.video import open_source

    with tempfile.TemporaryDirectory() as tmp:
        res = analyze_clip(clip, Path(tmp) / "out", protocol=proto)  # type: ignore[arg-type]
        rec, frames = res.recording, res.frames
        n = rec.n_frames
        width = A.video_width(rec.width)
        pts = rec.landmarks_px()
        traces = A.traces_of(frames, proto)  # type: ignore[arg-type]
        out = Path(tmp) / "annotated.mp4"
        info: dict = {}

        def decode() -> None:
            with open_source(clip, max_frames=n) as src:
                for _ in src.frames():
                    pass

        def decode_draw() -> None:
            with open_source(clip, max_frames=n) as src:
                for f in src.frames():
                    A.compose(f.image, A.marks_of(rec, f.index, False, pts), traces, f.index,
                              proto, width)  # type: ignore[arg-type]

        def whole() -> None:
            out.unlink(missing_ok=True)
            info.update(A.write_annotated_video(out, clip, rec, frames,
                                                protocol=proto))  # type: ignore[arg-type]

        d, dd, wv = best(decode, repeat), best(decode_draw, repeat), best(whole, repeat)
        with open_source(clip, max_frames=n) as src:
            images = [f.image for f in src.frames()]
        marks = [A.marks_of(rec, i, False, pts) for i in range(n)]
        lines = [A.header_lines(proto, float(rec.time_s[i]), width)  # type: ignore[arg-type]
                 for i in range(n)]
        head_h = A.header_height(proto, width)  # type: ignore[arg-type]
        parts = {
            "marks_of": best(lambda: [A.marks_of(rec, i, False, pts) for i in range(n)], 1),
            "picture": best(lambda: [A.draw_picture(images[i], marks[i], width)
                                     for i in range(n)], 1),
            "traces": best(lambda: [A.draw_panel(width, traces, i) for i in range(n)], 1),
            "header": best(lambda: [A.draw_header(width, head_h, lines[i]) for i in range(n)], 1),
        }

        def ms(x: tuple[float, float]) -> str:
            return f"{1000 * x[0] / n:5.1f}/{1000 * x[1] / n:5.1f}"

        row = (f"{clip.name[:45]:45s} {n:6d} {rec.width:>4d}x{rec.height:<5d} "
               f"{info['width']:>4d}x{info['height']:<4d}  {ms(d):>13s} {ms(dd):>13s} "
               f"{ms(wv):>13s}   {out.stat().st_size / n / 1024:.1f} KiB/frame")
        split = f"  {clip.name[:45]:45s} " + "  ".join(
            f"{k} {1000 * v[0] / n:.2f}" for k, v in parts.items())
        return row, split


def main() -> int:

    from synktrack.protocol import load_protocol

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", type=Path, default=DEFAULT_CLIPS)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    use_shared_model()
    proto = load_protocol("quick-check")
    print(f"{'clip':45s} {'frames':>6s} {'size':>10s} {'video':>9s}  "
          f"{'decode':>13s} {'decode+draw':>13s} {'whole video':>13s}   (ms/frame wall/cpu)",
          flush=True)
    splits = []
    for clip in args.clips:
        row, split = bench_clip(clip, proto, args.repeat)
        print(row, flush=True)
        splits.append(split)
    print("\ndrawing alone, frames in memory (ms/frame wall):")
    print("\n".join(splits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
