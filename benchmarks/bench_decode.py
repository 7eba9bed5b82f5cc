"""Decode speed of :func:`synktrack.io.open_source` on one clip.

Usage::

    python benchmarks/bench_decode.py [CLIP] [--max-frames N] [--repeat R]

Prints decoded frames per second (RGB conversion and rotation included). The default clip is
``../shared/media/videos/pyfeat__WolfgangLanger_Pexels.mp4`` next to the repository.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from synktrack.errors import SynktrackError
from synktrack.io import open_source

DEFAULT_CLIP = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "media"
    / "videos"
    / "pyfeat__WolfgangLanger_Pexels.mp4"
)


def bench(clip: Path, max_frames: int | None = None) -> tuple[int, float]:
    """Decode ``clip`` once.

    Parameters
    ----------
    clip : pathlib.Path
        Video file, image or image folder.
    max_frames : int or None, optional
        Stop after this many frames.

    Returns
    -------
    n_frames : int
        Frames decoded.
    seconds : float
        Wall time, including opening the file.
    """
    start = time.perf_counter()
    with open_source(clip, max_frames=max_frames) as src:
        n = sum(1 for _ in src.frames())
    return n, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="report the best of R runs")
    args = parser.parse_args(argv)
    try:
        runs = [bench(args.clip, args.max_frames) for _ in range(max(1, args.repeat))]
    except SynktrackError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    n, seconds = min(runs, key=lambda r: r[1])
    print(f"{args.clip.name}: {n} frames in {seconds:.3f} s = {n / seconds:.1f} frames/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
