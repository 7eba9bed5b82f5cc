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
* **lid margins** (:mod:`synktrack.lids`): in an eye-aligned patch of fixed
  scale, both lids are matched as layers sliding over the eyeball of an
  open-eye template frame, by normalised cross-correlation, with the lid
  landmarks as a prior; shut eyes are left to the landmarks.

Everything runs per frame on small windows (well under a millisecond).
Tracking falls back to the landmark when the flow is unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from synktrack.landmarks import EYE_ORDER
from synktrack.lids import MAX_WAIT_FRAMES, OPEN_EYE_MAX_BLINK, EyeLids, LidSettings
from synktrack.margins import MarginFinder, MarginSettings
from synktrack.measures.geometry import apply_affine
from synktrack.measures.ids import EYE, TRACKED

_CORNERS = slice(0, 2)
_LK_POINTS = [0, 1, 6, 7]  # corners and brows: Lucas-Kanade from the reference
_LIDS = {"right": (2, 3), "left": (4, 5)}
# Points on and beside the nose: they do not move with expressions, and unlike the eye
# corners they are not dragged by closing lids.
HEAD_POINTS = (168, 6, 197, 195, 5, 4, 122, 351, 196, 419, 188, 412, 174, 399)
PATCH = 15  # likeness patch around corners and brows (pixels)
NCC_LOW, NCC_HIGH = 0.7, 0.9  # below: landmark only; above: image tracking only
MAX_CORRECTION = 0.15  # image registration may move the face <= this x inter-canthal distance
HEAD_WINDOW = 13  # small: weakly textured rigid skin must not follow nearby moving skin


@dataclass(frozen=True)
class RefineSettings:
    """Lucas-Kanade window and pyramid, fallback limits (in eye widths), reference wait.

    The window is small: skin stretches around a moving mouth corner or brow, and
    a window's flow is the mean over it (21 px read a corner pulled by a smooth
    stretch 0.91x, 11 px 0.94x; the pyramid still follows large moves).
    """

    window: int = 11
    levels: int = 3
    max_error: float = 25.0
    max_deviation: float = 0.35
    max_wait: int = MAX_WAIT_FRAMES  # face frames to wait for open eyes, then take it anyway


