"""History and events files that are odd: one line, exit 2, the file never rewritten.

Through the real console script: ``analyze --history`` refuses before any work,
``report``, ``history`` and ``events add`` refuse the same files, and a row that
was not written by this run is never rewritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_tools import assert_one_line_error, run_cli

HEADER = "schema_version,session_id,session_date,complete\n"
ODD = {
    "folder": None,
    "schema_inf": HEADER + "inf,a,2024-01-01,1\n",
    "schema_1e400": HEADER + "1e400,a,2024-01-01,1\n",
    "unterminated_quote": HEADER + '1,"a,2024-01-01,1\n1,b,2024-01-02,1\n',
    "extra_field": HEADER + "1,a,2024-01-01,1,surplus\n",
    "not_utf8": HEADER + "1,\xe9t\xe9,2024-01-01,1\n",
    "nul_byte": HEADER + "1,a\0,2024-01-01,1\n",
    "duplicate_column": "schema_version,session_id,session_id\n1,a,b\n",
    "newer_schema": HEADER + "999,a,2024-01-01,1\n",
}


def make(path: Path, case: str) -> bytes | None:
    text = ODD[case]
    if text is None:
        path.mkdir()
        return None
    data = text.encode("latin-1") if case == "not_utf8" else text.encode()
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("case", sorted(ODD))
def test_analyze_refuses_odd_history_before_work(case: str, tmp_path: Path) -> None:
    hist = tmp_path / "history.csv"
    before = make(hist, case)
    (tmp_path / "clip.mp4").write_bytes(b"never read")
    out = tmp_path / "out"
    proc = run_cli("analyze", tmp_path / "clip.mp4", "--out", out, "--protocol", "weekly-check",
                   "--history", hist)
    line = assert_one_line_error(proc, 2)
    assert "history.csv" in line
    assert not out.exists()  # refused before reading the clip or writing anything
    if before is not None:
        assert hist.read_bytes() == before


@pytest.mark.parametrize("case", sorted(set(ODD) - {"newer_schema"}))
def test_report_refuses_odd_history(case: str, tmp_path: Path) -> None:
    hist = tmp_path / "history.csv"
    before = make(hist, case)
    proc = run_cli("report", "--history", hist, "--out", tmp_path / "r.html")
    assert_one_line_error(proc, 2)
    assert not (tmp_path / "r.html").exists()
    if before is not None:
        assert hist.read_bytes() == before


@pytest.mark.parametrize("case", sorted(set(ODD) - {"folder", "newer_schema"}))
def test_history_command_and_events_add_refuse_odd_files(case: str, tmp_path: Path) -> None:
    folder = tmp_path / "store" / "subjects" / "default"
    folder.mkdir(parents=True)
    hist_bytes = make(folder / "history.csv", case)
    events = folder / "events.csv"
    events_before = make(events, case)
    env = {"SYNKTRACK_DATA_DIR": str(tmp_path / "store")}
    proc = run_cli("history", env=env)
    assert_one_line_error(proc, 2)
    proc = run_cli("events", "add", "--date", "2024-03-18", "--kind", "botox", env=env)
    assert_one_line_error(proc, 2)
    assert (folder / "history.csv").read_bytes() == hist_bytes
    assert events.read_bytes() == events_before


def test_newline_only_history_takes_a_row(tmp_path: Path) -> None:
    from synktrack.history import append_session, read_history

    hist = tmp_path / "history.csv"
    hist.write_text("\n")
    append_session(hist, {"session_id": "s1", "session_date": "2024-01-01"})
    assert list(read_history(hist)["session_id"]) == ["s1"]


def test_rows_not_written_here_are_kept_byte_for_byte(tmp_path: Path) -> None:
    """Odd but valid quoting, CRLF and spacing in old rows survive an append unchanged."""
    from synktrack.history import append_row

    path = tmp_path / "events.csv"
    old = ('date,kind,side,muscle,dose_units,note\r\n'
           '2024-01-01,"botox",left,"orbicularis, oculi",5,"said ""fine"""\r\n')
    path.write_bytes(old.encode())
    append_row(path, {"date": "2024-02-01", "kind": "note", "note": "x"},
               ["date", "kind", "side", "muscle", "dose_units", "note"])
    data = path.read_bytes().decode()
    assert data.startswith(old)
    assert len(pd.read_csv(path)) == 2


def test_shared_history_file_from_the_fixture_still_reads(tmp_path: Path) -> None:
    """A real history written by an earlier synktrack (fake report data) still loads."""
    from synktrack.history import append_session, read_history
    from synktrack.report.fake import fake_history

    hist = tmp_path / "h.csv"
    fake_history(hist, 5)
    before = hist.read_bytes()
    append_session(hist, {"session_id": "new", "session_date": "2025-01-01"})
    assert hist.read_bytes().startswith(before)
    assert len(read_history(hist)) == 6
    shutil.rmtree(tmp_path, ignore_errors=True)
