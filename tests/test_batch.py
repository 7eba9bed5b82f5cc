"""Batch analysis: finding clips, manifests, resume, failures, duplicates, bad output, Dask."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from media import media_file

from synktrack import batch as bt
from synktrack.errors import InputError, OutputError
from synktrack.schema import session_columns

MINI_TOML = """
name = "mini"
version = 1
[[step]]
movement = "rest"
duration_s = 1.0
[[step]]
movement = "smile"
duration_s = 1.5
[[step]]
movement = "rest"
duration_s = 0.8
"""
SINGLE = "pyfeat__single_face.mp4"
MALE = "intel__head-pose-face-detection-male_from_gif.mp4"
NOT_COMPARED = ("session_id", "started_at")  # time of analysis


# --------------------------------------------------------------------------- helpers


def run_cli(*args: str | os.PathLike[str]) -> int:
    """Run the console entry point in-process; return its exit code."""
    from synktrack.cli import main

    old = sys.argv
    sys.argv = ["synktrack", *map(str, args)]
    try:
        main()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        sys.argv = old
    return 0


def no_tmp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*.tmp")]


class Counting:
    """Wraps analyze_clip to count calls (used with a thread executor)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, video, out_dir, **kw):
        self.calls.append(Path(video).name)
        return self.real(video, out_dir, **kw)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Counting:
    import synktrack.analyze

    wrapper = Counting(synktrack.analyze.analyze_clip)
    monkeypatch.setattr(synktrack.analyze, "analyze_clip", wrapper)
    return wrapper


# --------------------------------------------------------------------------- fast: no model


def test_find_clips_recurses_expands_globs_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "study"
    (root / "s1" / ".cache").mkdir(parents=True)
    for name in ("s1/a.mp4", "s1/b.MOV", "s1/notes.txt", "s1/.hidden.mp4", "s1/.cache/c.mp4",
                 "d.mkv"):
        (root / name).write_bytes(b"x")
    found, missing = bt.find_clips([root, str(tmp_path / "study" / "*.mkv"),
                                    tmp_path / "nothing.mp4"])
    assert [rel for _, rel in found] == ["study/d.mkv", "study/s1/a.mp4", "study/s1/b.MOV",
                                         "study/d.mkv"]
    assert len(missing) == 1 and missing[0].category == "input" and missing[0].exit_code == 2
    single, _ = bt.find_clips([root / "s1" / "notes.txt"])  # a file named explicitly is kept
    assert [rel for _, rel in single] == ["notes.txt"]


def test_clip_id_is_a_stable_safe_name() -> None:
    sha = "0123456789abcdef" * 4
    assert bt.clip_id("study/s 1/a.mp4", sha) == "study__s_1__a-0123456789"
    assert bt.clip_id("../x.mov", sha) == "x-0123456789"
    assert len(bt.clip_id("a" * 300 + ".mp4", sha)) <= 71


def test_manifest_paths_are_relative_to_it_and_values_checked(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(MINI_TOML)
    man = tmp_path / "m.csv"
    man.write_text("Path,subject,mirrored,protocol,group\nclips/a.mp4,S1,yes,p.toml,case\n")
    (row,) = bt.read_manifest(man)
    assert row["path"] == str(tmp_path / "clips" / "a.mp4") and row["clip_path"] == "clips/a.mp4"
    assert row["protocol"] == str(tmp_path / "p.toml") and row["group"] == "case"
    defaults = {"protocol": None, "offset_s": 0.0, "affected_side": "unknown", "subject": None,
                "session_date": None, "mirrored": False}
    opts = bt.clip_options(row, defaults)
    assert opts["mirrored"] is True and opts["subject"] == "S1"
    for bad in ({"affected_side": "up"}, {"mirrored": "maybe"}, {"session_date": "1/2/24"},
                {"offset_s": "soon"}):
        with pytest.raises(InputError):
            bt.clip_options(bad, defaults)
    (tmp_path / "nopath.csv").write_text("file\nx.mp4\n")
    with pytest.raises(InputError, match="'path' column"):
        bt.read_manifest(tmp_path / "nopath.csv")


def test_no_clip_found_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert run_cli("batch", tmp_path / "empty", "--out", tmp_path / "out") == 2
    assert "no clips found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_clip_that_kills_its_worker_is_retried_then_listed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures.process import BrokenProcessPool

    submitted: list[str] = []

    class CrashingPool(cf.ThreadPoolExecutor):
        """Stands in for the spawned pool: the "bad" clip breaks it, as a segfault would."""

        def __init__(self, max_workers: int, **_: object) -> None:
            super().__init__(max_workers)

        def submit(self, fn, /, *args, **kwargs):
            task = args[0]
            submitted.append(task.clip_path)
            if task.clip_path == "bad":
                fut: cf.Future[bt.ClipOutcome] = cf.Future()
                fut.set_exception(BrokenProcessPool("worker died"))
                return fut
            return super().submit(bt.ClipOutcome, task.clip_path, task.path, "done")

    monkeypatch.setattr(cf, "ProcessPoolExecutor", CrashingPool)
    tasks = [bt.ClipTask(path=f"/x/{n}", clip_path=n, clip_id=n, sha256="0" * 64, out_dir="/x",
                         settings={}, settings_hash="h") for n in ("a", "bad", "b")]
    outcomes: list[bt.ClipOutcome] = []
    bt.execute(tasks, None, 2, outcomes.append)
    assert sorted(submitted) == ["a", "b", "bad", "bad"]
    status = {o.clip_path: (o.status, o.category) for o in outcomes}
    assert status == {"a": ("done", ""), "b": ("done", ""), "bad": ("failed", "worker")}


def test_one_batch_per_output_folder(tmp_path: Path, model_path: Path) -> None:
    from filelock import FileLock

    (tmp_path / "a.mp4").write_bytes(b"not analysed")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / bt.LOCK_NAME)), pytest.raises(OutputError, match="another"):
        bt.batch([tmp_path / "a.mp4"], out)


