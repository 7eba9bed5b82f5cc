"""The whole chain for one recording, used by every front end (CLI, web page, batch).

``source -> landmarks -> measures -> (epochs -> indices) -> outputs``
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from synktrack.atomic import atomic_path, write_json
from synktrack.errors import InputError, NoFaceError
from synktrack.io.video import FrameSource, file_sha256, open_source
from synktrack.landmarks import CONTAINER_NAME, Recording
from synktrack.measures import COLUMNS, MeasureSettings, measures_process
from synktrack.model import ResolvedModel, resolve_model
from synktrack.provenance import now_iso, versions
from synktrack.refine import RefineSettings
from synktrack.track import ClipTracker

FRAMES_CSV = "frames.csv"
SESSION_JSON = "session.json"

Progress = Callable[[int, int | None], None]


@dataclass
class AnalysisResult:
    """What :func:`analyze_clip` wrote and found."""

    out_dir: Path
    frames: pd.DataFrame
    recording: Recording
    session: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return bool(self.session["input"]["complete"])


def landmark_source(source: FrameSource, model: ResolvedModel, *, max_faces: int = 2,
                    refine: RefineSettings | None = None,
                    progress: Progress | None = None) -> tuple[Recording, dict[str, Any]]:
    """Landmark every frame of a source; keep what was read if it fails half-way.

    Returns the recording and a status dict (``complete``, ``stopped_because``,
    ``seconds``).
    """
    status: dict[str, Any] = {"complete": True, "stopped_because": None}
    t0 = time.perf_counter()
    with ClipTracker(model.path, max_faces=max_faces, refine=refine,
                     capacity=source.n_frames or 256) as tracker:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for frame in source.frames():
                    tracker.process(frame.image, frame.time_s)
                    if progress:
                        progress(len(tracker), source.n_frames)
            if caught:
                status["complete"] = False
                status["stopped_because"] = str(caught[-1].message).splitlines()[0]
        except InputError as err:  # e.g. camera unplugged: keep the frames read so far
            if len(tracker) == 0:
                raise
            status["complete"] = False
            status["stopped_because"] = str(err)
        except KeyboardInterrupt:
            if len(tracker) == 0:
                raise
            status["complete"] = False
            status["stopped_because"] = "interrupted by the user"
        attrs = {
            "width": source.width,
            "height": source.height,
            "source": str(source.path) if source.path else source.kind,
            "kind": source.kind,
            "model_sha256": model.sha256,
        }
        rec = tracker.recording(attrs)
    status["seconds"] = time.perf_counter() - t0
    return rec, status


def analyze_clip(
    video: str | os.PathLike[str] | int,
    out_dir: str | os.PathLike[str],
    *,
    mirrored: bool = False,
    model: str | os.PathLike[str] | ResolvedModel | None = None,
    camera: bool = False,
    max_frames: int | None = None,
    max_faces: int = 2,
    settings: MeasureSettings | None = None,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Analyse one recording and write its outputs.

    Parameters
    ----------
    video
        Video file, image, image folder, or camera index (with ``camera=True``).
    out_dir
        Output folder; each file in it is replaced atomically, and only once
        its new content is complete.
    mirrored
        Selfie-style video (the patient's right on the image's right).
    model
        Model path (or a resolved model); default: resolve it (see ``synktrack model``).
    max_frames
        Stop after this many frames.
    settings
        Quality limits for the per-frame flags.
    progress
        Called with (frames done, frames expected) after each frame.
    announce
        Called once with where the model came from.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    InputError
        The input cannot be read (nothing is written).
    NoFaceError
        Outputs were written, but no frame had a face.
    """
    settings = settings or MeasureSettings()
    resolved = model if isinstance(model, ResolvedModel) else resolve_model(model,
                                                                            announce=announce)
    out = Path(out_dir)
    with open_source(video, camera=camera, max_frames=max_frames) as source:
        input_info = _input_info(source)
        rec, status = landmark_source(source, resolved, max_faces=max_faces, progress=progress)
    t1 = time.perf_counter()
    frames = measures_process(rec, mirrored=mirrored, settings=settings)
    t_measure = time.perf_counter() - t1
    rec = replace(rec, attrs={**rec.attrs, "mirrored": mirrored})
    n_face = int(rec.face_present.sum())
    session = {
        "created": now_iso(),
        "versions": versions(),
        "model": {"path": str(resolved.path), "sha256": resolved.sha256,
                  "source": resolved.source, "name": "face_landmarker.task float16 v1"},
        "input": {**input_info, **status, "frames_read": rec.n_frames},
        "settings": {"mirrored": mirrored, "max_faces": max_faces,
                     "quality": settings.to_dict(), "refine": RefineSettings().__dict__},
        "scale": {"mm_per_px": frames.attrs.get("mm_per_px"), "iris_diameter_mm":
                  frames.attrs.get("iris_diameter_mm"),
                  "reference_frame": rec.attrs.get("reference_frame")},
        "counts": {"frames": rec.n_frames, "face_frames": n_face,
                   "usable_frames": int(frames["usable"].sum()),
                   "several_faces_frames": int(frames["several_faces"].sum())},
        "timings": {"landmarks_s": round(status["seconds"], 3),
                    "measures_s": round(t_measure, 3),
                    "frames_per_s": round(rec.n_frames / max(status["seconds"], 1e-9), 1)},
        "columns": {"frames.csv": COLUMNS},
    }
    files = write_outputs(out, rec, frames, session)
    result = AnalysisResult(out, frames, rec, session, files)
    if n_face == 0:
        raise NoFaceError(f"no face found in any of {rec.n_frames} frames of {input_info['path']}"
                          f"; outputs written to {out} with face_present = 0. Check the face "
                          "is in view, lit and not too small")
    return result


def write_outputs(out: Path, rec: Recording, frames: pd.DataFrame,
                  session: dict[str, Any]) -> dict[str, Path]:
    """Write frames.csv, the landmark container and session.json, each atomically."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"frames": out / FRAMES_CSV, "landmarks": out / CONTAINER_NAME,
             "session": out / SESSION_JSON}
    with atomic_path(files["frames"]) as tmp:
        frames.to_csv(tmp, index=False, float_format="%.4f")
    rec.save(files["landmarks"])
    write_json(files["session"], session)
    return files


def _input_info(source: FrameSource) -> dict[str, Any]:
    info: dict[str, Any] = {
        "path": str(source.path) if source.path else f"{source.kind}",
        "kind": source.kind,
        "width": source.width,
        "height": source.height,
        "fps_nominal": source.fps_nominal,
        "frames_expected": source.n_frames,
        "rotation_deg": source.rotation_deg,
    }
    if source.path is not None and Path(source.path).is_file():
        info["sha256"] = file_sha256(source.path)
        info["bytes"] = Path(source.path).stat().st_size
    return info

