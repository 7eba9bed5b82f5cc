"""Tests for synktrack.events and the `synktrack events` commands."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from synktrack.errors import InputError
from synktrack.events import (
    EVENT_COLUMNS,
    Event,
    add_event,
    events_frame,
    make_event,
    parse_date,
    read_events,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path))
    return tmp_path


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the console entry point; return (exit code, stdout, stderr)."""
    from synktrack.cli import main

    monkeypatch.setattr(sys, "argv", ["synktrack", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_date_accepts_iso_days() -> None:
    assert parse_date("2024-03-18") == dt.date(2024, 3, 18)
    assert parse_date(" 2024-03-18 ") == dt.date(2024, 3, 18)
    assert parse_date(dt.date(2024, 1, 2)) == dt.date(2024, 1, 2)


@pytest.mark.parametrize("bad", ["2024-13-01", "2024-02-30", "18.03.2024", "2024-3-1",
                                 "20240318", "", "tomorrow"])
def test_parse_date_rejects_with_one_line(bad: str) -> None:
    with pytest.raises(InputError) as err:
        parse_date(bad)
    assert "YYYY-MM-DD" in str(err.value)
    assert "\n" not in str(err.value)


def test_make_event_validates_and_normalises() -> None:
    e = make_event("2024-04-27", " Botox ", side="LEFT", muscle=" orbicularis  oculi ",
                   dose_units="2.5", note="lower\nlid")
    assert e == Event(dt.date(2024, 4, 27), "botox", "left", "orbicularis oculi", 2.5,
                      "lower lid")
    assert e.describe() == "Botulinum toxin, left orbicularis oculi, 2.5 U: lower lid"
    assert make_event("2024-01-01", "therapy-start").kind == "therapy_start"
    assert make_event("2024-01-01", "note", dose_units="").dose_units is None


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"kind": "massage"}, "kind"),
    ({"kind": "botox", "side": "up"}, "side"),
    ({"kind": "botox", "dose_units": "five"}, "dose"),
    ({"kind": "botox", "dose_units": -1}, "positive"),
    ({"kind": "botox", "dose_units": float("nan")}, "positive"),
])
def test_make_event_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(InputError, match=words):
        make_event("2024-01-01", **kwargs)  # type: ignore[arg-type]


def test_store_roundtrip(store: Path) -> None:
    a = make_event("2024-05-01", "surgery", side="left", note="selective neurectomy")
    b = make_event("2024-02-01", "botox", side="left", muscle="platysma", dose_units=10)
    path = add_event("p1", a)
    add_event("p1", b)
    assert path == store / "subjects" / "p1" / "events.csv"
    assert read_events(path) == [b, a]  # sorted by date
    assert list(events_frame([a]).columns) == list(EVENT_COLUMNS)


def test_read_events_csv_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "ev.csv"
    f.write_text("date,kind,dose_units\n2024-01-01,botox,5\n2024-02-31,botox,5\n")
    with pytest.raises(InputError, match=r"line 3: date '2024-02-31'"):
        read_events(f)
    f.write_text("when,what\n2024-01-01,botox\n")
    with pytest.raises(InputError, match="no column date, kind"):
        read_events(f)
    with pytest.raises(InputError, match="no events file"):
        read_events(tmp_path / "missing.csv")
    assert read_events(tmp_path / "missing.csv", missing_ok=True) == []


def test_read_events_minimal_columns(tmp_path: Path) -> None:
    f = tmp_path / "ev.csv"
    f.write_text("Date,Kind\n2024-01-01,note\n")
    assert read_events(f) == [Event(dt.date(2024, 1, 1), "note")]


