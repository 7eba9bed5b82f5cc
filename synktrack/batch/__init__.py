"""Many clips over any :class:`concurrent.futures.Executor`: local processes or a Dask cluster.

Layout of the output folder ``DIR``::

    clips/<clip_id>/   analyze_clip's outputs for one clip, then done.json (written last)
    sessions.csv       one row per finished clip: clip_path, clip_id, the session.csv columns
    epochs.csv         every finished clip's epoch rows, with clip_path and clip_id
    errors.csv         clips of this run that failed: path, error type, reason, exit code
    duplicates.csv     inputs left out because the same file or content was already listed
    batch.json         provenance of the last run (options, versions, counts, timings)

A clip whose ``done.json`` names the same input SHA-256 and the same settings
is skipped, so an interrupted run resumes where it stopped. ``sessions.csv``
and ``epochs.csv`` are rebuilt at the end from every finished clip folder, so
clips from earlier runs into the same ``DIR`` are included. Every file is
written atomically. With a Dask cluster, the workers must see the clips and
``DIR`` at the same paths (a shared file system) and run the same synktrack;
start them with ``--nthreads 1`` (one clip per core) and, for about 20 % more
throughput, without Dask's sampling profiler
(``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``).

The modules, in the order a run uses them: :mod:`~synktrack.batch.tasks` (the shared names and
records), :mod:`~synktrack.batch.discover` (finding clips), :mod:`~synktrack.batch.manifest`
(the manifest and per-clip options), :mod:`~synktrack.batch.plan` (hashing, de-duplication and
resume), :mod:`~synktrack.batch.worker` (one clip in a worker process),
:mod:`~synktrack.batch.executors` (local processes or Dask), :mod:`~synktrack.batch.collect`
(the tables), :mod:`~synktrack.batch.run` (the entry point, :func:`batch`). Everything that
other code uses is importable from ``synktrack.batch`` itself.
"""

from __future__ import annotations

from synktrack.batch.collect import collect
from synktrack.batch.discover import find_clips
from synktrack.batch.executors import dask_client, execute
from synktrack.batch.manifest import clip_options, read_manifest
from synktrack.batch.plan import clip_id, is_done
from synktrack.batch.run import batch
from synktrack.batch.tasks import (
    BATCH_JSON,
    CLIPS_DIR,
    DONE_JSON,
    DUPLICATES_CSV,
    EPOCHS_CSV,
    ERROR_COLUMNS,
    ERRORS_CSV,
    LOCK_NAME,
    MANIFEST_FIELDS,
    MAX_ATTEMPTS,
    SESSION_CSV,
    SESSIONS_CSV,
    BatchResult,
    ClipOutcome,
    ClipTask,
    Progress,
    Submitter,
)
from synktrack.batch.worker import PARENT_POLL_S, die_with_parent, limit_threads, run_clip

__all__ = [
    "BATCH_JSON", "CLIPS_DIR", "DONE_JSON", "DUPLICATES_CSV", "EPOCHS_CSV", "ERRORS_CSV",
    "ERROR_COLUMNS", "LOCK_NAME", "MANIFEST_FIELDS", "MAX_ATTEMPTS", "PARENT_POLL_S",
    "SESSIONS_CSV", "SESSION_CSV", "BatchResult", "ClipOutcome", "ClipTask", "Progress",
    "Submitter", "batch", "clip_id", "clip_options", "collect", "dask_client", "die_with_parent",
    "execute", "find_clips", "is_done", "limit_threads", "read_manifest", "run_clip",
]
