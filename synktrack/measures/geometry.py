"""A head-fixed frame per recording, registered on the image itself.

Every frame is mapped onto a reference frame of the same clip with the
similarity transform found by :mod:`synktrack.refine` (rigid, textured points
tracked in the image), so that a one-sided movement cannot tilt the frame the
way a fit to symmetry-biased landmarks does. Axes belong to the face of the
reference frame: ``x`` towards the patient's left, ``y`` up, origin at the
nasion, in reference-image pixels, divided by the cosine of the reference
pose so that lengths are frontal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synktrack.measures.ids import EYE, NASION, side_ids


@dataclass(frozen=True)
class HeadFrame:
    """Landmarks in the head-fixed frame, and what the registration found.

    Attributes
    ----------
    points
        (time, landmark, 2) head-fixed x/y in reference pixels.
    scale
        (time,) image pixels per reference pixel (grows as the face approaches).
    """

    points: np.ndarray
    scale: np.ndarray


def orthonormal(m: np.ndarray) -> np.ndarray:
    """Nearest rotation matrices to a batch of 3x3 matrices."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, -1] *= d[..., None]
    return u @ vt


def apply_affine(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Map points with an affine transform: the one helper of the package.

    Parameters
    ----------
    points
        (n, 2) points for one (2, 3) or (3, 3) matrix, or (time, n, 2) points for
        (time, 2, 3) transforms (one per frame).
    affine
        The transform(s); a 3x3 matrix's last row is ignored.

    Returns
    -------
    np.ndarray
        The mapped points, shaped like ``points``.
    """
    if affine.ndim == 2:
        return points @ affine[:2, :2].T + affine[:2, 2]
    return points @ np.swapaxes(affine[:, :, :2], 1, 2) + affine[:, None, :, 2]


def head_frame(points_px: np.ndarray, to_ref: np.ndarray, reference: int, width: int,
               mirrored: bool = False, foreshortening: tuple[float, float] = (1.0, 1.0),
               offset: np.ndarray | None = None) -> HeadFrame:
    """Put image landmarks into the head-fixed frame.

    Parameters
    ----------
    points_px
        (time, landmark, 2) landmarks in image pixels (refined points included).
    to_ref
        (time, 2, 3) similarity from each image into the reference image.
    reference
        Index of the reference frame.
    width
        Image width, to mirror x for selfie-style video.
    mirrored
        True for mirrored video (the patient's right on the image's right).
    foreshortening
        cos(yaw) and cos(pitch) of the reference frame.
    offset
        (landmark, 2) correction added to every frame in reference-image pixels
        (the landmark model's left-right bias in the reference frame; see
        :class:`synktrack.track.ClipTracker`); points beyond it get none.
    """
    reg = apply_affine(points_px, to_ref)
    if offset is not None:
        reg[:, : len(offset)] += offset
    if mirrored:
        reg[..., 0] = width - reg[..., 0]
    ref = reg[reference]
    labels = side_ids(mirrored)
    x_axis = ref[EYE[labels["left"]]["inner"]] - ref[EYE[labels["right"]]["inner"]]
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.array([x_axis[1], -x_axis[0]])  # image y points down; face y points up
    rel = reg - ref[NASION]
    cos_yaw, cos_pitch = foreshortening
    pts = np.stack([rel @ x_axis / cos_yaw, rel @ y_axis / cos_pitch], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN before the reference
        scale = 1.0 / np.sqrt(np.abs(np.linalg.det(to_ref[:, :, :2])))
    return HeadFrame(pts, scale)
