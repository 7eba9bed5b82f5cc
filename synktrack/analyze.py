"""The whole chain for one recording, used by every front end (CLI, web page, batch).

``source -> landmarks -> measures -> (epochs -> indices) -> outputs``
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synktrack.atomic import atomic_files, check_writable, write_json
from synktrack.epochs import (
    EpochSettings,
    blinks_detect,
    epochs_auto,
    epochs_from_protocol,
    movements_missing,
    prompted_mask,
    rest_mask,
)
from synktrack.errors import InputError, NoFaceError, OutputError, SynktrackError
from synktrack.history import append_session, check_history
from synktrack.indices import (
    METHODS,
    FlagRules,
    blink_coupling_session,
    epochs_analyze,
    session_indices,
)
from synktrack.io.video import FrameSource, IncompleteInputWarning, file_sha256, open_source
from synktrack.landmarks import CONTAINER_NAME, Recording
from synktrack.lids import LidSettings
from synktrack.margins import MarginSettings
from synktrack.measures import COLUMNS, MeasureSettings, measures_process
from synktrack.model import ResolvedModel, resolve_model
from synktrack.protocol import Protocol, load_protocol
from synktrack.provenance import now_iso, versions
from synktrack.refine import RefineSettings
from synktrack.report.run_summary import run_summary
from synktrack.schema import EPOCH_COLUMNS, session_columns
from synktrack.session_row import check_affected_side, new_session_id, session_row
from synktrack.track import ClipTracker

FRAMES_CSV = "frames.csv"
EPOCHS_CSV = "epochs.csv"
SESSION_CSV = "session.csv"
SESSION_JSON = "session.json"
SUMMARY_PNG = "summary.png"
ANNOTATED_MP4 = "annotated.mp4"  # only with --annotated-video (synktrack.annotate)
# Every file one run writes into its output folder; session.json (last) marks a complete run.
RUN_FILES = (FRAMES_CSV, CONTAINER_NAME, EPOCHS_CSV, SESSION_CSV, SUMMARY_PNG, ANNOTATED_MP4,
             SESSION_JSON)
EYE_MEASURE = "image_lids"  # eye aperture from lid margins found in the image

Progress = Callable[[int, int | None], None]


@dataclass
class AnalysisResult:
    """What :func:`analyze_clip` wrote and found."""

    out_dir: Path
    frames: pd.DataFrame
    recording: Recording
    session: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    epochs: pd.DataFrame | None = None
    session_row: dict[str, Any] | None = None
    found: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.session["input"]["complete"])


def landmark_source(source: FrameSource, model: ResolvedModel, *, max_faces: int = 2,
                    refine: RefineSettings | None = None, progress: Progress | None = None,
                    snapshot_at: float | None = None,
                    ) -> tuple[Recording, dict[str, Any], dict[str, tuple[int, np.ndarray]]]:
    """Landmark every frame of a source; keep what was read if it fails half-way.

    Returns the recording, a status dict (``complete``, ``stopped_because``,
    ``warnings``, ``seconds``) and snapshots for the summary figure: the
    reference (rest) frame and the first frame at or after ``snapshot_at``.
    """
    status: dict[str, Any] = {"complete": True, "stopped_because": None, "warnings": []}
    snaps: dict[str, tuple[int, np.ndarray]] = {}
    t0 = time.perf_counter()
    with ClipTracker(model.path, max_faces=max_faces, refine=refine,
                     capacity=source.n_frames or 256) as tracker:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for frame in source.frames():
                    tracker.process(frame.image, frame.time_s)
                    if "rest" not in snaps and tracker.reference is not None:
                        snaps["rest"] = (tracker.reference, frame.image)
                    if snapshot_at is not None and "move" not in snaps and \
                            frame.time_s >= snapshot_at:
                        snaps["move"] = (frame.index, frame.image)
                    if progress:
                        progress(len(tracker), source.n_frames)
            messages = [str(w.message).splitlines()[0] for w in caught]
            status["warnings"] = messages
            stopped = [str(w.message).splitlines()[0] for w in caught
                       if issubclass(w.category, IncompleteInputWarning)]
            if stopped:
                status["complete"] = False
                status["stopped_because"] = stopped[-1]
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
    return rec, status, snaps


def analyze_clip(
    video: str | os.PathLike[str] | int,
    out_dir: str | os.PathLike[str],
    *,
    protocol: str | os.PathLike[str] | Protocol | None = None,
    offset_s: float = 0.0,
    affected_side: str = "unknown",
    subject: str | None = None,
    session_date: str | None = None,
    history: str | os.PathLike[str] | None = None,
    mirrored: bool = False,
    model: str | os.PathLike[str] | ResolvedModel | None = None,
    camera: bool = False,
    max_frames: int | None = None,
    max_faces: int = 2,
    settings: MeasureSettings | None = None,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
    annotated_video: bool = False,
) -> AnalysisResult:
    """Analyse one recording and write its outputs.

    Parameters
    ----------
    video
        Video file, image, image folder, or camera index (with ``camera=True``).
    out_dir
        Output folder; each file in it is replaced atomically, and only once
        its new content is complete.
    protocol
        Built-in name, TOML file, :class:`Protocol`, ``"auto"`` to find the
        movements in the signals, or None for per-frame measures only.
    offset_s
        Time in the clip at which the protocol starts.
    affected_side
        ``left``, ``right`` or ``unknown`` (for asymmetry signs).
    subject, session_date
        Metadata for session.csv (date defaults to today).
    history
        History CSV to append the session row to (locked, atomic).
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
    annotated_video
        Also write ``annotated.mp4`` (the source re-decoded with the measures drawn,
        see :mod:`synktrack.annotate`). If it fails, the other outputs are still
        written and ``session.json`` → ``annotated_video.error`` says why.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    InputError
        The input or protocol cannot be read (nothing is written).
    NoFaceError
        Outputs were written, but no frame had a face.
    """
    check_options(affected_side=affected_side, offset_s=offset_s, history=history)
    if annotated_video and (camera or isinstance(video, int)):
        raise InputError("--annotated-video needs a video file: a camera is not recorded; "
                         "record to a file first, then analyse that file")
    check_writable(out_dir)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise OutputError(f"--out {out_dir} is a file, not a folder: choose a folder for the "
                          "outputs")
    proto = resolve_protocol(protocol)
    snapshot_at = None
    if isinstance(proto, Protocol):
        moves = [s for s in proto.steps if s.movement != "rest"]
        first = next((s for s in moves if s.movement == "smile"), moves[0] if moves else None)
        if first is not None:
            snapshot_at = offset_s + first.start_s + 0.65 * first.duration_s
    with open_source(video, camera=camera, max_frames=max_frames) as source:
        # only once the input is known to be readable: a bad file gets one line, no chatter
        resolved = model if isinstance(model, ResolvedModel) else resolve_model(
            model, announce=announce)
        input_info = _input_info(source)
        # A still or a few images cannot wait for open eyes to take the reference.
        refine = RefineSettings(max_wait=1) if source.kind == "images" else None
        rec, status, snaps = landmark_source(source, resolved, max_faces=max_faces,
                                             refine=refine, progress=progress,
                                             snapshot_at=snapshot_at)
    return analyze_recording(
        rec, out_dir, protocol=proto, offset_s=offset_s, affected_side=affected_side,
        subject=subject, session_date=session_date, history=history, mirrored=mirrored,
        model=resolved, settings=settings, input_info={**input_info, **status},
        snapshots=snaps, refine=refine,
        annotate_source=None if not annotated_video or isinstance(video, int) else video,
        annotate_progress=progress,
    )


MAX_OFFSET_S = 24 * 3600.0


def check_options(*, affected_side: str = "unknown", offset_s: float = 0.0,
                  history: str | os.PathLike[str] | None = None) -> None:
    """Refuse options that cannot work, before any frame is read.

    Raises
    ------
    InputError
        Unknown affected side, an offset that is not a finite time, or a
        history file that exists but cannot be added to (see
        :func:`synktrack.history.check_history`).
    """
    import math

    check_affected_side(affected_side)
    if not isinstance(offset_s, int | float) or not math.isfinite(offset_s) \
            or abs(offset_s) > MAX_OFFSET_S:
        raise InputError(f"--offset-s {offset_s!r} is not a time in the clip: give seconds, "
                         "e.g. --offset-s 2.5")
    if history is not None:
        check_history(history)


def run_notices(frames: pd.DataFrame, face_present: np.ndarray, protocol: Protocol | None,
                offset_s: float) -> list[str]:
    """Warnings about a run that finished but may not be what the user meant (one line each)."""
    notes = []
    t = frames["time_s"].to_numpy(dtype=float) if len(frames) else np.zeros(0)
    clip_end = float(t[-1]) if len(t) else 0.0
    if protocol is not None and len(t):
        end = offset_s + protocol.duration_s
        if end > clip_end + PROTOCOL_SLACK_S:
            notes.append(f"the protocol runs to {end:.1f} s but the clip ends at "
                         f"{clip_end:.1f} s: the steps after it have no frames")
    n, n_face = len(face_present), int(np.sum(face_present))
    if n >= 10 and 0 < n_face < FEW_FACES * n:
        notes.append(f"a face was found in only {n_face} of {n} frames: check that the face "
                     "is upright, in view and lit (is the video rotated?)")
    return notes


FEW_FACES = 0.5  # warn when a face is found in fewer than this share of the frames
PROTOCOL_SLACK_S = 0.5  # a protocol may end this much after the clip's last frame


def resolve_protocol(protocol: str | os.PathLike[str] | Protocol | None) -> Protocol | str | None:
    """A Protocol, the string "auto", or None; errors name the bad file or line."""
    if protocol is None or isinstance(protocol, Protocol):
        return protocol
    if str(protocol) == "auto":
        return "auto"
    return load_protocol(protocol)


def analyze_recording(
    rec: Recording,
    out_dir: str | os.PathLike[str],
    *,
    protocol: Protocol | str | None = None,
    offset_s: float = 0.0,
    affected_side: str = "unknown",
    subject: str | None = None,
    session_date: str | None = None,
    history: str | os.PathLike[str] | None = None,
    mirrored: bool = False,
    model: ResolvedModel | None = None,
    settings: MeasureSettings | None = None,
    input_info: dict[str, Any] | None = None,
    snapshots: dict[str, tuple[int, np.ndarray]] | None = None,
    refine: RefineSettings | None = None,
    annotate_source: str | os.PathLike[str] | None = None,
    annotate_progress: Progress | None = None,
) -> AnalysisResult:
    """Measures, epochs, indices and outputs for an already landmarked recording.

    Used by :func:`analyze_clip`, by the weekly-check server (which landmarks
    while the patient records) and to re-run analysis from a saved container.
    With ``annotate_source`` (the video the recording came from) it also writes
    ``annotated.mp4`` among the run's files.
    ``refine`` is what the recording was landmarked with (default: the defaults); it,
    like every other setting, is recorded in ``session.json`` exactly as used.
    """
    settings = settings or MeasureSettings()
    refine = refine or RefineSettings()
    epoch_settings, rules = EpochSettings(), FlagRules()
    out = Path(out_dir)
    info = dict(input_info or {"path": rec.attrs.get("source"), "complete": True})
    info.setdefault("complete", True)
    t1 = time.perf_counter()
    frames = measures_process(rec, mirrored=mirrored, settings=settings)
    rec = replace(rec, attrs={**rec.attrs, "mirrored": mirrored})
    n_face = int(rec.face_present.sum())
    proto = protocol
    found: list[str] = []
    if proto == "auto":
        proto, found = epochs_auto(frames)
    notices = run_notices(frames, rec.face_present,
                          proto if isinstance(proto, Protocol) else None, offset_s)
    session: dict[str, Any] = {
        "created": now_iso(),
        "versions": versions(),
        "model": ({"path": str(model.path), "sha256": model.sha256, "source": model.source,
                   "name": "face_landmarker.task float16 v1"} if model else
                  {"sha256": rec.attrs.get("model_sha256")}),
        "input": {**info, "frames_read": rec.n_frames},
        "settings": {"mirrored": mirrored, "quality": settings.to_dict(),
                     "refine": asdict(refine), "lids": asdict(LidSettings()),
                     "margins": asdict(MarginSettings()), "epochs": asdict(epoch_settings),
                     "flags": asdict(rules),
                     "offset_s": offset_s,
                     "affected_side": affected_side},
        "scale": {"mm_per_px": frames.attrs.get("mm_per_px"),
                  "iris_diameter_mm": frames.attrs.get("iris_diameter_mm"),
                  "source": frames.attrs.get("scale_source"),
                  "iris_spread_pct": _finite(frames.attrs.get("iris_spread_pct")),
                  "iris_frames": frames.attrs.get("iris_frames"),
                  "reference_frame": rec.attrs.get("reference_frame")},
        "counts": {"frames": rec.n_frames, "face_frames": n_face,
                   "usable_frames": int(frames["usable"].sum()),
                   "several_faces_frames": int(frames["several_faces"].sum())},
        "timings": {"landmarks_s": round(float(info.get("seconds", 0.0)), 3),
                    "frames_per_s": round(rec.n_frames / max(float(info.get("seconds", 0.0)),
                                                             1e-9), 1)},
        "columns": {"frames.csv": COLUMNS},
    }
    epochs_table = None
    row: dict[str, Any] | None = None
    if isinstance(proto, Protocol):
        proto = proto.shifted(offset_s) if offset_s else proto
        epochs_table, row = _session(frames, proto, rec, session, affected_side=affected_side,
                                     subject=subject, session_date=session_date,
                                     mirrored=mirrored, epoch_settings=epoch_settings,
                                     rules=rules)
        session["protocol"] = proto.to_dict()
        if found:
            session["protocol"]["found"] = found
        session["methods"] = METHODS
        session["columns"]["session.csv"] = session_columns()
        session["columns"]["epochs.csv"] = EPOCH_COLUMNS
    session["timings"]["analysis_s"] = round(time.perf_counter() - t1, 3)
    if history is not None and row is None:
        notices.append(f"--history {history} was given without --protocol: no session row "
                       "was added (give --protocol to compute indices)")
    if notices:
        session["warnings"] = list(notices)
    run_proto = proto if isinstance(proto, Protocol) else None
    video = None if annotate_source is None else (lambda stage: _annotated(
        stage, annotate_source, rec, frames, run_proto, mirrored, annotate_progress))
    files = write_outputs(out, rec, frames, session, epochs_table, row, summary=lambda stage: (
        run_summary(stage, rec, frames, epochs_table, snapshots or {}, mirrored,
                    run_proto, subject)), video=video)
    if row is not None and history is not None:
        append_session(history, row)
        files["history"] = Path(history)
    result = AnalysisResult(out, frames, rec, session, files, epochs=epochs_table,
                            session_row=row, found=found, notices=list(notices))
    if n_face == 0:
        raise NoFaceError(f"no face found in any of {rec.n_frames} frames of {info.get('path')}"
                          f"; outputs written to {out} with face_present = 0. Check the face "
                          "is in view, lit and not too small")
    return result


def _annotated(stage: Path, source: str | os.PathLike[str], rec: Recording,
               frames: pd.DataFrame, proto: Protocol | None, mirrored: bool,
               progress: Progress | None) -> dict[str, Any]:
    """Write ``annotated.mp4`` into the staging folder (see :mod:`synktrack.annotate`)."""
    from synktrack.annotate import write_annotated_video

    return write_annotated_video(stage / ANNOTATED_MP4, source, rec, frames, protocol=proto,
                                 mirrored=mirrored, progress=progress)


def _session(frames: pd.DataFrame, proto: Protocol, rec: Recording, session: dict[str, Any], *,
             affected_side: str, subject: str | None, session_date: str | None,
             mirrored: bool, epoch_settings: EpochSettings,
             rules: FlagRules) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Epochs table and the session row, with the epoch timing and flag rules given."""
    ep = epochs_from_protocol(frames, proto, settings=epoch_settings)
    t = frames["time_s"].to_numpy()
    usable = frames["usable"].to_numpy().astype(bool)
    rest = rest_mask(frames, proto) & usable
    blink, n_blinks = blinks_detect(frames, rest, settings=epoch_settings)
    coupling = blink_coupling_session(frames, rest, prompted_mask(frames, proto))
    if len(ep):
        ep_rows, pooled = epochs_analyze(frames, ep, blink)
    else:
        ep_rows, pooled = pd.DataFrame(columns=list(EPOCH_COLUMNS)), {}
    ep_rows = ep_rows.reindex(columns=list(EPOCH_COLUMNS))
    indices = session_indices(ep_rows, pooled, affected_side=affected_side,
                              eye_measure=EYE_MEASURE, blink=coupling, rules=rules)
    # A session is complete when the whole recording was read and every movement of the
    # protocol was seen and measured at least once (a still face is not a session).
    missing = movements_missing(ep, proto) if proto.movements() else ["any movement"]
    session["movements_missing"] = missing
    created = datetime.now().astimezone()
    src_hash = session["input"].get("sha256") or ""
    row = session_row(
        session_id=new_session_id(created, src_hash),
        started_at=created.isoformat(timespec="seconds"),
        session_date=session_date or f"{created:%Y-%m-%d}",
        subject=subject, protocol=proto.name, protocol_version=proto.version,
        affected_side=affected_side, mirrored=mirrored,
        complete=bool(session["input"].get("complete", True)) and not missing,
        source=session["input"].get("path", ""), source_sha256=src_hash,
        versions=session["versions"], model_sha256=session["model"].get("sha256"),
        eye_measure=EYE_MEASURE,
        **indices,
        duration_s=round(float(t[-1] - t[0]), 3) if len(t) else 0.0,
        usable_frame_fraction=round(float(frames["usable"].mean()), 3) if len(t) else 0.0,
        epochs_total=int(len(ep)),
        epochs_usable=int(ep["usable"].sum()) if len(ep) else 0,
        blinks_n=n_blinks,
    )
    return ep_rows, row


