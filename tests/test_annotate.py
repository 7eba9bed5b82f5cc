"""The annotated video: marks drawn where the landmarks are, on the patient's correct side;
live traces that follow the data; an H.264 MP4 that decodes with the right frames; failures
that keep every other output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synktrack import annotate as A
from synktrack.errors import AnnotationError
from synktrack.landmarks import N_LANDMARKS, Recording, empty_arrays
from synktrack.measures.ids import EYE, MOUTH_CORNER
from synktrack.protocol import Protocol, Step

W, H = 640, 480  # source frame size (= the video's picture width: no resampling)
# Where the synthetic face's parts are, in image pixels. Unmirrored: MediaPipe's (= the
# patient's) right eye and mouth corner are on the image's left.
EYE_CENTRE = {"right": (230.0, 190.0), "left": (410.0, 190.0)}
CORNER = {"right": (270.0, 330.0), "left": (370.0, 330.0)}
IRIS_R = 14.0
LOWER_LIP, CHIN_TIP = (320.0, 345.0), (320.0, 420.0)


def _face_points() -> np.ndarray:
    """(478, 2) landmark pixels of a schematic face with the parts above."""
    pts = np.tile(np.array([320.0, 260.0]), (N_LANDMARKS, 1))
    for label, (cx, cy) in EYE_CENTRE.items():
        ids = EYE[label]
        contour = ids["contour"]
        for k, idx in enumerate(contour):  # an ellipse 60 x 24 px
            a = 2 * np.pi * k / len(contour)
            pts[idx] = (cx + 30 * np.cos(a), cy + 12 * np.sin(a))
        pts[ids["iris_centre"]] = (cx, cy)
        pts[ids["iris_h"][0]], pts[ids["iris_h"][1]] = (cx - IRIS_R, cy), (cx + IRIS_R, cy)
        up, lo = ids["pairs"][0]
        pts[up], pts[lo] = (cx, cy - 12), (cx, cy + 12)
    for label, xy in CORNER.items():
        pts[MOUTH_CORNER[label]] = xy
    pts[17], pts[152] = LOWER_LIP, CHIN_TIP
    return pts


def _recording(n: int = 1, times: np.ndarray | None = None) -> Recording:
    arr = empty_arrays(n)
    px = _face_points()
    norm = np.zeros((N_LANDMARKS, 3), np.float32)
    norm[:, 0], norm[:, 1] = (px[:, 0] + 0.5) / W, (px[:, 1] + 0.5) / H
    arr["landmarks"][:] = norm
    arr["face_present"][:] = True
    arr["n_faces"][:] = 1
    arr["time_s"] = np.arange(n) / 30.0 if times is None else times
    return Recording(**arr, blendshape_names=tuple(f"b{i}" for i in range(52)),
                     attrs={"width": W, "height": H})


def _rgb_near(img: np.ndarray, xy: tuple[float, float], rgb: tuple[int, int, int],
              radius: int = 2, tol: int = 40) -> bool:
    x, y = int(round(xy[0])), int(round(xy[1]))
    patch = img[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3).astype(int)
    return bool((np.abs(patch - np.array(rgb)).max(axis=1) <= tol).any())


@pytest.fixture()
def grey() -> np.ndarray:
    return np.full((H, W, 3), 128, np.uint8)


@pytest.mark.parametrize("mirrored", [False, True])
def test_corners_irises_and_lids_drawn_where_the_landmarks_are_on_the_right_side(
        grey: np.ndarray, mirrored: bool) -> None:
    rec = _recording()
    marks = A.marks_of(rec, 0, mirrored=mirrored)
    img = A.draw_picture(grey, marks, W)
    assert img.shape == (H, W, 3) and not np.shares_memory(img, grey)
    # unmirrored, MediaPipe's right is the patient's right; mirrored, it is the patient's left
    patient = {"right": "left", "left": "right"} if mirrored else {"right": "right",
                                                                   "left": "left"}
    for label in ("left", "right"):
        side, other = patient[label], patient["left" if label == "right" else "right"]
        assert _rgb_near(img, CORNER[label], A.SIDE_RGB[side])
        assert not _rgb_near(img, CORNER[label], A.SIDE_RGB[other])
        cx, cy = EYE_CENTRE[label]
        assert _rgb_near(img, (cx + IRIS_R, cy), A.SIDE_RGB[side], radius=1)
        assert _rgb_near(img, (cx - IRIS_R, cy), A.SIDE_RGB[side], radius=1)
        for y in (cy - 12, cy + 12):  # the measured lid margins: yellow ticks
            assert _rgb_near(img, (cx + 5, y), A.LID_RGB, radius=1)
        # the side's letter sits beside the eye, away from the other eye (towards the ear)
        outward = -1 if cx < W / 2 else 1
        xs = slice(int(cx + outward * 36), int(cx + outward * 56)) if outward > 0 else \
            slice(int(cx - 56), int(cx - 36))
        letter = img[int(cy - 40):int(cy - 5), xs].reshape(-1, 3).astype(int)
        assert (np.abs(letter - A.SIDE_RGB[side]).max(axis=1) <= 40).sum() > 10
    # nothing is drawn far from the face
    assert (img[5:60, 5:100] == 128).all()


def test_chin_boxes_per_side_and_neck_out_of_frame_is_said_not_drawn(grey: np.ndarray) -> None:
    rec = _recording()
    marks = A.marks_of(rec, 0)
    assert marks.visible == {"chin_left": True, "chin_right": True, "neck_left": False,
                             "neck_right": False}  # the neck runs past the bottom edge
    img = A.draw_picture(grey, marks, W)
    chin_y = (LOWER_LIP[1] + 0.3 * (CHIN_TIP[1] - LOWER_LIP[1]) + CHIN_TIP[1]) / 2
    # left edges of the boxes: the patient's right box starts at the right corner
    assert _rgb_near(img, (CORNER["right"][0], chin_y), A.SIDE_RGB["right"], radius=1)
    assert _rgb_near(img, (CORNER["left"][0], chin_y), A.SIDE_RGB["left"], radius=1)
    # no neck box below the chin, but a line of text at the bottom says where it went
    below = img[int(CHIN_TIP[1]) + 15:H - 30, 250:390]
    assert (below == 128).all()
    assert (img[H - 25:H, 0:200] != 128).any()


def test_a_frame_without_a_face_says_so_and_draws_nothing_else(grey: np.ndarray) -> None:
    arr = empty_arrays(1)
    rec = Recording(**arr, blendshape_names=(), attrs={"width": W, "height": H})
    marks = A.marks_of(rec, 0)
    assert not marks.present
    img = A.draw_picture(grey, marks, W)
    assert (img[60:, :] == 128).all() and (img[:60, :200] != 128).any()


def test_picture_is_resized_with_the_marks_scaled(grey: np.ndarray) -> None:
    rec = _recording()
    img = A.draw_picture(grey, A.marks_of(rec, 0), 320)
    assert img.shape == (240, 320, 3)
    x, y = CORNER["left"]
    assert _rgb_near(img, (x / 2, y / 2), A.SIDE_RGB["left"], radius=1)


def _frames_step(n: int = 300, fps: float = 30.0) -> pd.DataFrame:
    """Left eye closes halfway (10 -> 5 mm) at 5 s, the right stays at 10 mm."""
    t = np.arange(n) / fps
    left = np.where(t < 5.0, 10.0, 5.0)
    data = {"time_s": t, "eye_aperture_left_mm": left, "eye_aperture_right_mm": np.full(n, 10.0)}
    for s in ("left", "right"):
        data[f"mouth_corner_{s}_y_mm"] = np.full(n, -50.0)
        data[f"mouth_corner_{s}_x_mm"] = np.full(n, 25.0)
    return pd.DataFrame(data)


def _side_rows(strip: np.ndarray, x: int, side: str) -> np.ndarray:
    col = strip[:, x].astype(int)
    return np.flatnonzero(np.abs(col - A.SIDE_RGB[side]).max(axis=1) <= 30)


def test_traces_follow_the_data_per_side_and_stop_at_now() -> None:
    frames = _frames_step()
    proto = Protocol("p", 1, (Step("rest", 4.0, "", 0.0), Step("eye_closure", 3.0, "", 4.0)))
    tr = A.traces_of(frames, proto)
    assert [s.movement for s in tr.steps] == ["eye_closure"]
    i = 240  # t = 8 s: window [0, 10], now at x(8)
    panel = A.draw_panel(W, tr, i)
    assert panel.shape == (A.panel_height(), W, 3)
    strip = panel[: A.STRIP_H]
    x0, x1 = A.MARGIN_L, W - A.MARGIN_R

    def x_of(t: float) -> int:
        return int(round(x0 + t / 10.0 * (x1 - x0)))

    before, after, future = x_of(2.0), x_of(7.0), x_of(9.0)
    # before the step both sides sit on one row (10 mm); after, the left is lower (5 mm)
    # (the right is dashed: look at a few columns)
    right_after = np.concatenate([_side_rows(strip, x, "right") for x in range(after - 6,
                                                                                after + 6)])
    left_after = _side_rows(strip, after, "left")
    assert len(left_after) and len(right_after)
    assert left_after.mean() > right_after.mean() + 15
    left_before = _side_rows(strip, before, "left")
    assert abs(left_before.mean() - right_after.mean()) < 4
    # the future is not drawn yet
    for side in ("left", "right"):
        assert not len(_side_rows(strip, future, side))


def test_window_scrolls_once_now_reaches_its_mark() -> None:
    assert A.window_of(3.0) == (0.0, A.WINDOW_S)
    t0, t1 = A.window_of(30.0)
    assert t1 - t0 == A.WINDOW_S and abs((30.0 - t0) / A.WINDOW_S - A.NOW_AT) < 1e-9


def test_header_names_the_current_step_and_its_prompt() -> None:
    proto = Protocol("p", 1, (Step("rest", 2.0, "Relax.", 0.0),
                              Step("smile", 3.0, "Smile gently \u2014 lips closed.", 2.0)))
    lines = A.header_lines(proto, 2.5, 640)
    assert "step 2/2: smile" in lines[0] and "t =   2.50 s" in lines[0]
    assert lines[1] == "Smile gently - lips closed."
    assert "outside" in A.header_lines(proto, 9.0, 640)[0]
    assert "no protocol" in A.header_lines(None, 1.0, 640)[0]


def _write_source(path: Path, n: int, fps: int = 20, size: tuple[int, int] = (W, H)) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for k in range(n):
            img = np.full((size[1], size[0], 3), 100 + k, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def test_video_decodes_with_every_frame_h264_yuv420p_even_size_faststart(
        tmp_path: Path) -> None:
    import av

    n = 12
    src = _write_source(tmp_path / "src.mp4", n)
    rec = _recording(n, np.arange(n) / 20.0)
    frames = _frames_step(n, 20.0)
    out = tmp_path / "a.tmp"  # any name: the container is MP4 regardless
    info = A.write_annotated_video(out, src, rec, frames)
    assert info["frames"] == n
    with av.open(str(out)) as c:
        st = c.streams.video[0]
        assert c.format.name.startswith("mov,mp4")
        assert st.codec_context.name == "h264" and st.codec_context.pix_fmt == "yuv420p"
        pics = [f.to_ndarray(format="rgb24") for f in c.decode(st)]
    assert len(pics) == n
    h, w = pics[0].shape[:2]
    assert (w, h) == (info["width"], info["height"]) and w % 2 == 0 and h % 2 == 0
    assert w == A.video_width(W)
    head = A.header_height(None, w)
    # the patient's left corner is blue in the decoded picture too
    x, y = CORNER["left"]
    k = w / W
    assert _rgb_near(pics[5], (x * k, y * k + head), A.SIDE_RGB["left"], radius=2, tol=60)
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while loading


def test_video_keeps_the_true_frame_times(tmp_path: Path) -> None:
    import av

    n = 10
    src = _write_source(tmp_path / "src.mp4", n)
    times = np.cumsum(np.r_[0.0, np.where(np.arange(n - 1) % 2, 0.03, 0.07)])  # uneven
    rec = _recording(n, times)
    out = tmp_path / "a.mp4"
    A.write_annotated_video(out, src, rec, _frames_step(n))
    with av.open(str(out)) as c:
        got = np.array([float(f.pts * f.time_base) for f in c.decode(c.streams.video[0])])
    assert np.allclose(got - got[0], times, atol=1e-3)


def test_a_source_that_is_gone_or_changed_is_one_error_and_leaves_no_file(
        tmp_path: Path) -> None:
    n = 8
    rec = _recording(n)
    frames = _frames_step(n)
    out = tmp_path / "a.mp4"
    with pytest.raises(AnnotationError, match="cannot be read again"):
        A.write_annotated_video(out, tmp_path / "gone.mp4", rec, frames)
    short = _write_source(tmp_path / "short.mp4", n - 3)
    with pytest.raises(AnnotationError, match=f"has {n - 3} frames now but {n}"):
        A.write_annotated_video(out, short, rec, frames)
    assert not out.exists()
    small = _write_source(tmp_path / "small.mp4", n, size=(320, 240))
    with pytest.raises(AnnotationError, match="not the same video"):
        A.write_annotated_video(out, small, rec, frames)
    assert not out.exists()
    assert AnnotationError.exit_code == 5


def test_no_encoder_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(A, "CODECS", ("no-such-h264-encoder",))
    with pytest.raises(AnnotationError, match="no H.264 encoder"):
        A.encoder_name()


def test_a_failed_video_keeps_every_other_output_and_is_marked(tmp_path: Path) -> None:
    from synktrack.analyze import ANNOTATED_MP4, analyze_recording

    n = 8
    rec = _recording(n)
    out = tmp_path / "out"
    result = analyze_recording(rec, out, annotate_source=tmp_path / "gone.mp4")
    assert {p.name for p in out.iterdir()} >= {"frames.csv", "landmarks.npz", "session.json"}
    assert not (out / ANNOTATED_MP4).exists()
    made = json.loads((out / "session.json").read_text())["annotated_video"]
    assert made["file"] is None and "cannot be read again" in made["error"]
    assert result.session["annotated_video"] == made


def test_a_run_with_and_then_without_the_video(tmp_path: Path) -> None:
    """Asked for, the video joins the run's files; a later run without it removes it."""
    from synktrack.analyze import ANNOTATED_MP4, analyze_recording

    n = 8
    src = _write_source(tmp_path / "src.mp4", n)
    rec = _recording(n, np.arange(n) / 20.0)
    out = tmp_path / "out"
    analyze_recording(rec, out, annotate_source=src)
    made = json.loads((out / "session.json").read_text())["annotated_video"]
    assert (out / ANNOTATED_MP4).is_file() and made["frames"] == n
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging debris
    analyze_recording(rec, out)
    assert not (out / ANNOTATED_MP4).exists()
    assert "annotated_video" not in json.loads((out / "session.json").read_text())


