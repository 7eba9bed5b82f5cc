"""One clip's landmarking pass: the MediaPipe model plus image refinement, frame by frame."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from synktrack.chin_neck import frame_textures_array
from synktrack.landmarks import FaceResult, Landmarker, Recording, RecordingBuilder, to_pixels
from synktrack.measures.pose import yaw_pitch_roll
from synktrack.mesh_mirror import symmetrise
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
    symmetric
        Landmark the reference frame a second time, mirrored, and keep how far
        the average of the two (:mod:`synktrack.mesh_mirror`) lies from the
        model's own points (``attrs["mirror_offset_px"]``, reference-image
        pixels). The measures add it to every frame in the head frame, so the
        positions that every tracked point, lid and the head frame start from
        are free of the model's left-right bias, and a clip and its mirror
        image give the same values. Tracking itself runs on the model's own
        points, which stay consistent from frame to frame. One extra model
        and inference per clip.
    """

    def __init__(self, model_path: str | os.PathLike[str], *, max_faces: int = 2,
                 refine: RefineSettings | None = None, capacity: int = 256,
                 symmetric: bool = True) -> None:
        self.landmarker = Landmarker(model_path, max_faces=max_faces)
        self._model_path, self._max_faces = model_path, max_faces
        self.symmetric = symmetric
        self.refiner = ImageRefiner(refine)
        self.builder = RecordingBuilder(capacity)
        self.reference: int | None = None
        self._blink_idx: list[int] | None = None
        self.mirror_matrix: np.ndarray | None = None

    def __enter__(self) -> ClipTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.landmarker.close()

    def _mirror_offset(self, face: FaceResult, image: np.ndarray) -> np.ndarray | None:
        """(478, 2) flip-symmetric minus the model's landmarks of this frame, pixels.

        A second landmarker (the clip's own keeps its tracking state), used once.
        Also keeps the mirror image's pose (``mirror_matrix``): the reference
        frame's foreshortening is the mean of both, so it is flip-symmetric too.
        """
        assert face.landmarks is not None
        with Landmarker(self._model_path, max_faces=self._max_faces) as mirror:
            flipped = mirror.process(np.ascontiguousarray(image[:, ::-1]), 0.0)
        if flipped.landmarks is None:
            return None
        self.mirror_matrix = flipped.matrix
        h, w = image.shape[:2]
        sym = symmetrise(face.landmarks, flipped.landmarks)
        return to_pixels(sym[:, :2], w, h) - to_pixels(face.landmarks[:, :2], w, h)

    def __len__(self) -> int:
        return len(self.builder)

    def process(self, image: np.ndarray, time_s: float) -> bool:
        """Landmark and refine one RGB frame; return whether a face was found."""
        face = self.landmarker.process(image, time_s)
        refined = None
        textures = None
        if face.landmarks is not None:
            h, w = image.shape[:2]
            pts = to_pixels(face.landmarks[:, :2], w, h)
            if self._blink_idx is None:
                names = face.blendshape_names
                self._blink_idx = [names.index(n) for n in _BLINK if n in names]
            assert face.blendshapes is not None
            blink = float(face.blendshapes[self._blink_idx].max()) if self._blink_idx else 0.0
            had_ref = self.refiner.has_reference
            if self.symmetric and self.refiner.takes_reference(blink):
                self.refiner.mirror_offset = self._mirror_offset(face, image)
            refined = self.refiner.process(image, pts, blink)
            if not had_ref and self.refiner.has_reference:
                self.reference = len(self.builder)
            textures = frame_textures_array(image, pts)  # chin and neck, while the image is here
        self.builder.append(time_s, face, refined, textures)
        return face.landmarks is not None

    def recording(self, attrs: dict[str, Any]) -> Recording:
        attrs = {**attrs, "reference_frame": self.reference}
        offset = self.refiner.mirror_offset
        if offset is not None and self.reference is not None:
            attrs["mirror_offset_px"] = np.round(offset, 4).tolist()
            if self.mirror_matrix is not None:
                attrs["mirror_pose_deg"] = np.round(
                    yaw_pitch_roll(self.mirror_matrix[None], mirrored=True)[0], 4).tolist()
        return self.builder.build(attrs)
