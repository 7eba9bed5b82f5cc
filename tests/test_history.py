"""The history store: concurrent and killed writers, old and new schema versions, --history."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack.errors import InputError
from synktrack.history import append_session, read_history
from synktrack.schema import SCHEMA_VERSION, session_columns

# A reason with the characters that break naive CSV writers: commas, quotes, a newline.
REASON = 'during a smile the left eye narrows 12 % more than the right; "quoted", and\na newline'
N_PROCS, N_ROWS = 4, 10


def make_row(writer: int, i: int) -> dict[str, object]:
    return {
        "session_id": f"w{writer}-r{i:02d}",
        "session_date": f"2026-01-{1 + i:02d}",
        "subject": "s1",
        "protocol": "weekly-check",
        "eye_narrowing_smile_left_pct": writer * 100 + i + 0.25,
        "eye_narrowing_smile_right_pct": -(writer * 100 + i),
        "synkinesis_suspected_left": 1,
        "synkinesis_reason_left": f"{REASON} #{writer}-{i}",
    }


def _writer(path: str, writer: int, start: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    """Child process: wait for the start signal, then append N_ROWS rows one by one."""
    start.wait(30)
    for i in range(N_ROWS):
        append_session(path, make_row(writer, i))


def check_rows(df: pd.DataFrame, expected: set[str]) -> None:
    """Every expected row is there exactly once, and its fields belong together."""
    assert len(df) == len(expected), f"{len(df)} rows, expected {len(expected)}"
    assert set(df["session_id"]) == expected
    assert df["session_id"].is_unique
    for _, row in df.iterrows():
        w, i = row["session_id"][1:].split("-r")
        value = int(w) * 100 + int(i)
        assert row["eye_narrowing_smile_left_pct"] == pytest.approx(value + 0.25)
        assert row["eye_narrowing_smile_right_pct"] == pytest.approx(-value)
        assert row["synkinesis_reason_left"] == f"{REASON} #{int(w)}-{int(i)}", "torn text"
        assert row["schema_version"] == SCHEMA_VERSION


# --------------------------------------------------------------------------- concurrency


def test_concurrent_appends_from_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "subjects" / "s1" / "history.csv"
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(path), w, start)) for w in range(N_PROCS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    df = read_history(path)
    check_rows(df, {f"w{w}-r{i:02d}" for w in range(N_PROCS) for i in range(N_ROWS)})
    assert list(df.columns[: len(session_columns())]) == list(session_columns())
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers


def test_history_is_sorted_by_session_date(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    for i in (5, 1, 3):
        append_session(path, make_row(0, i))
    df = read_history(path)
    assert list(df["session_id"]) == ["w0-r01", "w0-r03", "w0-r05"]
    assert pd.api.types.is_datetime64_any_dtype(df["session_date"])
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(raw["session_id"]) == ["w0-r05", "w0-r01", "w0-r03"], "the file keeps order"


# --------------------------------------------------------------------------- a killed writer

KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import synktrack.atomic as atomic
    import synktrack.history as history

    def slow_write_text(path, text):
        # The real write path (temporary sibling, then rename), stopped half-way.
        with atomic.atomic_open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text[: len(text) // 2])
            fh.flush()
            print("HALF", flush=True)
            time.sleep(120)
            fh.write(text[len(text) // 2 :])

    history.write_text = slow_write_text
    history.append_session(sys.argv[1], {"session_id": "killed", "session_date": "2026-02-01",
                                         "eye_narrowing_smile_left_pct": 99})
    """
)


def test_writer_killed_mid_write_leaves_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    for i in range(3):
        append_session(path, make_row(0, i))
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "HALF", child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before, "the history file changed under a killed writer"
    check_rows(read_history(path), {"w0-r00", "w0-r01", "w0-r02"})
    # The lock died with the writer: the next append goes through at once.
    append_session(path, make_row(0, 3))
    check_rows(read_history(path), {f"w0-r{i:02d}" for i in range(4)})


