"""The manifest CSV and per-clip options: manifest values over the batch defaults."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from synktrack.batch.tasks import MANIFEST_FIELDS
from synktrack.errors import InputError
from synktrack.session_row import check_affected_side

_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a manifest CSV with lower-case column names; ``path`` made absolute.

    Columns: ``path`` (required; relative to the manifest's folder or absolute),
    and optionally ``subject``, ``session_date`` (YYYY-MM-DD), ``affected_side``,
    ``protocol`` (name or TOML file, relative to the manifest), ``mirrored``
    (1/0, yes/no) and ``offset_s``. Other columns are copied to sessions.csv.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
                    for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"cannot read manifest {path}: {err}") from err
    if not rows or "path" not in rows[0]:
        raise InputError(f"manifest {path} needs a header with a 'path' column (optional: "
                         f"{', '.join(MANIFEST_FIELDS[1:])})")
    base = path.resolve().parent
    for r in rows:
        r["clip_path"] = r["path"]
        r["path"] = str(base / Path(r["path"]).expanduser()) if r["path"] else ""
        proto = r.get("protocol", "")
        if proto and (base / proto).is_file():
            r["protocol"] = str(base / proto)
    return rows


def clip_options(row: Mapping[str, str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Per-clip options: manifest values over the batch defaults; InputError when invalid."""
    opts = dict(defaults)
    if row.get("subject"):
        opts["subject"] = row["subject"]
    if row.get("session_date"):
        try:
            opts["session_date"] = date.fromisoformat(row["session_date"]).isoformat()
        except ValueError as err:
            raise InputError(f"session_date {row['session_date']!r} is not YYYY-MM-DD") from err
    if row.get("affected_side"):
        opts["affected_side"] = row["affected_side"].lower()
    check_affected_side(opts["affected_side"], "affected_side")
    if row.get("mirrored"):
        flag = row["mirrored"].lower()
        if flag not in _TRUE | _FALSE:
            raise InputError(f"mirrored must be 1 or 0 (yes/no), not {row['mirrored']!r}")
        opts["mirrored"] = flag in _TRUE
    if row.get("offset_s"):
        try:
            opts["offset_s"] = float(row["offset_s"])
        except ValueError as err:
            raise InputError(f"offset_s {row['offset_s']!r} is not a number") from err
    if row.get("protocol"):
        opts["protocol"] = row["protocol"]
    return opts


def protocol_key(spec: str | None) -> str | None:
    """What identifies a protocol's content (validates it; InputError when unusable)."""
    if spec is None or spec == "auto":
        return spec
    from synktrack.protocol import load_protocol

    d = load_protocol(spec).to_dict()
    d.pop("source", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def protocol_spec(spec: str | os.PathLike[str] | None) -> str | None:
    if spec is None:
        return None
    return str(Path(spec).resolve()) if Path(spec).is_file() else str(spec)

