"""A bounded, seeded fuzz of the command line: whatever the input, the tool fails politely.

At least 200 mutated videos and images go through ``synktrack analyze`` and at
least 100 mutated protocol, events and history files through ``synktrack
protocols``, ``history``, ``events add``, ``report`` and ``analyze --history``.
Every case must:

- exit with a documented code (0, 2, 3 or 4; 1 is an internal error),
- print no traceback and at most 3 lines on stderr besides ``warning:`` lines,
- leave earlier outputs and history intact: a failed run changes nothing; a
  run that succeeds leaves exactly one run in its folder and adds at most one
  history row after the old rows, which stay as they were.

Cases run through ``synktrack.cli.main`` in a forked process each
(``tests/fuzz_runner.py``), which is what the console script calls, minus the
interpreter start-up; a sample also runs through the real console script.
Set ``SYNKTRACK_FUZZ_SEED`` to try other inputs; the default seed is fixed. The
full fuzz needs the model and takes about 6 minutes (marked slow);
``test_fuzz_text_fast`` (120 model-free cases, ~35 s) runs on every CI run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from cli_tools import digest, run_cli

SEED = int(os.environ.get("SYNKTRACK_FUZZ_SEED", "20261202"))
N_MEDIA = 210  # mutated videos and images
N_TEXT = 120  # mutated protocol, events and history files
OK_EXITS = {0, 2, 3, 4}
RUNNER = Path(__file__).with_name("fuzz_runner.py")
CLIP = "pyfeat__single_face.mp4"
MINI = """name = "mini"
version = 1
description = "fuzz"

[[step]]
movement = "rest"
duration_s = 0.1

[[step]]
movement = "smile"
duration_s = 0.1
prompt = "Smile"
"""
EVENTS = ("date,kind,side,muscle,dose_units,note\n"
          "2024-01-08,botox,left,orbicularis oculi,5,first\n"
          "2024-03-04,therapy_start,,,,\"mirror, daily\"\n")
TOKENS = ['"', ",", "\n", "\r\n", "\0", "nan", "inf", "-inf", "1e400", "-1", "0", "[[step]]",
          "[" * 3000, "{" * 50, "²", "\ufeff", "é", "9" * 40, "'", "=", "#", "\\", "\t",
          "movement = \"smile\"", "duration_s = 1e9", "schema_version", "\x1b[31m", "  "]


# ---------------------------------------------------------------------------- mutations

def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One random damage of a binary file (flips, cuts, junk, box tags, size fields)."""
    d = bytearray(data)
    n = len(d)
    kind = rng.randrange(9)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(n)] = rng.randrange(256)
    elif kind == 1:
        d = d[: rng.randrange(n)]
    elif kind == 2:
        at = rng.randrange(n)
        d[at:at] = rng.randbytes(rng.randint(1, 512))
    elif kind == 3:
        at = rng.randrange(n)
        del d[at: at + rng.randint(1, 2048)]
    elif kind == 4:
        at = rng.randrange(n)
        d[at: at + 64] = bytes(min(64, n - at))
    elif kind == 5:
        at = rng.randrange(max(1, n - 4))
        d[at: at + 4] = b"\xff\xff\xff\xff"
    elif kind == 6:
        tags = [t for t in (b"stbl", b"moov", b"mdat", b"avcC", b"stsz", b"stco", b"stts",
                            b"trak", b"mvhd", b"\x1aE\xdf\xa3", b"IHDR", b"IDAT", b"\xff\xc0",
                            b"\xff\xda", b"GIF8", b"NETSCAPE") if t in d]
        if tags:
            at = d.find(rng.choice(tags)) + rng.randrange(-4, 8)
            d[max(0, at)] = rng.randrange(256)
        else:
            d[rng.randrange(n)] ^= 0xFF
    elif kind == 7:
        a, b = sorted(rng.randrange(n) for _ in range(2))
        d[b:b] = d[a: a + 4096]
    else:
        d = bytearray(rng.randbytes(rng.randint(0, 64))) + d[rng.randrange(64):]
    return bytes(d)


