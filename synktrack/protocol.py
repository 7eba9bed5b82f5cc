"""Guided-session protocols: TOML files of timed movement steps.

A protocol looks like::

    name = "weekly-check"
    version = 1
    [[step]]
    movement = "rest"
    duration_s = 4.0
    prompt = "Relax your face and look at the camera."

The clip's first frame is the protocol's t = 0 (shift with ``offset_s``).
Built-in protocols live in ``synktrack/protocols/*.toml``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from synktrack.errors import InputError

MOVEMENTS = ("rest", "smile", "eye_closure", "pucker", "brow_raise")
# Bounds that keep a mistaken or hostile file from costing minutes and gigabytes.
MAX_STEPS = 500
MAX_DURATION_S = 3600.0
MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Step:
    """One prompted step."""

    movement: str
    duration_s: float
    prompt: str = ""
    start_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Protocol:
    """A named, versioned list of steps with their start times filled in."""

    name: str
    version: int
    steps: tuple[Step, ...]
    description: str = ""
    source: str = "built-in"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.steps[-1].end_s if self.steps else 0.0

    def movements(self) -> list[str]:
        return sorted({s.movement for s in self.steps if s.movement != "rest"})

    def shifted(self, offset_s: float) -> Protocol:
        """The protocol starting ``offset_s`` seconds into the clip."""
        steps = tuple(Step(s.movement, s.duration_s, s.prompt, s.start_s + offset_s)
                      for s in self.steps)
        return Protocol(self.name, self.version, steps, self.description, self.source, self.extra)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source,
                "steps": [{"movement": s.movement, "duration_s": s.duration_s,
                           "start_s": round(s.start_s, 3), "prompt": s.prompt}
                          for s in self.steps]}


def builtin_names() -> list[str]:
    """Names of the built-in protocols."""
    folder = resources.files("synktrack") / "protocols"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_protocol(spec: str | os.PathLike[str]) -> Protocol:
    """A protocol by built-in name or from a TOML file.

    Raises
    ------
    InputError
        Unknown name, unreadable file, or an invalid protocol (the message
        names the line).
    """
    path = Path(spec)
    if isinstance(spec, str) and spec in builtin_names():
        text = (resources.files("synktrack") / "protocols" / f"{spec}.toml").read_text("utf-8")
        return parse_protocol(text, f"built-in:{spec}")
    if not path.is_file():
        names = ", ".join(builtin_names())
        raise InputError(f"no protocol {str(spec)!r}: give a TOML file or one of: {names}")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"protocol {path} is larger than {MAX_BYTES // 1024} KB: a protocol "
                             f"has at most {MAX_STEPS} steps")
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read protocol {path}: {_reason(err)}") from err
    return parse_protocol(text, str(path))


def _reason(err: Exception) -> str:
    return (getattr(err, "strerror", None) or str(err)).splitlines()[0]


def parse_protocol(text: str, source: str = "<text>") -> Protocol:
    """Parse and validate protocol TOML; errors name the offending line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{source}: not valid TOML: {err}") from err
    except RecursionError:
        raise InputError(f"{source}: nested too deeply to be a protocol (a protocol is a name, "
                         "a version and a list of [[step]] tables)") from None
    lines = text.splitlines()

    def fail(msg: str, step: int | None = None, key: str | None = None) -> InputError:
        line = _line_of(lines, step, key)
        where = f"{source}, line {line}" if line else source
        return InputError(f"{where}: {msg}")

    name = data.get("name")
    if "name" not in data:
        raise InputError(f"{source}, line 1: the protocol needs a name: add "
                         "name = \"weekly-check\" at the top, before the first [[step]]")
    if not isinstance(name, str) or not name.strip():
        raise fail("the protocol needs a name, e.g. name = \"weekly-check\"", key="name")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail("version must be a whole number >= 1", key="version")
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise fail("the protocol has no steps: add [[step]] tables")
    if len(raw_steps) > MAX_STEPS:
        raise fail(f"the protocol has {len(raw_steps)} steps; at most {MAX_STEPS} are allowed")
    steps: list[Step] = []
    t = 0.0
    for i, raw in enumerate(raw_steps):
        if not isinstance(raw, dict):
            raise fail(f"step {i + 1} is not a table: write each step as a [[step]] table "
                       "with movement and duration_s", key="step")
        movement = raw.get("movement")
        if movement not in MOVEMENTS:
            raise fail(f"step {i + 1}: movement must be one of {', '.join(MOVEMENTS)}, "
                       f"not {movement!r}", i, "movement")
        dur = raw.get("duration_s")
        if isinstance(dur, bool) or not isinstance(dur, int | float) or not 0 < dur <= 600:
            raise fail(f"step {i + 1}: duration_s must be a number of seconds in (0, 600]",
                       i, "duration_s")
        prompt = raw.get("prompt", "")
        if not isinstance(prompt, str):
            raise fail(f"step {i + 1}: prompt must be text", i, "prompt")
        steps.append(Step(movement, float(dur), prompt, t))
        t += float(dur)
        if t > MAX_DURATION_S:
            raise fail(f"step {i + 1}: the protocol is longer than {MAX_DURATION_S / 60:.0f} "
                       "minutes", i, "duration_s")
    extra = {k: v for k, v in data.items() if k not in ("name", "version", "step", "description")}
    return Protocol(name.strip(), version, tuple(steps), str(data.get("description", "")),
                    source, extra)


def _line_of(lines: list[str], step: int | None, key: str | None) -> int | None:
    """1-based line of ``key`` in the ``step``-th [[step]] table (or at top level)."""
    headers = [i for i, ln in enumerate(lines) if re.match(r"\s*\[\[\s*step\s*\]\]", ln)]
    if step is None:
        start, end = 0, headers[0] if headers else len(lines)
    elif step < len(headers):
        start = headers[step]
        end = headers[step + 1] if step + 1 < len(headers) else len(lines)
    else:
        return None
    if key is not None:
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                return i + 1
    return start + 1 if step is not None else None
