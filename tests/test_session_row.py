"""The one session-row builder: metadata in schema order, one id scheme, one side check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from synktrack.errors import InputError
from synktrack.schema import METADATA_COLUMNS
from synktrack.session_row import check_affected_side, new_session_id, session_row


def _row(**extra: object) -> dict:
    now = datetime(2026, 12, 2, 18, 30, tzinfo=UTC)
    return session_row(session_id=new_session_id(now, "ab" * 32), started_at=now.isoformat(),
                       session_date="2026-12-02", subject=None, protocol="weekly-check",
                       protocol_version=1, affected_side="left", mirrored=True, complete=False,
                       source="clip.mp4", source_sha256="ab" * 32,
                       versions={"synktrack": "0.1.0"}, model_sha256="f" * 64, **extra)


def test_metadata_columns_come_first_in_schema_order() -> None:
    row = _row(eye_measure="image_lids", duration_s=3.0)
    assert list(row)[: len(METADATA_COLUMNS)] == list(METADATA_COLUMNS)
    assert row["mirrored"] == 1 and row["complete"] == 0 and row["subject"] == ""
    assert row["mediapipe_version"] is None  # a version the caller did not know stays empty
    assert list(row)[-1] == "duration_s"


def test_a_row_without_eye_indices_has_no_eye_measure() -> None:
    row = _row()
    assert "eye_measure" not in row
    assert list(row) == [c for c in METADATA_COLUMNS if c != "eye_measure"]


def test_session_id_is_time_input_and_random() -> None:
    now = datetime(2026, 12, 2, 18, 30, 5)
    sid = new_session_id(now, "0123456789abcdef" * 4)
    date, time, head, tail = sid.split("-")
    assert (date, time, head) == ("20261202", "183005", "01234567") and len(tail) == 8
    assert new_session_id(now) != new_session_id(now)  # no input: a random head


@pytest.mark.parametrize("side", ["left", "right", "unknown"])
def test_affected_side_accepts_the_three_values(side: str) -> None:
    assert check_affected_side(side) == side


@pytest.mark.parametrize("side", ["Left", "both", "", "l"])
def test_affected_side_refuses_anything_else_in_one_line(side: str) -> None:
    with pytest.raises(InputError) as err:
        check_affected_side(side)
    assert "\n" not in str(err.value) and "left, right or unknown" in str(err.value)
