"""Eyelid margins found in the image: lids sliding over the eyeball.

The landmark model under-reports partial eye narrowing (it reads a third of
it) and leaks one eye's narrowing into the other. Here each eye is resampled
into a canonical, eye-aligned patch (the eye ``EYE_PX`` pixels wide) and
compared with the same patch of an open-eye *template* frame under a layered
model:

* each **lid** (its margin and the skin beyond) slides along the eye's
  vertical, the upper one by ``d_up`` and the lower one by ``d_lo``
  (canonical pixels, + = down);
* the **eyeball** between the margins is the template's, moved with the iris
  (gaze); the lids cover it or uncover it.

Every candidate image is linear in the template, so the normalised
cross-correlation (NCC) of a frame with a whole grid of ``(d_up, d_lo)``
candidates costs a few small matrix products (precomputed per template).

The landmarks are not thrown away. Their lid positions act as a broad prior
on the shifts, and the image's NCC surface as a likelihood that is sharp when
the model explains the patch well (a clear peak wins) and flat when it does
not (gaze, pose or expression changed the eye beyond the model: the
landmarks win). A shut eye shows no margin to match, and the landmarks do
see full closure, so as the landmark aperture drops from a third to a sixth
of the template's the estimate hands over to the landmarks, smoothly (so it
does for a lost eye, e.g. a hand over it); the hand-over weight may drop at
once but recovers over a few frames, so the series never flickers between
the two measures.

The shifts are found in two stages from the same template: first over a
wide band of columns (a third of the eye) with a landmark prior, then at the
centre over a narrow band whose lid skin stretches towards an anchor (brow,
cheek) as real lid skin does, with the first stage's answer as its prior.
The wide stage is robust to gaze, lashes and folds; the narrow one reads the
centre margin itself, where a lid moves most.

Templates come from an open eye (low eyeBlink score); one taken on eyes that
were shut or still opening is replaced once they open. Each frame's patch is
placed by the head registration while it agrees with the canthi, else by the
canthi themselves (head turns), and the eyeball follows the iris landmark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from synktrack.margins import canthal_map
from synktrack.measures.geometry import apply_affine
from synktrack.measures.ids import EYE

PATCH_W = 64  # canonical eye patch: the eye is EYE_PX wide, centred
PATCH_H = 96
EYE_PX = 48.0


OPEN_EYE_MAX_BLINK = 0.35
"""Largest MediaPipe eyeBlink score of a frame taken as a reference with open eyes (the lid
templates here and the registration reference of :mod:`synktrack.refine`)."""
MAX_WAIT_FRAMES = 15
"""Face frames to wait for open eyes before taking a reference or template anyway."""


@dataclass(frozen=True)
class LidSettings:
    """Lid model, search and blending.

    Lengths are canonical pixels (the eye ``EYE_PX`` wide) unless said to be
    in rest apertures (the template's centre lid gap).

    Attributes
    ----------
    half_cols, col_step
        Half width of the matched band around the eye centre, and the
        stride of its columns.
    skin
        Lid skin matched beyond each margin, in rest apertures.
    far_weight
        Weight of the skin farthest from the margin (1 at the margin): skin
        away from the margin folds and bunches rather than sliding.
    eye_weight
        Weight of the eyeball between the margins.
    step
        Candidate grid step; the best candidate is refined by a parabola.
    upper_range, lower_range
        Candidate lid shifts, in rest apertures.
    prior_sigma
        Width of the landmarks' prior on the shifts, in rest apertures.
    evidence
        Sharpness of the image likelihood: ``evidence / (1 - max NCC + 0.01)**2``
        per unit of NCC (0: no landmark prior).
    score_lost, score_sure
        Best NCC at which the image estimate gets weight 0 and 1 (lost eye,
        e.g. a hand over it).
    closed, opened
        Landmark aperture / template's at which the image estimate gets
        weight 0 and 1.
    recover
        Largest rise of the blend weight per frame (it may drop at once).
    shut_ratio
        Landmark aperture / template's below which lids that meet at the
        band's narrowest column are taken to meet at its centre (a shut eye);
        above it a nearly closed eye keeps the gap the model can show. The
        same as ``opened``: the landmarks keep a 1-1.4 mm gap on shut lids,
        and in a fast blink (motion blur) a third of the open aperture.
    open_blink
        Largest eyeBlink score of a template frame.
    max_wait
        Frames to wait for open eyes before taking a template anyway.
    reopen
        Landmark aperture / template's above which a template taken on a
        narrowed eye is replaced (the eye opened since).
    settle, widen
        For ``settle`` frames after a template, a wider open eye (landmark
        aperture above ``widen`` times the template's) replaces it: eyes
        still opening at the start of a clip.
    place_tol
        Disagreement of the head registration with the canthi up to which it
        places the patch; beyond three times this, the canthi do.
    gaze_deadband
        Iris moves (x, y) within the iris landmark's jitter, ignored when the
        eyeball follows the gaze.
    stretch
        How the lid skin beyond each margin moves: 0 rigidly with the margin,
        ``k`` > 0 stretched towards an anchor ``EYE_PX / k`` away (the brow,
        the cheek) that does not move.
    fine_half_cols, fine_skin, fine_eye_weight, fine_stretch
        The second, fine stage (0 columns: none): a band this narrow around
        the centre column (every column), this much skin, this eyeball weight
        and skin stretch. The wide band finds the lids robustly but averages
        a shift that is largest at the centre and, with rigid skin, reads
        a stretched lid's move short; the fine stage reads the centre margin.
    fine_sigma, fine_radius
        The fine stage's prior width around the wide band's shifts (an image
        prior, not the landmarks'), and its hard search radius, in rest
        apertures.
    """

    half_cols: int = 8
    col_step: int = 2
    skin: float = 0.7
    far_weight: float = 0.3
    eye_weight: float = 0.35
    step: float = 0.5
    upper_range: tuple[float, float] = (-0.6, 1.05)
    lower_range: tuple[float, float] = (-0.8, 0.3)
    prior_sigma: float = 0.25
    evidence: float = 0.3
    score_lost: float = 0.4
    score_sure: float = 0.7
    closed: float = 0.15
    opened: float = 0.35
    recover: float = 0.34
    shut_ratio: float = 0.35
    open_blink: float = OPEN_EYE_MAX_BLINK
    max_wait: int = MAX_WAIT_FRAMES
    reopen: float = 1.3
    settle: int = 15
    widen: float = 1.15
    place_tol: float = 1.0
    gaze_deadband: tuple[float, float] = (1.5, 2.5)
    stretch: float = 0.0
    fine_half_cols: int = 4
    fine_skin: float = 0.3
    fine_eye_weight: float = 0.7
    fine_sigma: float = 0.1
    fine_radius: float = 0.3
    fine_stretch: float = 0.75


def _smoothstep(x: float, lo: float, hi: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def eye_canon(points: np.ndarray, label: str, y0: float | None = None) -> np.ndarray | None:
    """3x3 map from image pixels into the canonical patch of one eye, or None.

    The canthal axis is horizontal, the eye ``EYE_PX`` wide and centred
    across, y points down the face. The canthi's mid-point goes to row ``y0``;
    by default ``y0`` puts the centre lid pair's mid-point on the middle row.
    """
    e = EYE[label]
    found = canthal_map(points, label, EYE_PX, min_width=8.0)
    if found is None:
        return None
    c, s, mx, my = found
    if y0 is None:
        up, lo = e["pairs"][0]
        dx = (points[up, 0] + points[lo, 0]) / 2 - mx
        dy = (points[up, 1] + points[lo, 1]) / 2 - my
        y0 = PATCH_H / 2 - float(-s * dx + c * dy)
    return np.array([[c, s, PATCH_W / 2 - (c * mx + s * my)],
                     [-s, c, y0 - (-s * mx + c * my)],
                     [0.0, 0.0, 1.0]])


def warp_patch(gray: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Canonical patch (float32) of a grey image through the map ``m``."""
    patch = cv2.warpAffine(gray, m[:2], (PATCH_W, PATCH_H), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    return patch.astype(np.float32)


def _rows(img: np.ndarray, y: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``img[y, cols]`` with linear interpolation along y (y: (..., len(cols)))."""
    y = np.clip(y, 0.0, img.shape[0] - 1.001)
    y0 = np.floor(y).astype(np.intp)
    f = y - y0
    c = np.broadcast_to(cols, y.shape)
    return img[y0, c] * (1.0 - f) + img[y0 + 1, c] * f


@dataclass(frozen=True)
class LidMatch:
    """Lid shifts since the template (canonical px, + = down) and match quality.

    ``score`` is the NCC at the chosen shifts, ``top`` the best NCC found.
    """

    d_up: float
    d_lo: float
    score: float
    top: float


class LidTemplate:
    """One eye's template patch and its precomputed layered-model candidates.

    Candidate ``(i, j)`` predicts the matched window as
    ``E (1 - m_i - n_j) + A_i + B_j``: ``m_i`` is 1 on the rows the upper lid
    covers when shifted by ``du[i]`` (soft at its margin) and ``A_i`` its
    content there, likewise ``n_j`` and ``B_j`` for the lower lid, and ``E``
    is the template's eyeball moved with the gaze. Lids may meet but not
    cross (closing further is left to the landmarks).

    Parameters
    ----------
    patch
        Canonical patch of the template frame.
    upper, lower
        Lid margin curves in the patch, each (x, y) with x increasing.
    up_y, lo_y
        Margins at the centre column (the tracked lid points).
    settings
        Model settings.
    """

    def __init__(self, patch: np.ndarray, upper: tuple[np.ndarray, np.ndarray],
                 lower: tuple[np.ndarray, np.ndarray], up_y: float, lo_y: float,
                 settings: LidSettings) -> None:
        self.up_y, self.lo_y = float(up_y), float(lo_y)
        self.settings = settings
        ref = patch.astype(np.float64)
        self._ref32 = patch.astype(np.float32)
        half = settings.half_cols
        self.cols = np.arange(PATCH_W // 2 - half, PATCH_W // 2 + half, settings.col_step)
        self._upper, self._lower = upper, lower
        mu = np.interp(self.cols, *upper)
        ml = np.maximum(np.interp(self.cols, *lower), mu)
        self.aperture = ap = max(self.lo_y - self.up_y, 3.0)
        skin = max(settings.skin * ap, 4.0)
        r0 = max(int(np.floor(mu.min() - skin)), 0)
        r1 = min(int(np.ceil(ml.max() + skin)) + 1, PATCH_H)
        self.rows = slice(r0, r1)
        ys = np.arange(r0, r1, dtype=np.float64)[:, None] + np.zeros(len(self.cols))
        self._ys = ys
        self._eye_rows = (mu - 0.5, ml + 0.5)  # the eyeball, with its anti-aliased rows
        step = self.step = settings.step
        self.du = step * np.arange(np.floor(settings.upper_range[0] * ap / step),
                                   np.ceil(settings.upper_range[1] * ap / step) + 1)
        self.dl = step * np.arange(np.floor(settings.lower_range[0] * ap / step),
                                   np.ceil(settings.lower_range[1] * ap / step) + 1)
        far = settings.far_weight
        w = np.where(ys < mu, 1.0 - (1.0 - far) * np.clip((mu - ys) / skin, 0.0, 1.0),
                     np.where(ys > ml, 1.0 - (1.0 - far) * np.clip((ys - ml) / skin, 0.0, 1.0),
                              settings.eye_weight)).ravel()
        self._w, self._n = w, float(w.sum())

        def layer(d: np.ndarray, m: np.ndarray, sgn: float,
                  k: float) -> tuple[np.ndarray, np.ndarray]:
            """Products of one lid shifted by each d (sgn +1: upper lid).

            ``k``: the skin beyond the margin stretches towards an anchor ``EYE_PX / k``
            away (0: rigid).
            """
            dd = d[:, None, None]
            if k > 0:
                reach = EYE_PX / k
                f = 1.0 / np.maximum(1.0 + sgn * dd / reach, 0.2)
                src = m + (ys[None] - m - dd) * f
                src = np.where(sgn * (m - ys[None]) > reach, ys[None], src)
            else:
                src = ys[None] - dd
            lid = _rows(ref, src, self.cols).reshape(len(d), -1)
            cover = np.clip(sgn * (m + dd - ys[None]) + 0.5, 0.0, 1.0).reshape(len(d), -1)
            a = cover * lid
            # rows: cover*w, a*w, cover^2*w, a*cover*w -- dotted with [e, xe, ee, x]
            mats = np.stack([cover * w, a * w, cover * cover * w, a * cover * w])
            sums = np.stack([(a * w).sum(1), (a * a * w).sum(1)])
            return mats.astype(np.float32), sums

        self._mu, self._su = layer(self.du, mu, 1.0, settings.stretch)
        self._ml, self._sl = layer(self.dl, ml, -1.0, settings.stretch)
        gap = self._gap = float((ml - mu).min())
        self._valid = (self.du[:, None] - self.dl[None]) <= gap + step
        self.texture = float(ref[self.rows][:, self.cols].std())
        self.iris = np.zeros(2)  # iris centre in the template frame (canonical px)
        self._w32 = w.astype(np.float32)
        self._still_eye = self.eyeball()

    def eyeball(self, gaze: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """The template's eyeball over the window, moved by ``gaze`` (x, y), flattened.

        Rows are sampled between the template's margins only, so the eyeball
        never borrows lid skin.
        """
        xs = self.cols - gaze[0]  # per column
        if gaze == (0.0, 0.0):
            top, bot = self._eye_rows
        else:
            top = np.interp(xs, *self._upper) - 0.5
            bot = np.maximum(np.interp(xs, *self._lower) + 0.5, top)
        ys = np.clip(self._ys - gaze[1], top, bot).astype(np.float32)
        xs32 = np.broadcast_to(xs.astype(np.float32), ys.shape)
        out = cv2.remap(self._ref32, np.ascontiguousarray(xs32), ys, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        return out.ravel()

    def window(self, gray: np.ndarray, canon: np.ndarray) -> np.ndarray:
        """The matched window of an image, resampled through ``canon`` (flattened).

        The same as cutting it out of ``warp_patch(gray, canon)``, for less work.
        """
        c0, r0 = int(self.cols[0]), self.rows.start
        m = canon[:2].copy()
        m[:, 2] -= (c0, r0)
        size = (int(self.cols[-1]) - c0 + 1, self.rows.stop - r0)
        out = cv2.warpAffine(gray, m, size, flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        return out[:, :: self.settings.col_step].astype(np.float32).ravel()

    def _frame(self, x: np.ndarray, gaze: tuple[float, float]) -> tuple[np.ndarray, ...]:
        """Per-frame vectors and weighted sums: the window x and the moved eyeball e."""
        e = self._still_eye if gaze == (0.0, 0.0) else self.eyeball(gaze)
        vecs = np.stack([e, x * e, e * e, x, x * x], axis=1)
        s_e, s_xe, s_ee, sx, sxx = (self._w32 @ vecs).astype(np.float64)
        var_x = max(sxx - sx * sx / self._n, 1e-9)
        return vecs[:, :4], np.array([sx, var_x, s_e, s_xe, s_ee])

    @staticmethod
    def _lid_terms(mats: np.ndarray, sums: np.ndarray,
                   vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One lid's share of the sums over its candidates (see :meth:`_ncc`)."""
        r = (mats.reshape(-1, mats.shape[-1]) @ vecs).astype(np.float64).reshape(4, -1, 4)
        me, mxe, mee = r[0, :, 0], r[0, :, 1], r[0, :, 2]
        return (sums[0] - me,  # sum of w (prediction - E)
                r[1, :, 3] - mxe,  # sum of w x (prediction - E)
                sums[1] - 2 * mee + r[2, :, 2] + 2 * (r[1, :, 0] - r[3, :, 0]))  # squares

    def _ncc(self, up: tuple[np.ndarray, np.ndarray], lo: tuple[np.ndarray, np.ndarray],
             valid: np.ndarray, frame: tuple[np.ndarray, ...]) -> np.ndarray:
        """NCC table of a block of candidates (-inf where invalid).

        ``up`` and ``lo`` are the (4, n, pixels) matrices and (2, n) sums of
        the block's upper and lower lid candidates.
        """
        vecs, (sx, var_x, s_e, s_xe, s_ee) = frame
        su, xu, pu = self._lid_terms(*up, vecs)
        sl, xl, pl = self._lid_terms(*lo, vecs)
        sum_p = s_e + su[:, None] + sl[None]
        x_dot = s_xe + xu[:, None] + xl[None]
        p_dot = s_ee + pu[:, None] + pl[None]
        var_p = np.maximum(p_dot - sum_p * sum_p / self._n, 1e-9)
        ncc = (x_dot - sx * sum_p / self._n) / np.sqrt(var_p * var_x)
        return np.where(valid, ncc, -np.inf)

    def table(self, patch: np.ndarray, gaze: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """NCC of a patch with every (d_up, d_lo) candidate (-inf where invalid)."""
        x = patch[self.rows][:, self.cols].ravel()
        return self._ncc((self._mu, self._su), (self._ml, self._sl), self._valid,
                         self._frame(x, gaze))

    def match(self, patch: np.ndarray, gaze: tuple[float, float] = (0.0, 0.0),
              prior: tuple[float, float] | None = None,
              around: tuple[float, float] | None = None) -> LidMatch:
        """Most probable lid shifts for a canonical patch of this eye.

        Parameters
        ----------
        patch
            Canonical patch of the frame, or just its window (:meth:`window`).
        gaze
            The iris's move since the template.
        prior
            Lid shifts the landmarks suggest, if any (see the module notes).
        """
        s = self.settings
        x = patch[self.rows][:, self.cols].ravel() if patch.ndim == 2 else patch
        frame = self._frame(x, gaze)
        var = 2.0 * (s.prior_sigma * self.aperture) ** 2

        def posterior(ncc: np.ndarray, du: np.ndarray, dl: np.ndarray,
                      top: float) -> np.ndarray:
            if prior is None or s.evidence <= 0:
                return ncc
            sharp = s.evidence / (1.0 - top + 0.01) ** 2
            return sharp * (ncc - top) - ((du[:, None] - prior[0]) ** 2
                                          + (dl[None] - prior[1]) ** 2) / var

        ncc = self._ncc((self._mu, self._su), (self._ml, self._sl), self._valid, frame)
        if around is not None:
            r = s.fine_radius * self.aperture + self.step
            near = ((np.abs(self.du - around[0]) <= r)[:, None]
                    & (np.abs(self.dl - around[1]) <= r)[None])
            if near.any():
                ncc = np.where(near, ncc, -np.inf)
        top = float(ncc.max())
        post = posterior(ncc, self.du, self.dl, top)
        i, j = np.unravel_index(int(np.argmax(post)), post.shape)
        d_up = self.du[i] + _vertex(post[:, j], int(i)) * self.step
        d_lo = self.dl[j] + _vertex(post[i, :], int(j)) * self.step
        return LidMatch(float(d_up), float(d_lo), float(ncc[i, j]), top)

    def shut(self, found: LidMatch) -> LidMatch:
        """``found`` with the lids met at the centre if they meet where the band is narrowest.

        The model cannot let the lids cross, so lids that touch at the band's edge would
        otherwise leave the centre a gap the image does not show.
        """
        if found.d_up - found.d_lo < self._gap - self.step:
            return found
        mid = (self.up_y + found.d_up + self.lo_y + found.d_lo) / 2
        return LidMatch(mid - self.up_y, mid - self.lo_y, found.score, found.top)


def _vertex(v: np.ndarray, i: int) -> float:
    """Sub-sample offset of a peak from a parabola through its neighbours."""
    if 0 < i < len(v) - 1:
        a, b, c = float(v[i - 1]), float(v[i]), float(v[i + 1])
        den = a - 2 * b + c
        if math.isfinite(a) and math.isfinite(c) and den < 0:
            return min(max(0.5 * (a - c) / den, -0.5), 0.5)
    return 0.0


def _curve(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(pts[:, 0])
    return pts[order, 0], pts[order, 1]


class EyeLids:
    """Lid margins of one eye through a clip: template life cycle and blending.

    Parameters
    ----------
    label
        MediaPipe eye label (``"right"`` or ``"left"``).
    settings
        Model and blending settings.

    Attributes
    ----------
    weight
        Weight of the image estimate in the last frame (0 = landmarks alone).
    fit
        Evidence behind the last frame's aperture, 0..1: how well the lid
        model explained the patch (the best NCC through
        ``score_lost``..``score_sure``), or, where the landmarks see the eye
        shut and take over, their share; 1 on the template frame, NaN before
        there is a template. Low where the eye is hidden, blurred or changed
        beyond the model.
    last
        The last :class:`LidMatch`, for diagnostics.
    """

    def __init__(self, label: str, settings: LidSettings | None = None) -> None:
        self.label = label
        self.settings = settings or LidSettings()
        self.template: LidTemplate | None = None
        self.fine: LidTemplate | None = None
        self.weight = 0.0
        self.fit = float("nan")
        self.last: LidMatch | None = None
        e = EYE[label]
        self._up, self._lo = e["pairs"][0]
        self._canthi = [e["outer"], e["inner"]]
        self._iris = e["iris_centre"]
        self._y0 = PATCH_H / 2  # row of the canthi's mid-point in the template's patch
        self._canon_ref: np.ndarray | None = None  # head reference image -> template patch
        self._lm_aperture = 1.0  # landmark lid gap in the template frame
        self._narrow = False  # template taken before the eye was seen open
        self._waited = 0
        self._age = 0  # open-eye frames since the template was taken

    def update(self, gray: np.ndarray, points_px: np.ndarray, blink: float,
               to_ref: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
        """Lid margins in this frame.

        Parameters
        ----------
        gray
            Grey frame.
        points_px
            (478, 2) landmarks of this frame in image pixels.
        blink
            eyeBlink score (a template is only taken from an open eye).
        to_ref
            (2, 3) similarity from this image onto the head reference image,
            if known: it places the patch without landmark jitter while it
            agrees with the canthi.

        Returns
        -------
        (points, weight) or None
            (2, 2) upper and lower centre margin points in image pixels, and the
            weight of the image estimate in them (0 = landmarks alone); None
            while there is no template (use the landmarks).
        """
        s = self.settings
        self.fit = float("nan")
        to_ref3 = None
        if to_ref is not None and np.isfinite(to_ref).all():
            to_ref3 = np.eye(3)
            to_ref3[:2] = to_ref
        canon = self._place(points_px, to_ref3)
        if canon is None:
            return None
        lm = apply_affine(points_px[[self._up, self._lo]], canon)[:, 1]
        ratio = float(lm[1] - lm[0]) / self._lm_aperture
        if self.template is not None and blink <= s.open_blink:
            self._age += 1
            if (self._narrow and ratio > s.reopen) or (self._age <= s.settle and ratio > s.widen):
                self.template = None  # taken on a narrowed or opening eye: take it again
        if self.template is None:
            self._waited += 1
            if blink > s.open_blink and self._waited < s.max_wait:
                return None
            if not self._build(gray, points_px, to_ref3, narrow=blink > s.open_blink):
                return None
            assert self.template is not None
            self.weight = self.fit = 1.0
            return self._points(points_px, to_ref3, self.template.up_y,
                                self.template.lo_y), 1.0
        tpl = self.template
        # The iris's move since the template, beyond the landmark's own jitter.
        move = apply_affine(points_px[[self._iris]], canon)[0] - tpl.iris
        gx, gy = (math.copysign(min(max(abs(float(m)) - d, 0.0), 0.3 * EYE_PX), float(m))
                  for m, d in zip(move, s.gaze_deadband, strict=True))
        prior = (float(lm[0]) - tpl.up_y, float(lm[1]) - tpl.lo_y)
        found = tpl.match(tpl.window(gray, canon), (gx, gy), prior)
        if self.fine is not None:
            # The centre margin, read near the wide band's answer (see LidSettings).
            coarse = (found.d_up, found.d_lo)
            near = self.fine.match(self.fine.window(gray, canon), (gx, gy), prior=coarse,
                                   around=coarse)
            found = LidMatch(near.d_up, near.d_lo, found.score, found.top)
        if ratio < s.shut_ratio:  # the landmarks see the eye mostly shut too
            found = tpl.shut(found)
        self.last = found
        fit = _smoothstep(found.top, s.score_lost, s.score_sure)
        opened = _smoothstep(ratio, s.closed, s.opened)
        # Closing, the landmarks take over (a shut eye shows no margin to match), except
        # where the image sees the lids closer together: neither measure under-reads a
        # shut eye (the landmarks keep a 1-1.4 mm gap), so the smaller one is nearer.
        image_gap = (tpl.lo_y + found.d_lo) - (tpl.up_y + found.d_up)
        closer = image_gap < float(lm[1] - lm[0])
        w = fit + (1.0 - fit) * (1.0 - opened) if closer else fit * opened
        # Where the landmarks see the eye shut, that is evidence too.
        self.fit = max(fit, 1.0 - opened)
        w = min(w, self.weight + s.recover)
        self.weight = w
        up = w * (tpl.up_y + found.d_up) + (1 - w) * lm[0]
        lo = w * (tpl.lo_y + found.d_lo) + (1 - w) * lm[1]
        pts = apply_affine(np.array([[PATCH_W / 2, up], [PATCH_W / 2, lo]]),
                           cv2.invertAffineTransform(canon[:2]))
        return pts, w

    def _place(self, points_px: np.ndarray, to_ref3: np.ndarray | None) -> np.ndarray | None:
        """This frame's image -> template patch map.

        By the head registration while it puts the canthi within
        ``place_tol`` of the landmarks' (no landmark jitter), by the canthi
        where it does not (a similarity fitted to the head cannot follow the
        eyes through 3-D head turns), blended in between. A placement error
        moves both lids alike, so it cancels in the aperture.
        """
        by_eye = eye_canon(points_px, self.label, self._y0)
        if by_eye is None or to_ref3 is None or self._canon_ref is None:
            return by_eye
        by_head = self._canon_ref @ to_ref3
        canthi = points_px[self._canthi]
        gap = float(np.abs(apply_affine(canthi, by_head) - apply_affine(canthi, by_eye)).max())
        a = _smoothstep(gap, self.settings.place_tol, 3.0 * self.settings.place_tol)
        return (1.0 - a) * by_head + a * by_eye

    def _build(self, gray: np.ndarray, points_px: np.ndarray, to_ref3: np.ndarray | None,
               narrow: bool) -> bool:
        """Take the template from this frame, its margins where the landmarks have them."""
        canon = eye_canon(points_px, self.label)
        if canon is None:
            return False
        e = EYE[self.label]
        c = apply_affine(points_px, canon)
        up_y, lo_y = float(c[self._up, 1]), float(c[self._lo, 1])
        upper, lower = _curve(c[list(e["upper"])]), _curve(c[list(e["lower"])])
        tpl = LidTemplate(warp_patch(gray, canon), upper, lower, up_y, lo_y, self.settings)
        if tpl.texture < 2.0:
            return False
        tpl.iris = c[self._iris].copy()
        self.template = tpl
        self.fine = None
        s = self.settings
        if s.fine_half_cols > 0:
            fine_settings = replace(s, half_cols=s.fine_half_cols, col_step=1, skin=s.fine_skin,
                                    eye_weight=s.fine_eye_weight, prior_sigma=s.fine_sigma,
                                    stretch=s.fine_stretch)
            self.fine = LidTemplate(tpl._ref32, upper, lower, up_y, lo_y, fine_settings)
        self._canon_ref = None if to_ref3 is None else canon @ np.linalg.inv(to_ref3)
        self._y0 = float((c[e["inner"], 1] + c[e["outer"], 1]) / 2)
        self._lm_aperture = max(float(c[self._lo, 1] - c[self._up, 1]), 1.0)
        self._narrow = narrow
        self._age = 0
        return True

    def _points(self, points_px: np.ndarray, to_ref3: np.ndarray | None, up_y: float,
                lo_y: float) -> np.ndarray:
        """Centre-column margins in the template patch -> (2, 2) image pixels."""
        canon = self._place(points_px, to_ref3)
        assert canon is not None
        return apply_affine(np.array([[PATCH_W / 2, up_y], [PATCH_W / 2, lo_y]]),
                            cv2.invertAffineTransform(canon[:2]))
