"""Partial blinks: brief, fast, both-eye dips of smaller depth are blinks; slow narrowing,
winks, noise in shut eyes and dips on badly measured frames are not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synktrack.epochs import blinks_detect

FPS = 25.0
OPEN_MM = 9.0


def _frames(left: np.ndarray, right: np.ndarray | None = None,
            usable: np.ndarray | None = None) -> pd.DataFrame:
    n = len(left)
    return pd.DataFrame({"time_s": np.arange(n) / FPS, "eye_aperture_left_mm": left,
                         "eye_aperture_right_mm": left if right is None else right,
                         "usable": np.ones(n, bool) if usable is None else usable})


def _open(n: int = 100, seed: int = 0) -> np.ndarray:
    return OPEN_MM + np.random.default_rng(seed).normal(0, 0.1, n)


def _dip(ap: np.ndarray, at: int, depth: float, frames: int = 2) -> np.ndarray:
    out = ap.copy()
    out[at : at + frames] = (1 - depth) * OPEN_MM
    return out


def test_a_partial_blink_is_found_and_a_full_one_still_once() -> None:
    for depth in (0.35, 0.45):  # closes only a third to a half of the way: not below 50 %
        mask, n = blinks_detect(_frames(_dip(_open(), 50, depth)), np.ones(100, bool))
        assert n == 1, depth
        assert mask[50:52].all() and mask.sum() <= 4
    _, n = blinks_detect(_frames(_dip(_open(), 50, 0.9, 4)), np.ones(100, bool))
    assert n == 1  # a full blink is not counted a second time as a partial one


def test_two_partial_blinks_apart_are_two() -> None:
    ap = _dip(_dip(_open(), 30, 0.4), 70, 0.4)
    assert blinks_detect(_frames(ap), np.ones(100, bool))[1] == 2


def test_shallow_dips_and_noise_are_not_blinks() -> None:
    ap = _dip(_open(), 50, 0.15)  # 15 %: tracking noise on a real clip can do this
    assert blinks_detect(_frames(ap), np.ones(100, bool))[1] == 0
    noisy = OPEN_MM + np.random.default_rng(3).normal(0, 0.4, 300)
    assert blinks_detect(_frames(noisy), np.ones(300, bool))[1] == 0


def test_slow_narrowing_and_staying_narrow_are_not_blinks() -> None:
    t = np.arange(150) / FPS
    smile = OPEN_MM * (1 - 0.4 * np.clip((t - 2) / 0.5, 0, 1))  # a smile narrows the eyes
    assert blinks_detect(_frames(smile), np.ones(150, bool))[1] == 0
    slow = _open(150)  # down and up over a second: looking down, not a blink
    slow[40:65] = OPEN_MM * (1 - 0.45 * np.sin(np.linspace(0, np.pi, 25)))
    assert blinks_detect(_frames(slow), np.ones(150, bool))[1] == 0


def test_a_one_eyed_dip_is_not_a_blink() -> None:
    ap = _open()
    assert blinks_detect(_frames(_dip(ap, 50, 0.45), ap), np.ones(100, bool))[1] == 0


def test_noise_in_shut_eyes_is_not_a_train_of_partial_blinks() -> None:
    ap = _open(200)
    ap[60:160] = np.abs(np.random.default_rng(1).normal(1.0, 0.8, 100))  # laughing, shut
    assert blinks_detect(_frames(ap), np.ones(200, bool))[1] == 0


def test_dips_on_unusable_frames_are_not_counted() -> None:
    ap = _dip(_dip(_open(), 30, 0.4), 70, 0.9, 4)
    usable = np.ones(100, bool)
    usable[25:40] = usable[65:80] = False  # face too small / head turned around both dips
    assert blinks_detect(_frames(ap, usable=usable), np.ones(100, bool))[1] == 0
