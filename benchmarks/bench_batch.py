"""Batch throughput: clips per minute and frames per second, 1 and 2 workers, local and Dask.

Usage::

    python benchmarks/bench_batch.py [--clips 6] [--frames 160] [--no-dask]

Cuts ``--clips`` distinct 640x360 clips of ``--frames`` frames from
``../shared/media/videos/pyfeat__WolfgangLanger_Pexels.mp4`` (segments, and their
mirror images), then times :func:`synktrack.batch.batch` on them with 1 local worker,
2 local workers and a local Dask cluster (a scheduler and 2 one-thread worker
processes, with and without Dask's sampling profiler). Every run starts from an empty
output folder and includes starting the workers and loading the model.

Prints the scaling ratio (goal: >= 1.8 for 2 workers on 2 free cores), the CPU cores
the workers kept busy and their CPU time per frame: on a shared machine, fewer busy
cores than workers means other programs took the rest, and CPU time per frame is the
figure that does not depend on them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from synktrack.batch import BatchResult, batch
from synktrack.io.video import open_source
from synktrack.simulate import write_clip

SOURCE = (Path(__file__).resolve().parents[1].parent / "shared" / "media" / "videos"
          / "pyfeat__WolfgangLanger_Pexels.mp4")


def make_clips(folder: Path, n_clips: int, n_frames: int, source: Path = SOURCE) -> list[Path]:
    """``n_clips`` distinct clips: consecutive segments of ``source``, then mirrored copies."""
    with open_source(source) as src:
        frames = [(f.time_s, f.image) for f in src.frames()]
        fps = float(src.fps_nominal or 25.0)
    n_seg = (n_clips + 1) // 2
    step = max(1, (len(frames) - n_frames) // max(n_seg - 1, 1))
    paths = []
    for i in range(n_clips):
        start = (i % n_seg) * step
        seg = frames[start:start + n_frames]
        if i >= n_seg:
            seg = [(t, np.ascontiguousarray(img[:, ::-1])) for t, img in seg]
        paths.append(write_clip(iter(seg), folder / f"clip{i:02d}.mp4", fps))
    return paths


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


def timed(label: str, run: Callable[[Path], BatchResult], out: Path,
          client: Any = None) -> dict[str, Any]:
    """Run one batch into an empty folder; throughput and CPU use of the workers.

    Local workers are counted when they have been joined (``RUSAGE_CHILDREN``),
    Dask workers by asking each of them.
    """
    def cpu() -> float:
        if client is None:
            return _cpu_s(resource.RUSAGE_CHILDREN)
        return sum(client.run(_cpu_s).values())

    before = cpu()
    t0 = time.perf_counter()
    result = run(out)
    wall = time.perf_counter() - t0
    used = cpu() - before
    done = result.of("done")
    if len(done) != len(result.outcomes):
        raise SystemExit(f"{label}: {len(result.of('failed'))} clips failed; see {out}")
    frames = sum(o.frames for o in done)
    row = {"label": label, "clips": len(done), "frames": frames, "wall_s": wall,
           "clips_per_min": 60 * len(done) / wall, "frames_per_s": frames / wall,
           "worker_cores": used / wall, "cpu_ms_per_frame": 1000 * used / max(frames, 1)}
    print(f"{label:<30} {len(done):>3} clips {frames:>5} frames {wall:7.1f} s  "
          f"{row['clips_per_min']:6.2f} clips/min {row['frames_per_s']:6.1f} frames/s  "
          f"workers: {row['worker_cores']:.2f} cores busy, "
          f"{row['cpu_ms_per_frame']:.0f} CPU ms/frame", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=160, help="frames per clip")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster run")
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    if not SOURCE.is_file():
        print(f"missing {SOURCE}", file=sys.stderr)
        return 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        clips = make_clips(root / "clips", args.clips, args.frames)
        batch(clips[:1], root / "warm", jobs=1, max_frames=5, model=args.model)  # disk cache
        rows = [timed(f"local, {j} worker{'s' * (j > 1)}",
                      partial(batch, clips, jobs=j, model=args.model), root / f"out{j}")
                for j in (1, 2)]
        if not args.no_dask:
            import dask
            from distributed import Client, LocalCluster

            for profile in (True, False):  # Dask's sampling profiler costs CPU on every task
                with dask.config.set({"distributed.worker.profile.enabled": profile}), \
                        LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None) as cluster, \
                        Client(cluster) as client:
                    label = "dask, 2 workers" + ("" if profile else ", no profiler")
                    rows.append(timed(label, partial(batch, clips, executor=client,
                                                     model=args.model),
                                      root / f"outd{int(profile)}", client))
    base = rows[0]["frames_per_s"]
    for row in rows[1:]:
        print(f"scaling {row['label']} vs 1 worker: {row['frames_per_s'] / base:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
