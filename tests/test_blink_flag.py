"""The blink-locked pull raises the synkinesis flag only when its interval excludes zero, the
pull exceeds FlagRules.blink_pull_mm, and it is one-sided."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synktrack.blink_coupling import CouplingStatus, SideCoupling
from synktrack.indices import FlagRules, session_indices

NO_EPOCHS = pd.DataFrame(columns=["usable", "movement", "side"])


def _side(pull: float, half: float, n: int = 20) -> SideCoupling:
    return SideCoupling(CouplingStatus.OK, n, pull, pull - half, pull + half, 0.3)


def _flags(left: SideCoupling, right: SideCoupling) -> dict[str, object]:
    return session_indices(NO_EPOCHS, {}, blink={"left": left, "right": right})


def test_clear_one_sided_pull_is_flagged_on_its_side() -> None:
    ix = _flags(_side(0.05, 0.1), _side(1.0, 0.3))
    assert ix["synkinesis_suspected_right"] == 1 and ix["synkinesis_suspected_left"] == 0
    assert "at each blink the right mouth corner rises 1.0 mm" in str(
        ix["synkinesis_reason_right"])
    assert ix["blink_pull_right_mm"] == pytest.approx(1.0)
    assert ix["blink_pull_asymmetry_mm"] == pytest.approx(0.95)


@pytest.mark.parametrize("right", [
    _side(1.0, 1.2),  # interval includes zero: could be nothing
    _side(FlagRules().blink_pull_mm - 0.05, 0.1),  # real but below the stated threshold
    _side(-1.0, 0.3),  # the corner goes down, not a pull
])
def test_no_flag_without_a_clear_pull(right: SideCoupling) -> None:
    assert _flags(_side(0.0, 0.1), right)["synkinesis_suspected_right"] == 0


def test_both_corners_pulled_alike_is_not_one_sided() -> None:
    ix = _flags(_side(0.9, 0.2), _side(1.0, 0.2))
    assert ix["synkinesis_suspected_left"] == 0 and ix["synkinesis_suspected_right"] == 0


def test_not_enough_blinks_is_a_status_never_a_number_or_a_flag() -> None:
    few = SideCoupling(CouplingStatus.NOT_ENOUGH_BLINKS, 3)
    ix = _flags(few, few)
    for side in ("left", "right"):
        assert ix[f"blink_pull_{side}_status"] == "not_enough_blinks"
        assert ix[f"blink_pull_{side}_blinks_n"] == 3
        assert np.isnan(ix[f"blink_pull_{side}_mm"])  # type: ignore[arg-type]
        assert np.isnan(ix[f"blink_pull_{side}_ci_low_mm"])  # type: ignore[arg-type]
        assert ix[f"synkinesis_suspected_{side}"] == 0
    none = session_indices(NO_EPOCHS, {})
    assert none["blink_pull_left_status"] == "not_enough_blinks"
