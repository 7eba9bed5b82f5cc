"""Fake-camera clips for testing the check page in a real browser.

Chromium plays a YUV4MPEG2 file as its camera (``--use-file-for-fake-video-capture``)
and loops it. :func:`session_y4m` writes a simulated guided session made from a
real face (:func:`synktrack.simulate.session_simulate`) with the clip's frame
number drawn as two grey blocks in the top-left corner, so a test can read
where in the loop the camera is (:func:`read_frame_code`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

Y4M_HEADER = "YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n"
CODE_BLOCK = 32


def draw_frame_code(frame: np.ndarray, index: int) -> None:
    """Write ``index`` (0..2499) into two grey blocks at the top-left, in place."""
    b = CODE_BLOCK
    frame[0:b, 0:b] = (index % 50) * 5
    frame[b : 2 * b, 0:b] = (index // 50) * 5


def read_frame_code(rgb: np.ndarray) -> int:
    """The frame number drawn by :func:`draw_frame_code` (robust to video compression)."""
    b = CODE_BLOCK
    lo = float(rgb[4 : b - 4, 4 : b - 4].mean()) / 5
    hi = float(rgb[b + 4 : 2 * b - 4, 4 : b - 4].mean()) / 5
    return int(round(hi)) * 50 + int(round(lo))


def write_y4m(frames: Iterable[np.ndarray], path: str | os.PathLike[str], fps: int = 30) -> Path:
    """Write RGB frames (all the same size, even width and height) as a 4:2:0 y4m file."""
    path = Path(path)
    with open(path, "wb") as fh:
        header_done = False
        for rgb in frames:
            if not header_done:
                h, w = rgb.shape[:2]
                fh.write(Y4M_HEADER.format(w=w, h=h, fps=fps).encode("ascii"))
                header_done = True
            fh.write(b"FRAME\n")
            fh.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def place(face: np.ndarray, size: tuple[int, int] = (640, 480),
          background: int = 96) -> np.ndarray:
    """Centre a square portrait on a camera-sized canvas (height fitted)."""
    w, h = size
    side = min(h, face.shape[0])
    img = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA) \
        if face.shape[0] != side else face
    canvas = np.full((h, w, 3), background, np.uint8)
    x0, y0 = (w - side) // 2, (h - side) // 2
    canvas[y0 : y0 + side, x0 : x0 + side] = img
    return canvas


def session_y4m(path: str | os.PathLike[str], protocol: object, model_path: str | os.PathLike[str],
                face: np.ndarray | None = None, fps: int = 30, seed: int = 0) -> Path:
    """A y4m of a simulated session following ``protocol`` (a :class:`Protocol`).

    Parameters
    ----------
    path
        Output file (write it to a temporary folder: it is large and never committed).
    protocol
        The protocol the simulated face follows from the clip's first frame.
    model_path
        Landmark model, to find the face geometry that drives the warps.
    face
        Square RGB portrait (default: the public-domain demo portrait).
    """
    from synktrack.fidelity import face_geometry
    from synktrack.protocol import Protocol
    from synktrack.simulate import demo_portrait, session_simulate

    assert isinstance(protocol, Protocol)
    canvas = place(face if face is not None else demo_portrait(480))
    geom = face_geometry(canvas, model_path)

    def frames() -> Iterable[np.ndarray]:
        for i, (_, frame) in enumerate(session_simulate(canvas, geom, protocol, fps=float(fps),
                                                        seed=seed)):
            frame = np.ascontiguousarray(frame)
            draw_frame_code(frame, i)
            yield frame

    return write_y4m(frames(), path, fps)
