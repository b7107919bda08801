"""Face embeddings (identity vectors) behind one interface, through DeepFace's ``represent``."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.core.types import Faces
from emotion_core.identity.thresholds import DLIB, VGG_FACE, IdentityThresholds

log = logging.getLogger(__name__)

DLIB_WEIGHTS = "dlib_face_recognition_resnet_model_v1.dat"
VGG_FACE_WEIGHTS = "vgg_face_weights.h5"
DLIB_LANDMARKS = "shape_predictor_5_face_landmarks.dat"


class FaceEmbedderUnavailable(ClassroomMoodError, RuntimeError):
    """The model's weights are missing and cannot be fetched."""


class FaceEmbedder(Protocol):
    """Turns faces into identity vectors.

    ``chips`` cuts the faces of one RGB frame into aligned square crops (N, chip_size,
    chip_size, 3) uint8 RGB; ``embed`` turns a batch of chips into (N, dimension) float32 rows of
    unit length. ``thresholds`` (``thresholds.py``) are the cosine distances under which two
    embeddings (or two means of embeddings) are taken to be the same person, within a lesson
    and across lessons, and the face size under which nobody is identified.

    Two backends:

    - ``VGG-Face``: DeepFace's default recognition model. Its weights (``vgg_face_weights.h5``)
      are downloaded by DeepFace into ``$DEEPFACE_HOME/.deepface/weights`` on a machine with
      internet.
    - ``Dlib``: dlib's ResNet (128-d), DeepFace's ``Dlib`` model. Its weight file ships inside
      the ``face-recognition-models`` pip package under the very name DeepFace looks for, so it
      is linked into DeepFace's weight folder and works offline; this is the offline default.

    Vectors are compared by cosine distance. Vectors of different models are never compared:
    each backend's ``name`` is stored with every vector and with every video it analysed.
    """

    name: str
    description: str
    dimension: int
    chip_size: int
    thresholds: IdentityThresholds

    def chips(self, image: np.ndarray, faces: Faces) -> np.ndarray: ...

    def embed(self, chips: np.ndarray) -> np.ndarray: ...


