"""Image-based refinement that keeps one side's movement on that side.

The landmark model leans toward symmetric faces: a one-sided movement leaks
into the other side, and the leak also tilts any head frame fitted to the
landmarks. Here the image itself decides, with the landmarks as a guide:

* **head registration**: textured rigid points (nose, inner canthi) are
  tracked from a reference frame with pyramidal Lucas-Kanade optical flow,
  started from where the landmarks say they are; a robust similarity
  transform maps each frame back onto the reference image;
* **tracked points**: mouth corners are tracked the same way, so their
  movement is what the pixels show, not what the model expects;
* **lid margins**: in an eye-aligned patch of fixed scale, a strip of lid
  skin just outside each margin is found again by normalised cross-correlation
  along the eye's vertical, which gives how far each lid moved since the
  reference frame.

Everything runs per frame on small windows (well under a millisecond).
Tracking falls back to the landmark when the flow is unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from synktrack.measures.ids import EYE, MOUTH_CORNER

# Tracked points, by MediaPipe label (subject's side in a non-mirrored image).
TRACKED: dict[str, int] = {
    "corner_right": MOUTH_CORNER["right"],
    "corner_left": MOUTH_CORNER["left"],
    "lid_upper_right": EYE["right"]["pairs"][0][0],
    "lid_lower_right": EYE["right"]["pairs"][0][1],
    "lid_upper_left": EYE["left"]["pairs"][0][0],
    "lid_lower_left": EYE["left"]["pairs"][0][1],
}
_CORNERS = slice(0, 2)
_LIDS = {"right": (2, 3), "left": (4, 5)}
# Textured points that do not move with expressions.
HEAD_POINTS = (168, 6, 197, 195, 5, 4, 133, 362, 243, 463, 45, 275, 51, 281, 8, 9, 193, 417)
_EYES_OPEN_MAX_BLINK = 0.35
_MAX_WAIT = 15  # face frames to wait for open eyes before taking a reference anyway


@dataclass(frozen=True)
class RefineSettings:
    """Lucas-Kanade window and pyramid, and fallback limits (in eye widths)."""

    window: int = 21
    levels: int = 3
    max_error: float = 25.0
    max_deviation: float = 0.35


class ImageRefiner:
    """Per-clip tracker; feed frames in order with :meth:`process`."""

    def __init__(self, settings: RefineSettings | None = None) -> None:
        self.settings = settings or RefineSettings()
        self._ref_gray: np.ndarray | None = None
        self._ref_pts: np.ndarray | None = None
        self._eyes: dict[str, _EyeTemplate | None] = {}
        self._prev_to_ref: np.ndarray | None = None
        self._waited = 0
        self._lk = {
            "winSize": (self.settings.window, self.settings.window),
            "maxLevel": self.settings.levels,
            "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
            "flags": cv2.OPTFLOW_USE_INITIAL_FLOW,
            "minEigThreshold": 1e-3,
        }

    @property
    def has_reference(self) -> bool:
        return self._ref_gray is not None

    def process(self, image: np.ndarray, points_px: np.ndarray,
                blink: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Register one frame and track the points.

        Parameters
        ----------
        image
            RGB frame.
        points_px
            (478, 2) landmarks of this frame in image pixels.
        blink
            Larger of the two eye-blink scores; the reference is only taken
            from a frame with open eyes.

        Returns
        -------
        to_ref, tracked, ok
            (2, 3) similarity from this image into the reference image (NaN
            until a reference exists); (n, 2) tracked points in this image;
            (n,) bool, True where the image tracking was used.
        """
        ids = list(TRACKED.values())
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if self._ref_gray is None:
            self._waited += 1
            if blink > _EYES_OPEN_MAX_BLINK and self._waited < _MAX_WAIT:
                return np.full((2, 3), np.nan), points_px[ids].copy(), np.zeros(len(ids), bool)
            self._set_reference(gray, points_px)
            return np.eye(2, 3), points_px[ids].copy(), np.ones(len(ids), bool)
        assert self._ref_pts is not None
        ref = self._ref_pts
        to_ref = self._register(gray, points_px)
        tracked = points_px[ids].astype(np.float64).copy()
        ok = np.zeros(len(ids), bool)
        # Mouth corners: Lucas-Kanade from the reference, started at the landmarks.
        corner_ids = ids[_CORNERS]
        flow, ok_c = self._flow(gray, ref[corner_ids], points_px[corner_ids])
        eye_width = float(np.linalg.norm(points_px[EYE["right"]["outer"]]
                                         - points_px[EYE["right"]["inner"]]))
        dev = np.linalg.norm(flow - points_px[corner_ids], axis=1)
        ok_c &= dev < self.settings.max_deviation * eye_width
        tracked[_CORNERS] = np.where(ok_c[:, None], flow, tracked[_CORNERS])
        ok[_CORNERS] = ok_c
        # Lid margins: strips of lid skin matched along the eye's vertical.
        from_ref = cv2.invertAffineTransform(to_ref)
        for label, (iu, il) in _LIDS.items():
            found = self._lids(gray, label, to_ref)
            if found is not None:
                pts_ref = np.array(found)
                tracked[[iu, il]] = pts_ref @ from_ref[:, :2].T + from_ref[:, 2]
                ok[[iu, il]] = True
        return to_ref, tracked, ok

    # --- reference and registration ------------------------------------------------------

    def _set_reference(self, gray: np.ndarray, points_px: np.ndarray) -> None:
        self._ref_gray = gray
        self._ref_pts = points_px.astype(np.float32).copy()
        self._eyes = {}
        for label in ("right", "left"):
            self._eyes[label] = _EyeTemplate.build(gray, points_px, label)

    def _register(self, gray: np.ndarray, points_px: np.ndarray) -> np.ndarray:
        """Similarity from this image onto the reference image.

        Rigid points are tracked from the reference, starting from where the
        previous frame's registration puts them (the landmarks themselves shift
        with expressions); the landmarks decide only when the image cannot.
        """
        assert self._ref_pts is not None
        head_ref = self._ref_pts[list(HEAD_POINTS)]
        from_landmarks, _ = cv2.estimateAffinePartial2D(
            points_px[list(HEAD_POINTS)].astype(np.float32), head_ref)
        if self._prev_to_ref is not None:
            guess = _apply(cv2.invertAffineTransform(self._prev_to_ref), head_ref)
        else:
            guess = points_px[list(HEAD_POINTS)]
        head_cur, ok_h = self._flow(gray, head_ref, guess)
        to_ref = None
        if ok_h.sum() >= 5:
            to_ref, inliers = cv2.estimateAffinePartial2D(
                head_cur[ok_h].astype(np.float32), head_ref[ok_h],
                method=cv2.RANSAC, ransacReprojThreshold=1.0,
            )
            if to_ref is not None and int(inliers.sum()) < 5:
                to_ref = None
        if to_ref is not None and from_landmarks is not None:
            # Disagreeing with the landmarks by more than a tenth of an eye width: lost.
            gap = np.abs(_apply(to_ref, head_cur) - _apply(from_landmarks, head_cur)).max()
            eye_w = np.linalg.norm(head_ref[6] - head_ref[7])
            if gap > 0.5 * eye_w:
                to_ref = None
        if to_ref is None:
            to_ref = from_landmarks if from_landmarks is not None else np.eye(2, 3)
            self._prev_to_ref = None
        else:
            self._prev_to_ref = to_ref
        return np.asarray(to_ref, dtype=np.float64)

    def _flow(self, gray: np.ndarray, ref_pts: np.ndarray,
              guess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._ref_gray is not None
        p0 = ref_pts.astype(np.float32).reshape(-1, 1, 2)
        p1 = guess.astype(np.float32).reshape(-1, 1, 2).copy()
        p1, status, err = cv2.calcOpticalFlowPyrLK(self._ref_gray, gray, p0, p1, **self._lk)
        ok = (status.ravel() == 1) & (err.ravel() < self.settings.max_error)
        return p1.reshape(-1, 2).astype(np.float64), ok

    def _lids(self, gray: np.ndarray, label: str,
              to_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        tpl = self._eyes.get(label)
        if tpl is None:
            return None
        # This frame's eye patch, resampled in the reference eye's canonical frame.
        m = tpl.canon @ np.vstack([to_ref, [0.0, 0.0, 1.0]])
        patch = cv2.warpAffine(gray, m[:2], (PATCH_W, PATCH_H), flags=cv2.INTER_LINEAR)
        d_up = tpl.match(patch, upper=True)
        d_lo = tpl.match(patch, upper=False)
        if d_up is None or d_lo is None:
            return None
        return tpl.point(upper=True, shift=d_up), tpl.point(upper=False, shift=d_lo)


def _apply(affine: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ affine[:, :2].T + affine[:, 2]


PATCH_W = 64  # canonical eye patch: the eye is 48 px wide, centred
PATCH_H = 96
_EYE_PX = 48.0
_MIN_SCORE = 0.6


@dataclass
class _EyeTemplate:
    """Lid-skin strips of the reference eye in a canonical, eye-aligned patch.

    Canonical coordinates: the eye centre at (PATCH_W / 2, PATCH_H / 2), the
    eye axis horizontal, the eye ``_EYE_PX`` pixels wide, y pointing down.
    """

    canon: np.ndarray  # 3x3: reference image -> canonical patch
    inv: np.ndarray  # 3x3: canonical patch -> reference image
    upper_y: float
    lower_y: float
    strips: dict[bool, tuple[np.ndarray, int, int]]  # upper? -> (template, top row, search)
    cols: tuple[int, int]

    @classmethod
    def build(cls, gray: np.ndarray, pts: np.ndarray, label: str) -> _EyeTemplate | None:
        e = EYE[label]
        outer, inner = pts[e["outer"]], pts[e["inner"]]
        up, lo = pts[e["pairs"][0][0]], pts[e["pairs"][0][1]]
        axis = inner - outer
        width = float(np.linalg.norm(axis))
        if width < 8:
            return None
        ang = np.arctan2(axis[1], axis[0])
        if abs(ang) > np.pi / 2:  # keep "down" in the patch pointing down the face
            ang -= np.sign(ang) * np.pi
        k = _EYE_PX / width
        c, s = np.cos(-ang) * k, np.sin(-ang) * k
        centre = (up + lo) / 2
        rot = np.array([[c, -s], [s, c]])
        shift = np.array([PATCH_W / 2, PATCH_H / 2]) - rot @ centre
        canon = np.vstack([np.column_stack([rot, shift]), [0.0, 0.0, 1.0]])
        patch = cv2.warpAffine(gray, canon[:2], (PATCH_W, PATCH_H), flags=cv2.INTER_LINEAR)
        uy = float((rot @ up + shift)[1])
        ly = float((rot @ lo + shift)[1])
        ap = max(ly - uy, 4.0)
        h = max(int(round(0.6 * ap)), 5)
        c0, c1 = PATCH_W // 2 - 7, PATCH_W // 2 + 7
        top_u = int(round(uy)) - h
        top_l = int(round(ly)) - 1
        strips = {
            True: (patch[top_u : top_u + h + 2, c0:c1].copy(), top_u, int(round(1.1 * ap))),
            False: (patch[top_l : top_l + h + 2, c0:c1].copy(), top_l, int(round(1.1 * ap))),
        }
        if any(t.shape[0] < 5 or t.std() < 2.0 for t, _, _ in strips.values()):
            return None
        return cls(canon, np.linalg.inv(canon), uy, ly, strips, (c0, c1))

    def match(self, patch: np.ndarray, upper: bool) -> float | None:
        """Vertical shift (canonical px, + = down) of a lid-skin strip, or None."""
        tpl, top, reach = self.strips[upper]
        lo, hi = max(top - reach, 0), min(top + tpl.shape[0] + reach, PATCH_H)
        region = patch[lo:hi, self.cols[0] : self.cols[1]]
        if region.shape[0] <= tpl.shape[0]:
            return None
        score = cv2.matchTemplate(region, tpl, cv2.TM_CCOEFF_NORMED).ravel()
        i = int(np.argmax(score))
        if score[i] < _MIN_SCORE:
            return None
        frac = 0.0
        if 0 < i < len(score) - 1:
            a, b, c = score[i - 1], score[i], score[i + 1]
            den = a - 2 * b + c
            frac = 0.5 * (a - c) / den if den < 0 else 0.0
        return lo + i + frac - top

    def point(self, upper: bool, shift: float) -> np.ndarray:
        """The lid margin point at the eye centre, moved by ``shift``, in reference pixels."""
        y = (self.upper_y if upper else self.lower_y) + shift
        p = self.inv @ np.array([PATCH_W / 2, y, 1.0])
        return p[:2]