def test_ascii_text_keeps_prompts_legible() -> None:
    assert A.ascii_text("Levez les sourcils \u2019doucement\u2019 \u2026") == \
        "Levez les sourcils 'doucement' ..."
    assert A.ascii_text("Sourire l\u00e9ger") == "Sourire leger"


def test_video_width_is_even_and_bounded() -> None:
    assert A.video_width(480) == A.MIN_WIDTH
    assert A.video_width(1920) == A.MAX_WIDTH
    assert A.video_width(701) == 700
    assert A.video_width(777) % 2 == 0


# ---------------------------------------------------------------------------- end to end

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def annotated_run(media_dir: Path, model_path: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``synktrack analyze CLIP --protocol quick-check --annotated-video`` on a short real
    clip (72 frames), through the installed console script."""
    from cli_tools import run_cli

    clip = media_dir / "videos" / "pyfeat__single_face.mp4"
    out = tmp_path_factory.mktemp("annotated") / "out"
    proc = run_cli("analyze", clip, "--protocol", "quick-check", "--out", out,
                   "--annotated-video", env={"SYNKTRACK_MODEL": str(model_path)})
    assert proc.returncode == 0, proc.stderr
    assert "annotated video:" in proc.stderr and "error" not in proc.stderr
    return clip, out


def _decoded(path: Path) -> tuple[int, tuple[int, int], str, str, np.ndarray]:
    import av

    with av.open(str(path)) as c:
        st = c.streams.video[0]
        pics = [f.to_ndarray(format="rgb24") for f in c.decode(st)]
        return (len(pics), (pics[0].shape[1], pics[0].shape[0]), st.codec_context.name,
                st.codec_context.pix_fmt, pics[len(pics) // 2])


@pytest.mark.slow
def test_cli_annotated_video_has_every_frame_of_the_clip(annotated_run: tuple[Path, Path]
                                                         ) -> None:
    import av

    clip, out = annotated_run
    with av.open(str(clip)) as c:  # the clip's own frame count and size, decoded afresh
        src = [f for f in c.decode(c.streams.video[0])]
        src_n, src_w = len(src), src[0].width
    n, (w, h), codec, pix, middle = _decoded(out / "annotated.mp4")
    assert src_n == 72 and n == src_n
    assert codec == "h264" and pix == "yuv420p" and w % 2 == 0 and h % 2 == 0
    assert w == A.video_width(src_w) and h > w * 360 / 640  # the picture plus the traces
    session = json.loads((out / "session.json").read_text())
    made = session["annotated_video"]
    assert made["file"] == "annotated.mp4" and made["frames"] == n
    assert (made["width"], made["height"]) == (w, h)
    # the patient's sides are drawn: blue (left) and orange (right) pixels in the picture
    pic = middle[A.header_height(None, w):h - A.panel_height()]
    for side in ("left", "right"):
        near = (np.abs(pic.astype(int) - A.SIDE_RGB[side]).max(axis=2) < 40).sum()
        assert near > 30, side
    for name in ("frames.csv", "landmarks.npz", "session.csv", "summary.png"):
        assert (out / name).is_file()


@pytest.mark.slow
def test_cli_without_the_flag_writes_no_video_and_removes_an_old_one(
        annotated_run: tuple[Path, Path], model_path: Path, tmp_path: Path) -> None:
    from cli_tools import run_cli

    clip, out = annotated_run
    env = {"SYNKTRACK_MODEL": str(model_path)}
    fresh = tmp_path / "fresh"
    proc = run_cli("analyze", clip, "--max-frames", "10", "--out", fresh, env=env)
    assert proc.returncode == 0, proc.stderr
    assert not (fresh / "annotated.mp4").exists() and "annotated" not in proc.stderr
    assert "annotated_video" not in json.loads((fresh / "session.json").read_text())
    again = tmp_path / "again"
    shutil.copytree(out, again)
    proc = run_cli("analyze", clip, "--max-frames", "10", "--out", again, env=env)
    assert proc.returncode == 0, proc.stderr
    assert not (again / "annotated.mp4").exists()  # the folder holds one run


@pytest.mark.slow
def test_cli_failed_video_is_one_line_exit_5_and_keeps_the_outputs(
        media_dir: Path, model_path: Path, tmp_path: Path) -> None:
    """No H.264 encoder (a PyAV built without one): exit 5, one error line, outputs kept."""
    import subprocess
    import sys

    clip = media_dir / "videos" / "pyfeat__single_face.mp4"
    out = tmp_path / "out"
    code = ("import sys; import synktrack.annotate as a; a.CODECS = ('no-such-encoder',); "
            "from synktrack.cli import main; sys.argv = ['synktrack'] + sys.argv[1:]; main()")
    proc = subprocess.run([sys.executable, "-c", code, "analyze", str(clip), "--max-frames",
                           "10", "--out", str(out), "--annotated-video"],
                          capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, "SYNKTRACK_MODEL": str(model_path)})
    from cli_tools import assert_one_line_error

    line = assert_one_line_error(proc, 5)
    assert "annotated video not written: no H.264 encoder" in line and str(out) in line
    assert {p.name for p in out.iterdir()} == {"frames.csv", "landmarks.npz", "session.json",
                                               "summary.png"}
    assert "no H.264 encoder" in json.loads((out / "session.json").read_text())[
        "annotated_video"]["error"]


@pytest.mark.slow
@pytest.mark.browser
def test_annotated_video_plays_in_chromium(annotated_run: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is absent: install the Debian package `chromium`")
    sync_api = pytest.importorskip("playwright.sync_api")
    _, out = annotated_run
    shutil.copy(out / "annotated.mp4", tmp_path / "annotated.mp4")
    page_file = tmp_path / "play.html"
    page_file.write_text('<!doctype html><video id="v" muted playsinline '
                         'src="annotated.mp4"></video>')
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_function("document.getElementById('v').readyState >= 2",
                                   timeout=20000)
            meta = page.evaluate("(() => { const v = document.getElementById('v'); return "
                                 "{d: v.duration, w: v.videoWidth, h: v.videoHeight, "
                                 "e: v.error && v.error.code}; })()")
            page.evaluate("document.getElementById('v').play()")
            page.wait_for_function("document.getElementById('v').currentTime > 0.5",
                                   timeout=20000)
            page.screenshot(path=str(tmp_path / "playing.png"))
        finally:
            browser.close()
    n, (w, h), *_ = _decoded(out / "annotated.mp4")
    assert meta["e"] is None and (meta["w"], meta["h"]) == (w, h)
    assert abs(meta["d"] - 72 / 30.0) < 0.1  # the clip's 2.4 s


def test_the_default_path_does_no_video_work(tmp_path: Path) -> None:
    """Without the flag the annotate module is not even imported, and no video is written."""
    import subprocess
    import sys

    out = tmp_path / "out"
    code = f"""
import sys
from synktrack.analyze import analyze_recording
from synktrack.errors import NoFaceError
from synktrack.landmarks import Recording, empty_arrays
arr = empty_arrays(4)
arr["time_s"][:] = [0.0, 0.04, 0.08, 0.12]
rec = Recording(**arr, blendshape_names=(), attrs={{"width": 64, "height": 48}})
try:
    analyze_recording(rec, {str(out)!r})
except NoFaceError:
    pass
print("synktrack.annotate" in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "session.json").is_file() and not (out / "annotated.mp4").exists()
    assert proc.stdout.strip().splitlines()[-1] == "False"
