"""The one spec per index, and the views every consumer reads from it."""

from __future__ import annotations

from synktrack import schema
from synktrack.index_specs import BY_STEM, SPECS, stems
from synktrack.indices import METHODS, NORMS, FlagRules
from synktrack.report import reference
from synktrack.web.summary import MAIN_INDICES


def test_every_index_has_one_spec_with_every_text() -> None:
    assert len(BY_STEM) == len(SPECS)  # stems are unique
    for s in SPECS:
        assert s.unit.startswith("_") and s.group in ("synkinesis", "target")
        for text in (s.description, s.label, s.unit_text, s.short_unit, s.higher, s.lower,
                     s.how):
            assert text.strip(), (s.stem, text)
        assert s.higher != s.lower


def test_views_read_the_specs() -> None:
    assert list(schema.INDICES) == [s.stem for s in SPECS]
    assert set(schema.SYNKINESIS_INDICES) | set(schema.TARGET_INDICES) == set(BY_STEM)
    assert not set(schema.SYNKINESIS_INDICES) & set(schema.TARGET_INDICES)
    for s in SPECS:
        assert schema.index_column(s.stem, "left") == f"{s.stem}_left{s.unit}"
        assert reference.label(s.stem) == s.label and reference.HOW[s.stem] == s.how
    assert {stem for stem, *_ in MAIN_INDICES} == {s.stem for s in SPECS if s.check}
    # a norm is the band the report draws, mean +- 1 SD
    for stem, norm in NORMS.items():
        band = reference.BANDS[stem]
        assert (band.centre, band.half_width) == (norm.mean, norm.sd)


def test_companion_columns_follow_the_kind() -> None:
    cols = schema.session_columns()
    for s in SPECS:
        assert (f"{s.stem}_left_sd{s.unit}" in cols) == s.repetition_sd, s.stem
        assert (f"{s.stem}_r_left" in cols) == (s.kind == "coupling"), s.stem
        assert (f"{s.stem}_left_z" in cols) == (s.norm is not None or s.kind == "texture")
    assert "blink_pull_left_status" in cols and stems(kind="blink") == ("blink_pull",)


def test_flag_text_is_written_from_the_rules() -> None:
    r = FlagRules()
    for value in (r.smile_excess_pct, r.pucker_excess_pct, r.closure_corner_mm,
                  r.closure_excess_mm, r.blink_pull_mm, r.blink_excess_mm):
        assert f"{value:g} " in METHODS["flags"]
    for value in (r.forceful_smile_mm, r.forceful_pucker_mm, r.forceful_brow_mm):
        assert f"{value:g} mm" in METHODS["gentler_please"]
