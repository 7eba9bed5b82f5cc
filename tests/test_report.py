"""Tests for the therapist trend report, the per-session summary figure and `synktrack report`."""

from __future__ import annotations

import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack.errors import InputError
from synktrack.events import events_frame, make_event
from synktrack.history import append_session, read_history
from synktrack.report.build import make_report
from synktrack.report.fake import fake_events, fake_history, fake_rows
from synktrack.report.reference import LABELS
from synktrack.report.stats import index_change, mdc95, pooled_sem
from synktrack.report.summary import summary_figure
from synktrack.schema import EPOCH_COLUMNS, INDICES, SIDES, index_column, session_columns

CHROMIUM = Path("/usr/bin/chromium")
EXTERNAL = re.compile(r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
                      r"""|url\(\s*["']?\s*(?:https?:)?//|@import|https?://""", re.I)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """52 weekly sessions, an events CSV with three events, and the report built from them."""
    folder = tmp_path_factory.mktemp("year")
    history = fake_history(folder / "history.csv", 52, subject="demo-01")
    events = folder / "events.csv"
    events_frame(fake_events()).to_csv(events, index=False)
    out = folder / "report.html"
    result = make_report(history, out, subject="demo-01", events_file=events,
                         png_dir=folder / "png")
    assert result.sessions == 52 and result.events == 3
    return {"history": history, "events": events, "html": out, "png": folder / "png"}


def test_history_has_every_schema_column(year: dict[str, Path]) -> None:
    h = read_history(year["history"])
    assert len(h) == 52
    assert set(session_columns()) <= set(h.columns)
    assert h[list(session_columns())].notna().any().all()


def test_report_shows_every_index_and_event(year: dict[str, Path]) -> None:
    html = year["html"].read_text("utf-8")
    for stem in INDICES:
        for side in SIDES:
            assert index_column(stem, side) in html or LABELS[stem] in html
        assert LABELS[stem] in html
    for e in fake_events():
        assert e.date.isoformat() in html
        assert e.kind_label in html
        if e.dose_units is not None:
            assert e.dose_text() in html
    for words in ("Laryngoscope", "DynaFace", "MediaPipe Face Landmarker", "Kim J",
                  "MDC95", "Not a diagnosis", "21.6 ± 13.4", "little movement"):
        assert words in html


