"""Analysis speed on one core, against a bare MediaPipe FaceLandmarker loop on the same clip.

Usage::

    python benchmarks/bench_analyze.py [CLIP] [--max-frames N] [--repeat R] [--all-cores]

Pins the process to one CPU core (``os.sched_setaffinity(0, {0})``), then times, over the
same clip and in the same run (best of R runs each, runs interleaved):

* **bare (1 face)** / **bare (2 faces)**: PyAV decode to RGB plus MediaPipe VIDEO-mode
  inference with the options synktrack uses (blendshapes and matrices on, confidences 0.5),
  ``num_faces`` 1 or 2, and nothing else;
* **full analysis**: :func:`synktrack.analyze.landmark_source` (decode, landmarks, face
  following, image refinement) followed by :func:`synktrack.measures.measures_process`.

Overhead is full analysis time over the bare 2-face loop (synktrack's own setting), minus one.
Goals: full analysis >= 30 frames/s, overhead <= 15 %. Model creation is timed in every
column. Both wall-clock and CPU time (``time.process_time``, all threads of this process)
are reported: on a busy machine the CPU figures are the ones to compare.

The default clip is ``../shared/media/videos/pyfeat__WolfgangLanger_Pexels.mp4``
(640x360, 472 frames); the model is resolved as the CLI does (``SYNKTRACK_MODEL``, else
``../shared/models/face_landmarker.task``, else the cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _common import SHARED, use_shared_model

DEFAULT_CLIP = SHARED / "media" / "videos" / "pyfeat__WolfgangLanger_Pexels.mp4"
GOAL_FPS = 30.0
GOAL_OVERHEAD = 0.15


class Clock:
    """Wall and CPU seconds since creation."""

    def __init__(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall0, time.process_time() - self.cpu0


def bare_loop(clip: Path, model: Path, num_faces: int,
              max_frames: int | None) -> tuple[int, tuple[float, float]]:
    """Decode with PyAV and run MediaPipe only; returns (frames, (wall s, CPU s))."""
    import av
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from synktrack.landmarks import quiet_stderr

    clock = Clock()
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=num_faces,
        min_face_detection_confidence=0.5,
        min_face_presence_confidence=0.5,
        min_tracking_confidence=0.5,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    n = 0
    with quiet_stderr():
        task = vision.FaceLandmarker.create_from_options(options)
    with task, av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        last_ms = -1
        for frame in container.decode(stream):
            if max_frames is not None and n >= max_frames:
                break
            rgb = frame.to_ndarray(format="rgb24")
            ms = max(int(round(float(frame.pts * frame.time_base) * 1000)), last_ms + 1)
            last_ms = ms
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            if n == 0:
                with quiet_stderr():
                    task.detect_for_video(image, ms)
            else:
                task.detect_for_video(image, ms)
            n += 1
    return n, clock.read()


def full_analysis(clip: Path, model: Path, max_frames: int | None
                  ) -> tuple[int, tuple[float, float], float, float]:
    """synktrack's landmarking pass and measures.

    Returns frames, (wall s, CPU s), and the wall seconds of ``measures_process`` within
    them and again on a second call (warm: modules imported, caches filled).
    """
    from synktrack.analyze import landmark_source
    from synktrack.io import open_source
    from synktrack.measures import measures_process
    from synktrack.model import resolve_model

    resolved = resolve_model(model)
    clock = Clock()
    with open_source(clip, max_frames=max_frames) as source:
        rec = landmark_source(source, resolved)[0]  # (recording, status, ...)
    t1 = time.perf_counter()
    measures_process(rec)
    total = clock.read()
    t2 = time.perf_counter()
    measures_process(rec)
    warm = time.perf_counter() - t2
    return rec.n_frames, total, t2 - t1, warm


def resolve_model_path(explicit: Path | None) -> Path:
    from synktrack.model import resolve_model

    use_shared_model()
    return resolve_model(explicit).path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=2, help="best of R runs per column")
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = parser.parse_args(argv)

    if not args.all_cores:
        os.sched_setaffinity(0, {0})
    if not args.clip.is_file():
        print(f"bench_analyze: {args.clip} not found (../shared/media is needed)",
              file=sys.stderr)
        return 2
    model = resolve_model_path(args.model)

    best: dict[str, tuple[float, float]] = {}
    frames: dict[str, int] = {}
    measures_s: list[float] = []
    measures_warm = float("inf")
    for _ in range(max(args.repeat, 1)):
        for faces in (1, 2):
            key = f"bare ({faces} face{'s' if faces > 1 else ''})"
            n, sec = bare_loop(args.clip, model, faces, args.max_frames)
            frames[key], best[key] = n, _best(sec, best.get(key))
        n, sec, m_sec, m_warm = full_analysis(args.clip, model, args.max_frames)
        key = "full analysis"
        frames[key], best[key] = n, _best(sec, best.get(key))
        measures_s.append(m_sec)
        measures_warm = min(measures_warm, m_warm)

    cores = "all cores" if args.all_cores else "1 core"
    n_frames = frames["full analysis"]
    load = os.getloadavg()[0]
    print(f"clip: {args.clip.name}, {n_frames} frames, {cores}, best of {args.repeat}, "
          f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'':<16}{'wall fps':>10}{'ms/frame':>10}{'vs bare 2':>11}"
          f"{'CPU fps':>10}{'CPU ms/fr':>10}{'vs bare 2':>11}")
    per = {key: (w / frames[key], c / frames[key]) for key, (w, c) in best.items()}
    b_w, b_c = per["bare (2 faces)"]
    for key, (w, c) in per.items():
        print(f"{key:<16}{1 / w:>10.1f}{1000 * w:>10.2f}{w / b_w - 1:>+11.1%}"
              f"{1 / c:>10.1f}{1000 * c:>10.2f}{c / b_c - 1:>+11.1%}")
    full, full_cpu = per["full analysis"]
    overhead, overhead_cpu = full / b_w - 1, full_cpu / b_c - 1
    print(f"measures_process: {measures_warm * 1000:.1f} ms for {n_frames} frames "
          f"({measures_warm / n_frames * 1000:.3f} ms/frame) warm; first call in the "
          f"process {measures_s[0] * 1000:.0f} ms (imports)")
    print(f"overhead over bare (2 faces): {overhead:+.1%} wall, {overhead_cpu:+.1%} CPU "
          f"(goal <= {GOAL_OVERHEAD:.0%}); full analysis {1 / full:.1f} frames/s wall, "
          f"{1 / full_cpu:.1f} CPU (goal >= {GOAL_FPS:.0f})")
    return 0


def _best(new: tuple[float, float], old: tuple[float, float] | None) -> tuple[float, float]:
    """Element-wise minimum of (wall, CPU) seconds."""
    if old is None:
        return new
    return min(new[0], old[0]), min(new[1], old[1])


if __name__ == "__main__":
    sys.exit(main())
