"""Tests for synktrack.io.video: timestamps, orientation, images, cameras, bad input."""

from __future__ import annotations

import hashlib
import struct
import warnings
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.error
import cv2
import numpy as np
import pytest
from av.video.stream import VideoStream
from media import media_file

from synktrack.errors import InputError
from synktrack.io import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    CameraLostError,
    Frame,
    FrameSource,
    apply_orientation,
    file_sha256,
    open_source,
    orientation_from_matrix,
)
from synktrack.io.clock import Clock
from synktrack.io.frames import IncompleteInputWarning

W, H = 64, 32


# --------------------------------------------------------------------------- helpers


def _pattern(i: int = 0) -> np.ndarray:
    """64x32 RGB picture: red top-left quadrant, green top-right, blue bottom-left."""
    img = np.full((H, W, 3), 40 + 10 * (i % 10), np.uint8)
    img[: H // 2, : W // 2] = (255, 0, 0)
    img[: H // 2, W // 2 :] = (0, 255, 0)
    img[H // 2 :, : W // 2] = (0, 0, 255)
    return img


def _write_clip(
    path: Path,
    times_ms: Sequence[int] | None = None,
    *,
    n: int = 5,
    codec: str = "libx264",
    rotation: int | None = None,
    hflip: bool = False,
    vflip: bool = False,
    images: Sequence[np.ndarray] | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode a small clip; ``times_ms`` sets each frame's pts (time base 1/1000)."""
    times = list(times_ms) if times_ms is not None else [round(i * 1000 / 30) for i in range(n)]
    with av.open(str(path), "w", options=options or {}) as out:
        stream = cast(VideoStream, out.add_stream(codec, rate=30))
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            stream.codec_context.options = {"qp": "0"}
        if rotation is not None or hflip or vflip:
            stream.set_display_rotation(rotation or 0, hflip=hflip, vflip=vflip)
        for i, t in enumerate(times):
            img = images[i] if images is not None else _pattern(i)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _all(src: FrameSource) -> list[Frame]:
    with src:
        return list(src.frames())


def _quadrant_means(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    q = [img[: h // 2, : w // 2], img[: h // 2, w // 2 :], img[h // 2 :, : w // 2]]
    return np.array([x.reshape(-1, 3).mean(axis=0) for x in q])


def _assert_one_line_input_error(exc: pytest.ExceptionInfo[InputError], name: str) -> None:
    msg = str(exc.value)
    assert msg and "\n" not in msg, msg
    assert name in msg, msg
    assert exc.value.exit_code == 2


def _exif_jpeg(img_bgr: np.ndarray, orientation: int) -> bytes:
    """JPEG bytes with a minimal EXIF block holding only the Orientation tag."""
    ok, buf = cv2.imencode(".jpg", img_bgr, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    data = buf.tobytes()
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_vfr_times_come_from_the_container(tmp_path: Path, suffix: str) -> None:
    codec = "libvpx" if suffix == ".webm" else "libx264"
    clip = _write_clip(tmp_path / f"vfr{suffix}", [0, 33, 80, 90, 200], codec=codec)
    frames = _all(open_source(clip))
    times = [f.time_s for f in frames]
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert times == pytest.approx([0.0, 0.033, 0.080, 0.090, 0.200], abs=1e-6)
    assert all(b > a for a, b in zip(times, times[1:], strict=False))


def test_live_webm_without_duration_or_index(tmp_path: Path) -> None:
    # Like a browser MediaRecorder file: no duration, no cues, no frame count.
    clip = _write_clip(
        tmp_path / "rec.webm", [0, 33, 80, 90, 200], codec="libvpx", options={"live": "1"}
    )
    src = open_source(clip)
    assert src.n_frames is None
    assert [f.time_s for f in _all(src)] == pytest.approx([0.0, 0.033, 0.08, 0.09, 0.2])


def test_first_time_is_zero_when_pts_starts_late(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "late.mkv", [500, 540, 600])
    assert [f.time_s for f in _all(open_source(clip))] == pytest.approx([0.0, 0.04, 0.1])


def test_bframes_come_out_in_presentation_order(tmp_path: Path) -> None:
    # x264's default GOP has B-frames: decode order != presentation order.
    images = [np.full((H, W, 3), 4 * i, np.uint8) for i in range(60)]
    clip = _write_clip(tmp_path / "b.mp4", n=60, images=images)
    frames = _all(open_source(clip))
    assert len(frames) == 60
    levels = [float(f.image.mean()) for f in frames]
    assert levels == pytest.approx([4.0 * i for i in range(60)], abs=2.0)
    assert [f.time_s for f in frames] == pytest.approx(
        [round(i * 1000 / 30) / 1000 for i in range(60)]
    )


def test_clock_repairs_missing_and_repeated_pts() -> None:
    clock = Clock(nominal_dt=0.04)
    tb = Fraction(1, 1000)
    got = [
        clock.time_of(100, tb),  # first frame -> 0
        clock.time_of(140, tb),  # 0.04
        clock.time_of(140, tb),  # duplicate -> nudged 1 ms
        clock.time_of(None, tb),  # missing -> previous + nominal duration
        clock.time_of(300, tb),  # valid again, read against the first pts
        clock.time_of(250, tb),  # backwards -> nudged
    ]
    assert got == pytest.approx([0.0, 0.04, 0.041, 0.081, 0.2, 0.201])
    assert clock.repaired == 3


def test_clock_without_any_pts_uses_nominal_rate() -> None:
    clock = Clock(nominal_dt=0.1)
    assert [clock.time_of(None, None) for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])


def test_gif_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "rgb8"
        for i in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(_pattern(i), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    src = open_source(path)
    assert (src.kind, src.width, src.height, src.n_frames) == ("video", W, H, 5)
    frames = _all(src)
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (H, W, 3)


def test_frame_contract_and_metadata(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "c.mp4", n=6)
    with open_source(clip) as src:
        assert (src.kind, src.path, src.width, src.height) == ("video", clip, W, H)
        assert src.n_frames == 6 and src.rotation_deg == 0 and not src.mirror_applied
        assert src.fps_nominal == pytest.approx(30.0, rel=0.1)
        frames = list(src.frames())
    img = frames[0].image
    assert img.dtype == np.uint8 and img.shape == (H, W, 3) and img.flags.c_contiguous
    # RGB order: top-left quadrant is red
    assert _quadrant_means(img)[0] == pytest.approx([255, 0, 0], abs=8)


def test_max_frames_and_reiteration(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "m.mp4", n=10)
    with open_source(clip, max_frames=4) as src:
        assert src.n_frames == 4
        first = [f.time_s for f in src.frames()]
        again = [f.time_s for f in src.frames()]  # reopens the file
    assert len(first) == 4 and first == again
    with pytest.raises(ValueError, match="closed"):
        list(src.frames())


def test_close_releases_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = _write_clip(tmp_path / "u.mp4", n=10)
    opened: list[_SpyContainer] = []
    real_open = av.open

    def spy_open(*args: Any, **kwargs: Any) -> _SpyContainer:
        opened.append(_SpyContainer(real_open(*args, **kwargs)))
        return opened[-1]

    monkeypatch.setattr(av, "open", spy_open)
    src = open_source(clip)  # never iterated
    src.close()
    src.close()  # idempotent
    with open_source(clip) as src:  # abandoned half-way
        next(iter(src.frames()))
    assert len(opened) == 2
    assert all(c.closed for c in opened)


class _SpyContainer:
    """Wraps a real container and records close()."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.closed = inner, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def close(self) -> None:
        self.closed = True
        self._inner.close()


# --------------------------------------------------------------------------- orientation


def test_orientation_from_matrix_plain_rotations() -> None:
    one = 1 << 16
    assert orientation_from_matrix([one, 0, 0, 0, one, 0, 0, 0, 1 << 30]) == (0, False)
    assert orientation_from_matrix([0, -one, 0, one, 0, 0, 0, 0, 1 << 30]) == (90, False)
    assert orientation_from_matrix([-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30]) == (180, False)
    assert orientation_from_matrix([0, one, 0, -one, 0, 0, 0, 0, 1 << 30]) == (270, False)
    assert orientation_from_matrix([-one, 0, 0, 0, one, 0, 0, 0, 1 << 30]) == (0, True)
    assert orientation_from_matrix([one, 0, 0, 0, -one, 0, 0, 0, 1 << 30]) == (180, True)


def test_apply_orientation_directions() -> None:
    img = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)  # [[0 1 2], [3 4 5]]
    ccw = apply_orientation(img, 90)
    assert ccw[..., 0].tolist() == [[2, 5], [1, 4], [0, 3]]  # top-right corner went top-left
    assert apply_orientation(img, 270)[..., 0].tolist() == [[3, 0], [4, 1], [5, 2]]
    assert apply_orientation(img, 0, mirrored=True)[..., 0].tolist() == [[2, 1, 0], [5, 4, 3]]
    assert ccw.flags.c_contiguous
    assert apply_orientation(img, 0) is img


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize(("hflip", "vflip"), [(False, False), (True, False), (False, True)])
def test_display_matrix_is_applied(tmp_path: Path, rotation: int, hflip: bool, vflip: bool) -> None:
    # PyAV documents set_display_rotation as: rotate counter-clockwise, then mirror.
    clip = _write_clip(tmp_path / "r.mp4", n=3, rotation=rotation, hflip=hflip, vflip=vflip)
    expected = np.rot90(_pattern(0), rotation // 90)
    if hflip:
        expected = expected[:, ::-1]
    if vflip:
        expected = expected[::-1]
    src = open_source(clip)
    frames = _all(src)
    assert (src.height, src.width) == expected.shape[:2]
    assert frames[0].image.shape == expected.shape
    assert frames[0].image.flags.c_contiguous
    assert _quadrant_means(frames[0].image) == pytest.approx(_quadrant_means(expected), abs=12)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_matches_opencv_autorotate(tmp_path: Path, rotation: int) -> None:
    """Independent check of the direction: OpenCV's FFmpeg backend auto-rotates too."""
    clip = _write_clip(tmp_path / "r.mp4", n=2, rotation=rotation)
    src = open_source(clip)
    ours = _all(src)[0].image
    assert src.rotation_deg == rotation % 360
    cap = cv2.VideoCapture(str(clip))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    theirs = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    assert ours.shape == theirs.shape
    assert _quadrant_means(ours) == pytest.approx(_quadrant_means(theirs), abs=12)


# --------------------------------------------------------------------------- images


def test_single_image(tmp_path: Path) -> None:
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(_pattern(), cv2.COLOR_RGB2BGR))
    src = open_source(path)
    assert (src.kind, src.n_frames, src.width, src.height) == ("images", 1, W, H)
    frames = _all(src)
    assert len(frames) == 1 and frames[0].time_s == 0.0
    assert np.array_equal(frames[0].image, _pattern())  # PNG is lossless, RGB order


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # EXIF 6 = "rotate 90 degrees clockwise to display": red top-left ends top-right.
    path = tmp_path / "phone.jpg"
    path.write_bytes(_exif_jpeg(cv2.cvtColor(_pattern(), cv2.COLOR_RGB2BGR), 6))
    img = _all(open_source(path))[0].image
    assert img.shape == (W, H, 3)
    expected = np.rot90(_pattern(), -1)
    assert _quadrant_means(img) == pytest.approx(_quadrant_means(expected), abs=12)


def test_image_folder_natural_order_and_times(tmp_path: Path) -> None:
    for i in (10, 2, 1):
        img = np.full((H, W, 3), i * 10, np.uint8)
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), img)
    (tmp_path / ".hidden.png").write_bytes(b"junk")  # hidden files are ignored
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(tmp_path, image_fps=10.0)
    assert src.kind == "images" and src.n_frames == 3 and src.fps_nominal == 10.0
    frames = _all(src)
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 20, 100]
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert len(_all(open_source(tmp_path, max_frames=2))) == 2


def test_image_folder_with_a_different_size(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a1.png"), np.zeros((H, W, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "a2.png"), np.zeros((H + 2, W, 3), np.uint8))
    with pytest.raises(InputError) as exc:
        _all(open_source(tmp_path))
    _assert_one_line_input_error(exc, "a2.png")


def test_image_folder_with_a_corrupt_image(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a1.png"), np.zeros((H, W, 3), np.uint8))
    (tmp_path / "a2.jpg").write_bytes(b"not really a jpeg")
    with pytest.raises(InputError) as exc:
        _all(open_source(tmp_path))
    _assert_one_line_input_error(exc, "a2.jpg")


# --------------------------------------------------------------------------- bad input


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 16000), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path


def _no_decodable_frame(path: Path) -> Path:
    """A Matroska file whose H.264 stream holds only garbage packets."""
    rng = np.random.default_rng(7)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        out.start_encoding()
        for i in range(3):
            packet = av.Packet(rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
            packet.stream, packet.pts, packet.dts = stream, i, i
            packet.time_base = Fraction(1, 30)
            out.mux(packet)
    return path


def _truncated_mp4(path: Path) -> Path:
    full = _write_clip(path.with_name("full.mp4"), n=30).read_bytes()
    path.write_bytes(full[: len(full) // 2])
    return path


def _make_bad(kind: str, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "nope.mp4"
    if kind == "empty folder":
        (tmp_path / "nothing_here").mkdir()
        (tmp_path / "nothing_here" / "readme.txt").write_text("no images")
        return tmp_path / "nothing_here"
    if kind == "empty file":
        (tmp_path / "empty.mp4").write_bytes(b"")
        return tmp_path / "empty.mp4"
    if kind == "text renamed mp4":
        (tmp_path / "notes.mp4").write_text("hello, this is not a video\n" * 40)
        return tmp_path / "notes.mp4"
    if kind == "text file":
        (tmp_path / "notes.txt").write_text("hello, this is not a video\n" * 40)
        return tmp_path / "notes.txt"
    if kind == "truncated mp4":
        return _truncated_mp4(tmp_path / "cut.mp4")
    if kind == "corrupt image":
        (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
        return tmp_path / "broken.jpg"
    if kind == "audio only":
        return _audio_only(tmp_path / "voice.m4a")
    if kind == "no decodable frame":
        return _no_decodable_frame(tmp_path / "garbage.mkv")
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "empty folder",
        "empty file",
        "text renamed mp4",
        "text file",
        "truncated mp4",
        "corrupt image",
        "audio only",
        "no decodable frame",
    ],
)
def test_bad_input_gives_one_line_input_error(tmp_path: Path, kind: str) -> None:
    path = _make_bad(kind, tmp_path)
    with pytest.raises(InputError) as exc:
        open_source(path)  # fails eagerly, before any frame is requested
    _assert_one_line_input_error(exc, path.name)


def test_bad_options() -> None:
    with pytest.raises(InputError, match="max_frames"):
        open_source("x.mp4", max_frames=0)
    with pytest.raises(InputError, match="image_fps"):
        open_source("x", image_fps=0.0)


def _noise_clip(path: Path, n: int, options: dict[str, str] | None = None) -> Path:
    rng = np.random.default_rng(3)  # noise does not compress: packets spread over the file
    images = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]
    return _write_clip(path, n=n, images=images, options=options)


def test_truncated_stream_keeps_partial_frames(tmp_path: Path) -> None:
    full = _noise_clip(tmp_path / "full.mkv", 60).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full[: len(full) // 2])
    assert 0 < len(_all(open_source(cut))) < 60


def test_truncated_mp4_with_index_first_warns(tmp_path: Path) -> None:
    full = _noise_clip(tmp_path / "full.mp4", 60, {"movflags": "faststart"}).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full[: len(full) // 2])
    src = open_source(cut)
    assert src.n_frames == 60  # the index still announces every frame
    with pytest.warns(IncompleteInputWarning, match="decoded .* but the container announces 60"):
        frames = _all(src)
    assert 0 < len(frames) < 60


class _FailingContainer:
    """Wraps a real container; decode() raises after ``good`` frames."""

    def __init__(self, inner: Any, good: int) -> None:
        self._inner, self._good = inner, good

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def decode(self, stream: Any) -> Iterator[Any]:
        for i, frame in enumerate(self._inner.decode(stream)):
            if i == self._good:
                raise av.error.InvalidDataError(-1094995529, "Invalid data found")
            yield frame


def _patch_decode_failure(monkeypatch: pytest.MonkeyPatch, good: int) -> None:
    real_open = av.open
    monkeypatch.setattr(
        av, "open", lambda *a, **k: _FailingContainer(real_open(*a, **k), good)
    )


def test_decode_error_mid_file_warns_and_keeps_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = _write_clip(tmp_path / "mid.mp4", n=10)
    _patch_decode_failure(monkeypatch, good=3)
    with pytest.warns(IncompleteInputWarning, match="decoding stopped after 3 frames"):
        frames = _all(open_source(clip))
    assert len(frames) == 3


def test_decode_error_on_first_frame_is_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = _write_clip(tmp_path / "first.mp4", n=10)
    _patch_decode_failure(monkeypatch, good=0)
    with pytest.raises(InputError) as exc:
        open_source(clip)
    _assert_one_line_input_error(exc, "first.mp4")


def test_file_sha256(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    data = np.random.default_rng(0).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    with pytest.raises(InputError):
        file_sha256(tmp_path / "missing.bin")


def test_suffix_sets() -> None:
    assert {".mp4", ".mov", ".mkv", ".avi", ".webm", ".gif", ".m4v"} <= VIDEO_SUFFIXES
    assert {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"} <= IMAGE_SUFFIXES
    assert not VIDEO_SUFFIXES & IMAGE_SUFFIXES


# --------------------------------------------------------------------------- cameras


class _FakeCapture:
    """Stands in for cv2.VideoCapture: ``good`` frames, then read() fails."""

    good = 3
    opened = True
    devices: list[Any] = []

    def __init__(self, device: Any) -> None:
        self.devices.append(device)
        self._left = self.good
        self._open = self.opened

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self._open

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._left <= 0:
            return False, None
        self._left -= 1
        return True, cv2.cvtColor(_pattern(), cv2.COLOR_RGB2BGR)

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self._open = False


@pytest.fixture
def fake_camera(monkeypatch: pytest.MonkeyPatch) -> type[_FakeCapture]:
    class Fake(_FakeCapture):
        devices: list[Any] = []

    monkeypatch.setattr(cv2, "VideoCapture", Fake)
    return Fake


def test_camera_that_cannot_open(fake_camera: type[_FakeCapture]) -> None:
    fake_camera.opened = False
    with pytest.raises(InputError) as exc:
        open_source(0, camera=True)
    assert str(exc.value) == (
        "camera 0 could not be opened: check it is plugged in and not used by another program"
    )


def test_camera_lost_mid_stream_keeps_frames(fake_camera: type[_FakeCapture]) -> None:
    fake_camera.good = 4
    got: list[Frame] = []
    with open_source("camera:1") as src, pytest.raises(CameraLostError) as exc:
        assert (src.kind, src.width, src.height, src.n_frames) == ("camera", W, H, None)
        assert src.fps_nominal == 30.0
        for frame in src.frames():
            got.append(frame)
    assert fake_camera.devices == [1]
    assert isinstance(exc.value, InputError) and "\n" not in str(exc.value)
    assert [f.index for f in got] == [0, 1, 2, 3]
    times = [f.time_s for f in got]
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:], strict=False))
    assert np.array_equal(got[0].image, _pattern())  # converted to RGB


def test_camera_max_frames(fake_camera: type[_FakeCapture]) -> None:
    fake_camera.good = 100
    with open_source("2", camera=True, max_frames=5) as src:
        assert len(list(src.frames())) == 5
    assert fake_camera.devices == [2]


# --------------------------------------------------------------------------- real media

def _real(media_dir: Path, name: str) -> Path:
    return media_file(media_dir, "videos/" + name)


def _check_times(frames: list[Frame]) -> list[float]:
    times = [f.time_s for f in frames]
    assert times[0] == 0.0
    assert all(b > a for a, b in zip(times, times[1:], strict=False))
    return times


def test_real_single_face(media_dir: Path) -> None:
    src = open_source(_real(media_dir, "pyfeat__single_face.mp4"))
    assert (src.width, src.height, src.n_frames) == (640, 360, 72)
    frames = _all(src)
    assert len(frames) == 72
    assert all(f.image.shape == (360, 640, 3) for f in frames)
    _check_times(frames)


def test_real_wolfgang_langer(media_dir: Path) -> None:
    frames = _all(open_source(_real(media_dir, "pyfeat__WolfgangLanger_Pexels.mp4")))
    assert len(frames) == 472
    assert _check_times(frames)[-1] == pytest.approx(19.6, abs=0.1)


def test_real_gif(media_dir: Path) -> None:
    gifs = sorted((media_dir / "videos").glob("*.gif"))
    if not gifs:
        pytest.skip("no real .gif here: they are only in ../shared/media (always present in CI)")
    src = open_source(gifs[0])
    frames = _all(src)
    assert len(frames) >= 2 and frames[0].image.shape == (src.height, src.width, 3)
    _check_times(frames)


def test_real_asl_mkv(media_dir: Path) -> None:
    frames = _all(open_source(_real(media_dir, "intel__asl_again.mkv")))
    assert len(frames) == 77
    _check_times(frames)


def test_real_clip_with_max_frames(media_dir: Path) -> None:
    with open_source(_real(media_dir, "pyfeat__WolfgangLanger_Pexels.mp4"), max_frames=10) as src:
        frames = list(src.frames())
    assert len(frames) == 10 and src.n_frames == 10


def test_real_clip_hashes(media_dir: Path) -> None:
    path = _real(media_dir, "pyfeat__single_face.mp4")
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_warnings_on_a_clean_clip(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "clean.mp4", n=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(_all(open_source(clip))) == 8


class _WarningSource(FrameSource):
    """Three frames of a real face, then one warning of the given category and text."""

    kind, path, n_frames, fps_nominal = "images", None, 3, 10.0

    def __init__(self, image: np.ndarray, category: type[Warning], text: str) -> None:
        self.height, self.width = image.shape[:2]
        self._image, self._category, self._text = image, category, text

    def frames(self) -> Iterator[Frame]:
        for i in range(3):
            yield Frame(index=i, time_s=i / 10.0, image=self._image)
        warnings.warn(self._text, self._category, stacklevel=2)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("category", "text", "complete"), [
    (IncompleteInputWarning, "x.mp4: decoded 3 frames of 60; cut short", False),
    (UserWarning, "x.mp4: the stream stopped and was truncated (not a typed warning)", True),
])
def test_completeness_follows_the_warning_type_not_its_text(
        model_path: Path, category: type[Warning], text: str, complete: bool) -> None:
    """An input is incomplete when its source raises IncompleteInputWarning, whatever the text;
    words like "stopped" or "truncated" in another warning do not count."""
    from synktrack.analyze import landmark_source
    from synktrack.model import resolve_model
    from synktrack.simulate import demo_portrait

    rec, status, _ = landmark_source(_WarningSource(demo_portrait(320), category, text),
                                     resolve_model(model_path))
    assert rec.n_frames == 3
    assert status["complete"] is complete
    assert status["warnings"] == [text]
    assert status["stopped_because"] == (None if complete else text)
