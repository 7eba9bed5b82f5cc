"""Frame input: video files, still images and cameras, with true per-frame timestamps."""

from __future__ import annotations

from synktrack.io.video import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    CameraLostError,
    CameraSource,
    Frame,
    FrameSource,
    ImageSource,
    IncompleteInputWarning,
    VideoSource,
    apply_orientation,
    file_sha256,
    open_source,
    orientation_from_matrix,
)

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
