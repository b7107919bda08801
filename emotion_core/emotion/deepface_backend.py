"""DeepFace's emotion CNN, loaded through DeepFace's own code (its weights need the internet once)."""

from __future__ import annotations

import numpy as np

from emotion_core.emotion.model import EmotionModelUnavailable, normalised_rows


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
        return normalised_rows(self._model.predict_on_batch(x))