def write_outputs(out: Path, rec: Recording, frames: pd.DataFrame, session: dict[str, Any],
                  epochs: pd.DataFrame | None = None,
                  row: dict[str, Any] | None = None,
                  summary: Callable[[Path], Path] | None = None,
                  video: Callable[[Path], dict[str, Any]] | None = None) -> dict[str, Path]:
    """Write every output file of one run; they replace the old run's files together.

    All files go to a staging folder first (:func:`synktrack.atomic.atomic_files`)
    and are renamed into ``out`` only once every one is complete; files of an
    earlier run that this run does not write (``epochs.csv`` of a protocol run
    before a run without one, an old ``summary.png``) are removed, so ``out``
    always holds exactly one run. ``summary`` draws the summary figure into
    the staging folder; if it fails, the run goes on without it (a warning in
    ``session.json``), since a figure must never cost the measurements.
    ``video`` writes ``annotated.mp4`` into the staging folder the same way and
    returns what it wrote (``session.json`` → ``annotated_video``); if it fails,
    ``annotated_video`` holds the one-line ``error`` instead and no video is left.
    """
    names = {"frames": FRAMES_CSV, "landmarks": CONTAINER_NAME}
    interrupted = False
    if epochs is not None:
        names["epochs"] = EPOCHS_CSV
    if row is not None:
        names["session_csv"] = SESSION_CSV
    with atomic_files(out, RUN_FILES) as stage:
        if summary is not None:
            try:
                summary(stage)
                names["summary"] = SUMMARY_PNG
            except OutputError:
                raise
            except Exception as err:
                message = f"summary figure not drawn: {type(err).__name__}: {err}"
                message = message.splitlines()[0]
                session["input"].setdefault("warnings", []).append(message)
                warnings.warn(message, stacklevel=2)
        if video is not None:
            try:
                session["annotated_video"] = video(stage)
                names["annotated_video"] = ANNOTATED_MP4
            except (Exception, KeyboardInterrupt) as err:  # noqa: BLE001  a video must never
                (stage / ANNOTATED_MP4).unlink(missing_ok=True)  # cost the measurements
                interrupted = isinstance(err, KeyboardInterrupt)
                text = "interrupted by the user" if interrupted else str(err) \
                    if isinstance(err, SynktrackError) else f"{type(err).__name__}: {err}"
                session["annotated_video"] = {"file": None, "error": text.splitlines()[0]}
        frames.to_csv(stage / FRAMES_CSV, index=False, float_format="%.4f")
        rec.save(stage / CONTAINER_NAME)
        if epochs is not None:
            epochs.to_csv(stage / EPOCHS_CSV, index=False, float_format="%.4f")
        if row is not None:
            pd.DataFrame([row]).reindex(columns=list(session_columns())).to_csv(
                stage / SESSION_CSV, index=False, float_format="%.4f")
        names["session"] = SESSION_JSON
        write_json(stage / SESSION_JSON, session)
    if interrupted:  # Ctrl-C while the video was drawn: the measurements are kept
        raise KeyboardInterrupt
    return {key: out / name for key, name in names.items()}


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


def _finite(x: object) -> float | None:
    """A float for JSON, None where it is not finite (JSON has no NaN)."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