def unit_rows(vectors: Any) -> np.ndarray:
    """``vectors`` (N, D) scaled to unit length (rows of zeros stay zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    v = v.reshape(len(v), -1) if v.ndim != 2 else v
    return v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of every row of ``a`` (N, D) with every row of ``b`` (M, D)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    return np.clip(1.0 - unit_rows(a) @ unit_rows(b).T, 0.0, 2.0)


def with_mirrors(chips: np.ndarray) -> list[np.ndarray]:
    """The N ``chips`` followed by their N mirror images, each contiguous, for an embedder to
    embed in one batch (``mirror_averaged`` folds the 2N vectors back into N)."""
    return [np.ascontiguousarray(view) for view in (*chips, *chips[:, :, ::-1])]


def mirror_averaged(vectors: np.ndarray) -> np.ndarray:
    """(2N, D) embeddings of N chips followed by their N mirror images: N unit rows, each the
    mean of a chip's and its mirror's (``represent_chips`` says why)."""
    units = unit_rows(vectors)
    half = len(units) // 2
    return unit_rows(units[:half] + units[half:])


def represent_chips(represent: Callable[..., Any], model_name: str, chips: np.ndarray) -> np.ndarray:
    """``chips`` (N, S, S, 3) RGB uint8, already aligned, through DeepFace's ``represent``
    (which reads BGR) with no detection: one unit vector per chip, the mean of the chip's and
    its mirror image's embeddings. A face and its mirror are the same person, and averaging
    the two takes out some of what one view alone gets wrong: on real photos of the same
    people it accepts more same-person pairs at the same false-match rate (BENCHMARKS.md,
    re-identification on real photos). ``DlibEmbedder`` embeds the same views with dlib
    directly."""
    if len(chips) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    bgr = [np.ascontiguousarray(view[:, :, ::-1]) for view in with_mirrors(chips)]
    results = represent(
        img_path=bgr, model_name=model_name, detector_backend="skip",
        enforce_detection=False, align=False,
    )
    return mirror_averaged(np.asarray([faces[0]["embedding"] for faces in results]))


def deepface_weights_dir() -> Path:
    """Where DeepFace looks for (and downloads) weight files."""
    home = os.environ.get("DEEPFACE_HOME") or str(Path.home())
    return Path(home) / ".deepface" / "weights"


class DeepFaceEmbedder:
    """A DeepFace recognition model, built once through ``DeepFace.build_model`` and run through
    ``DeepFace.represent`` on chips this class aligns itself (``detector_backend='skip'``)."""

    name = "VGG-Face"
    chip_size = 224
    dimension = 4096
    thresholds = VGG_FACE
    # the crop around the eyes-levelled face box, as a fraction of the box's side on each side
    chip_margin = 0.0

    def __init__(self) -> None:
        try:
            from deepface import DeepFace

            self._fetch_weights()
            DeepFace.build_model(task="facial_recognition", model_name=self.name)
        except Exception as exc:  # DeepFace raises ValueError offline, others on a bad file
            raise FaceEmbedderUnavailable(
                f"DeepFace's {self.name} weights are not available ({str(exc).splitlines()[0]})"
            ) from exc
        self._represent = DeepFace.represent
        self.description = f"DeepFace {self.name} (weights from $DEEPFACE_HOME)"

    @staticmethod
    def _fetch_weights() -> None:
        """Have DeepFace fetch VGG-Face's weights (or find them) before it builds the network:
        it builds the 145-million-weight network first and then looks for its weights, which
        costs 0.6 GB of memory for nothing on a machine that cannot fetch them."""
        from deepface.commons import weight_utils
        from deepface.models.facial_recognition.tf import VGGFace

        weight_utils.download_weights_if_necessary(
            file_name=VGG_FACE_WEIGHTS, source_url=VGGFace.WEIGHTS_URL
        )

    def chips(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        """Eyes levelled by rotating about the box centre (as DeepFace aligns), box cut square."""
        chips = np.empty((len(faces), self.chip_size, self.chip_size, 3), dtype=np.uint8)
        for i, (box, points) in enumerate(zip(faces.boxes, faces.landmarks)):
            (lx, ly), (rx, ry) = points[0], points[1]
            angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            side = max(box[2] - box[0], box[3] - box[1]) * (1 + 2 * self.chip_margin)
            scale = self.chip_size / max(float(side), 1e-3)
            matrix = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, scale)
            matrix[:, 2] += self.chip_size / 2 - np.array([cx, cy])
            chips[i] = cv2.warpAffine(
                image, matrix, (self.chip_size, self.chip_size),
                flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        return chips

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return represent_chips(self._represent, self.name, chips)


def face_recognition_models_dir() -> Path | None:
    """The weight folder of the ``face-recognition-models`` package, without importing it (its
    ``__init__`` needs ``pkg_resources``, which new setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "models"


def link_dlib_weights(shipped: Path) -> None:
    """Link dlib's weights where DeepFace looks for its ``Dlib`` model's (DeepFace only checks
    that a file of that name exists; a link costs no disk)."""
    target = deepface_weights_dir() / DLIB_WEIGHTS
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # a dangling link left by a removed package
        target.symlink_to(shipped / DLIB_WEIGHTS)


class DlibEmbedder:
    """dlib's ResNet (128-d), the network DeepFace's ``Dlib`` model runs; offline, its weights
    from a pip package (``face-recognition-models``).

    Faces are aligned the way the network was trained: dlib's 5-point shape predictor inside the
    detector's box, then ``dlib.get_face_chip`` (150 px, padding 0.25). The chips go to dlib
    directly, in one batch with their mirror images: the same vectors as through DeepFace
    (``tests/identity/test_embedding.py``) at half the time, as DeepFace's resizing and
    rescaling of each chip cost as much as the network on this CPU.
    """

    name = "Dlib"
    chip_size = 150
    dimension = 128
    thresholds = DLIB

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise FaceEmbedderUnavailable("dlib is not installed (pip package dlib-bin)") from exc
        shipped = face_recognition_models_dir()
        if shipped is None or not (shipped / DLIB_WEIGHTS).is_file():
            raise FaceEmbedderUnavailable(
                "dlib's weights are missing: install the pip package face-recognition-models"
            )
        link_dlib_weights(shipped)  # so that DeepFace's own "Dlib" finds them too
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(shipped / DLIB_LANDMARKS))
        self._network = dlib.face_recognition_model_v1(str(shipped / DLIB_WEIGHTS))
        self.description = (
            "dlib ResNet 128-d (DeepFace's Dlib network; offline, weights from "
            "face-recognition-models)"
        )

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._network.compute_face_descriptor(with_mirrors(chips))
        return mirror_averaged(np.asarray(vectors))

    def chips(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        chips = np.empty((len(faces), self.chip_size, self.chip_size, 3), dtype=np.uint8)
        if not len(faces):
            return chips
        image = np.ascontiguousarray(image)
        for i, box in enumerate(faces.boxes):
            rect = self._dlib.rectangle(*(round(float(v)) for v in box))
            shape = self._landmarks(image, rect)
            chips[i] = self._dlib.get_face_chip(image, shape, size=self.chip_size, padding=0.25)
        return chips
