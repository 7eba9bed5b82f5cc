"""Simulated guided sessions with known synkinesis, made from a real face.

A still portrait is animated through a protocol by the injection harness
(:mod:`synktrack.synth`): healthy gentle movements on both sides, plus a known
one-sided synkinesis on a chosen side. The truth travels with the clip, so the
analysis can be checked against it (NeuroKit-style ``*_simulate``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synktrack.measures.ids import EYE
from synktrack.protocol import Protocol
from synktrack.synth import SIDES, FaceGeometry, Injection, Warper


@dataclass(frozen=True)
class Synkinesis:
    """Known one-sided synkinesis to inject.

    Attributes
    ----------
    side
        Patient's side, or ``None`` for a healthy control.
    oral_ocular_pct
        Extra narrowing of that eye during smile and pucker, % of its rest aperture.
    ocular_oral_mm
        Upward pull of that mouth corner during eye closure (mm).
    blink_pull_mm
        Upward pull of that mouth corner at every spontaneous blink (mm), in
        sessions simulated with ``blinks=True``.
    """

    side: str | None = None
    oral_ocular_pct: float = 0.0
    ocular_oral_mm: float = 0.0
    blink_pull_mm: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Healthy:
    """Gentle healthy movements (both sides), sizes from typical adult values."""

    smile_corner_mm: tuple[float, float] = (2.0, 2.5)  # (outward, up)
    smile_narrowing_pct: float = 20.0  # healthy smile narrows both eyes ~22 %
    closure_pct: float = 90.0
    pucker_corner_mm: tuple[float, float] = (-3.5, 0.5)
    brow_raise_mm: float = 3.0


def rest_apertures_mm(geom: FaceGeometry) -> dict[str, float]:
    """Centre lid distance of each eye of the still, in mm."""
    out = {}
    for side in SIDES:
        up, lo = EYE[side]["pairs"][0]
        out[side] = float(np.linalg.norm(geom.points[up] - geom.points[lo])) * geom.mm_per_px
    return out


def movement_injection(movement: str, geom: FaceGeometry, syn: Synkinesis,
                       healthy: Healthy | None = None) -> Injection:
    """The full-strength injection for one movement (healthy + synkinesis)."""
    h = healthy or Healthy()
    ap = rest_apertures_mm(geom)
    inj = Injection()
    if movement == "smile":
        f = h.smile_narrowing_pct / 100
        inj = Injection(
            lid_upper_mm={s: 0.25 * f * ap[s] for s in SIDES},
            lid_lower_mm={s: 0.75 * f * ap[s] for s in SIDES},
            corner_mm={s: h.smile_corner_mm for s in SIDES},
        )
    elif movement == "eye_closure":
        f = h.closure_pct / 100
        inj = Injection(
            lid_upper_mm={s: 0.85 * f * ap[s] for s in SIDES},
            lid_lower_mm={s: 0.15 * f * ap[s] for s in SIDES},
        )
    elif movement == "pucker":
        inj = Injection(corner_mm={s: h.pucker_corner_mm for s in SIDES})
    elif movement == "brow_raise":
        inj = Injection(brow_mm={s: h.brow_raise_mm for s in SIDES})
    if syn.side is not None:
        if movement in ("smile", "pucker") and syn.oral_ocular_pct:
            inj = inj + Injection(lid_upper_mm={syn.side: syn.oral_ocular_pct / 100 * ap[syn.side]})
        if movement == "eye_closure" and syn.ocular_oral_mm:
            inj = inj + Injection(corner_mm={syn.side: (0.0, syn.ocular_oral_mm)})
    return inj


def envelope(t: np.ndarray | float, start: float, end: float, onset: float = 0.3,
             rise: float = 0.5, fall: float = 0.4) -> np.ndarray:
    """0..1 activation of a movement prompted over [start, end): delayed, smooth ramps."""
    t = np.asarray(t, dtype=float)
    up = np.clip((t - start - onset) / rise, 0.0, 1.0)
    down = np.clip((end - t) / fall, 0.0, 1.0)
    x = np.minimum(up, down)
    return x * x * (3.0 - 2.0 * x)


BLINK_S = 0.2  # spontaneous blinks of simulated sessions last this long
BLINK_PULL_LAG_S = 0.1  # ... and a blink-locked pull starts this long after blink onset


def rest_blinks(protocol: Protocol, seed: int = 0) -> list[float]:
    """Onsets of one spontaneous blink per rest step (after its first 1.3 s, so that it
    falls outside the prompted movements and their release), the truth of a session
    simulated with ``blinks=True``."""
    rng = np.random.default_rng(seed + 1)
    return [s.start_s + 1.3 + float(rng.uniform(0.0, max(s.duration_s - 2.3, 0.0)))
            for s in protocol.steps if s.movement == "rest" and s.duration_s >= 2.4]


def session_simulate(image: np.ndarray, geom: FaceGeometry, protocol: Protocol,
                     synkinesis: Synkinesis | None = None, fps: float = 25.0,
                     healthy: Healthy | None = None, sway_px: float = 1.0,
                     noise: float = 1.5, seed: int = 0,
                     blinks: bool = False) -> Iterator[tuple[float, np.ndarray]]:
    """Frames of a guided session following ``protocol``.

    Yields ``(time_s, rgb_frame)``. A slow head sway and sensor noise make the
    clip behave like a camera recording. ``blinks`` adds one spontaneous blink
    (90 % lid closure over :data:`BLINK_S`) in every rest step
    (:func:`rest_blinks`), with the synkinesis' blink-locked corner pull.
    """
    syn = synkinesis or Synkinesis()
    rng = np.random.default_rng(seed)
    warper = Warper(image, geom)
    full = {m: movement_injection(m, geom, syn, healthy) for m in protocol.movements()}
    onsets = rest_blinks(protocol, seed) if blinks else []
    ap = rest_apertures_mm(geom)
    full["blink"] = Injection(lid_upper_mm={s: 0.85 * 0.9 * ap[s] for s in SIDES},
                              lid_lower_mm={s: 0.15 * 0.9 * ap[s] for s in SIDES})
    full["blink_pull"] = Injection(corner_mm={syn.side: (0.0, syn.blink_pull_mm)}) \
        if syn.side and syn.blink_pull_mm else Injection()

    def bump(t: float, start: float, dur: float) -> float:
        u = (t - start) / dur
        return float(np.sin(np.pi * u) ** 2) if 0 <= u <= 1 else 0.0
    h, w = image.shape[:2]
    n = int(round(protocol.duration_s * fps))
    noise_bank = [rng.normal(0, noise, image.shape).astype(np.float32) for _ in range(7)]
    cache: dict[tuple[tuple[str, float], ...], np.ndarray] = {}
    for i in range(n):
        t = i / fps
        key = []
        for step in protocol.steps:
            if step.movement != "rest" and step.start_s - 1 <= t < step.end_s + 1:
                a = round(float(envelope(t, step.start_s, step.end_s)), 3)
                if a > 0:
                    key.append((step.movement, a))
        for o in onsets:
            lid = round(bump(t, o, BLINK_S), 2)
            pull = round(bump(t, o + BLINK_PULL_LAG_S, BLINK_S + 0.2), 2)
            if lid > 0:
                key.append(("blink", lid))
            if pull > 0 and not full["blink_pull"].is_empty():
                key.append(("blink_pull", pull))
        if tuple(key) not in cache:
            inj = Injection()
            for movement, a in key:
                inj = inj + full[movement].scaled(a)
            if len(cache) > 512:
                cache.clear()
            cache[tuple(key)] = warper.apply(inj)
        frame = cache[tuple(key)]
        dx = sway_px * np.sin(2 * np.pi * 0.13 * t)
        dy = 0.6 * sway_px * np.sin(2 * np.pi * 0.07 * t + 1.0)
        shift = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
        frame = cv2.warpAffine(frame, shift, (w, h), borderMode=cv2.BORDER_REFLECT)
        if noise:
            grain = noise_bank[int(rng.integers(len(noise_bank)))]
            frame = np.clip(frame + grain, 0, 255).astype(np.uint8)
        yield t, frame


def write_clip(frames: Iterator[tuple[float, np.ndarray]], path: str | os.PathLike[str],
               fps: float) -> Path:
    """Write RGB frames to an mp4 (mp4v) atomically."""
    from synktrack.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp_mp4 = tmp.with_suffix(".mp4")
        writer = None
        try:
            for _, frame in frames:
                if writer is None:
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(str(tmp_mp4), cv2.VideoWriter_fourcc(*"mp4v"),
                                             fps, (w, h))
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            if writer is not None:
                writer.release()
        os.replace(tmp_mp4, tmp)
    return path


def mirror_clip(src: str | os.PathLike[str], dst: str | os.PathLike[str], fps: float) -> Path:
    """A selfie-style copy of a clip: every frame flipped left-right."""
    from synktrack.io.video import open_source

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        with open_source(src) as source:
            for frame in source.frames():
                yield frame.time_s, np.ascontiguousarray(np.fliplr(frame.image))

    return write_clip(frames(), dst, fps)


def demo_portrait(size: int = 480) -> np.ndarray:
    """A real public-domain face: NASA's astronaut portrait shipped with scikit-image."""
    from skimage import data

    img = data.astronaut()[15:235, 115:335]
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)


