"""What the report says about each index: labels, healthy reference bands, methods, references.

Plain text only: references are cited by DOI or arXiv number, never as links,
so the report makes no request when it is opened.
"""

from __future__ import annotations

from synktrack.index_specs import SPECS, Band
from synktrack.report.stats import SEM_FLOOR, Z95_SQRT2
from synktrack.schema import INDICES, SYNKINESIS_INDICES, TARGET_INDICES

__all__ = ["BANDS", "HIGHER", "HOW", "LABELS", "LOWER", "SHORT_UNITS", "UNITS", "Band"]

# Per-index texts, read from the one spec per index (synktrack.index_specs).
LABELS: dict[str, str] = {s.stem: s.label for s in SPECS}
UNITS: dict[str, str] = {s.stem: s.unit_text for s in SPECS}
SHORT_UNITS: dict[str, str] = {s.stem: s.short_unit for s in SPECS}
# What a higher value means, in words a therapist uses.
HIGHER: dict[str, str] = {s.stem: s.higher for s in SPECS}
LOWER: dict[str, str] = {s.stem: s.lower for s in SPECS}

# Smallest y range of a trend axis, by unit suffix, in clinical units: a change within it is
# well inside the measurement noise (see stats.SEM_FLOOR) and must not fill the axis.
MIN_SPAN: dict[str, float] = {"_mm": 2.0, "_pct": 10.0, "_pct_per_mm": 4.0, "_mm_per_10pct": 1.0}

# Reference bands: a published norm's mean +- 1 SD, or a convention (synktrack.index_specs).
BANDS: dict[str, Band] = {s.stem: s.band for s in SPECS if s.band is not None}

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

HOW: dict[str, str] = {s.stem: s.how for s in SPECS}

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
