"""Eyelid tracking: the layered lid matcher on drawn eyes, and the eye aperture on real media.

Fast tests draw an eye (textured skin with lashes and a crease, sclera, iris, pupil) whose
upper and lower lids slide over the eyeball by a known number of pixels, and check what
:class:`synktrack.lids.EyeLids` makes of it. Slow tests run the real landmark model:
injected narrowings on six London faces, full eye closure in a real clip and in a still,
and real blinks.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from synktrack.epochs import blink_bottoms, blinks_detect
from synktrack.lids import EYE_PX, PATCH_H, PATCH_W, EyeLids, LidSettings, eye_canon, warp_patch
from synktrack.measures.ids import EYE

# --------------------------------------------------------------------------- drawn eye

H, W = 200, 240
CX, CY = 120.0, 100.0
HALF_W = 36.0  # eye 72 px wide: 1.5 image px per canonical px
A_UP, A_LO = 14.0, 10.0  # rest half-apertures of the upper and lower lid
LABEL = "right"
K = EYE_PX / (2 * HALF_W)  # canonical px per image px


def _margins(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = np.clip(1.0 - ((x - CX) / HALF_W) ** 2, 0.0, None)
    return CY - A_UP * np.sqrt(u), CY + A_LO * np.sqrt(u)


def _skin() -> np.ndarray:
    """Lid skin at rest: smooth texture, a crease above the eye, lashes on the margins."""
    rng = np.random.default_rng(7)
    tex = cv2.GaussianBlur(rng.normal(0.0, 1.0, (H, W)).astype(np.float32), (0, 0), 2.0)
    skin = 150.0 + 40.0 * tex / tex.std()
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    up, lo = _margins(xx)
    skin -= 50.0 * np.exp(-(((yy - (up - 9.0)) / 1.5) ** 2))  # crease
    skin -= 90.0 * np.exp(-(((yy - (up - 1.0)) / 1.5) ** 2))  # upper lashes
    skin -= 40.0 * np.exp(-(((yy - (lo + 1.0)) / 1.2) ** 2))  # lower lashes
    return skin.astype(np.float32)


def _eyeball(iris_dx: float = 0.0) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ball = np.full((H, W), 215.0, np.float32)
    r = np.hypot(xx - CX - iris_dx, yy - CY)
    ball = np.where(r < 15.0, 90.0 + 25.0 * np.cos(r * 1.3) * np.cos(xx * 0.7), ball)
    ball = np.where(r < 5.0, 20.0, ball)
    ball += 80.0 * np.exp(-((xx - CX - iris_dx - 5) ** 2 + (yy - CY + 5) ** 2) / 3.0)
    return ball.astype(np.float32)


SKIN = _skin()


def draw_eye(d_up: float = 0.0, d_lo: float = 0.0, iris_dx: float = 0.0) -> np.ndarray:
    """Grey image of the eye with the upper lid d_up px lower and the lower lid d_lo px lower."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    up, lo = _margins(xx)
    lid_up = cv2.remap(SKIN, xx, yy - d_up, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    lid_lo = cv2.remap(SKIN, xx, yy - d_lo, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    a_up = np.clip(up + d_up - yy + 0.5, 0.0, 1.0)
    a_lo = np.clip(yy - (lo + d_lo) + 0.5, 0.0, 1.0) * (1.0 - a_up)
    img = a_up * lid_up + a_lo * lid_lo + (1.0 - a_up - a_lo) * _eyeball(iris_dx)
    return np.clip(img, 0, 255).astype(np.uint8)


def eye_points(d_up: float = 0.0, d_lo: float = 0.0, iris_dx: float = 0.0) -> np.ndarray:
    """(478, 2) landmarks: canthi, lid contours where the lids are, the iris centre."""
    pts = np.zeros((478, 2))
    e = EYE[LABEL]
    pts[e["outer"]] = (CX - HALF_W, CY)
    pts[e["inner"]] = (CX + HALF_W, CY)
    for ids, shift, which in ((e["upper"], d_up, 0), (e["lower"], d_lo, 1)):
        xs = np.linspace(CX - HALF_W, CX + HALF_W, len(ids))
        ys = _margins(xs)[which] + shift
        inner = [i for i in ids if i not in (e["outer"], e["inner"])]
        pts[inner] = np.column_stack([xs[1:-1], ys[1:-1]])
    up, lo = e["pairs"][0]
    pts[up] = (CX, CY - A_UP + d_up)
    pts[lo] = (CX, CY + A_LO + d_lo)
    pts[e["iris_centre"]] = (CX + iris_dx, CY)
    return pts


def transform(img: np.ndarray, pts: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out, pts @ m[:, :2].T + m[:, 2]


@pytest.fixture
def eye() -> EyeLids:
    """Lids of the drawn eye with its template taken from the rest frame."""
    lids = EyeLids(LABEL)
    assert lids.update(draw_eye(), eye_points(), blink=0.05) is not None
    assert lids.template is not None
    return lids


def _moved(found: tuple[np.ndarray, float] | None) -> np.ndarray:
    """Lid moves (image px, + = down) of the returned centre points."""
    assert found is not None
    pts, _ = found
    return pts[:, 1] - np.array([CY - A_UP, CY + A_LO])


def test_canonical_patch_puts_the_canthi_in_place() -> None:
    pts = eye_points()
    canon = eye_canon(pts, LABEL)
    assert canon is not None
    e = EYE[LABEL]
    mapped = pts[[e["outer"], e["inner"]]] @ canon[:2, :2].T + canon[:2, 2]
    np.testing.assert_allclose(mapped[:, 0], [PATCH_W / 2 - EYE_PX / 2, PATCH_W / 2 + EYE_PX / 2])
    up, lo = e["pairs"][0]
    lids = pts[[up, lo]] @ canon[:2, :2].T + canon[:2, 2]
    assert lids.mean(axis=0)[1] == pytest.approx(PATCH_H / 2)


def test_template_matches_itself(eye: EyeLids) -> None:
    canon = eye_canon(eye_points(), LABEL)
    assert eye.template is not None and canon is not None
    found = eye.template.match(warp_patch(draw_eye(), canon))
    assert abs(found.d_up) < 0.05 and abs(found.d_lo) < 0.05
    assert found.score > 0.999


@pytest.mark.parametrize(("d_up", "d_lo"), [(1.0, 0.0), (2.5, 0.0), (6.0, 0.0), (0.0, -1.0),
                                            (0.0, -3.0), (0.0, -6.0), (3.0, -2.0)])
def test_lid_moves_are_recovered_although_the_landmarks_stay(eye: EyeLids, d_up: float,
                                                             d_lo: float) -> None:
    """The landmarks report the rest position (they under-report); the image decides."""
    moved = _moved(eye.update(draw_eye(d_up, d_lo), eye_points(), blink=0.05))
    np.testing.assert_allclose(moved, [d_up, d_lo], atol=0.3)
    assert eye.weight == pytest.approx(1.0)


def test_widening_is_seen_less_exactly(eye: EyeLids) -> None:
    """Raising the upper lid uncovers eyeball the template never saw (its edge row stands
    in for it): recovered, less exactly than narrowing."""
    moved = _moved(eye.update(draw_eye(-3.0, 1.0), eye_points(), blink=0.05))
    np.testing.assert_allclose(moved, [-3.0, 1.0], atol=0.6)


def test_lid_moves_are_recovered_in_a_turned_scaled_face() -> None:
    """The patch follows the canthi: rotation and scale of the face do not read as lid moves."""
    m = cv2.getRotationMatrix2D((CX, CY), 12.0, 0.8)
    lids = EyeLids(LABEL)
    lids.update(*transform(draw_eye(), eye_points(), m), blink=0.05)
    img, pts = transform(draw_eye(4.0, -2.0), eye_points(), m)
    found = lids.update(img, pts, blink=0.05)
    assert found is not None
    up_lo, _ = found
    rest = transform(draw_eye(), eye_points(), m)[1][list(EYE[LABEL]["pairs"][0])]
    moved = np.linalg.norm(up_lo - rest, axis=1) * np.sign([4.0, -2.0])
    np.testing.assert_allclose(moved, [4.0 * 0.8, -2.0 * 0.8], atol=0.3)


def test_gaze_shift_is_not_a_lid_move(eye: EyeLids) -> None:
    """The eyeball follows the iris landmark: the model still explains the eye."""
    moved = _moved(eye.update(draw_eye(iris_dx=9.0), eye_points(iris_dx=9.0), blink=0.05))
    np.testing.assert_allclose(moved, [0.0, 0.0], atol=0.3)
    assert eye.last is not None and eye.last.top > 0.85


def test_clear_image_peak_wins_flat_one_leans_on_the_prior(eye: EyeLids) -> None:
    tpl = eye.template
    assert tpl is not None
    canon = eye_canon(eye_points(), LABEL)
    assert canon is not None
    clean = warp_patch(draw_eye(), canon)
    prior = (3.0, -3.0)  # canonical px: landmarks say the eye narrowed
    found = tpl.match(clean, prior=prior)
    assert abs(found.d_up) < 0.1 and abs(found.d_lo) < 0.1
    rng = np.random.default_rng(5)
    noisy = clean + rng.normal(0.0, 120.0, clean.shape).astype(np.float32)
    assert tpl.match(noisy).top < 0.6  # little left of the eye
    found = tpl.match(noisy, prior=prior)
    assert abs(found.d_up - prior[0]) < 1.0 and abs(found.d_lo - prior[1]) < 1.0


def test_a_shut_eye_reads_shut(eye: EyeLids) -> None:
    """Lids that meet in the image read as meeting, not as the landmarks' leftover gap."""
    shut = A_UP + A_LO - 1.0  # the landmarks keep a 1 px gap
    found = eye.update(draw_eye(A_UP + A_LO, 0.0), eye_points(shut, 0.0), blink=0.9)
    assert found is not None
    pts, _ = found
    assert 0.0 <= pts[1, 1] - pts[0, 1] <= 0.5


def test_closing_eye_the_landmarks_see_shut_is_theirs(eye: EyeLids) -> None:
    """Where the landmarks see the eye shut and the image does not see the lids closer,
    the landmarks take over (a shut eye shows no margin to match)."""
    shut = A_UP + A_LO - 1.0
    found = eye.update(draw_eye(), eye_points(shut, 0.0), blink=0.9)
    assert found is not None
    pts, weight = found
    assert weight == 0.0
    up, lo = EYE[LABEL]["pairs"][0]
    np.testing.assert_allclose(pts, eye_points(shut, 0.0)[[up, lo]], atol=1e-6)


def test_blend_weight_drops_at_once_and_recovers_over_frames(eye: EyeLids) -> None:
    shut = A_UP + A_LO - 1.0
    weights = []
    for d in (0.0, shut, 0.0, 0.0, 0.0, 0.0):  # the landmarks alone say "shut" once
        found = eye.update(draw_eye(), eye_points(d, 0.0), blink=0.05)
        assert found is not None
        weights.append(found[1])
    rise = LidSettings().recover
    assert weights[0] == pytest.approx(1.0) and weights[1] == 0.0
    assert weights[2] == pytest.approx(rise) and weights[3] == pytest.approx(2 * rise)
    assert weights[5] == pytest.approx(1.0)


def test_poor_fit_leans_on_the_landmarks(eye: EyeLids) -> None:
    """An eye that no longer looks like its template (here: noise over the lids) is not
    trusted over the landmarks: the estimate follows what the landmarks say."""
    rng = np.random.default_rng(3)
    img = draw_eye().astype(np.float32)
    img[60:140, 70:170] = rng.uniform(0, 255, (80, 100))
    found = eye.update(img.astype(np.uint8), eye_points(2.0, -2.0), blink=0.05)
    np.testing.assert_allclose(_moved(found), [2.0, -2.0], atol=0.5)
    assert found is not None and found[1] == 0.0  # lost: the landmarks alone


def test_template_waits_for_open_eyes_and_is_replaced_when_they_open() -> None:
    s = LidSettings()
    lids = EyeLids(LABEL, s)
    narrow = (A_UP * 0.6, -A_LO * 0.3)
    for _ in range(s.max_wait - 1):
        assert lids.update(draw_eye(*narrow), eye_points(*narrow), blink=0.8) is None
    assert lids.update(draw_eye(*narrow), eye_points(*narrow), blink=0.8) is not None
    first = lids.template
    assert first is not None
    lids.update(draw_eye(), eye_points(), blink=0.05)  # the eye opens: a new template
    assert lids.template is not None and lids.template is not first
    assert lids.template.aperture > first.aperture * s.reopen


# --------------------------------------------------------------------------- blinks


def _blinks(t: np.ndarray, ap: np.ndarray, usable: np.ndarray | None = None) -> list[int]:
    """Blink bottoms as the analysis finds them (both eyes given the same series)."""
    frames = pd.DataFrame({"time_s": t, "eye_aperture_left_mm": ap, "eye_aperture_right_mm": ap})
    rest = np.isfinite(ap) if usable is None else usable
    blink, _ = blinks_detect(frames, rest)
    return blink_bottoms(frames, blink)


def test_blinks_are_found_not_closures_or_noise() -> None:
    t = np.arange(300) / 30.0
    rng = np.random.default_rng(0)
    ap = 10.0 + 0.3 * rng.standard_normal(300)
    for centre in (40, 150):  # two blinks, 5 frames deep
        ap[centre - 2 : centre + 3] = [6.0, 2.0, 1.0, 2.5, 6.5]
    ap[200:260] = 0.5 + 0.2 * rng.standard_normal(60)  # a 2 s closure with noise
    ap[100] = np.nan
    assert _blinks(t, ap) == [40, 150]


# --------------------------------------------------------------------------- real media

LONDON = ("001", "004", "005", "006", "021", "024")
SENSITIVITY_MEDIAN = 0.9
SENSITIVITY_MIN = 0.6
LEAK_MAX = 0.1
SYMMETRIC_MIN = 0.7
CLOSED_MAX = 0.05  # the goal for the Pexels shut stretch; measured 0.03
STILL_CLOSED_MAX = 0.15  # two frames 15 s apart, a grimace after a smile; measured 0.08


@pytest.fixture(scope="module")
def fidelity(london_faces: dict[str, np.ndarray], model_path: Path) -> pd.DataFrame:
    from synktrack.fidelity import eye_fidelity_run

    runs = [eye_fidelity_run(img, model_path, name=name, fractions=(0.1, 0.3, 0.5))
            for name, img in london_faces.items() if name in LONDON]
    df = pd.concat(runs, ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print("\n", df.round(3).to_string())
    return df


@pytest.mark.slow
def test_one_sided_narrowing_is_recovered_and_kept_on_its_side(fidelity: pd.DataFrame) -> None:
    one = fidelity[fidelity["kind"] == "one-sided"]
    assert len(one) == len(LONDON) * 2 * 2 * 3
    assert one["image_sensitivity"].median() >= SENSITIVITY_MEDIAN
    bad = (one["image_sensitivity"] < SENSITIVITY_MIN) | (one["image_leak"] > LEAK_MAX)
    assert not bad.any(), "\n" + one[bad].round(3).to_string()
    # and it is the image that does it: the landmarks alone see a third of it
    assert one["landmarks_sensitivity"].median() < 0.6 * one["image_sensitivity"].median()


@pytest.mark.slow
def test_symmetric_narrowing_is_recovered(fidelity: pd.DataFrame) -> None:
    sym = fidelity[fidelity["kind"] == "symmetric"]
    assert len(sym) == len(LONDON) * 2
    bad = sym["image_sensitivity"] < SYMMETRIC_MIN
    assert not bad.any(), "\n" + sym[bad].round(3).to_string()


def _analyse(frames: list[np.ndarray], model_path: Path, fps: float) -> pd.DataFrame:
    from synktrack.fidelity import landmark_frames
    from synktrack.measures import MeasureSettings, measures_process

    rec = landmark_frames(frames, model_path, fps=fps)
    return measures_process(rec, settings=MeasureSettings(max_jitter_mm=np.inf))


def _video(path: Path, stop_s: float | None = None) -> tuple[list[np.ndarray], float]:
    from synktrack.io import open_source

    with open_source(path) as src:
        frames = [f.image for f in src.frames() if stop_s is None or f.time_s <= stop_s]
        return frames, float(src.fps_nominal or 30.0)


def _mean_aperture(df: pd.DataFrame) -> np.ndarray:
    return ((df["eye_aperture_left_mm"] + df["eye_aperture_right_mm"]) / 2).to_numpy()


@pytest.fixture(scope="module")
def langer(shared_dir: Path, model_path: Path) -> pd.DataFrame:
    """WolfgangLanger clip up to 8 s: eyes shut until ~5.7 s, then open."""
    frames, fps = _video(shared_dir / "media" / "videos" / "pyfeat__WolfgangLanger_Pexels.mp4",
                         stop_s=8.0)
    return _analyse(frames, model_path, fps)


@pytest.mark.slow
def test_shut_eyes_read_as_closed_in_a_clip(langer: pd.DataFrame) -> None:
    t, ap = langer["time_s"].to_numpy(), _mean_aperture(langer)
    shut = np.nanmedian(ap[(t >= 1.0) & (t <= 3.0)])
    opened = np.nanmedian(ap[(t >= 6.0) & (t <= 8.0)])
    assert opened > 5.0, opened
    assert shut <= CLOSED_MAX * opened, (shut, opened)


@pytest.mark.slow
def test_closed_eyes_still_reads_as_closed(shared_dir: Path, model_path: Path) -> None:
    """The eyes-closed still after open-eye frames of the same clip.

    Shut lids are the landmarks' call; their centre points stay about a pixel apart on a
    shut eye (here ~1 mm, 9-13 % of the open aperture), hence the looser limit.
    """
    media = shared_dir / "media"
    frames, fps = _video(media / "videos" / "pyfeat__WolfgangLanger_Pexels.mp4", stop_s=7.0)
    still = cv2.imread(str(media / "images" / "derived__pexels3063838_eyes_closed_f0030.jpg"))
    frames = frames[-24:] + [cv2.cvtColor(still, cv2.COLOR_BGR2RGB)]
    df = _analyse(frames, model_path, fps)
    for side in ("left", "right"):
        ap = df[f"eye_aperture_{side}_mm"].to_numpy()
        assert ap[-1] <= STILL_CLOSED_MAX * np.nanmedian(ap[:-1]), (side, ap[-1], ap[:-1])


@pytest.mark.slow
def test_real_blinks_are_sharp_dips(shared_dir: Path, model_path: Path) -> None:
    frames, fps = _video(shared_dir / "media" / "videos" / "medusa__example_vid_pexels3063839.mp4")
    df = _analyse(frames, model_path, fps)
    t, ap = df["time_s"].to_numpy(), _mean_aperture(df)
    found = t[_blinks(t, ap, df["usable"].to_numpy().astype(bool))]
    for expected in (2.0, 6.1):  # MANIFEST
        assert np.abs(found - expected).min() <= 0.2, found
    # the image measure dips as deep as the landmark one does: blinks are not damped
    lm = ((df["eye_aperture_landmarks_left_mm"] + df["eye_aperture_landmarks_right_mm"])
          / 2).to_numpy()
    for expected in (2.0, 6.1):
        near, dip = np.abs(t - expected) <= 1.0, np.abs(t - expected) <= 0.2
        depth = np.nanmin(ap[dip]) / np.nanpercentile(ap[near], 80)
        depth_lm = np.nanmin(lm[dip]) / np.nanpercentile(lm[near], 80)
        assert depth <= 0.5 and depth <= depth_lm + 0.1, (expected, depth, depth_lm)
    # at the bottom of the full blink near 6.1 s both eyes are visibly shut: they read shut
    # (the landmarks keep a 1-1.4 mm gap there, 16 % of the open aperture)
    bottom = np.abs(t - 6.1) <= 0.15
    rest = np.nanmedian(ap[np.abs(t - 6.1) <= 1.0])
    assert np.nanmin(ap[bottom]) <= 0.10 * rest
    # at the one-frame bottom of the blink near 2.0 s the patient's left eye (the image's
    # right) is visibly shut, the right one still shows a slit of sclera; the landmarks
    # read both at about 30 % of open
    left = df["eye_aperture_left_mm"].to_numpy()
    bottom = np.abs(t - 2.0) <= 0.05
    assert np.nanmin(left[bottom]) <= 0.10 * np.nanmedian(left[np.abs(t - 2.0) <= 1.0])
    # and it does not jump away from the landmark measure between frames
    for side in ("left", "right"):
        gap = df[f"eye_aperture_{side}_mm"] - df[f"eye_aperture_landmarks_{side}_mm"]
        assert np.nanquantile(np.abs(np.diff(gap.to_numpy())), 0.99) < 2.0