def expected_indices(synkinesis: Synkinesis | None = None,
                     healthy: Healthy | None = None) -> dict[str, tuple[float, float]]:
    """What a perfect analysis reports for a simulated session, as (left, right).

    Eye narrowing is in % of the rest aperture at the eye centre; excursions
    in mm. Coupling slopes have no single true value and are left out.
    """
    syn = synkinesis or Synkinesis()
    h = healthy or Healthy()

    def pair(base: float, extra: float) -> tuple[float, float]:
        left = base + (extra if syn.side == "left" else 0.0)
        right = base + (extra if syn.side == "right" else 0.0)
        return left, right

    closure_corner = pair(0.0, syn.ocular_oral_mm)
    return {
        "blink_pull": pair(0.0, syn.blink_pull_mm),
        "eye_narrowing_smile": pair(h.smile_narrowing_pct, syn.oral_ocular_pct),
        "eye_narrowing_pucker": pair(0.0, syn.oral_ocular_pct),
        "mouth_corner_eye_closure": closure_corner,
        "smile_excursion": pair(float(np.hypot(*h.smile_corner_mm)), 0.0),
        "pucker_excursion": pair(float(np.hypot(*h.pucker_corner_mm)), 0.0),
        "eye_closure": pair(h.closure_pct, 0.0),
        "brow_raise": pair(h.brow_raise_mm, 0.0),
    }


