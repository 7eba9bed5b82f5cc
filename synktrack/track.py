"""One clip's landmarking pass: the MediaPipe model plus image refinement, frame by frame."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from synktrack.landmarks import Landmarker, Recording, RecordingBuilder
from synktrack.refine import ImageRefiner, RefineSettings

_BLINK = ("eyeBlinkLeft", "eyeBlinkRight")


class ClipTracker:
    """Landmark and refine the frames of one clip, in time order.

    Parameters
    ----------
    model_path
        Verified face landmarker model.
    max_faces
        Faces the model looks for (the followed one is chosen consistently).
    """

    def __init__(self, model_path: str | os.PathLike[str], *, max_faces: int = 2,
                 refine: RefineSettings | None = None, capacity: int = 256) -> None:
        self.landmarker = Landmarker(model_path, max_faces=max_faces)
        self.refiner = ImageRefiner(refine)
        self.builder = RecordingBuilder(capacity)
        self.reference: int | None = None
        self._blink_idx: list[int] | None = None

    def __enter__(self) -> ClipTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.landmarker.close()

    def __len__(self) -> int:
        return len(self.builder)

    def process(self, image: np.ndarray, time_s: float) -> bool:
        """Landmark and refine one RGB frame; return whether a face was found."""
        face = self.landmarker.process(image, time_s)
        refined = None
        if face.landmarks is not None:
            h, w = image.shape[:2]
            pts = face.landmarks[:, :2].astype(np.float64) * (w, h)
            if self._blink_idx is None:
                names = face.blendshape_names
                self._blink_idx = [names.index(n) for n in _BLINK if n in names]
            assert face.blendshapes is not None
            blink = float(face.blendshapes[self._blink_idx].max()) if self._blink_idx else 0.0
            had_ref = self.refiner.has_reference
            refined = self.refiner.process(image, pts, blink)
            if not had_ref and self.refiner.has_reference:
                self.reference = len(self.builder)
        self.builder.append(time_s, face, refined)
        return face.landmarks is not None

    def recording(self, attrs: dict[str, Any]) -> Recording:
        attrs = {**attrs, "reference_frame": self.reference}
        return self.builder.build(attrs)
