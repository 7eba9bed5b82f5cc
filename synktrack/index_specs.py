"""One spec per session index: the single source of what each index is called and means.

Every consumer reads :data:`SPECS`: the column contract (:mod:`synktrack.schema`), the
z-scores (:mod:`synktrack.indices`), the therapist report (:mod:`synktrack.report`) and the
weekly check's result screen (:mod:`synktrack.web.summary`). Adding an index means adding
one :class:`IndexSpec` here and the function that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

Kind = Literal["movement", "coupling", "blink", "texture"]


class Norm(NamedTuple):
    """Healthy value of an index: the one source for z-scores, flags and the report's bands."""

    mean: float
    sd: float
    source: str
    sd_published: bool  # False: the SD is synktrack's assumption, not published

    def text(self) -> str:
        """``21.6 % (SD 13.4 %; Laryngoscope 2013)``, saying when the SD is assumed."""
        sd = f"{self.sd:g} %" + ("" if self.sd_published else " assumed")
        return f"{self.mean:g} % (SD {sd}; {self.source})"


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
    published
        False for a synktrack convention rather than a published range.
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


@dataclass(frozen=True)
class CheckView:
    """How the weekly check's result screen shows an index.

    Attributes
    ----------
    label
        Plain-language name for the patient.
    unit
        Unit shown (``%`` or ``mm``).
    same
        A change smaller than this reads "about the same as last time".
    """

    label: str
    unit: str
    same: float


@dataclass(frozen=True)
class IndexSpec:
    """One per-side session index.

    Attributes
    ----------
    stem
        Column stem: the index of the patient's left is ``f"{stem}_left{unit}"``.
    unit
        Unit suffix of its columns (``_mm``, ``_pct``, ...).
    description
        What the column holds (the schema and the docs).
    group
        ``"synkinesis"`` for a synkinesis sign, ``"target"`` for a target movement.
    kind
        How it is measured, which decides its companion columns: ``"movement"`` (one
        value per repetition, so a repeatability SD), ``"coupling"`` (one slope over the
        session's frames, with its correlation), ``"blink"`` (an average over spontaneous
        blinks, with its interval, blinks used, lag and a status) or ``"texture"`` (a skin
        texture change per repetition, with a rest-noise score and a visibility status).
    label, unit_text, short_unit
        The report's name, axis unit and table unit.
    higher, lower
        What a higher or lower value means, in words a therapist uses.
    how
        How it is measured, one paragraph for the report.
    norm
        Published healthy value (z-scores, the report's band), if any.
    band
        Reference band of the report where there is no norm (a convention).
    check
        How the weekly check shows it, if it does.
    decimals
        Decimals the report shows (the precision its unit deserves).
    """

    stem: str
    unit: str
    description: str
    group: Literal["synkinesis", "target"]
    kind: Kind
    label: str
    unit_text: str
    short_unit: str
    higher: str
    lower: str
    how: str
    norm: Norm | None = None
    band: Band | None = None
    check: CheckView | None = None
    decimals: int = 1

    @property
    def repetition_sd(self) -> bool:
        """Whether it has a repeatability SD across repetitions (``*_sd`` columns)."""
        return self.kind in ("movement", "texture")


def _norm_band(norm: Norm, label: str, source: str) -> Band:
    """The report's band of a published norm: mean +- 1 SD."""
    return Band(norm.mean, norm.sd, label, source)


# Published healthy values (traced lids): Laryngoscope 2013 (smile), Dynaface 2025 (pucker).
_SMILE_NORM = Norm(21.6, 13.4, "Laryngoscope 2013", True)
_PUCKER_NORM = Norm(1.7, 3.0, "Dynaface 2025", False)