def blink_schedule(duration_s: float, rate_s: float,
                   rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """Onsets and durations (s) of spontaneous blinks: 150-300 ms each, every ``rate_s``
    +- 30 %, from 1 s to 1 s before the end."""
    onsets, durs = [], []
    t0 = 1.0
    while t0 < duration_s - 1.0:
        onsets.append(t0)
        durs.append(float(rng.uniform(0.15, 0.3)))
        t0 += rate_s * float(rng.uniform(0.7, 1.3))
    return onsets, durs


def blinks_simulate(image: np.ndarray, geom: FaceGeometry, duration_s: float = 20.0,
                    fps: float = 25.0, pull_side: str | None = None, pull_mm: float = 0.0,
                    pull_lag_s: float = 0.1, rate_s: float = 2.5, noise: float = 1.5,
                    seed: int = 0) -> tuple[Iterator[tuple[float, np.ndarray]], list[float]]:
    """Frames of a rest recording with spontaneous blinks, optionally with a blink-locked pull.

    Each blink is a real lid closure (90 % of the aperture) lasting 150-300 ms,
    at intervals of ``rate_s`` +- 30 %; ``pull_side``'s mouth corner rises by
    ``pull_mm`` starting ``pull_lag_s`` after each blink onset. Returns the
    frame iterator and the blink onset times (the truth).
    """
    rng = np.random.default_rng(seed)
    onsets, durs = blink_schedule(duration_s, rate_s, rng)
    ap = rest_apertures_mm(geom)
    closure = Injection(lid_upper_mm={s: 0.85 * 0.9 * ap[s] for s in SIDES},
                        lid_lower_mm={s: 0.15 * 0.9 * ap[s] for s in SIDES})
    pull = Injection(corner_mm={pull_side: (0.0, pull_mm)}) if pull_side else Injection()

    def bump(t: float, start: float, dur: float) -> float:
        u = (t - start) / dur
        return float(np.sin(np.pi * u) ** 2) if 0 <= u <= 1 else 0.0

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        warper = Warper(image, geom)
        bank = [rng.normal(0, noise, image.shape).astype(np.float32) for _ in range(5)]
        for i in range(int(round(duration_s * fps))):
            t = i / fps
            lid = max(bump(t, o, d) for o, d in zip(onsets, durs, strict=True))
            cor = max(bump(t, o + pull_lag_s, d + 0.2) for o, d in zip(onsets, durs, strict=True))
            inj = closure.scaled(round(lid, 2)) + pull.scaled(round(cor, 2))
            frame = warper.apply(inj) if not inj.is_empty() else image
            if noise:
                frame = np.clip(frame + bank[i % len(bank)], 0, 255).astype(np.uint8)
            yield t, frame

    return frames(), onsets