def test_report_is_self_contained(year: dict[str, Path]) -> None:
    html = year["html"].read_text("utf-8")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<link" not in html and "<script src" not in html and "<iframe" not in html
    srcs = re.findall(r"""\bsrc\s*=\s*["']([^"']*)""", html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    hrefs = re.findall(r"""\bhref\s*=\s*["']([^"']*)""", html)
    assert all(h.startswith("#") for h in hrefs)
    assert "default-src 'none'" in html  # the page forbids itself any fetch


def test_png_dir_holds_every_figure(year: dict[str, Path]) -> None:
    names = {p.stem for p in year["png"].glob("*.png")}
    assert {"timeline", "quality", *(f"trend_{s}" for s in INDICES)} <= names
    for p in year["png"].glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mdc_from_pooled_repetition_sd() -> None:
    h = pd.DataFrame({"eye_narrowing_smile_left_sd_pct": [3.0, 4.0, np.nan],
                      "eye_narrowing_smile_left_pct": [40.0, 30.0, 20.0],
                      "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])})
    sem = pooled_sem(h, "eye_narrowing_smile", "left")
    assert sem == pytest.approx(math.sqrt((9 + 16) / 2))
    assert mdc95(sem) == pytest.approx(1.96 * math.sqrt(2) * sem)
    c = index_change(h, "eye_narrowing_smile", "left")
    assert (c.baseline, c.previous, c.latest) == (40.0, 30.0, 20.0)
    assert c.since_baseline == -20.0 and c.since_previous == -10.0
    one = index_change(h.iloc[:1], "eye_narrowing_smile", "left")
    assert one.latest == 40.0 and math.isnan(one.since_baseline)


def test_mdc_is_never_below_the_noise_floor() -> None:
    """Two repetitions that agree (SD 0) do not make a 0.0 MDC: -0.9 mm is judged against
    the measurement's own noise, and an index without SDs still has that floor."""
    from synktrack.report.stats import SEM_FLOOR

    h = pd.DataFrame({"mouth_corner_eye_closure_left_sd_mm": [0.0, 0.0, 0.0],
                      "mouth_corner_eye_closure_left_mm": [2.4, 2.4, 1.5],
                      "eye_narrowing_smile_left_pct": [20.0, 22.0, 23.0],
                      "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])})
    c = index_change(h, "mouth_corner_eye_closure", "left")
    assert c.mdc == pytest.approx(mdc95(SEM_FLOOR["_mm"])) and c.mdc > 0.5
    assert index_change(h, "eye_narrowing_smile", "left").mdc == \
        pytest.approx(mdc95(SEM_FLOOR["_pct"]))
    big = h.assign(mouth_corner_eye_closure_left_sd_mm=[1.0, 1.0, 1.0])
    assert index_change(big, "mouth_corner_eye_closure", "left").mdc == pytest.approx(mdc95(1.0))
    assert math.isnan(index_change(h, "oral_ocular_coupling", "left").mdc)


def test_trend_axes_have_a_minimum_clinical_span() -> None:
    """A 0.003 mm wobble of a target amplitude is not drawn across the whole axis."""
    from synktrack.report.figures import time_axis, trend_figure
    from synktrack.report.reference import MIN_SPAN

    h = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"]),
                      "smile_excursion_left_mm": [2.900, 2.903, 3.025],
                      "smile_excursion_right_mm": [2.95, 2.96, 2.95],
                      "eye_narrowing_smile_left_pct": [40.0, 41.0, 40.5]})
    axis = time_axis(h["date"], [])
    for stem, unit in (("smile_excursion", "_mm"), ("eye_narrowing_smile", "_pct")):
        fig = trend_figure(h, stem, "left", axis)
        low, high = fig.axes[0].get_ylim()
        assert high - low >= MIN_SPAN[unit] - 1e-9, (stem, low, high)
        assert low <= h[index_column(stem, "left")].min() <= high
    wide = h.assign(smile_excursion_left_mm=[1.0, 5.0, 9.0])
    low, high = trend_figure(wide, "smile_excursion", "left", axis).axes[0].get_ylim()
    assert low <= 1.0 and high >= 9.0 and high - low < 12  # real changes keep their scale


def test_each_norm_has_one_source(tmp_path: Path) -> None:
    """The pucker band, the z-scores and the norms note all say the same numbers."""
    from synktrack.indices import METHODS, NORMS, session_indices
    from synktrack.report.reference import BANDS

    for stem, norm in NORMS.items():
        assert (BANDS[stem].centre, BANDS[stem].half_width) == (norm.mean, norm.sd)
        assert f"{norm.mean:g} ± {norm.sd:g}" in BANDS[stem].label
    pucker = NORMS["eye_narrowing_pucker"]
    note = str(session_indices(pd.DataFrame(columns=["usable"]), {})["norms_note"])
    for text in (note, METHODS["norms"]):
        assert f"{pucker.mean:g} % (SD {pucker.sd:g} % assumed" in text, text
    html = make_report(fake_history(tmp_path / "h.csv", 3), tmp_path / "r.html").path \
        .read_text("utf-8")
    assert f"{pucker.mean:g} ± {pucker.sd:g}" in html
    assert "± 2 %" not in html and "1.7 ± 2.0" not in html


def write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    for row in rows:
        append_session(path, row)
    return path


def test_empty_history_gives_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    for name, text in (("zero.csv", ""), ("header.csv", ",".join(session_columns()) + "\n")):
        f = tmp_path / name
        f.write_text(text)
        result = make_report(f, tmp_path / f"{name}.html")
        html = result.path.read_text("utf-8")
        assert result.sessions == 0
        assert "No sessions in this history yet" in html and "Methods" in html


def test_one_session_gives_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    h = write_rows(tmp_path / "h.csv", fake_rows(1))
    result = make_report(h, tmp_path / "r.html")
    html = result.path.read_text("utf-8")
    assert result.sessions == 1
    assert "One session" in html and LABELS["eye_narrowing_smile"] in html


def test_older_schema_loads_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    old = pd.DataFrame({
        "schema_version": [0, 0, 0],
        "session_date": ["2023-05-01", "2023-05-08", "2023-05-15"],
        "subject": ["007", "007", "007"],
        "eye_narrowing_smile_left_pct": [40.0, 35.0, 30.0],
        "eye_narrowing_smile_right_pct": [20.0, 21.0, 22.0],
        "usable_frame_fraction": [0.9, 0.95, 0.8],
    })
    f = tmp_path / "old.csv"
    old.to_csv(f, index=False)
    result = make_report(f, tmp_path / "r.html", subject="007")
    html = result.path.read_text("utf-8")
    assert result.sessions == 3
    assert "older synktrack (schema 0)" in html
    assert "no measurements of this index" not in html  # that text is in the figure, not HTML
    assert "40.0" in html and "30.0" in html


def test_newer_schema_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "new.csv"
    pd.DataFrame({"schema_version": [99], "session_date": ["2024-01-01"]}).to_csv(f, index=False)
    with pytest.raises(InputError, match="newer synktrack"):
        make_report(f, tmp_path / "r.html")


def test_undated_sessions_are_left_out_with_a_note(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    rows = fake_rows(3)
    rows[1]["session_date"] = ""
    rows[1]["started_at"] = ""
    result = make_report(write_rows(tmp_path / "h.csv", rows), tmp_path / "r.html")
    assert result.sessions == 2
    assert "without a date" in result.path.read_text("utf-8")


def test_subject_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    h = write_rows(tmp_path / "h.csv", fake_rows(3, subject="a") + fake_rows(2, subject="b"))
    with pytest.raises(InputError, match="2 subjects .*--subject"):
        make_report(h, tmp_path / "r.html")
    assert make_report(h, tmp_path / "r.html", subject="b").sessions == 2
    with pytest.raises(InputError, match="subjects there: a, b"):
        make_report(h, tmp_path / "r.html", subject="c")


def test_history_without_subject_ids(tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    h = write_rows(tmp_path / "h.csv", fake_rows(3, subject=""))
    result = make_report(h, tmp_path / "r.html", subject="p1")
    assert result.sessions == 3
    assert "no subject ids" in result.path.read_text("utf-8")


def test_events_come_from_the_store_by_default(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from synktrack.events import add_event

    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    add_event("s1", make_event("2024-01-20", "surgery", side="right", note="neurolysis"))
    h = write_rows(tmp_path / "h.csv", fake_rows(4, subject="s1"))
    result = make_report(h, tmp_path / "r.html", subject="s1")
    assert result.events == 1
    assert "neurolysis" in result.path.read_text("utf-8")


def test_report_escapes_user_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    h = write_rows(tmp_path / "h.csv", fake_rows(2))
    ev = tmp_path / "ev.csv"
    events_frame([make_event("2024-01-09", "note", note="<img src=x onerror=alert(1)>")]
                 ).to_csv(ev, index=False)
    html = make_report(h, tmp_path / "r.html", events_file=ev).path.read_text("utf-8")
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_cli_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str], year: dict[str, Path]) -> None:
    from synktrack.cli import main

    monkeypatch.setenv("SYNKTRACK_DATA_DIR", str(tmp_path / "store"))
    out = tmp_path / "r.html"
    monkeypatch.setattr(sys, "argv", ["synktrack", "report", "--history", str(year["history"]),
                                      "--events", str(year["events"]), "--out", str(out)])
    main()
    assert out.is_file() and "52 sessions" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["synktrack", "report", "--history",
                                      str(tmp_path / "none.csv"), "--out", str(out)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


# ------------------------------------------------------------------ summary figure

def fake_session() -> tuple[pd.DataFrame, pd.DataFrame]:
    t = np.arange(0, 60, 1 / 15)
    steps = [("rest", 8), ("smile", 5), ("rest", 6), ("eye_closure", 5), ("rest", 6),
             ("pucker", 5), ("rest", 6), ("brow_raise", 5), ("rest", 14)]
    frames = pd.DataFrame({"time_s": t, "usable": 1})
    epochs: list[dict[str, object]] = []
    start = 0.0
    reps: dict[str, int] = {}
    ap = np.full_like(t, 9.0)
    corner_y = np.full_like(t, -40.0)
    for i, (movement, dur) in enumerate(steps):
        reps[movement] = reps.get(movement, 0) + 1
        on = (t >= start + 1) & (t < start + dur - 0.5)
        if movement == "smile":
            ap[on] -= 3.0
            corner_y[on] += 2.5
        if movement == "eye_closure":
            ap[on] = 1.0
        row: dict[str, object] = dict.fromkeys(EPOCH_COLUMNS, np.nan)
        row.update(epoch=i, movement=movement, repetition=reps[movement], side="",
                   start_s=start, end_s=start + dur, plateau_start_s=start + 1.2,
                   plateau_end_s=start + dur - 0.5, usable=int(movement != "brow_raise"))
        epochs.append(row)
        start += dur
    for side, k in (("left", 1.0), ("right", 0.7)):
        frames[f"eye_aperture_{side}_mm"] = 9 - (9 - ap) * k
        frames[f"mouth_corner_{side}_y_mm"] = corner_y
        frames[f"mouth_corner_{side}_x_mm"] = 25.0 + 0.1 * np.sin(t)
    frames.loc[100:110, "usable"] = 0
    return frames, pd.DataFrame(epochs)


def test_summary_figure_with_images(tmp_path: Path) -> None:
    frames, epochs = fake_session()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (240, 200, 3), dtype=np.uint8)
    lm = np.column_stack([rng.uniform(40, 160, 478), rng.uniform(40, 200, 478)])
    lids = {"left": np.array([[120.0, 90.0], [120.0, 100.0]]),
            "right": np.array([[80.0, 90.0], [80.0, 99.0]])}
    path = summary_figure(tmp_path, frames, epochs, img, img[..., 0], lm, lm / [200, 240],
                          lids, [np.array([[70.0, 90], [80, 88], [90, 90]])], title="test")
    assert path == tmp_path / "summary.png"
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("case", ["no_images", "no_epochs", "empty_epochs", "empty_frames",
                                  "missing_columns"])
def test_summary_figure_is_robust(tmp_path: Path, case: str) -> None:
    frames, epochs = fake_session()
    ep: pd.DataFrame | None = epochs
    if case == "no_epochs":
        ep = None
    elif case == "empty_epochs":
        ep = epochs.iloc[:0]
    elif case == "empty_frames":
        frames = frames.iloc[:0]
    elif case == "missing_columns":
        frames = frames[["time_s"]]
    path = summary_figure(tmp_path, frames, ep, None, None, None, None)
    assert path.is_file() and path.stat().st_size > 1000


def test_summary_figure_keys_its_shadings_and_shows_the_brows() -> None:
    """The grey shadings are explained, the brow has a trace, a still trace is not blown up,
    and without pictures (no video kept) the traces fill the page."""
    from synktrack.report.summary import MIN_SPAN_MM, _figure

    frames, epochs = fake_session()
    frames["brow_height_left_mm"] = 20.0 + 0.01 * np.sin(frames["time_s"])
    frames["brow_height_right_mm"] = 21.0
    fig = _figure(frames, epochs, [], "no video kept")
    labels = [a.get_ylabel() for a in fig.axes]
    assert len(labels) == 4 and "brow" in labels[-1]
    key = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for text in ("movement step", "plateau (measured)", "step not usable", "patient's left"):
        assert text in key, key
    for ax in fig.axes:
        low, high = ax.get_ylim()
        assert high - low >= MIN_SPAN_MM - 1e-9
    assert fig.axes[0].get_position().y1 > 0.85  # no empty band where pictures would be


# ------------------------------------------------------------------ real browser

@pytest.mark.browser
def test_report_in_headless_chromium(year: dict[str, Path], tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is not installed")
    requests: list[str] = []
    shot = tmp_path / "report.png"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(year["html"].resolve().as_uri())
            page.wait_for_load_state("load")
            loaded = page.evaluate("Array.from(document.images).every("
                                   "i => i.complete && i.naturalWidth > 0)")
            n_images = page.evaluate("document.images.length")
            title = page.title()
            page.screenshot(path=str(shot), full_page=True)
            # Printed on A4 (188 mm of text, about 710 CSS px): the change table fits.
            page.set_viewport_size({"width": 710, "height": 900})
            page.emulate_media(media="print")
            over = page.evaluate("""() => {
                const t = document.querySelector('table.glance');
                return t.scrollWidth - document.body.clientWidth; }""")
            fits = True if over <= 1 else f"{over}px"
        finally:
            browser.close()
    assert loaded and n_images == 2 + len(INDICES)
    assert "demo-01" in title
    assert requests and all(u.startswith(("file:", "data:")) for u in requests), requests
    assert shot.stat().st_size > 50_000
    assert fits, f"the change table is {fits} wider than an A4 page's text"
    if (keep := Path(__file__).parent / ".artifacts").is_dir():
        shutil.copy(shot, keep / "report.png")