SPECS: tuple[IndexSpec, ...] = (
    IndexSpec(
        "eye_narrowing_smile", "_pct",
        "eye aperture reduction during a gentle smile, % of the rest aperture (+ = narrower)",
        "synkinesis", "movement", "Eye narrowing during smile", "% of rest aperture", "%",
        "more eye narrowing", "less eye narrowing",
        "Eye aperture on the smile plateau vs. the rest around it; + means the eye got "
        "narrower. A synkinesis sign (mouth-to-eye) when clearly above the healthy band on one "
        "side.",
        norm=_SMILE_NORM,
        band=_norm_band(
            _SMILE_NORM, f"healthy {_SMILE_NORM.mean:g} ± {_SMILE_NORM.sd:g} %",
            f"Healthy adults narrow the eye by {_SMILE_NORM.mean:g} % (SD {_SMILE_NORM.sd:g} %) "
            "when they smile: 50 normal subjects in the Laryngoscope 2013 study [1]. The band "
            "is the mean ± 1 SD."),
        check=CheckView("Eye narrowing when you smile", "%", 5.0),
    ),
    IndexSpec(
        "eye_narrowing_pucker", "_pct",
        "eye aperture reduction during a gentle pucker, % of the rest aperture (+ = narrower)",
        "synkinesis", "movement", "Eye narrowing during pucker", "% of rest aperture", "%",
        "more eye narrowing", "less eye narrowing",
        "As above, during a pucker. Healthy eyes barely narrow, so this is a sensitive "
        "mouth-to-eye synkinesis sign.",
        norm=_PUCKER_NORM,
        band=_norm_band(
            _PUCKER_NORM,
            f"healthy ≈ {_PUCKER_NORM.mean:g} ± {_PUCKER_NORM.sd:g} % (SD assumed)",
            f"Healthy controls narrowed the eye by about {_PUCKER_NORM.mean:g} % during a "
            "pucker in the 2025 video-tracking (DynaFace) study [2]; the "
            f"± {_PUCKER_NORM.sd:g} % width is the SD synktrack assumes for its z-scores, not "
            "a published SD."),
        check=CheckView("Eye narrowing when you pucker", "%", 5.0),
    ),
    IndexSpec(
        "mouth_corner_eye_closure", "_mm",
        "mouth-corner displacement from rest during gentle eye closure (mm)",
        "synkinesis", "movement", "Mouth-corner movement during eye closure", "mm", "mm",
        "more mouth movement", "less mouth movement",
        "Mouth-corner displacement from rest on the eye-closure plateau. Healthy mouth corners "
        "barely move (eye-to-mouth synkinesis sign).",
        band=Band(
            0.0, 1.0, "little movement expected (0 ± 1 mm)",
            "In a healthy face the mouth corner barely moves during gentle eye closure. The "
            "0 ± 1 mm band is a synktrack convention marking 'little movement expected', not a "
            "published normal range.",
            published=False),
        check=CheckView("Mouth-corner movement when you close your eyes", "mm", 0.5),
    ),
    IndexSpec(
        "smile_excursion", "_mm", "mouth-corner displacement from rest during a smile (mm)",
        "target", "movement", "Smile excursion (mouth corner)", "mm", "mm",
        "moving more", "moving less",
        "Target movement: how far the mouth corner moves from rest in a smile.",
        check=CheckView("Mouth-corner movement in a smile", "mm", 0.5),
    ),
    IndexSpec(
        "pucker_excursion", "_mm", "mouth-corner displacement from rest during a pucker (mm)",
        "target", "movement", "Pucker excursion (mouth corner)", "mm", "mm",
        "moving more", "moving less",
        "Target movement: how far the mouth corner moves from rest in a pucker.",
        check=CheckView("Mouth-corner movement in a pucker", "mm", 0.5),
    ),
    IndexSpec(
        "eye_closure", "_pct", "eye aperture reduction during eye closure, % of rest",
        "target", "movement", "Eye closure", "% of rest aperture", "%",
        "closing more", "closing less",
        "Target movement: aperture reduction during gentle eye closure (100 % = fully "
        "closed).",
        check=CheckView("Eye closure", "%", 5.0),
    ),
    IndexSpec(
        "brow_raise", "_mm", "brow lift from rest during a brow raise (mm)",
        "target", "movement", "Brow raise", "mm", "mm", "moving more", "moving less",
        "Target movement: brow lift above the line between the eye corners.",
        check=CheckView("Brow lift", "mm", 0.5),
    ),
    IndexSpec(
        "oral_ocular_coupling", "_pct_per_mm",
        "slope of eye-aperture change (% of rest) per mm of mouth-corner movement over the "
        "frames of smile and pucker epochs",
        "synkinesis", "coupling", "Mouth-to-eye coupling", "% per mm", "%/mm",
        "stronger coupling", "weaker coupling",
        "Frame-by-frame slope of eye-aperture change against mouth-corner movement in smile "
        "and pucker epochs: how much the eye follows the mouth.",
        decimals=2,
    ),
    IndexSpec(
        "ocular_oral_coupling", "_mm_per_10pct",
        "slope of mouth-corner movement (mm) per 10 % of eye closure over the frames of "
        "eye-closure epochs",
        "synkinesis", "coupling", "Eye-to-mouth coupling", "mm per 10 %", "mm/10%",
        "stronger coupling", "weaker coupling",
        "Frame-by-frame slope of mouth-corner movement against eye closure in eye-closure "
        "epochs: how much the mouth follows the eye.",
        decimals=2,
    ),
    IndexSpec(
        "blink_pull", "_mm",
        "upward mouth-corner movement time-locked to spontaneous blinks outside the prompted "
        "movements (event-related average, mm; + = up)",
        "synkinesis", "blink", "Mouth-corner pull at spontaneous blinks", "mm", "mm",
        "more pull at blinks", "less pull at blinks",
        "Event-related average of the vertical mouth-corner position over the spontaneous "
        "blinks outside the prompted movements (each blink against the 0.25 s before it; peak "
        "within 0.6 s): how much the mouth corner rises at every blink, with its 95 % interval "
        "and the number of blinks. Fewer than 5 blinks: 'not enough blinks', no number. Its "
        "SEM is the standard error over the blinks of each session (from the interval).",
        band=Band(
            0.0, 0.3, "little movement expected (0 ± 0.3 mm)",
            "In a healthy face the mouth corner does not move with spontaneous blinks; 0.3 mm "
            "is about the landmark noise of the averaged corner position. The band is a "
            "synktrack convention, not a published normal range.",
            published=False),
        check=CheckView("Mouth-corner movement at your blinks", "mm", 0.3),
    ),
    # Skin texture varies a lot from check to check (SD across movements ~5-20 % on simulated
    # healthy sessions): on the check's screen only a change beyond 20 % is worth a line.
    IndexSpec(
        "chin_coactivation", "_pct",
        "change of the chin half's fine skin texture (mentalis dimpling) during smile, pucker "
        "and eye closure against the rest around them, % of the rest texture",
        "synkinesis", "texture", "Chin texture change during movements", "% of rest texture",
        "%", "more chin dimpling", "less chin dimpling",
        "Fine skin texture of each chin half (mentalis dimpling) on the plateau of smiles, "
        "puckers and eye closures against the rest around them, in % of the rest texture "
        "(session.csv also has it in rest-noise units, _z). Camera distance and light gain do "
        "not change it. A synkinesis sign when one side changes clearly more.",
        check=CheckView("Chin skin change during the movements", "%", 20.0),
    ),
    IndexSpec(
        "neck_coactivation", "_pct",
        "change of the upper neck's fine skin texture (platysma bands) during smile, pucker "
        "and eye closure against the rest around them, % of the rest texture",
        "synkinesis", "texture", "Neck texture change during movements", "% of rest texture",
        "%", "more neck banding", "less neck banding",
        "As above, for each upper-neck half (platysma bands). 'Not visible' when the neck is "
        "out of the picture: no number.",
        check=CheckView("Neck skin change during the movements", "%", 20.0),
    ),
)

BY_STEM: dict[str, IndexSpec] = {s.stem: s for s in SPECS}


def stems(group: str | None = None, kind: Kind | None = None) -> tuple[str, ...]:
    """Index stems in their order: all, or of one group (``"synkinesis"``, ``"target"``)
    and/or one kind."""
    return tuple(s.stem for s in SPECS
                 if (group is None or s.group == group) and (kind is None or s.kind == kind))
