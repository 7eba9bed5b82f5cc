"""Planning and resuming: hash and de-duplicate the clips, name their folders, and tell
which are already done (``done.json`` naming the same content and settings)."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from synktrack.batch.manifest import clip_options, protocol_key
from synktrack.batch.tasks import (
    CLIPS_DIR,
    DONE_JSON,
    MANIFEST_FIELDS,
    SESSION_CSV,
    ClipOutcome,
    ClipTask,
    failed_outcome,
)
from synktrack.errors import InputError, SynktrackError
from synktrack.io.video import file_sha256

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{10})$")


def clip_id(clip_path: str, sha256: str) -> str:
    """Folder name of a clip: a slug of its relative path and 10 hex digits of its SHA-256."""
    stem = clip_path.rsplit(".", 1)[0] if "." in Path(clip_path).name else clip_path
    slug = _SAFE.sub("_", stem.replace("/", "__"))[-60:].strip("._-") or "clip"
    return f"{slug}-{sha256[:10]}"


def plan(entries: list[tuple[Path, str, dict[str, str]]], out: Path, defaults: dict[str, Any],
          fixed: dict[str, Any]) -> tuple[list[ClipTask], list[ClipOutcome]]:
    """Hash and de-duplicate the clips; their tasks, and outcomes for the rest."""
    outcomes: list[ClipOutcome] = []
    seen_paths: dict[str, str] = {}
    unique: list[tuple[Path, str, dict[str, str]]] = []
    for path, rel, row in entries:
        key = str(path.resolve())
        if key in seen_paths:
            outcomes.append(ClipOutcome(rel, str(path), "duplicate", reason="same file",
                                        duplicate_of=seen_paths[key]))
            continue
        seen_paths[key] = rel
        unique.append((path, rel, row))
    with cf.ThreadPoolExecutor(4) as pool:
        hashes = list(pool.map(_try_hash, [p for p, _, _ in unique]))
    existing = _existing_ids(out / CLIPS_DIR)
    seen_hashes: dict[str, str] = {}
    tasks: list[ClipTask] = []
    protocol_keys: dict[str | None, str | None] = {}
    for (path, rel, row), sha in zip(unique, hashes, strict=True):
        if isinstance(sha, SynktrackError):
            outcomes.append(failed_outcome(rel, str(path), sha))
            continue
        if sha in seen_hashes:
            outcomes.append(ClipOutcome(rel, str(path), "duplicate", reason="same content",
                                        duplicate_of=seen_hashes[sha]))
            continue
        seen_hashes[sha] = rel
        try:
            opts = clip_options(row, defaults)
            spec = opts["protocol"]
            if spec not in protocol_keys:
                protocol_keys[spec] = protocol_key(spec)
        except InputError as err:
            outcomes.append(failed_outcome(rel, str(path), err))
            continue
        settings = {**{k: opts[k] for k in sorted(opts)}, "protocol": protocol_keys[spec],
                    **fixed["settings"]}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        cid = existing.get(sha[:10]) or clip_id(rel, sha)
        extra = {k: v for k, v in row.items() if k not in (*MANIFEST_FIELDS, "clip_path")}
        tasks.append(ClipTask(
            path=str(path.resolve()), clip_path=rel, clip_id=cid, sha256=sha,
            out_dir=str(out / CLIPS_DIR / cid), settings=settings, settings_hash=digest[:16],
            extra=extra, model=fixed["model"], max_frames=fixed["max_frames"],
            limit_threads=fixed["limit_threads"], **opts))
    return tasks, outcomes


def _try_hash(path: Path) -> str | SynktrackError:
    try:
        return file_sha256(path)
    except SynktrackError as err:
        return err


def _existing_ids(clips: Path) -> dict[str, str]:
    """Clip folders already in DIR/clips by the 10 hex digits of their content hash."""
    if not clips.is_dir():
        return {}
    out: dict[str, str] = {}
    for d in sorted(clips.iterdir()):
        m = _HASH_SUFFIX.search(d.name)
        if m and d.is_dir():
            out.setdefault(m.group(1), d.name)
    return out


def is_done(task: ClipTask) -> bool:
    """Whether the clip's folder holds finished outputs for this content and these settings."""
    marker = read_marker(Path(task.out_dir))
    if marker is None:
        return False
    return (marker.get("input_sha256") == task.sha256
            and marker.get("settings_hash") == task.settings_hash
            and all((Path(task.out_dir) / f).is_file() for f in marker.get("files", [SESSION_CSV])))


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / DONE_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None

