"""Still images and folders of images read with OpenCV, timed at a fixed rate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from synktrack.errors import InputError
from synktrack.io.frames import DEFAULT_FPS, IMAGE_SUFFIXES, Frame, FrameSource, to_rgb


def _natural_key(path: Path) -> tuple[list[int | str], str]:
    parts = re.split(r"(\d+)", path.name.casefold())
    return [int(p) if p.isdigit() else p for p in parts], path.name


def list_images(folder: Path) -> list[Path]:
    found = [
        p for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]  # fmt: skip
    return sorted(found, key=_natural_key)


def _read_image(path: Path) -> np.ndarray:
    """Read an image as RGB uint8 with EXIF orientation applied (IMREAD_COLOR does it)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)  # works with non-ASCII paths on Windows
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check the file") from exc
    if data.size == 0:
        raise InputError(f"{path}: file is empty (0 bytes); copy or export the image again")
    from synktrack.landmarks import quiet_stderr

    with quiet_stderr():  # libjpeg prints "Corrupt JPEG data: ..." on fd 2 by itself
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(
            f"{path}: not a readable image (corrupt or unsupported format); "
            "re-save it as PNG or JPEG"
        )
    return np.ascontiguousarray(to_rgb(bgr))


class ImageSource(FrameSource):
    """One still image, or a folder of same-size images played at ``image_fps``.

    Parameters
    ----------
    files : list of pathlib.Path
        Images in playing order (at least one).
    path : pathlib.Path
        The file or folder given by the user.
    image_fps : float
        Frame ``i`` gets ``time_s = i / image_fps``.
    max_frames : int or None, optional
        Stop after this many images.

    Raises
    ------
    InputError
        If the first image cannot be read (the others are checked while iterating:
        an unreadable image or one whose size differs from the first raises there).
    """

    kind = "images"

    def __init__(
        self, files: list[Path], *, path: Path, image_fps: float, max_frames: int | None = None
    ) -> None:
        self.path = path
        self.files = files[:max_frames] if max_frames is not None else list(files)
        self.fps_nominal = image_fps
        self.n_frames = len(self.files)
        self._first = _read_image(self.files[0])
        self.height, self.width = self._first.shape[:2]

    def frames(self) -> Iterator[Frame]:
        """Yield the images in order; see :meth:`FrameSource.frames`."""
        fps = self.fps_nominal or DEFAULT_FPS
        for index, file in enumerate(self.files):
            image = self._first if index == 0 else _read_image(file)
            if image.shape[:2] != (self.height, self.width):
                raise InputError(
                    f"{file}: image is {image.shape[1]}x{image.shape[0]} but "
                    f"{self.files[0].name} is {self.width}x{self.height}; all images in a "
                    "folder must have the same size: remove or resize it"
                )
            yield Frame(index=index, time_s=index / fps, image=image)

    def close(self) -> None:
        """Nothing to release."""

