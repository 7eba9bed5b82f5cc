"""What the report says about each index: labels, healthy reference bands, methods, references.

Plain text only: references are cited by DOI or arXiv number, never as links,
so the report makes no request when it is opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from synktrack.indices import NORMS
from synktrack.report.stats import SEM_FLOOR, Z95_SQRT2
from synktrack.schema import INDICES, SYNKINESIS_INDICES, TARGET_INDICES


@dataclass(frozen=True)
class Band:
    """A reference band drawn behind an index's trend.

    Attributes
    ----------
    centre, half_width
        The band is ``centre +/- half_width``.
    label
        Legend text.
    source
        Where the band comes from (one sentence, with reference numbers).
    """

    centre: float
    half_width: float
    label: str
    source: str
    published: bool = True

    @property
    def low(self) -> float:
        return self.centre - self.half_width

    @property
    def high(self) -> float:
        return self.centre + self.half_width


LABELS: dict[str, str] = {
    "eye_narrowing_smile": "Eye narrowing during smile",
    "eye_narrowing_pucker": "Eye narrowing during pucker",
    "mouth_corner_eye_closure": "Mouth-corner movement during eye closure",
    "smile_excursion": "Smile excursion (mouth corner)",
    "pucker_excursion": "Pucker excursion (mouth corner)",
    "eye_closure": "Eye closure",
    "brow_raise": "Brow raise",
    "oral_ocular_coupling": "Mouth-to-eye coupling",
    "ocular_oral_coupling": "Eye-to-mouth coupling",
    "blink_pull": "Mouth-corner pull at spontaneous blinks",
    "chin_coactivation": "Chin texture change during movements",
    "neck_coactivation": "Neck texture change during movements",
}
UNITS: dict[str, str] = {
    "eye_narrowing_smile": "% of rest aperture",
    "eye_narrowing_pucker": "% of rest aperture",
    "mouth_corner_eye_closure": "mm",
    "smile_excursion": "mm",
    "pucker_excursion": "mm",
    "eye_closure": "% of rest aperture",
    "brow_raise": "mm",
    "oral_ocular_coupling": "% per mm",
    "ocular_oral_coupling": "mm per 10 %",
    "blink_pull": "mm",
    "chin_coactivation": "% of rest texture",
    "neck_coactivation": "% of rest texture",
}
SHORT_UNITS: dict[str, str] = {
    "eye_narrowing_smile": "%",
    "eye_narrowing_pucker": "%",
    "mouth_corner_eye_closure": "mm",
    "smile_excursion": "mm",
    "pucker_excursion": "mm",
    "eye_closure": "%",
    "brow_raise": "mm",
    "oral_ocular_coupling": "%/mm",
    "ocular_oral_coupling": "mm/10%",
    "blink_pull": "mm",
    "chin_coactivation": "%",
    "neck_coactivation": "%",
}
# What a higher value means, in words a therapist uses.
HIGHER: dict[str, str] = {
    "eye_narrowing_smile": "more eye narrowing",
    "eye_narrowing_pucker": "more eye narrowing",
    "mouth_corner_eye_closure": "more mouth movement",
    "smile_excursion": "moving more",
    "pucker_excursion": "moving more",
    "eye_closure": "closing more",
    "brow_raise": "moving more",
    "oral_ocular_coupling": "stronger coupling",
    "ocular_oral_coupling": "stronger coupling",
    "blink_pull": "more pull at blinks",
    "chin_coactivation": "more chin dimpling",
    "neck_coactivation": "more neck banding",
}
LOWER: dict[str, str] = {
    "eye_narrowing_smile": "less eye narrowing",
    "eye_narrowing_pucker": "less eye narrowing",
    "mouth_corner_eye_closure": "less mouth movement",
    "smile_excursion": "moving less",
    "pucker_excursion": "moving less",
    "eye_closure": "closing less",
    "brow_raise": "moving less",
    "oral_ocular_coupling": "weaker coupling",
    "ocular_oral_coupling": "weaker coupling",
    "blink_pull": "less pull at blinks",
    "chin_coactivation": "less chin dimpling",
    "neck_coactivation": "less neck banding",
}

# Smallest y range of a trend axis, by unit suffix, in clinical units: a change within it is
# well inside the measurement noise (see stats.SEM_FLOOR) and must not fill the axis.
MIN_SPAN: dict[str, float] = {"_mm": 2.0, "_pct": 10.0, "_pct_per_mm": 4.0, "_mm_per_10pct": 1.0}

BANDS: dict[str, Band] = {
    # Centre and width from synktrack.indices.NORMS, the same numbers as the z-scores.
    "eye_narrowing_smile": Band(
        NORMS["eye_narrowing_smile"].mean, NORMS["eye_narrowing_smile"].sd,
        f"healthy {NORMS['eye_narrowing_smile'].mean:g} ± {NORMS['eye_narrowing_smile'].sd:g} %",
        f"Healthy adults narrow the eye by {NORMS['eye_narrowing_smile'].mean:g} % (SD "
        f"{NORMS['eye_narrowing_smile'].sd:g} %) when they smile: 50 normal subjects in the "
        "Laryngoscope 2013 study [1]. The band is the mean ± 1 SD.",
    ),
    "eye_narrowing_pucker": Band(
        NORMS["eye_narrowing_pucker"].mean, NORMS["eye_narrowing_pucker"].sd,
        f"healthy ≈ {NORMS['eye_narrowing_pucker'].mean:g} ± "
        f"{NORMS['eye_narrowing_pucker'].sd:g} % (SD assumed)",
        f"Healthy controls narrowed the eye by about {NORMS['eye_narrowing_pucker'].mean:g} % "
        "during a pucker in the 2025 video-tracking (DynaFace) study [2]; the "
        f"± {NORMS['eye_narrowing_pucker'].sd:g} % width is the SD synktrack assumes for its "
        "z-scores, not a published SD.",
    ),
    "mouth_corner_eye_closure": Band(
        0.0, 1.0, "little movement expected (0 ± 1 mm)",
        "In a healthy face the mouth corner barely moves during gentle eye closure. The "
        "0 ± 1 mm band is a synktrack convention marking 'little movement expected', not a "
        "published normal range.",
        published=False,
    ),
    "blink_pull": Band(
        0.0, 0.3, "little movement expected (0 ± 0.3 mm)",
        "In a healthy face the mouth corner does not move with spontaneous blinks; 0.3 mm is "
        "about the landmark noise of the averaged corner position. The band is a synktrack "
        "convention, not a published normal range.",
        published=False,
    ),
}

REFERENCES: tuple[str, ...] = (
    "[1] Computer-assisted assessment of ocular synkinesis: a comparison of methods. "
    "The Laryngoscope, 2013. doi:10.1002/lary.23778. (50 healthy subjects: eye narrowing "
    "during smile 21.56 %, SD 13.38 %.)",
    "[2] DynaFace study (2025) of palpebral fissure changes measured by video-based facial "
    "tracking in idiopathic facial paralysis with oral-ocular synkinesis (12 controls, 30 "
    "patients). "
    "doi:10.1177/26893614251395737. (Controls: 1.7 % narrowing during pucker.)",
    "[3] MediaPipe Face Landmarker (Google), model face_landmarker.task float16 v1: 478 "
    "face landmarks and 52 blendshape scores per frame. Kartynnik Y, et al. Real-time "
    "facial surface geometry from monocular video on mobile GPUs. arXiv:1907.06724, 2019.",
    "[4] Kim J, Jeong H, Cho J, et al. Numerical approach to facial palsy using a novel "
    "registration method with 3D facial landmark. Sensors. 2022;22(17):6636. "
    "doi:10.3390/s22176636.",
    "[5] Weir JP. Quantifying test-retest reliability using the intraclass correlation "
    "coefficient and the SEM. J Strength Cond Res. 2005;19(1):231-240. "
    "(MDC95 = 1.96 × √2 × SEM.)",
)

PIPELINE: tuple[str, ...] = (
    "Each session is a short guided video: rest, then gentle smiles, eye closures, puckers "
    "and brow raises, each repeated, with rest in between. MediaPipe Face Landmarker [3] "
    "finds 478 landmarks in every frame; synktrack follows them in a head-fixed frame, so "
    "turning or tilting the head and moving closer to the camera do not change the "
    "measures (as in landmark-registration approaches such as Kim et al. [4]).",
    "Lengths are in millimetres, scaled by the visible iris (11.7 mm in adults). Eye "
    "aperture is the distance between the lid margins at the centre of the eye, found in "
    "the image and blended with the landmarks. Blinks and frames with the head turned too "
    "far, the face too small or unstable landmarks are left out.",
    "Every movement is compared with the rest just around it, on the steady part (plateau) "
    "of the movement. The session value combines the repetitions; their SD is kept as the "
    "session's repeatability.",
    "Left and right are always the patient's own sides.",
)

HOW: dict[str, str] = {
    "eye_narrowing_smile": "Eye aperture on the smile plateau vs. the rest around it; "
    "+ means the eye got narrower. A synkinesis sign (mouth-to-eye) when clearly above the "
    "healthy band on one side.",
    "eye_narrowing_pucker": "As above, during a pucker. Healthy eyes barely narrow, so this "
    "is a sensitive mouth-to-eye synkinesis sign.",
    "mouth_corner_eye_closure": "Mouth-corner displacement from rest on the eye-closure "
    "plateau. Healthy mouth corners barely move (eye-to-mouth synkinesis sign).",
    "smile_excursion": "Target movement: how far the mouth corner moves from rest in a "
    "smile.",
    "pucker_excursion": "Target movement: how far the mouth corner moves from rest in a "
    "pucker.",
    "eye_closure": "Target movement: aperture reduction during gentle eye closure "
    "(100 % = fully closed).",
    "brow_raise": "Target movement: brow lift above the line between the eye corners.",
    "oral_ocular_coupling": "Frame-by-frame slope of eye-aperture change against "
    "mouth-corner movement in smile and pucker epochs: how much the eye follows the mouth.",
    "ocular_oral_coupling": "Frame-by-frame slope of mouth-corner movement against eye "
    "closure in eye-closure epochs: how much the mouth follows the eye.",
    "blink_pull": "Event-related average of the vertical mouth-corner position over the "
    "spontaneous blinks outside the prompted movements (each blink against the 0.25 s before "
    "it; peak within 0.6 s): how much the mouth corner rises at every blink, with its 95 % "
    "interval and the number of blinks. Fewer than 5 blinks: 'not enough blinks', no number. "
    "Its SEM is the standard error over the blinks of each session (from the interval).",
    "chin_coactivation": "Fine skin texture of each chin half (mentalis dimpling) on the "
    "plateau of smiles, puckers and eye closures against the rest around them, in % of the "
    "rest texture (session.csv also has it in rest-noise units, _z). Camera distance and "
    "light gain do not change it. A synkinesis sign when one side changes clearly more.",
    "neck_coactivation": "As above, for each upper-neck half (platysma bands). "
    "'Not visible' when the neck is out of the picture: no number.",
}

MDC_TEXT = (
    "Change is judged against the minimal detectable change, MDC95 = 1.96 × √2 × SEM [5]. "
    "The SEM is the within-session SD of the repetitions (the *_sd_* columns), pooled over "
    "all sessions of this report as the root mean square, for each index and side, and "
    f"never less than the measurement's own noise floor ({SEM_FLOOR['_mm']:g} mm for "
    f"millimetre indices, {SEM_FLOOR['_pct']:g} % for percentages: the frame-to-frame noise "
    f"on a still face), so an MDC95 is at least {Z95_SQRT2 * SEM_FLOOR['_mm']:.2f} mm or "
    f"{Z95_SQRT2 * SEM_FLOOR['_pct']:.1f} %. A "
    "change smaller than the MDC95 can be measurement noise. This SEM contains only the "
    "variation between repetitions within a session, not day-to-day differences such as "
    "lighting or camera position, so treat changes just above the MDC95 with care. The "
    "coupling slopes have no repetition SD and therefore no MDC95; the blink-locked pull "
    "uses the standard error over the blinks of each session instead."
)

DISCLAIMER = ("Not a diagnosis: synktrack measures movement to support a clinician's "
              "judgement; it does not diagnose or grade synkinesis.")


def label(stem: str) -> str:
    """Readable name of an index."""
    return LABELS.get(stem, stem.replace("_", " "))


def description(stem: str) -> str:
    """The schema's description of an index."""
    return INDICES[stem][1] if stem in INDICES else ""


def group_of(stem: str) -> str:
    """``"synkinesis"`` for synkinesis signs, ``"target"`` for target movements."""
    if stem in SYNKINESIS_INDICES:
        return "synkinesis"
    return "target" if stem in TARGET_INDICES else "other"