# --------------------------------------------------------------------------- real clips


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, media_dir: Path, model_path: Path) -> Path:
    """study/: two short real clips (one in a sub-folder) and a 3 s simulated session."""
    from synktrack.fidelity import face_geometry
    from synktrack.protocol import parse_protocol
    from synktrack.simulate import Synkinesis, demo_portrait, session_simulate, write_clip

    root = tmp_path_factory.mktemp("media")
    study = root / "study"
    (study / "sub").mkdir(parents=True)
    shutil.copy(media_dir / "videos" / SINGLE, study / SINGLE)
    shutil.copy(media_file(media_dir, "videos/" + MALE), study / "sub" / MALE)
    (root / "mini.toml").write_text(MINI_TOML)
    img = demo_portrait(320)
    frames = session_simulate(img, face_geometry(img, model_path), parse_protocol(MINI_TOML),
                              Synkinesis("left", oral_ocular_pct=30.0), fps=15.0)
    write_clip(frames, study / "sub" / "sim.mp4", 15.0)
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    shutil.copy(media_dir / "videos_negative" / "pyfeat__no_face.mp4",
                root / "no_face.mp4")
    return root


@pytest.fixture(scope="module")
def local_run(media: Path, tmp_path_factory: pytest.TempPathFactory) -> bt.BatchResult:
    """The three good clips plus a corrupt file and a no-face clip, on 2 local processes."""
    out = tmp_path_factory.mktemp("local") / "out"
    return bt.batch([media / "study", media / "corrupt.mp4", media / "no_face.mp4"], out,
                    jobs=2, protocol=media / "mini.toml")


@pytest.mark.slow
def test_failures_are_listed_and_the_batch_goes_on(local_run: bt.BatchResult) -> None:
    out = local_run.out_dir
    assert len(local_run.of("done")) == 3 and local_run.exit_code == 1
    errors = pd.read_csv(out / "errors.csv")
    assert list(errors.columns) == bt.ERROR_COLUMNS
    got = dict(zip(errors["clip_path"], zip(errors["category"], errors["exit_code"],
                                            strict=True), strict=True))
    assert got == {"corrupt.mp4": ("input", 2), "no_face.mp4": ("no_face", 3)}
    assert errors["reason"].str.contains("\n").sum() == 0
    sessions = pd.read_csv(out / "sessions.csv")
    assert list(sessions.columns[:2]) == ["clip_path", "clip_id"]
    assert list(sessions.columns[2:]) == list(session_columns())
    assert sorted(sessions["clip_path"]) == ["study/" + SINGLE, "study/sub/" + MALE,
                                             "study/sub/sim.mp4"]
    assert set(sessions["protocol"]) == {"mini"}
    sim = sessions.set_index("clip_path").loc["study/sub/sim.mp4"]
    assert sim["eye_narrowing_smile_left_pct"] > sim["eye_narrowing_smile_right_pct"] + 10
    epochs = pd.read_csv(out / "epochs.csv")
    assert set(epochs["clip_path"]) == set(sessions["clip_path"]) and "movement" in epochs
    for cid in sessions["clip_id"]:
        marker = json.loads((out / "clips" / cid / "done.json").read_text())
        assert {"input_sha256", "settings_hash", "files"} <= set(marker)
    assert not list((out / "clips").glob("corrupt-*"))  # nothing was written for it
    assert no_tmp_files(out)


