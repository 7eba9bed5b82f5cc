"""Unwritable places, full disks and reruns: one line, exit 4, earlier results untouched.

Everything runs through the real console script. Read-only places are a tmpfs
remounted read-only (chmod does not stop root); a full disk is a small tmpfs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_tools import assert_one_line_error, digest, read_only, run_cli, tmpfs

CLIP = "pyfeat__single_face.mp4"
MINI = """name = "mini"
version = 1
[[step]]
movement = "rest"
duration_s = 0.5
[[step]]
movement = "smile"
duration_s = 0.5
[[step]]
movement = "rest"
duration_s = 0.4
"""
RUN = ("--max-frames", "42")


@pytest.fixture(scope="module")
def media(shared_dir: Path, model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    shutil.copy(shared_dir / "media" / "videos" / CLIP, root / CLIP)
    (root / "mini.toml").write_text(MINI)
    os.environ["SYNKTRACK_MODEL"] = str(model_path)
    return root


def analyse(media: Path, out: Path, *extra: str | Path, protocol: bool = True):
    args = [media / CLIP, "--out", out, *RUN, *extra]
    if protocol:
        args += ["--protocol", media / "mini.toml"]
    return run_cli("analyze", *args)


def no_debris(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*") if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_rerun_without_protocol_leaves_one_run(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = analyse(media, out)
    assert first.returncode == 0, first.stderr
    assert {"epochs.csv", "session.csv", "summary.png"} <= {p.name for p in out.iterdir()}
    second = analyse(media, out, protocol=False)
    assert second.returncode == 0, second.stderr
    names = {p.name for p in out.iterdir()}
    assert "epochs.csv" not in names and "session.csv" not in names  # of the other run
    assert {"frames.csv", "landmarks.npz", "session.json"} <= names
    session = json.loads((out / "session.json").read_text())
    assert "protocol" not in session
    assert no_debris(out)


@pytest.mark.slow
def test_read_only_out_keeps_its_results(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert analyse(media, out).returncode == 0
    before = digest(out)
    with read_only(out):
        proc = analyse(media, out)
        line = assert_one_line_error(proc, 4)
        assert str(out) in line and "read-only" in line and ".tmp" not in line
        assert digest(out) == before


@pytest.mark.slow
def test_full_disk_names_the_output_and_keeps_the_old_run(media: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "3m") as disk:
        out = disk / "out"
        assert analyse(media, out).returncode == 0
        before = digest(out)
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * max(0, free - 40_000))
        proc = analyse(media, out)
        line = assert_one_line_error(proc, 4)
        assert "disk full" in line and str(out) in line and ".tmp" not in line
        assert digest(out) == before  # summary.png too: nothing replaced before the failure
        assert no_debris(out)


def test_history_in_read_only_place_fails_before_analysis(media: Path, tmp_path: Path) -> None:
    hist_dir = tmp_path / "hist"
    hist_dir.mkdir()
    (hist_dir / "history.csv").write_text("schema_version,session_id\n1,a\n")
    out = tmp_path / "out"
    with read_only(hist_dir):
        proc = analyse(media, out, "--history", hist_dir / "history.csv")
        line = assert_one_line_error(proc, 4)
        assert "history.csv" in line
        assert (hist_dir / "history.csv").read_text() == "schema_version,session_id\n1,a\n"
    assert not out.exists()  # refused before any work


def test_events_add_on_read_only_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with read_only(store):
        proc = run_cli("events", "add", "--date", "2024-03-18", "--kind", "botox",
                       env={"SYNKTRACK_DATA_DIR": str(store)})
        line = assert_one_line_error(proc, 4)
        assert "events.csv" in line or str(store) in line


def test_report_out_read_only(tmp_path: Path) -> None:
    from synktrack.report.fake import fake_history

    hist = tmp_path / "history.csv"
    fake_history(hist)
    dest = tmp_path / "rep"
    dest.mkdir()
    with read_only(dest):
        proc = run_cli("report", "--history", hist, "--out", dest / "report.html")
        line = assert_one_line_error(proc, 4)
        assert "report.html" in line


def test_stale_temporaries_are_cleaned_safely(tmp_path: Path) -> None:
    """A killed writer's copies of the history go; a running writer's stay."""
    store = tmp_path / "store"
    folder = store / "subjects" / "default"
    folder.mkdir(parents=True)
    dead = folder / ".events.csv.999999999.abcd.tmp"  # pid that cannot exist
    legacy = folder / ".events.csv.k3j4h5.tmp"  # before pids were in the name
    for p in (dead, legacy):
        p.write_text("date,kind\n")
    proc = run_cli("events", "add", "--date", "2024-03-18", "--kind", "botox",
                   env={"SYNKTRACK_DATA_DIR": str(store)})
    assert proc.returncode == 0, proc.stderr
    assert not dead.exists() and not legacy.exists()  # under the lock every temp is stale
    assert len(pd.read_csv(folder / "events.csv")) == 1


def test_clean_stale_keeps_live_writers(tmp_path: Path) -> None:
    from synktrack.atomic import clean_stale

    live = tmp_path / f".frames.csv.{os.getpid()}.x.tmp"
    dead = tmp_path / ".frames.csv.999999999.y.tmp"
    run_dir = tmp_path / ".run.999999999.z.tmp"
    run_dir.mkdir()
    (run_dir / "frames.csv").write_text("x")
    live.write_text("x")
    dead.write_text("x")
    assert clean_stale(tmp_path, "frames.csv") == 1
    assert clean_stale(tmp_path, "run") == 1
    assert live.exists() and not dead.exists() and not run_dir.exists()


def test_check_on_read_only_store_is_one_line(tmp_path: Path, model_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with read_only(store):
        proc = run_cli("check", "--no-browser", "--subject", "pat",
                       env={"SYNKTRACK_DATA_DIR": str(store), "SYNKTRACK_MODEL": str(model_path)},
                       timeout=120)
        line = assert_one_line_error(proc, 4)
        assert str(store) in line


def test_out_that_is_a_file_is_refused_before_work(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"never read")
    target = tmp_path / "out"
    target.write_text("mine")
    proc = run_cli("analyze", tmp_path / "clip.mp4", "--out", target)
    line = assert_one_line_error(proc, 4)
    assert "not a folder" in line
    assert target.read_text() == "mine"