def mutate_text(text: str, rng: random.Random) -> str:
    """One to three random edits of a text file (lines, characters, odd tokens)."""
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        kind = rng.randrange(7)
        i = rng.randrange(len(lines))
        if kind == 0 and len(lines) > 1:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[i] * rng.randint(1, 3))
        elif kind == 2:
            line = lines[i]
            at = rng.randrange(len(line) + 1)
            lines[i] = line[:at] + rng.choice(TOKENS) + line[at:]
        elif kind == 3:
            line = lines[i]
            if line:
                at = rng.randrange(len(line))
                lines[i] = line[:at] + chr(rng.randrange(32, 0x2FF)) + line[at + 1:]
        elif kind == 4:
            parts = lines[i].split(",") if "," in lines[i] else lines[i].split("=")
            parts[rng.randrange(len(parts))] = rng.choice(TOKENS)
            lines[i] = ("," if "," in lines[i] else "=").join(parts)
        elif kind == 5:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            cut = rng.randrange(len(text) + 1)
            return text[:cut]
        text = "\n".join(lines)
    return text


# ---------------------------------------------------------------------------- material

def tiny_media(clip: Path, folder: Path) -> dict[str, Path]:
    """Small real face inputs: 6-frame clips in three containers, a GIF and two stills."""
    import av
    import cv2

    frames = []
    with av.open(str(clip)) as src:
        for i, f in enumerate(src.decode(video=0)):
            if i >= 6:
                break
            frames.append(cv2.resize(f.to_ndarray(format="rgb24"), (320, 180),
                                     interpolation=cv2.INTER_AREA))
    out = {}
    for name, codec, fmt in (("tiny.mp4", "libx264", None), ("tiny.webm", "libvpx", None),
                             ("tiny.mkv", "mpeg4", None), ("tiny.gif", "gif", "gif")):
        path = folder / name
        with av.open(str(path), "w", format=fmt) as dst:
            stream = dst.add_stream(codec, rate=10)
            stream.width, stream.height = 320, 180
            stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
            for img in frames:
                for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    dst.mux(pkt)
            for pkt in stream.encode():
                dst.mux(pkt)
        out[name] = path
    for name in ("still.jpg", "still.png"):
        path = folder / name
        cv2.imwrite(str(path), cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
        out[name] = path
    return out


@dataclass
class Case:
    kind: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    watched: list[Path] = field(default_factory=list)  # files/folders that must stay intact
    history: Path | None = None
    out: Path | None = None
    input: Path | None = None
    before: dict[str, dict[str, str]] = field(default_factory=dict)
    history_before: bytes = b""


def run_all(cases: list[Case], tmp: Path) -> list[dict]:
    spec = [{"args": c.args, "env": c.env, "timeout": 120} for c in cases]
    (tmp / "cases.json").write_text(json.dumps(spec))
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "MPLBACKEND": "Agg"}
    env.pop("SYNKTRACK_DEBUG", None)
    subprocess.run([sys.executable, str(RUNNER), str(tmp / "cases.json"),
                    str(tmp / "results.json")], check=True, env=env, timeout=3000)
    return json.loads((tmp / "results.json").read_text())


NOISE = ("Warning:", "Corrupt JPEG", "W0000", "E0000", "I0000", "libpng", "[mp4 @", "[h264 @")


def _table(data: bytes) -> list[list[str]] | None:
    """The rows of a CSV's bytes (header first), or None when it does not parse."""
    try:
        return [r for r in csv.reader(io.StringIO(data.decode("utf-8"), newline=""),
                                      strict=True) if r]
    except (UnicodeDecodeError, csv.Error):
        return None


def _rows_kept(before: bytes, after: bytes) -> str:
    """'' if ``after`` holds every old row (old values unchanged) plus at most one new row."""
    if after.startswith(before):
        added = _table(after[len(before):]) if before.endswith(b"\n") else None
        if added is not None and len(added) <= 1:
            return ""
    old, new = _table(before), _table(after)
    if old is None or new is None:
        return "history no longer parses" if old is not None else "unparsable history changed"
    if len(new) - len(old) not in (0, 1):
        return f"{len(new) - len(old)} rows added"
    header = {name: j for j, name in enumerate(new[0])}
    for row_old, row_new in zip(old[1:], new[1: len(old)], strict=True):
        for name, value in zip(old[0], row_old, strict=True):
            if name.strip() in header and row_new[header[name.strip()]] != value:
                return "an old row's value changed"
    return ""


