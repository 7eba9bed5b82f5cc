"""Eyelid margins found in the image: a lid layer sliding over a still eyeball.

The landmark model under-reports partial eye narrowing and leaks one eye's
narrowing into the other. Here each eye is resampled into a canonical,
eye-aligned patch (the eye ``EYE_PX`` pixels wide, registered on the head
reference image) and compared with the same patch of an open-eye template
frame under a two-layer model:

* the **lids** (margin and the skin beyond it) slide along the eye's vertical,
  the upper one by ``d_up`` and the lower one by ``d_lo``;
* the **eyeball** between the margins stays where it is; the lids cover it
  or uncover it (uncovered rows, unseen in the template, are predicted by the
  eyeball row next to the margin).

Every candidate image of the model is linear in the template, so normalised
cross-correlation against a whole grid of ``(d_up, d_lo)`` candidates costs
two small matrix-vector products per frame (precomputed per template).

The image estimate is blended with the landmarks: by the match score (lost
lid texture, e.g. the skin folding in a grimace) and by how closed the
landmarks say the eye is (a closed eye shows no margin to match; the
landmarks do see full closure). The blend weight drops at once and recovers
over a few frames, so the series never flickers between the two measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from synktrack.measures.ids import EYE

PATCH_W = 64  # canonical eye patch: the eye is EYE_PX wide, centred
PATCH_H = 96
EYE_PX = 48.0
DEBUG = False


@dataclass(frozen=True)
class LidSettings:
    """Lid model and blending (lengths in canonical pixels or rest apertures).

    Attributes
    ----------
    half_cols
        Half width of the matched band around the eye centre (canonical px).
    skin
        Lid skin matched beyond each margin, in rest apertures.
    far_weight
        Weight of the skin farthest from the margin (1 at the margin): skin
        away from the margin folds and bunches rather than sliding.
    eye_weight
        Weight of the eyeball between the margins (the iris moves with gaze).
    step
        Candidate grid step (canonical px); the peak is refined to sub-pixel.
    upper_range, lower_range
        Candidate lid shifts (+ = down), in rest apertures.
    prior_sigma, evidence
        Width of the landmarks' prior on the lid shifts (rest apertures), and
        the effective pixel count that sharpens the image likelihood (0: no
        prior; see :meth:`LidTemplate.match`).
    score_lost, score_sure
        Match score (NCC) at which the image estimate gets weight 0 and 1.
    closed, opened
        Landmark aperture / template landmark aperture at which the image
        estimate gets weight 0 and 1 (a closed eye is the landmarks' call).
    recover
        Largest rise of the blend weight per frame (it may drop at once).
    open_blink
        Largest eyeBlink score of a template frame.
    max_wait
        Frames to wait for open eyes before taking a template anyway.
    reopen
        Landmark aperture / template's above which a template taken on a
        narrowed eye is replaced (the eye opened since).
    place_tol
        Canthi disagreement (canonical px) up to which the patch is placed by
        the head registration; beyond three times this, by the canthi.
    settle
        Frames after a template during which a wider-open eye (landmark
        aperture above ``widen`` times the template's) replaces it: eyes
        opening at the start of a clip.
    """

    half_cols: int = 8
    skin: float = 0.7
    far_weight: float = 0.3
    eye_weight: float = 0.35
    step: float = 0.25
    upper_range: tuple[float, float] = (-0.6, 1.05)
    lower_range: tuple[float, float] = (-0.8, 0.3)
    prior_sigma: float = 0.25
    evidence: float = 0.3
    score_lost: float = 0.5
    score_sure: float = 0.8
    closed: float = 0.15
    opened: float = 0.35
    recover: float = 0.34
    open_blink: float = 0.35
    max_wait: int = 15
    reopen: float = 1.3
    place_tol: float = 1.0
    gaze: float = 1.0
    settle: int = 15
    widen: float = 1.15


def eye_ids(label: str) -> dict[str, Any]:
    """Landmark ids of one eye (typed view of :data:`synktrack.measures.ids.EYE`)."""
    ids: dict[str, Any] = EYE[label]
    return ids


def _smoothstep(x: float, lo: float, hi: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def eye_canon(points: np.ndarray, label: str, y0: float | None = None) -> np.ndarray | None:
    """3x3 map from image pixels into the canonical patch of one eye, or None.

    Canonical patch: the canthal axis horizontal, the eye ``EYE_PX`` wide and
    centred across, y pointing down the face. The mid-point of the canthi
    goes to row ``y0``; by default ``y0`` puts the centre lid pair's
    mid-point on the patch's middle row.
    """
    e = eye_ids(label)
    axis = points[e["inner"]] - points[e["outer"]]
    width = float(np.linalg.norm(axis))
    if not np.isfinite(width) or width < 8:
        return None
    ang = np.arctan2(axis[1], axis[0])
    if abs(ang) > np.pi / 2:  # keep "down" in the patch pointing down the face
        ang -= np.sign(ang) * np.pi
    k = EYE_PX / width
    c, s = np.cos(-ang) * k, np.sin(-ang) * k
    rot = np.array([[c, -s], [s, c]])
    mid = (points[e["inner"]] + points[e["outer"]]) / 2
    if y0 is None:
        lids = (points[e["pairs"][0][0]] + points[e["pairs"][0][1]]) / 2
        y0 = PATCH_H / 2 - float((rot @ (lids - mid))[1])
    shift = np.array([PATCH_W / 2, y0]) - rot @ mid
    return np.vstack([np.column_stack([rot, shift]), [0.0, 0.0, 1.0]])


def warp_patch(gray: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Canonical patch (float32) of a grey image through the 3x3 map ``m``."""
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
    """Lid shifts since the template (canonical px, + = down) and the match score."""

    d_up: float
    d_lo: float
    score: float


class LidTemplate:
    """One eye's template patch and its precomputed layered-model candidates.

    A candidate ``(i, j)`` predicts the window as ``E (1 - m_i - n_j) + A_i + B_j``:
    ``m_i`` covers the rows of the upper lid shifted by ``du[i]`` and ``A_i`` is
    that lid's content there (likewise ``n_j``, ``B_j`` for the lower lid), and
    ``E`` is the template's eyeball, moved with the iris of the frame at hand.
    The weighted NCC of every candidate then comes from a few matrix-vector
    products with precomputed matrices.

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
        ref = patch.astype(np.float64)
        self._ref32 = patch.astype(np.float32)
        half = settings.half_cols
        self.cols = np.arange(PATCH_W // 2 - half, PATCH_W // 2 + half)
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
        step = settings.step
        self.step = step
        self.du = step * np.arange(np.floor(settings.upper_range[0] * ap / step),
                                   np.ceil(settings.upper_range[1] * ap / step) + 1)
        self.dl = step * np.arange(np.floor(settings.lower_range[0] * ap / step),
                                   np.ceil(settings.lower_range[1] * ap / step) + 1)
        far = settings.far_weight
        w = np.where(ys < mu, 1.0 - (1.0 - far) * np.clip((mu - ys) / skin, 0.0, 1.0),
                     np.where(ys > ml, 1.0 - (1.0 - far) * np.clip((ys - ml) / skin, 0.0, 1.0),
                              settings.eye_weight)).ravel()
        self._w, self._n = w, float(w.sum())

        def layer(d: np.ndarray, m: np.ndarray, sgn: float) -> dict[str, np.ndarray]:
            """Cover masks and content of one lid shifted by each d (sgn: +1 upper)."""
            dd = d[:, None, None]
            lid = _rows(ref, ys[None] - dd, self.cols)  # the lid's content moved by d
            # 1 on the lid's side of its new margin (half a pixel of anti-aliasing)
            cover = np.clip(sgn * (m + dd - ys[None]) + 0.5, 0.0, 1.0).reshape(len(d), -1)
            a = cover * lid.reshape(len(d), -1)
            return {"mw": cover * w, "m2w": cover * cover * w, "aw": a * w,
                    "amw": a * cover * w, "sa": (a * w).sum(1), "aa": (a * a * w).sum(1)}

        self._lu = layer(self.du, mu, 1.0)
        self._ll = layer(self.dl, ml, -1.0)
        # Lids may meet but not cross anywhere in the band (closing further is
        # left to the landmarks, which see closure well).
        gap = float((ml - mu).min())
        self._valid = (self.du[:, None] - self.dl[None]) <= gap + step
        self.texture = float(ref[self.rows][:, self.cols].std())
        self.iris = np.zeros(2)  # iris centre of the template frame, canonical px

    def eyeball(self, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """The template's eyeball over the window, moved by ``shift`` (x, y), flattened.

        Rows are sampled between the template's margins only, so the eyeball
        never borrows lid skin.
        """
        xs = self.cols[None, :] - shift[0] + np.zeros_like(self._ys)
        top = np.interp(xs, *self._upper) - 0.5
        bot = np.maximum(np.interp(xs, *self._lower) + 0.5, top)
        ys = np.clip(self._ys - shift[1], top, bot)
        out = cv2.remap(self._ref32, xs.astype(np.float32), ys.astype(np.float32),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out.astype(np.float64).ravel()

    def table(self, patch: np.ndarray, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """NCC of the patch with every (d_up, d_lo) candidate (-1 where invalid).

        ``shift`` moves the eyeball (the iris's move since the template).
        """
        x = patch[self.rows][:, self.cols].astype(np.float64).ravel()
        e = self.eyeball(shift)
        w = self._w
        xw = x * w
        sx = xw.sum()
        var_x = max(float(xw @ x) - sx * sx / self._n, 1e-9)
        ew = e * w
        s_e, s_xe, s_ee = ew.sum(), float(ew @ x), float(ew @ e)
        vecs = np.stack([e, x * e, e * e], axis=1)
        parts = []
        for lay in (self._lu, self._ll):
            me, mxe, mee = (lay["mw"] @ vecs).T
            ax, ae = (lay["aw"] @ np.stack([x, e], axis=1)).T
            s_p = ae * 0.0 + lay["sa"] - me  # sum of w P beyond E
            x_p = ax - mxe
            p_p = -2 * mee + lay["m2w"] @ (e * e) + 2 * (ae - lay["amw"] @ e) + lay["aa"]
            parts.append((s_p, x_p, p_p))
        (su, xu, pu), (sl, xl, pl) = parts
        sum_p = s_e + su[:, None] + sl[None]
        x_dot = s_xe + xu[:, None] + xl[None]
        p_dot = s_ee + pu[:, None] + pl[None]
        var_p = np.maximum(p_dot - sum_p**2 / self._n, 1e-9)
        ncc = (x_dot - sx * sum_p / self._n) / np.sqrt(var_p * var_x)
        return np.where(self._valid, ncc, -1.0)

    def match(self, patch: np.ndarray, shift: tuple[float, float] = (0.0, 0.0),
              prior: tuple[float, float] | None = None, sigma: float = 0.25,
              evidence: float = 0.3) -> LidMatch:
        """Best lid shifts for a canonical patch of this eye.

        Parameters
        ----------
        patch
            Canonical patch of the frame.
        shift
            The iris's move since the template (canonical px).
        prior
            Lid shifts the landmarks suggest, if any. The image's NCC surface
            is read as a likelihood whose sharpness is set by how well the best
            candidate explains the patch (``evidence`` effective pixels over the
            unexplained part ``1 - max NCC``), and the landmarks as a Gaussian
            prior ``sigma`` apertures wide: a clear image peak wins, a flat or
            poor fit leans on the landmarks.
        sigma, evidence
            See ``prior``.
        """
        t = self.table(patch, shift)
        score = np.where(self._valid, t, -np.inf)
        if prior is not None:
            top = float(t.max())
            sharp = evidence / (1.0 - top + 0.01) ** 2
            var = 2.0 * (sigma * self.aperture) ** 2
            score = sharp * (t - top) - ((self.du[:, None] - prior[0]) ** 2
                                         + (self.dl[None] - prior[1]) ** 2) / var
            score = np.where(self._valid, score, -np.inf)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        d_up = self.du[i] + _vertex(score[:, j], int(i)) * self.step
        d_lo = self.dl[j] + _vertex(score[i, :], int(j)) * self.step
        return LidMatch(float(d_up), float(d_lo), float(t[i, j]))


def _vertex(v: np.ndarray, i: int) -> float:
    """Sub-sample offset of a peak from a parabola through its neighbours."""
    if 0 < i < len(v) - 1 and np.isfinite(v[i - 1]) and np.isfinite(v[i + 1]):
        a, b, c = v[i - 1], v[i], v[i + 1]
        den = a - 2 * b + c
        if den < 0:
            return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return 0.0


def _to_canon(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:2, :2].T + m[:2, 2]


def _curve(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(pts[:, 0])
    return pts[order, 0], pts[order, 1]


class EyeLids:
    """Lid margins of one eye through a clip: template life cycle and blending.

    The eye patch of each frame is placed by that frame's canthi: a similarity
    fitted to the whole head cannot follow the eyes through 3-D head turns,
    and a placement error moves both lids alike, so it cancels in the aperture.

    Parameters
    ----------
    label
        MediaPipe eye label (``"right"`` or ``"left"``).
    settings
        Model and blending settings.
    """

    def __init__(self, label: str, settings: LidSettings | None = None) -> None:
        self.label = label
        self.settings = settings or LidSettings()
        self.template: LidTemplate | None = None
        self.y0 = PATCH_H / 2  # row of the canthi mid-point in the template's patch
        self.lm_aperture = 0.0  # landmark aperture of the template frame (canonical px)
        self.narrow = False  # template taken before the eye was seen open
        self.weight = 0.0
        self.last: LidMatch | None = None
        self._waited = 0
        self._age = 0  # frames since the template was taken
        self._up, self._lo = eye_ids(label)["pairs"][0]
        self._iris = eye_ids(label)["iris_centre"]
        self._canon_ref: np.ndarray | None = None  # head reference image -> template patch

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
        to_ref3 = None
        if to_ref is not None and np.isfinite(to_ref).all():
            to_ref3 = np.vstack([to_ref, [0.0, 0.0, 1.0]])
        canon = self._place(points_px, to_ref3)
        if canon is None:
            return None
        lm = _to_canon(canon, points_px[[self._up, self._lo]])
        lm_ap = float(lm[1, 1] - lm[0, 1])
        if self.template is not None and blink <= s.open_blink:
            self._age += 1
            wider = lm_ap / self.lm_aperture
            if (self.narrow and wider > s.reopen) or (self._age <= s.settle and wider > s.widen):
                self.template = None  # taken on a narrowed or opening eye: take it again
        if self.template is None:
            self._waited += 1
            if blink > s.open_blink and self._waited < s.max_wait:
                return None
            if not self._build(gray, points_px, to_ref3, narrow=blink > s.open_blink):
                return None
            canon = eye_canon(points_px, self.label, self.y0)
            assert canon is not None and self.template is not None
            self.weight = 1.0
            return _points(canon, self.template.up_y, self.template.lo_y), 1.0
        tpl = self.template
        iris = _to_canon(canon, points_px[[self._iris]])[0]
        gaze = np.clip(iris - tpl.iris, -0.3 * EYE_PX, 0.3 * EYE_PX) * s.gaze
        prior = (float(lm[0, 1]) - tpl.up_y, float(lm[1, 1]) - tpl.lo_y)
        found = tpl.match(warp_patch(gray, canon), (float(gaze[0]), float(gaze[1])),
                          prior if s.evidence > 0 else None, s.prior_sigma, s.evidence)
        self.last = found
        if DEBUG:
            t = tpl.table(warp_patch(gray, canon), (float(gaze[0]), float(gaze[1])))
            i = int(np.argmin(np.abs(tpl.du - (lm[0, 1] - tpl.up_y))))
            j = int(np.argmin(np.abs(tpl.dl - (lm[1, 1] - tpl.lo_y))))
            self.dbg = (*gaze, found.score, float(t.max()), found.d_up, found.d_lo,
                        lm[0, 1] - tpl.up_y, lm[1, 1] - tpl.lo_y, tpl.aperture)
        w = _smoothstep(found.score, s.score_lost, s.score_sure) \
            * _smoothstep(lm_ap / self.lm_aperture, s.closed, s.opened)
        w = min(w, self.weight + s.recover)
        self.weight = w
        up = w * (tpl.up_y + found.d_up) + (1 - w) * lm[0, 1]
        lo = w * (tpl.lo_y + found.d_lo) + (1 - w) * lm[1, 1]
        return _points(canon, up, lo), w

    def _place(self, points_px: np.ndarray, to_ref3: np.ndarray | None) -> np.ndarray | None:
        """This frame's image -> template patch map.

        By the head registration while it puts the canthi within a pixel or so
        of where the landmarks have them (no landmark jitter), by the canthi
        where it does not (3-D head turns), blended in between.
        """
        by_eye = eye_canon(points_px, self.label, self.y0)
        if by_eye is None or to_ref3 is None or self._canon_ref is None:
            return by_eye
        by_head = self._canon_ref @ to_ref3
        e = eye_ids(self.label)
        canthi = points_px[[e["outer"], e["inner"]]]
        gap = float(np.abs(_to_canon(by_head, canthi) - _to_canon(by_eye, canthi)).max())
        a = _smoothstep(gap, self.settings.place_tol, 3.0 * self.settings.place_tol)
        self.place_a = (gap, a)
        return (1.0 - a) * by_head + a * by_eye

    def _build(self, gray: np.ndarray, points_px: np.ndarray, to_ref3: np.ndarray | None,
               narrow: bool) -> bool:
        canon = eye_canon(points_px, self.label)
        if canon is None:
            return False
        self._canon_ref = None if to_ref3 is None else canon @ np.linalg.inv(to_ref3)
        e = eye_ids(self.label)
        c = _to_canon(canon, points_px)
        up_y, lo_y = float(c[self._up, 1]), float(c[self._lo, 1])
        tpl = LidTemplate(warp_patch(gray, canon), _curve(c[list(e["upper"])]),
                          _curve(c[list(e["lower"])]), up_y, lo_y, self.settings)
        if tpl.texture < 2.0:
            return False
        tpl.iris = c[e["iris_centre"]].copy()
        self.template = tpl
        mid = (c[e["inner"]] + c[e["outer"]]) / 2
        self.y0 = float(mid[1])
        self.lm_aperture = max(lo_y - up_y, 1.0)
        self.narrow = narrow
        self._age = 0
        return True


def _points(canon: np.ndarray, up_y: float, lo_y: float) -> np.ndarray:
    """Centre-column margins in the patch -> (2, 2) image pixels."""
    back = np.linalg.inv(canon)
    return _to_canon(back, np.array([[PATCH_W / 2, up_y], [PATCH_W / 2, lo_y]]))
