"""Orientation: a display matrix to (rotation, mirror), and applying it to an image."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import av
import av.error
import numpy as np
from av.sidedata.sidedata import Type as SideDataType


def orientation_from_matrix(matrix: Sequence[int]) -> tuple[int, bool]:
    """Read rotation and mirroring from an FFmpeg display matrix.

    Parameters
    ----------
    matrix : sequence of int
        The 9 ``int32`` values of ``AV_FRAME_DATA_DISPLAYMATRIX`` (16.16 fixed point).
        It maps a source point ``(x, y)`` (y pointing down) to the displayed point
        ``(a*x + c*y, b*x + d*y)`` with ``a, b, _, c, d = matrix[:5]``.

    Returns
    -------
    rotation_deg : int
        Counter-clockwise rotation (0, 90, 180 or 270) to apply first; other angles are
        rounded to the nearest right angle.
    mirrored : bool
        Whether a left-right mirror must be applied after the rotation. Every mirrored
        matrix (including a vertical flip) is expressed this way.
    """
    a, b, c, d = (float(matrix[i]) for i in (0, 1, 3, 4))
    mirrored = a * d - b * c < 0
    if mirrored:  # remove the trailing horizontal mirror: it negates the output x row
        a, c = -a, -c
    if a == 0 and b == 0:
        return 0, mirrored
    angle = math.degrees(math.atan2(-b, a))
    return int(round(angle / 90.0)) % 4 * 90, mirrored


def apply_orientation(image: np.ndarray, rotation_deg: int, mirrored: bool = False) -> np.ndarray:
    """Rotate counter-clockwise by ``rotation_deg`` then mirror left-right if asked.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, C)`` array as decoded.
    rotation_deg : int
        Multiple of 90 degrees, counter-clockwise.
    mirrored : bool, optional
        Flip left-right after rotating.

    Returns
    -------
    numpy.ndarray
        A C-contiguous array (the input itself when nothing is to be done).
    """
    k = (rotation_deg // 90) % 4
    if k:
        image = np.rot90(image, k)
    if mirrored:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def frame_orientation(av_frame: av.VideoFrame) -> tuple[int, bool]:
    """Rotation and mirror asked for by a decoded frame's display matrix."""
    side_data = cast("Mapping[Any, Any]", av_frame.side_data)  # the stub's TypedDict is wrong
    if SideDataType.DISPLAYMATRIX not in side_data:
        return 0, False
    values = np.frombuffer(bytes(side_data[SideDataType.DISPLAYMATRIX]), dtype=np.int32)
    if values.size != 9:  # unexpected layout: fall back to FFmpeg's own reading
        return int(round(av_frame.rotation / 90.0)) % 4 * 90, False
    return orientation_from_matrix(values.tolist())