def problems(case: Case, res: dict) -> list[str]:
    """What is wrong with one case's outcome (empty when it behaved)."""
    found = []
    code, err = res["code"], res["stderr"]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if code not in OK_EXITS:
        found.append(f"exit {code}")
    if "Traceback" in err:
        found.append("traceback")
    if any(marker in ln for ln in lines for marker in NOISE):
        found.append("library noise or a Python warning on stderr")
    said = [ln for ln in lines if not ln.startswith("warning:")]
    if code != 0 and len(said) > 3:  # a failure is short (results tables go to the screen)
        found.append(f"{len(said)} stderr lines")
    failed = code not in (0, 3)
    for path in case.watched:
        if failed and digest(path) != case.before[str(path)]:
            found.append(f"{path.name} changed by a failed run")
    if case.history is not None:
        now = case.history.read_bytes() if case.history.is_file() else b""
        if failed and now != case.history_before:
            found.append("history changed by a failed run")
        elif not failed and case.history_before.strip():
            kept = _rows_kept(case.history_before, now)
            if kept:
                found.append(kept)
    if case.out is not None and not failed:
        session = json.loads((case.out / "session.json").read_text())
        sha = hashlib.sha256(case.input.read_bytes()).hexdigest() if case.input else None
        if session["input"].get("sha256") not in (None, sha):
            found.append("output folder holds another run's session.json")
        if any(p.name.endswith(".tmp") for p in case.out.iterdir()):
            found.append("temporary debris")
    return found


# ---------------------------------------------------------------------------- the fuzz