def test_unreadable_history_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("a,b\n1,2\n1,2,3,4\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(InputError, match="untouched"):
        append_session(path, make_row(0, 0))
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- schema versions


def test_older_schema_loads_with_missing_columns_empty(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(
        "schema_version,session_id,session_date,subject,eye_narrowing_smile_left_pct,old_note\n"
        "0,a,2025-11-02,s1,21.5,first\n"
        "0,b,2025-11-09,s1,,second\n",
        encoding="utf-8",
    )
    df = read_history(path)
    assert list(df["session_id"]) == ["a", "b"]
    for c in session_columns():
        assert c in df.columns, c
    assert df["eye_narrowing_smile_left_pct"].iloc[0] == pytest.approx(21.5)
    assert np.isnan(df["eye_narrowing_smile_left_pct"].iloc[1])
    for c in ("mouth_corner_eye_closure_left_mm", "oral_ocular_coupling_right_pct_per_mm",
              "synkinesis_suspected_left", "eye_measure"):
        assert df[c].isna().all(), c
    assert list(df["schema_version"]) == [0, 0]
    assert list(df["old_note"]) == ["first", "second"], "unknown old columns are kept"
    # A new session appended to the old file keeps the old rows' values.
    append_session(path, make_row(0, 20))
    df = read_history(path)
    assert list(df["session_id"]) == ["a", "b", "w0-r20"]
    assert list(df["schema_version"]) == [0, 0, SCHEMA_VERSION]
    assert df["eye_narrowing_smile_left_pct"].iloc[0] == pytest.approx(21.5)
    assert list(df["old_note"].fillna("")) == ["first", "second", ""]


def test_newer_schema_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(f"schema_version,session_id,session_date,brand_new_pct\n"
                    f"{SCHEMA_VERSION + 1},z,2027-01-01,3.5\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_history(path)
    msg = str(err.value)
    assert "newer synktrack" in msg and "upgrade" in msg
    assert str(SCHEMA_VERSION + 1) in msg
    assert "\n" not in msg


def test_appending_to_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    text = (f"schema_version,session_id,session_date,brand_new_pct\n"
            f"{SCHEMA_VERSION + 1},z,2027-01-01,3.5\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="newer"):
        append_session(path, make_row(0, 0))
    assert path.read_text(encoding="utf-8") == text


def test_missing_and_empty_history(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no history"):
        read_history(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    df = read_history(empty)
    assert len(df) == 0 and list(df.columns) == list(session_columns())


# --------------------------------------------------------------------------- the CLI


@pytest.mark.slow
def test_cli_analyze_history_appends_one_row(tmp_path: Path, media_dir: Path,
                                             model_path: Path) -> None:
    clip = media_dir / "videos" / "pyfeat__single_face.mp4"  # 2.4 s, neutral -> smile
    proto = tmp_path / "tiny.toml"
    proto.write_text('name = "tiny"\nversion = 3\n'
                     '[[step]]\nmovement = "rest"\nduration_s = 1.0\n'
                     '[[step]]\nmovement = "smile"\nduration_s = 1.4\n', encoding="utf-8")
    history = tmp_path / "store" / "history.csv"
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]
    env = {**os.environ, "SYNKTRACK_MODEL": str(model_path), "NO_COLOR": "1"}
    for n, date in ((1, "2026-03-01"), (2, "2026-03-08")):
        proc = subprocess.run(
            [*cmd, "analyze", str(clip), "--out", str(tmp_path / f"out{n}"), "--protocol",
             str(proto), "--subject", "p7", "--session-date", date, "--affected-side", "left",
             "--history", str(history)],
            capture_output=True, text=True, env=env, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        df = read_history(history)
        assert len(df) == n, f"run {n}: {len(df)} rows"
    session = pd.read_csv(tmp_path / "out2" / "session.csv")
    last = df.iloc[-1]
    assert last["session_id"] == session["session_id"].iloc[0]
    assert list(df["session_date"].dt.strftime("%Y-%m-%d")) == ["2026-03-01", "2026-03-08"]
    assert (df["subject"] == "p7").all()
    assert (df["protocol"] == "tiny").all() and (df["protocol_version"] == 3).all()
    assert (df["affected_side"] == "left").all()
    assert (df["schema_version"] == SCHEMA_VERSION).all()
    assert last["source"].endswith("pyfeat__single_face.mp4")
    assert len(last["source_sha256"]) == 64
    assert last["epochs_total"] == 1 and last["epochs_usable"] == 1
    assert np.isfinite(last["smile_excursion_left_mm"])
    assert last["smile_excursion_left_mm"] == pytest.approx(
        session["smile_excursion_left_mm"].iloc[0], abs=1e-3)
    assert not [p for p in history.parent.iterdir() if p.name.endswith(".tmp")]


def test_text_columns_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    for i in range(2):
        append_session(path, {**make_row(0, i), "subject": "007", "source_sha256": f"012{i}"})
    df = read_history(path)
    assert list(df["subject"]) == ["007", "007"]
    assert list(df["source_sha256"]) == ["0120", "0121"]
    assert df["eye_narrowing_smile_left_pct"].dtype.kind == "f"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
                          check=False)


def test_cli_history_shows_a_history_file(tmp_path: Path) -> None:
    """`synktrack history --history FILE` shows what `analyze --history FILE` wrote, on stdout."""
    path = tmp_path / "h.csv"
    for i in range(4):
        append_session(path, {**make_row(0, i), "complete": 1,
                              "smile_excursion_left_mm": -0.04, "smile_excursion_right_mm": 2.0,
                              "eye_narrowing_smile_left_pct": -0.3})
    store = {"SYNKTRACK_DATA_DIR": str(tmp_path / "empty-store")}
    proc = _cli("history", "--history", str(path), env=store)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("w0-r0") == 4 and "2026-01-04" in proc.stdout
    assert "-0 " not in proc.stdout and "-0.0" not in proc.stdout  # no negative zeros
    assert "0 / 0" in proc.stdout or "0.0 / 2.0" in proc.stdout
    assert proc.stderr.strip() == "4 sessions"
    one = tmp_path / "one.csv"
    append_session(one, make_row(1, 0))
    assert _cli("history", "--history", str(one), env=store).stderr.strip() == "1 session"
    proc = _cli("history", "--history", str(path), "--subject", "nobody", env=store)
    assert proc.returncode == 0 and proc.stderr.strip() == "0 sessions"
    proc = _cli("history", "--history", str(tmp_path / "missing.csv"), env=store)
    assert proc.returncode == 2 and "no history file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = _cli("history", env=store)  # the store is empty: the message names the way out
    assert proc.returncode == 2 and "--history FILE" in proc.stderr


def test_schema_1_coupling_columns_read_under_their_unit_names(tmp_path: Path) -> None:
    """Schema 2 put units on the coupling columns; a schema-1 history still reads, and a row
    appended to it by this version lines up with the old rows."""
    path = tmp_path / "history.csv"
    path.write_text("schema_version,session_id,session_date,oral_ocular_coupling_left,"
                    "ocular_oral_coupling_asymmetry,oral_ocular_coupling_r_left\n"
                    "1,a,2025-11-02,11.1,-0.3,0.77\n", encoding="utf-8")
    append_session(path, {**make_row(0, 5), "oral_ocular_coupling_left_pct_per_mm": 9.5})
    df = read_history(path)
    assert list(df["oral_ocular_coupling_left_pct_per_mm"]) == [11.1, 9.5]
    assert df["ocular_oral_coupling_asymmetry_mm_per_10pct"].iloc[0] == pytest.approx(-0.3)
    assert df["oral_ocular_coupling_r_left"].iloc[0] == pytest.approx(0.77)
    assert "oral_ocular_coupling_left" not in df.columns
    assert list(df["schema_version"]) == [1, SCHEMA_VERSION] and SCHEMA_VERSION == 2


def test_every_index_column_names_its_unit() -> None:
    from synktrack.schema import INDICES, asymmetry_column, index_column

    for stem, (unit, _) in INDICES.items():
        assert unit, stem
        for name in (index_column(stem, "left"), asymmetry_column(stem)):
            assert name.endswith(("_mm", "_pct", "_pct_per_mm", "_mm_per_10pct")), name
