"""Our own emotion network (trained by ``emotion_core.training``), run with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion_core.core.labels import EMOTIONS
from emotion_core.core.paths import MODELS_DIR
from emotion_core.emotion.model import FACES_PER_CALL, EmotionModelUnavailable, normalised_rows
from emotion_core.onnx.runtime import OnnxModelUnusable, onnx_session, run_in_pieces

# Our own model (emotion_core/training/), committed with its model card.
CLASSROOM_MODEL_PATH = MODELS_DIR / "classroom_emotion" / "model.onnx"


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
        self.description = f"Classroom mood CNN (FER2013 and ExpW, offline, {path.name})"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        if not len(crops):
            return np.zeros((0, len(EMOTIONS)), np.float32)
        (probabilities,) = run_in_pieces(self._session, crops.astype(np.float32), FACES_PER_CALL)
        return normalised_rows(probabilities)