@pytest.mark.slow
def test_resume_skips_done_clips_and_redoes_an_interrupted_one(
        local_run: bt.BatchResult, media: Path, tmp_path: Path, counting: Counting) -> None:
    out = tmp_path / "out"
    shutil.copytree(local_run.out_dir, out)
    sim_dir = next((out / "clips").glob("study__sub__sim-*"))
    (sim_dir / "done.json").unlink()  # as if killed before the marker was written
    (sim_dir / ".frames.csv.half.tmp").write_text("half")
    with cf.ThreadPoolExecutor(2) as pool:
        res = bt.batch([media / "study"], out, executor=pool, protocol=media / "mini.toml")
    assert counting.calls == ["sim.mp4"]
    assert len(res.of("done")) == 1 and len(res.of("skipped")) == 2 and res.exit_code == 0
    assert len(res.sessions) == 3 and no_tmp_files(out)
    with cf.ThreadPoolExecutor(2) as pool:  # other settings: everything again
        res = bt.batch([media / "study" / "sub" / "sim.mp4"], out, executor=pool,
                       protocol=media / "mini.toml", affected_side="left")
    assert counting.calls == ["sim.mp4", "sim.mp4"] and len(res.of("done")) == 1
    assert res.sessions.set_index("clip_path").loc["sim.mp4", "affected_side"] == "left"
    with cf.ThreadPoolExecutor(2) as pool:  # no protocol: the clip's old epochs go
        res = bt.batch([media / "study" / "sub" / "sim.mp4"], out, executor=pool)
    assert "sim.mp4" not in set(res.epochs["clip_path"]) and len(res.sessions) == 3
    assert res.sessions.set_index("clip_path")["protocol"].isna()["sim.mp4"]


