"""MediaPipe face-mesh landmark indices used by the measures.

MediaPipe labels sides as the *subject's* own sides for a non-mirrored image
(its "right eye" appears on the image's left). Keys here use that labelling;
:func:`side_ids` swaps them for mirrored (selfie-style) video.
"""

from __future__ import annotations

from typing import TypedDict


class EyeIds(TypedDict):
    """Landmark indices of one eye (MediaPipe labels)."""

    outer: int
    inner: int
    pairs: tuple[tuple[int, int], ...]
    contour: tuple[int, ...]
    upper: tuple[int, ...]
    lower: tuple[int, ...]
    iris_centre: int
    iris_h: tuple[int, int]
    iris_v: tuple[int, int]

# Points that barely move with facial expressions: nose bridge, nose and the inner canthi.
RIGID = (168, 6, 197, 195, 5, 4, 133, 362, 243, 463, 244, 464)
NASION = 168

EYE: dict[str, EyeIds] = {
    "right": {
        "outer": 33, "inner": 133,
        # lid pairs (upper, lower) from the centre outwards, with weights
        "pairs": ((159, 145), (158, 153), (160, 144)),
        "contour": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
        "upper": (33, 246, 161, 160, 159, 158, 157, 173, 133),
        "lower": (33, 7, 163, 144, 145, 153, 154, 155, 133),
        "iris_centre": 468, "iris_h": (469, 471), "iris_v": (470, 472),
    },
    "left": {
        "outer": 263, "inner": 362,
        "pairs": ((386, 374), (385, 380), (387, 373)),
        "contour": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390,
                    249),
        "upper": (263, 466, 388, 387, 386, 385, 384, 398, 362),
        "lower": (263, 249, 390, 373, 374, 380, 381, 382, 362),
        "iris_centre": 473, "iris_h": (474, 476), "iris_v": (475, 477),
    },
}
PAIR_WEIGHTS = (0.5, 0.25, 0.25)


MOUTH_CORNER = {"right": 61, "left": 291}
MOUTH = {"upper_lip": 13, "lower_lip": 14}

BROW: dict[str, tuple[int, ...]] = {
    "right": (70, 63, 105, 66, 107),
    "left": (300, 293, 334, 296, 336),
}

SIDES = ("left", "right")
"""The patient's anatomical sides, in the order every table lists them: the one definition."""

AFFECTED_SIDES = (*SIDES, "unknown")
"""What a session may give as the side affected by the palsy (``unknown``: not said)."""


def side_ids(mirrored: bool) -> dict[str, str]:
    """Map the patient's side to MediaPipe's side label.

    In a non-mirrored image MediaPipe's labels are the patient's sides. In a
    mirrored (selfie) image the face is flipped, so MediaPipe's "right" is the
    patient's left.
    """
    if mirrored:
        return {"left": "right", "right": "left"}
    return {"left": "left", "right": "right"}


# Points the image refinement tracks (synktrack.refine), by MediaPipe label (the subject's
# side in a non-mirrored image); the Recording's ``tracked`` array holds them in this order.
TRACKED: dict[str, int] = {
    "corner_right": MOUTH_CORNER["right"],
    "corner_left": MOUTH_CORNER["left"],
    "lid_upper_right": EYE["right"]["pairs"][0][0],
    "lid_lower_right": EYE["right"]["pairs"][0][1],
    "lid_upper_left": EYE["left"]["pairs"][0][0],
    "lid_lower_left": EYE["left"]["pairs"][0][1],
    "brow_right": BROW["right"][2],
    "brow_left": BROW["left"][2],
}
