"""synktrack.schema: column names and their upgrade, checked against hand-written names and
tables (not against the module's own output)."""

from __future__ import annotations

import pandas as pd

from synktrack.schema import (
    EPOCH_COLUMNS,
    INDICES,
    METADATA_COLUMNS,
    QUALITY_COLUMNS,
    SIDES,
    asymmetry_column,
    index_column,
    session_columns,
    upgrade_columns,
)


def test_sides_are_the_patients_two() -> None:
    assert SIDES == ("left", "right")


def test_column_names_carry_side_and_unit() -> None:
    assert index_column("eye_narrowing_smile", "left") == "eye_narrowing_smile_left_pct"
    assert index_column("mouth_corner_eye_closure", "right") == "mouth_corner_eye_closure_right_mm"
    assert index_column("oral_ocular_coupling", "left") == "oral_ocular_coupling_left_pct_per_mm"
    assert asymmetry_column("ocular_oral_coupling") == "ocular_oral_coupling_asymmetry_mm_per_10pct"
    assert asymmetry_column("brow_raise") == "brow_raise_asymmetry_mm"


def test_session_columns_document_every_index_per_side() -> None:
    cols = session_columns()
    names = list(cols)
    assert names[:len(METADATA_COLUMNS)] == list(METADATA_COLUMNS)  # provenance first
    assert names[-len(QUALITY_COLUMNS):] == list(QUALITY_COLUMNS)  # quality last
    for stem in INDICES:
        for side in SIDES:
            assert cols[index_column(stem, side)].startswith(f"patient's {side}: ")
        assert "affected minus other side" in cols[asymmetry_column(stem)]
    for side in SIDES:
        assert f"synkinesis_suspected_{side}" in cols and f"synkinesis_reason_{side}" in cols
    assert all(desc.strip() for desc in cols.values())
    # a few columns of a real session.csv (the demo's), written out by hand
    for name in ("eye_narrowing_smile_left_sd_pct", "oral_ocular_coupling_r_right",
                 "eye_narrowing_pucker_right_z", "usable_frame_fraction", "norms_note"):
        assert name in cols


def test_epoch_columns_name_the_epoch_and_its_side() -> None:
    for name in ("epoch", "movement", "repetition", "side", "start_s", "end_s", "usable",
                 "reason", "eye_narrowing_pct", "coupling_slope"):
        assert name in EPOCH_COLUMNS, name


def test_upgrade_renames_version_1_coupling_columns() -> None:
    old = pd.DataFrame({"session_id": ["a"], "oral_ocular_coupling_left": [1.5],
                        "ocular_oral_coupling_asymmetry": [-0.2]})
    new = upgrade_columns(old)
    assert list(new.columns) == ["session_id", "oral_ocular_coupling_left_pct_per_mm",
                                 "ocular_oral_coupling_asymmetry_mm_per_10pct"]
    assert new.iloc[0].tolist() == ["a", 1.5, -0.2]
    assert list(old.columns)[1] == "oral_ocular_coupling_left"  # the input is not changed


def test_upgrade_keeps_each_rows_own_value_when_both_names_exist() -> None:
    mixed = pd.DataFrame({"oral_ocular_coupling_right": [2.0, None],
                          "oral_ocular_coupling_right_pct_per_mm": [None, 3.0]})
    new = upgrade_columns(mixed)
    assert list(new.columns) == ["oral_ocular_coupling_right_pct_per_mm"]
    assert new["oral_ocular_coupling_right_pct_per_mm"].tolist() == [2.0, 3.0]


def test_upgrade_leaves_current_tables_alone() -> None:
    cur = pd.DataFrame({index_column("eye_closure", "left"): [80.0], "subject": ["x"]})
    pd.testing.assert_frame_equal(upgrade_columns(cur), cur)