@pytest.fixture(scope="module")
def baseline(shared_dir: Path, model_path: Path,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny inputs, and one earlier good run with a history row (what must stay intact)."""
    os.environ["SYNKTRACK_MODEL"] = str(model_path)
    root = tmp_path_factory.mktemp("fuzz")
    media = tiny_media(shared_dir / "media" / "videos" / CLIP, root)
    (root / "mini.toml").write_text(MINI)
    proc = run_cli("analyze", media["tiny.mp4"], "--out", root / "good", "--protocol",
                   root / "mini.toml", "--history", root / "history.csv", "--max-frames", "4")
    assert proc.returncode in (0, 3), proc.stderr
    return {**media, "good": root / "good", "history": root / "history.csv",
            "mini": root / "mini.toml", "root": root}


@pytest.mark.slow
def test_fuzz_cli(baseline: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    cases: list[Case] = []
    media = [k for k in baseline if k.startswith(("tiny.", "still."))]
    for i in range(N_MEDIA):
        src = baseline[media[i % len(media)]]
        case_dir = tmp_path / f"m{i:03d}"
        case_dir.mkdir()
        bad = case_dir / f"input{src.suffix}"
        bad.write_bytes(mutate_bytes(src.read_bytes(), rng))
        out = case_dir / "out"
        shutil.copytree(baseline["good"], out)
        hist = case_dir / "history.csv"
        shutil.copy(baseline["history"], hist)
        args = ["analyze", str(bad), "--out", str(out), "--max-frames", "4"]
        if i % 3 == 0:  # a third with a protocol and the history
            args += ["--protocol", str(baseline["mini"]), "--history", str(hist)]
        cases.append(Case("media", args, watched=[out], history=hist, out=out, input=bad))
    good_history = baseline["history"].read_text()
    for i in range(N_TEXT):
        case_dir = tmp_path / f"t{i:03d}"
        case_dir.mkdir()
        which = i % 4
        if which == 0:
            p = case_dir / "p.toml"
            p.write_text(mutate_text(MINI, rng), encoding="utf-8", errors="surrogatepass")
            cases.append(Case("protocol", ["protocols", str(p)], watched=[p]))
        elif which == 1:
            store = case_dir / "store"
            folder = store / "subjects" / "default"
            folder.mkdir(parents=True)
            ev = folder / "events.csv"
            ev.write_text(mutate_text(EVENTS, rng), encoding="utf-8", errors="surrogatepass")
            cases.append(Case("events", ["events", "add", "--date", "2024-05-06", "--kind",
                                         "note", "--note", "fuzz"],
                              env={"SYNKTRACK_DATA_DIR": str(store)}, history=ev))
        else:
            store = case_dir / "store"
            folder = store / "subjects" / "default"
            folder.mkdir(parents=True)
            h = folder / "history.csv"
            h.write_text(mutate_text(good_history, rng), encoding="utf-8",
                         errors="surrogatepass")
            if which == 2 and i % 8 == 2:
                args = ["report", "--history", str(h), "--out", str(case_dir / "r.html")]
            elif which == 2:
                args = ["analyze", str(baseline["still.jpg"]), "--out", str(case_dir / "o"),
                        "--protocol", str(baseline["mini"]), "--history", str(h)]
            else:
                args = ["history"]
            cases.append(Case("history", args, env={"SYNKTRACK_DATA_DIR": str(store)},
                              history=h))
    for c in cases:
        c.before = {str(p): digest(p) for p in c.watched}
        c.history_before = c.history.read_bytes() if c.history and c.history.is_file() else b""
    results = run_all(cases, tmp_path)
    report = []
    for c, res in zip(cases, results, strict=True):
        wrong = problems(c, res)
        if wrong:
            report.append(f"{c.kind} {' '.join(c.args[:2])}: {', '.join(wrong)}\n"
                          f"    {res['stderr'][-600:]}")
    codes = pd.Series([r["code"] for r in results]).value_counts().to_dict()
    n_media = sum(c.kind == "media" for c in cases)
    summary = (f"fuzz seed {SEED}: {len(cases)} cases ({n_media} media, "
               f"{len(cases) - n_media} text), exit codes {codes}, {len(report)} failing")
    print(summary)
    (Path(os.environ.get("SYNKTRACK_FUZZ_LOG", tmp_path / "fuzz.log"))).write_text(
        summary + "\n" + "\n".join(report))
    assert n_media >= 200 and len(cases) - n_media >= 100
    assert not report, summary + "\n" + "\n".join(report[:20])


@pytest.mark.slow
def test_fuzz_sample_through_the_console_script(baseline: dict[str, Path],
                                                tmp_path: Path) -> None:
    """The forked runner and the real console script agree on a few damaged inputs."""
    rng = random.Random(SEED + 1)
    for i in range(6):
        src = baseline[["tiny.mp4", "tiny.webm", "still.png"][i % 3]]
        bad = tmp_path / f"bad{i}{src.suffix}"
        bad.write_bytes(mutate_bytes(src.read_bytes(), rng))
        args = ["analyze", str(bad), "--out", str(tmp_path / f"o{i}"), "--max-frames", "4"]
        (res,) = run_all([Case("media", args)], tmp_path)
        proc = run_cli(*args)
        assert proc.returncode == res["code"] and proc.returncode in OK_EXITS, proc.stderr
        assert "Traceback" not in proc.stderr


FAST_HISTORY = ("schema_version,session_id,started_at,session_date,subject,protocol,complete,"
                "eye_narrowing_smile_pct_left,eye_narrowing_smile_pct_right\n"
                "1,20240108-100000-ab12cd34-0a1b2c3d,2024-01-08T10:00:00+01:00,2024-01-08,"
                "pat,weekly-check,1,12.5,3.1\n"
                "1,20240115-100000-ab12cd34-9f8e7d6c,2024-01-15T10:00:00+01:00,2024-01-15,"
                "pat,weekly-check,0,,2.0\n")


def test_fuzz_text_fast(tmp_path: Path) -> None:
    """The model-free part of the fuzz, fast enough for every CI run: 120 mutated files."""
    rng = random.Random(SEED + 2)
    cases: list[Case] = []
    for i in range(120):
        case_dir = tmp_path / f"f{i:03d}"
        store = case_dir / "store"
        folder = store / "subjects" / "default"
        folder.mkdir(parents=True)
        env = {"SYNKTRACK_DATA_DIR": str(store)}
        which = i % 3
        if which == 0:
            p = case_dir / "p.toml"
            p.write_text(mutate_text(MINI, rng), encoding="utf-8", errors="surrogatepass")
            cases.append(Case("protocol", ["protocols", str(p)], watched=[p]))
        elif which == 1:
            ev = folder / "events.csv"
            ev.write_text(mutate_text(EVENTS, rng), encoding="utf-8", errors="surrogatepass")
            cases.append(Case("events", ["events", "add", "--date", "2024-05-06", "--kind",
                                         "note", "--note", "fuzz"], env=env, history=ev))
        else:
            h = folder / "history.csv"
            h.write_text(mutate_text(FAST_HISTORY, rng), encoding="utf-8",
                         errors="surrogatepass")
            cases.append(Case("history", ["history"], env=env, history=h))
    for c in cases:
        c.before = {str(p): digest(p) for p in c.watched}
        c.history_before = c.history.read_bytes() if c.history and c.history.is_file() else b""
    results = run_all(cases, tmp_path)
    report = [f"{c.kind} {' '.join(c.args[:2])}: {', '.join(w)}\n    {r['stderr'][-400:]}"
              for c, r in zip(cases, results, strict=True) if (w := problems(c, r))]
    assert not report, f"{len(report)} of {len(cases)} failing\n" + "\n".join(report[:20])
