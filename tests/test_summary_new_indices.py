"""The check's result summary and the report text for the blink-locked and chin/neck indices:
statuses are words, never made-up numbers."""

from __future__ import annotations

import math

from synktrack.report.tables import blink_text, texture_text
from synktrack.web.summary import session_summary

ROW = {
    "blink_pull_left_mm": 0.12, "blink_pull_left_ci_low_mm": -0.05,
    "blink_pull_left_ci_high_mm": 0.29, "blink_pull_left_blinks_n": 23,
    "blink_pull_left_lag_s": 0.28, "blink_pull_left_status": "ok",
    "blink_pull_right_mm": math.nan, "blink_pull_right_blinks_n": 3,
    "blink_pull_right_status": "not_enough_blinks",
    "chin_coactivation_left_pct": 12.4, "chin_coactivation_left_z": 6.1,
    "chin_coactivation_left_status": "ok",
    "chin_coactivation_right_pct": math.nan, "chin_coactivation_right_status": "not_visible",
    "neck_coactivation_left_pct": math.nan, "neck_coactivation_left_status": "not_visible",
    "neck_coactivation_right_pct": math.nan, "neck_coactivation_right_status": "not_visible",
}


def test_result_screen_says_not_enough_blinks_and_not_visible() -> None:
    s = session_summary(ROW)
    left, right = s["blink"]
    assert left["status"] == "ok" and left["pull_mm"] == 0.1 and left["blinks"] == 23
    assert "between -0.1 and 0.3 mm" in left["text"] and "23 blinks" in left["text"]
    assert right["status"] == "not_enough_blinks" and right["pull_mm"] is None
    assert "not enough blinks to tell (3 outside the movements, 5 needed)" in right["text"]
    chin = next(i for i in s["indices"] if i["stem"] == "chin_coactivation")
    assert chin["left"] == 12.0 and chin["status_left"] == "ok"
    assert chin["right"] is None and chin["status_right"] == "not_visible"


def test_report_text_for_the_new_indices() -> None:
    assert blink_text(ROW, "left") == ("+0.1 mm (95 % CI −0.1 to 0.3; 23 blinks; peak 0.3 s "
                                       "after onset)")
    assert blink_text(ROW, "right") == "not enough blinks (3 outside the prompted movements)"
    assert texture_text(ROW, "chin_coactivation", "left") == "+12.4 %, 6.1 rest SDs"
    assert texture_text(ROW, "chin_coactivation", "right") == "not visible"
    assert texture_text({}, "neck_coactivation", "left") == "no movement to compare"