class ImageRefiner:
    """Per-clip tracker; feed frames in order with :meth:`process`."""

    def __init__(self, settings: RefineSettings | None = None,
                 lid_settings: LidSettings | None = None,
                 margin_settings: MarginSettings | None = None) -> None:
        self.settings = settings or RefineSettings()
        self.margins = MarginFinder(margin_settings)
        self._face_frames = 0
        # (478, 2) flip-symmetric minus model landmarks in the reference image, if known
        # (see synktrack.track.ClipTracker): it seeds the absolute finders.
        self.mirror_offset: np.ndarray | None = None
        self._ref_gray: np.ndarray | None = None
        self._ref_pts: np.ndarray | None = None
        self.lid_settings = lid_settings or LidSettings()
        self._eyes: dict[str, EyeLids] = {}
        self._prev_to_ref: np.ndarray | None = None
        self._ref_patches: list[np.ndarray] = []
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

    def takes_reference(self, blink: float) -> bool:
        """Whether :meth:`process` will take its reference from the next face frame."""
        return self._ref_gray is None and (blink <= OPEN_EYE_MAX_BLINK
                                           or self._waited + 1 >= self.settings.max_wait)

    def process(self, image: np.ndarray, points_px: np.ndarray,
                blink: float = 0.0) -> tuple[np.ndarray, ...]:
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
        to_ref, tracked, ok, margins, confidence, iris
            (2, 3) similarity from this image into the reference image (NaN
            until a reference exists); (n, 2) tracked points in this image;
            (n,) bool, True where the image tracking was used; then per eye
            (MediaPipe right, left): the lid margins found afresh in the image
            (2, 2, 2), the lid tracker's fit (2,) (see
            :attr:`synktrack.lids.EyeLids.fit`) and the limbus diameter (2,),
            in image pixels; margins and limbus only every ``every``-th face
            frame (:class:`synktrack.margins.MarginSettings`), NaN between.
        """
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        tracked = self._track(image, gray, points_px, blink)
        margins, iris = self._margins(image, gray, self._seeds(points_px, tracked[0]))
        conf = np.array([e.fit if e is not None else np.nan
                         for e in (self._eyes.get(label) for label in EYE_ORDER)])
        self._face_frames += 1
        return (*tracked, margins, conf, iris)

    def _seeds(self, points_px: np.ndarray, to_ref: np.ndarray) -> np.ndarray:
        """Landmarks moved by the flip-symmetric offset, carried into this image."""
        if self.mirror_offset is None or not np.isfinite(to_ref).all():
            return points_px
        return points_px + self.mirror_offset @ np.linalg.inv(to_ref[:, :2]).T

    def _margins(self, image: np.ndarray, gray: np.ndarray,
                 points_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lid margins and limbus found afresh in the image, every ``every``-th face frame."""
        margins = np.full((2, 2, 2), np.nan)
        iris = np.full(2, np.nan)
        if self._face_frames % self.margins.settings.every:
            return margins, iris
        for k, label in enumerate(EYE_ORDER):
            found = self.margins.find(image[:, :, 1], gray, points_px, label)
            if found is not None:
                margins[k] = (found.upper, found.lower)
                iris[k] = found.iris_diameter_px
        return margins, iris

    def _track(self, image: np.ndarray, gray: np.ndarray, points_px: np.ndarray,
               blink: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = list(TRACKED.values())
        if self._ref_gray is None:
            self._waited += 1
            if blink > OPEN_EYE_MAX_BLINK and self._waited < self.settings.max_wait:
                return np.full((2, 3), np.nan), points_px[ids].copy(), np.zeros(len(ids), bool)
            self._set_reference(gray, points_px)
            to_ref, tracked, ok = np.eye(2, 3), points_px[ids].copy(), np.ones(len(ids), bool)
            self._lids(gray, points_px, to_ref, blink, tracked, ok)  # takes the lid templates
            return to_ref, tracked, ok
        assert self._ref_pts is not None
        ref = self._ref_pts
        to_ref = self._register(gray, points_px)
        tracked = points_px[ids].astype(np.float64).copy()
        ok = np.zeros(len(ids), bool)
        # Mouth corners and brows: Lucas-Kanade from the reference, started at the landmarks.
        lk_ids = [ids[i] for i in _LK_POINTS]
        flow, ok_c = self._flow(gray, ref[lk_ids], points_px[lk_ids])
        eye_width = float(np.linalg.norm(points_px[EYE["right"]["outer"]]
                                         - points_px[EYE["right"]["inner"]]))
        dev = np.linalg.norm(flow - points_px[lk_ids], axis=1)
        ok_c &= dev < self.settings.max_deviation * eye_width
        # Trust the flow only while the tracked patch still looks like the reference one
        # (a broad smile showing teeth changes the corner's appearance): blend smoothly.
        weight = np.where(ok_c, self._likeness(gray, flow), 0.0)
        tracked[_LK_POINTS] = weight[:, None] * flow + (1 - weight[:, None]) * points_px[lk_ids]
        ok[_LK_POINTS] = weight >= 0.5
        # Lid margins: a lid layer over a still eyeball, matched in the image.
        self._lids(gray, points_px, to_ref, blink, tracked, ok)
        return to_ref, tracked, ok

    def _likeness(self, gray: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Blend weight 0..1 per LK point from the NCC of its patch with the reference patch."""
        size = (PATCH, PATCH)
        w = np.zeros(len(pts))
        for i, (p, ref) in enumerate(zip(pts, self._ref_patches, strict=True)):
            cur = cv2.getRectSubPix(gray, size, (float(p[0]), float(p[1]))).astype(np.float32)
            a, b = ref - ref.mean(), cur - cur.mean()
            den = float(np.sqrt((a * a).sum() * (b * b).sum()))
            ncc = float((a * b).sum()) / den if den > 1e-6 else 0.0
            w[i] = np.clip((ncc - NCC_LOW) / (NCC_HIGH - NCC_LOW), 0.0, 1.0)
        return w

    # --- reference and registration ------------------------------------------------------

    def _set_reference(self, gray: np.ndarray, points_px: np.ndarray) -> None:
        self._ref_gray = gray
        ids = list(TRACKED.values())
        self._ref_patches = [
            cv2.getRectSubPix(gray, (PATCH, PATCH), (float(p[0]), float(p[1]))).astype(np.float32)
            for p in points_px[[ids[i] for i in _LK_POINTS]]
        ]
        self._ref_pts = points_px.astype(np.float32).copy()
        self._eyes = {label: EyeLids(label, self.lid_settings) for label in _LIDS}

    def _register(self, gray: np.ndarray, points_px: np.ndarray) -> np.ndarray:
        """Similarity from this image onto the reference image.

        Rigid points are tracked from the reference, starting from where the
        previous frame's registration puts them (the landmarks themselves shift
        with expressions); the landmarks decide only when the image cannot.
        """
        assert self._ref_pts is not None
        head_ref = self._ref_pts[list(HEAD_POINTS)].astype(np.float64)
        from_landmarks = similarity(points_px[list(HEAD_POINTS)], head_ref, iterations=0)
        if self._prev_to_ref is not None:
            guess = apply_affine(head_ref, cv2.invertAffineTransform(self._prev_to_ref))
        else:
            guess = points_px[list(HEAD_POINTS)]
        # A close start needs no coarse pyramid levels, which would let nearby moving skin
        # (lips, cheeks) drag the weakly textured rigid points.
        head_cur, ok_h = self._flow(gray, head_ref, guess,
                                    levels=1 if self._prev_to_ref is not None else None,
                                    window=HEAD_WINDOW)
        to_ref = similarity(head_cur[ok_h], head_ref[ok_h]) if ok_h.sum() >= 5 else None
        if to_ref is None:
            self._prev_to_ref = None
            return from_landmarks
        # The image may correct the landmarks' expression-driven bias (a few pixels), never
        # overrule them: beyond that it has lost track. Compare where both put the face box.
        lo, hi = points_px.min(axis=0), points_px.max(axis=0)
        box = np.array([lo, hi, [lo[0], hi[1]], [hi[0], lo[1]]])
        gap = float(np.abs(apply_affine(box, to_ref) - apply_affine(box, from_landmarks)).max())
        icd = float(np.linalg.norm(self._ref_pts[EYE["right"]["inner"]]
                                   - self._ref_pts[EYE["left"]["inner"]]))
        bound = MAX_CORRECTION * icd
        weight = float(np.clip(2.0 - gap / bound, 0.0, 1.0))
        self._prev_to_ref = to_ref if weight > 0 else None
        to_ref = weight * to_ref + (1.0 - weight) * from_landmarks
        return to_ref

    def _flow(self, gray: np.ndarray, ref_pts: np.ndarray, guess: np.ndarray,
              levels: int | None = None,
              window: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        assert self._ref_gray is not None
        p0 = ref_pts.astype(np.float32).reshape(-1, 1, 2)
        p1 = guess.astype(np.float32).reshape(-1, 1, 2).copy()
        lk = dict(self._lk)
        if levels is not None:
            lk["maxLevel"] = levels
        if window is not None:
            lk["winSize"] = (window, window)
        # Only the region around the points: pyramids of the whole frame cost more than the flow.
        h, w = gray.shape
        both = np.vstack([p0.reshape(-1, 2), p1.reshape(-1, 2)])
        margin = 2 * lk["winSize"][0] + 8
        x0, y0 = (np.floor(both.min(axis=0)) - margin).clip(0).astype(int)
        x1, y1 = np.ceil(both.max(axis=0) + margin).astype(int)
        x1, y1 = min(x1, w), min(y1, h)
        off = np.array([x0, y0], dtype=np.float32)
        p1, status, err = cv2.calcOpticalFlowPyrLK(
            self._ref_gray[y0:y1, x0:x1], gray[y0:y1, x0:x1], p0 - off, p1 - off, **lk)
        p1 = p1 + off
        ok = (status.ravel() == 1) & (err.ravel() < self.settings.max_error)
        return p1.reshape(-1, 2).astype(np.float64), ok

    def _lids(self, gray: np.ndarray, points_px: np.ndarray, to_ref: np.ndarray, blink: float,
              tracked: np.ndarray, ok: np.ndarray) -> None:
        """Put each eye's centre lid margins into ``tracked`` (in place).

        ``ok`` is set where the image estimate carries at least half the
        weight of the blend with the landmarks (see :mod:`synktrack.lids`).
        """
        for label, (iu, il) in _LIDS.items():
            eye = self._eyes.get(label)
            found = eye.update(gray, points_px, blink, to_ref) if eye is not None else None
            if found is None:
                ok[[iu, il]] = False
                continue
            pts, weight = found
            tracked[[iu, il]] = pts
            ok[[iu, il]] = weight >= 0.5


def similarity(src: np.ndarray, dst: np.ndarray, iterations: int = 1,
               min_resid: float = 1.0) -> np.ndarray:
    """Least-squares similarity (2x3) mapping ``src`` onto ``dst``, robust to a few outliers.

    Solved in closed form with complex numbers (``dst = a * src + b``), then
    refitted without points whose residual exceeds ``max(min_resid, 2.5 x
    median residual)``.
    """
    zs = src[:, 0] + 1j * src[:, 1]
    zd = dst[:, 0] + 1j * dst[:, 1]
    keep = np.ones(len(zs), bool)
    a, b = 1.0 + 0j, 0j
    for i in range(iterations + 1):
        ms, md = zs[keep].mean(), zd[keep].mean()
        ds = zs[keep] - ms
        a = np.sum((zd[keep] - md) * np.conj(ds)) / max(float(np.sum(np.abs(ds) ** 2)), 1e-12)
        b = md - a * ms
        if i == iterations:
            break
        resid = np.abs(a * zs + b - zd)
        new_keep = resid <= max(min_resid, 2.5 * float(np.median(resid)))
        if new_keep.sum() < 3 or (new_keep == keep).all():
            break
        keep = new_keep
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])