@pytest.mark.slow
def test_cli_exit_code_1_when_some_failed(local_run: bt.BatchResult, media: Path,
                                          tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    shutil.copytree(local_run.out_dir, out)
    code = run_cli("batch", media / "study", media / "corrupt.mp4", "--out", out,
                   "--protocol", media / "mini.toml", "-j", "1")
    err = capsys.readouterr().err
    assert code == 1
    assert "0 analysed, 3 already done, 1 failed" in err and "errors.csv" in err
    assert run_cli("batch", media / "study", "--out", out, "--protocol",
                   media / "mini.toml") == 0


@pytest.mark.slow
def test_duplicates_are_listed_and_analysed_once(local_run: bt.BatchResult, media: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(local_run.out_dir, out)
    copy = tmp_path / "renamed.mp4"
    shutil.copy(media / "study" / SINGLE, copy)
    res = bt.batch([media / "study", media / "study" / SINGLE, copy], out,
                   protocol=media / "mini.toml")
    assert len(res.of("skipped")) == 3 and not res.of("done")
    dups = pd.read_csv(out / "duplicates.csv")
    assert sorted(dups["reason"]) == ["same content", "same file"]
    assert set(dups["duplicate_of"]) == {"study/" + SINGLE}
    assert len(pd.read_csv(out / "sessions.csv")) == 3


@pytest.mark.slow
def test_manifest_fields_are_applied(media: Path, tmp_path: Path) -> None:
    man = media / "manifest.csv"
    man.write_text(
        "path,subject,session_date,affected_side,mirrored,protocol,group\n"
        "study/sub/sim.mp4,P01,2024-05-01,left,1,mini.toml,synkinesis\n"
        "missing.mp4,P02,,,,,control\n")
    with cf.ThreadPoolExecutor(1) as pool:
        res = bt.batch([], tmp_path / "out", executor=pool, manifest=man)
    (row,) = res.sessions.to_dict("records")
    assert row["clip_path"] == "study/sub/sim.mp4" and row["subject"] == "P01"
    assert row["session_date"] == "2024-05-01" and row["affected_side"] == "left"
    assert row["mirrored"] == 1 and row["protocol"] == "mini" and row["group"] == "synkinesis"
    assert [o.clip_path for o in res.of("failed")] == ["missing.mp4"]


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_a_rerun_finishes(media: Path, tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    clips = [media / "study" / "sub" / "sim.mp4", media / "study" / SINGLE,
             media / "study" / "sub" / MALE]
    cmd = [sys.executable, "-c", "from synktrack.cli import main; main()", "batch",
           *map(str, clips), "--out", str(out), "-j", "1", "--protocol",
           str(media / "mini.toml")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("[1/3] done"):
                break
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    assert no_tmp_files(out)
    done_before = len(pd.read_csv(out / "sessions.csv"))
    assert 1 <= done_before < 3
    res = bt.batch(clips, out, jobs=1, protocol=media / "mini.toml")
    assert len(res.of("skipped")) == done_before and len(res.of("done")) == 3 - done_before
    assert len(res.sessions) == 3


# --------------------------------------------------------------------------- unwritable output


@contextlib.contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[None]:
    path.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("running as root, where chmod does not stop writes, and cannot mount")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ro"
    path.mkdir()
    path.chmod(0o555)
    try:
        (path / "probe").touch()  # root (or CAP_DAC_OVERRIDE) writes anyway
    except PermissionError:
        yield path
        path.chmod(0o755)
        return
    (path / "probe").unlink()
    path.chmod(0o755)
    path.rmdir()
    with _tmpfs(path, "ro,size=1m"):
        yield path


@pytest.mark.slow
def test_read_only_output_is_one_line_and_exit_4(media: Path, read_only_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli("batch", media / "study", "--out", read_only_dir / "out")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4
    assert err[-1].startswith("synktrack: error: cannot write") and len(err) <= 2
    assert not list(read_only_dir.rglob("*.csv"))


@pytest.mark.slow
def test_full_disk_stops_with_no_partial_csv(media: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tiny file system")
    full = tmp_path / "full"
    with _tmpfs(full, "size=48k"), cf.ThreadPoolExecutor(1) as pool:
        with pytest.raises(OutputError, match="disk full|cannot write"):
            bt.batch([media / "study" / SINGLE], full / "out", executor=pool)
        assert no_tmp_files(full)
        for csv_file in full.rglob("*.csv"):
            pd.read_csv(csv_file)  # complete, parseable files only
        assert not list(full.rglob("done.json"))


# --------------------------------------------------------------------------- Dask


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Iterator[str]:
    """A real `dask scheduler` and two one-thread `dask worker`s on 127.0.0.1."""
    pytest.importorskip("distributed")
    from distributed import Client

    bindir = Path(sys.executable).parent
    work = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "SYNKTRACK_MODEL": str(model_path)}
    procs = [subprocess.Popen(
        [str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
         address.rsplit(":", 1)[1], "--no-dashboard"],
        cwd=work, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(bindir / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads",
                 "1", "--nworkers", "1", "--no-dashboard", "--local-directory",
                 str(work / f"w{i}"), "--name", f"w{i}"],
                cwd=work, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _numbers(table: pd.DataFrame) -> pd.DataFrame:
    t = table.drop(columns=list(NOT_COMPARED)).sort_values("clip_path").reset_index(drop=True)
    return t.select_dtypes("number")


@pytest.mark.slow
def test_dask_cluster_gives_the_local_results(dask_cluster: str, local_run: bt.BatchResult,
                                              media: Path, tmp_path: Path) -> None:
    from distributed import Client

    out = tmp_path / "out"
    assert run_cli("batch", media / "study", "--out", out, "--protocol", media / "mini.toml",
                   "--scheduler", dask_cluster) == 0
    dask_rows = pd.read_csv(out / "sessions.csv")
    local = _numbers(local_run.sessions)
    remote = _numbers(dask_rows)
    assert list(remote.columns) == list(local.columns) and len(remote) == 3
    np.testing.assert_allclose(remote.to_numpy(float), local.to_numpy(float), rtol=1e-6,
                               atol=1e-6, equal_nan=True)
    assert list(dask_rows["clip_id"].sort_values()) == sorted(local_run.sessions["clip_id"])
    with Client(dask_cluster) as client:  # the concurrent.futures facade works too
        res = bt.batch([media / "study" / "sub" / "sim.mp4"], tmp_path / "out2",
                       executor=client.get_executor(), protocol=media / "mini.toml")
    assert len(res.of("done")) == 1
    sim = local_run.sessions.set_index("clip_path").loc["study/sub/sim.mp4"]
    assert res.sessions.loc[0, "eye_narrowing_smile_left_pct"] == pytest.approx(
        sim["eye_narrowing_smile_left_pct"], abs=1e-6)


def test_dask_missing_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InputError, match=r"synktrack\[dask\]"):
        bt.dask_client("tcp://127.0.0.1:1")