def test_cli_add_list_roundtrip(store: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["events", "add", "--subject", "p7", "--date", "2024-04-27",
                            "--kind", "botox", "--side", "left", "--muscle",
                            "orbicularis oculi", "--dose-units", "5", "--note", "lateral"],
                           monkeypatch, capsys)
    assert code == 0, err
    code, _, err = run_cli(["events", "add", "--subject", "p7", "--date", "2024-01-20",
                            "--kind", "therapy_start"], monkeypatch, capsys)
    assert code == 0, err
    code, out, _ = run_cli(["events", "list", "--subject", "p7"], monkeypatch, capsys)
    assert code == 0
    assert out.index("2024-01-20") < out.index("2024-04-27")
    for text in ("therapy_start", "botox", "orbicularis oculi", "5 U", "lateral"):
        assert text in out
    assert (store / "subjects" / "p7" / "events.csv").is_file()


def test_cli_bad_date_exits_2_with_one_line(store: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["events", "add", "--subject", "p7", "--date", "2024-13-01",
                            "--kind", "botox"], monkeypatch, capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert err.startswith("synktrack: error: date '2024-13-01'")
    assert not (store / "subjects" / "p7" / "events.csv").exists()


def test_cli_bad_kind_exits_2(store: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["events", "add", "--date", "2024-01-01", "--kind", "massage"],
                           monkeypatch, capsys)
    assert code == 2
    assert "massage" in err and err.strip().count("\n") == 0


def test_cli_list_empty(store: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["events", "list", "--subject", "nobody"], monkeypatch, capsys)
    assert code == 0
    assert "no events" in err


def _ids(out: str) -> list[str]:
    import re

    return re.findall(r"\[([0-9a-f]{8})\]", out)


def test_cli_events_can_be_removed_and_edited(store: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A mistaken event is corrected (edit) or taken out (remove) by its id."""
    code, out, err = run_cli(["events", "add", "--subject", "p8", "--date", "2024-04-27",
                              "--kind", "Botox", "--dose-units", "5"], monkeypatch, capsys)
    assert code == 0, err
    (botox,) = _ids(out)
    code, out, _ = run_cli(["events", "add", "--subject", "p8", "--date", "2024-05-02",
                            "--kind", "note", "--note", "typo"], monkeypatch, capsys)
    (note,) = _ids(out)
    path = store / "subjects" / "p8" / "events.csv"
    assert read_events(path)[0].kind == "botox"  # normalised: Botox -> botox
    code, out, err = run_cli(["events", "edit", botox, "--subject", "p8", "--dose-units", "7.5",
                              "--side", "LEFT", "--date", "2024-04-28"], monkeypatch, capsys)
    assert code == 0, err
    first = read_events(path)[0]
    assert (first.id, first.date, first.dose_units, first.side) == \
        (botox, dt.date(2024, 4, 28), 7.5, "left")
    code, out, err = run_cli(["events", "remove", note, "--subject", "p8"], monkeypatch, capsys)
    assert code == 0 and "typo" in out, err
    assert [e.id for e in read_events(path)] == [botox]
    code, out, _ = run_cli(["events", "list", "--subject", "p8"], monkeypatch, capsys)
    assert botox in out and "typo" not in out
    # a wrong id or a bad edit: one line, exit 2, the file untouched
    before = path.read_bytes()
    for args in (["events", "remove", "deadbeef", "--subject", "p8"],
                 ["events", "edit", botox, "--subject", "p8", "--kind", "massage"]):
        code, _, err = run_cli(args, monkeypatch, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == before


def test_events_written_before_ids_get_stable_ids(store: Path) -> None:
    from synktrack.events import remove_event

    path = store / "subjects" / "p9" / "events.csv"
    path.parent.mkdir(parents=True)
    path.write_text("date,kind,side,muscle,dose_units,note\n2024-01-01,botox,left,,5,\n"
                    "2024-02-01,therapy_start,,,,\n")
    ids = [e.id for e in read_events(path)]
    assert ids == [e.id for e in read_events(path)] and len(set(ids)) == 2
    remove_event("p9", ids[0])
    assert [e.kind for e in read_events(path)] == ["therapy_start"]
    assert [e.id for e in read_events(path)] == ids[1:]  # written with its id now
