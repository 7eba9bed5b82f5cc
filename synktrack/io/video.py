"""Frame sources with true per-frame timestamps: video files, still images, cameras.

Everything here is about pixels and time; nothing knows about faces. Every source yields
:class:`Frame` objects whose ``time_s`` is the presentation time from the container (video),
``index / image_fps`` (images) or the monotonic clock (cameras), always strictly increasing
and 0.0 on the first frame. Images are RGB ``uint8`` with orientation metadata already applied.

Bad input raises :class:`~synktrack.errors.InputError` with a one-line message, as early as
possible: :func:`open_source` decodes the first frame before returning.

This module is the front door (:func:`open_source`, and every name below importable from
here); the parts live beside it: :mod:`~synktrack.io.frames` (the frame contract),
:mod:`~synktrack.io.orientation`, :mod:`~synktrack.io.clock` (timestamps),
:mod:`~synktrack.io.videofile`, :mod:`~synktrack.io.images`, :mod:`~synktrack.io.camera` (the
three sources) and :mod:`~synktrack.io.hashing`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import cast

from synktrack.errors import InputError
from synktrack.io.camera import CameraSource, camera_device
from synktrack.io.frames import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    CameraLostError,
    Frame,
    FrameSource,
    IncompleteInputWarning,
)
from synktrack.io.hashing import file_sha256
from synktrack.io.images import ImageSource, list_images
from synktrack.io.orientation import apply_orientation, orientation_from_matrix
from synktrack.io.videofile import VideoSource

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "CameraLostError",
    "CameraSource",
    "Frame",
    "FrameSource",
    "ImageSource",
    "IncompleteInputWarning",
    "VideoSource",
    "apply_orientation",
    "file_sha256",
    "open_source",
    "orientation_from_matrix",
]


def open_source(
    spec: str | os.PathLike[str] | int,
    *,
    camera: bool = False,
    image_fps: float = 30.0,
    max_frames: int | None = None,
) -> FrameSource:
    """Open a video file, an image, a folder of images or a camera.

    Parameters
    ----------
    spec : str, os.PathLike or int
        A path, ``"camera:N"``, or a camera number ``N``.
    camera : bool, optional
        Treat ``spec`` as a camera number or device even if it is a string.
    image_fps : float, optional
        Rate used to time a folder of images (frame ``i`` at ``i / image_fps`` s).
    max_frames : int or None, optional
        Stop after this many frames.

    Returns
    -------
    FrameSource
        Its first frame has already been read, so unusable input fails here.

    Raises
    ------
    InputError
        With a one-line message saying what is wrong and what to do.
    """
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be at least 1 (got {max_frames})")
    if not (image_fps > 0 and math.isfinite(image_fps)):
        raise InputError(f"image_fps must be a positive number (got {image_fps})")
    device = camera_device(spec, camera)
    if device is not None:
        return CameraSource(device, max_frames=max_frames)

    path = Path(os.fspath(cast("str | os.PathLike[str]", spec))).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path")
    if path.is_dir():
        files = list_images(path)
        if not files:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise InputError(
                f"{path}: folder contains no images ({kinds}); give an image folder or a video"
            )
        return ImageSource(files, path=path, image_fps=image_fps, max_frames=max_frames)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check the file") from exc
    if not path.is_file():
        raise InputError(f"{path}: not a regular file; give a video, an image or a folder")
    if size == 0:
        raise InputError(
            f"{path}: file is empty (0 bytes); the copy or recording failed: copy or record it "
            "again"
        )
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], path=path, image_fps=image_fps, max_frames=max_frames)
    return VideoSource(path, max_frames=max_frames)

