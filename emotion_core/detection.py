"""Face detectors behind one small interface; MTCNN (weights ship in the ``mtcnn`` package)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from emotion_core.types import Faces, Frame

log = logging.getLogger(__name__)


class FaceDetector(Protocol):
    """Finds every face in a batch of frames."""

    name: str
    description: str  # name and settings, stored with each analysis

    def detect(self, frames: Sequence[Frame]) -> list[Faces]: ...


@dataclass(frozen=True)
class MTCNNSettings:
    """MTCNN's knobs; the defaults come from benchmarks/detection.py (see docs/detection.md).

    ``upscale`` enlarges frames before detection (boxes are mapped back), which helps faces
    smaller than ``min_face_size``; it costs about upscale² in time. ``min_score`` drops weak
    detections after the network's own thresholds.

    Every setting tried finds all faces of 20 px and more on the composed classroom, so the
    defaults are set by the CCTV classroom (faces 10-40 px) and by cost. ``min_face_size`` 20
    keeps detection near 120 ms per 640x352 frame; smaller values cost 1.5-4 times that and, at
    scores below 0.9, box hands on papers. At 20, scores of 0.8-0.9 are children looking down at
    their desks, so ``min_score`` is no stricter than ONet's own 0.8: 19 % more faces for nothing.
    """

    min_face_size: int = 20
    scale_factor: float = 0.709
    threshold_pnet: float = 0.6
    threshold_rnet: float = 0.7
    threshold_onet: float = 0.8
    upscale: float = 1.0
    min_score: float = 0.8

    def describe(self) -> str:
        return "mtcnn(" + ", ".join(f"{k}={v}" for k, v in asdict(self).items()) + ")"


class MTCNNDetector:
    """MTCNN from the ``mtcnn`` package, run on whole batches of same-sized frames at once."""

    def __init__(self, settings: MTCNNSettings | None = None, device: str = "CPU:0") -> None:
        from mtcnn import MTCNN  # imports TensorFlow: keep it out of module import time

        self.settings = settings or MTCNNSettings()
        self._mtcnn: Any = MTCNN(device=device)
        _trace_networks(self._mtcnn)
        self.name = "mtcnn"
        self.description = self.settings.describe()

    def detect(self, frames: Sequence[Frame]) -> list[Faces]:
        if not frames:
            return []
        s = self.settings
        images = [self._resized(f.image) for f in frames]
        rows = self._mtcnn.detect_faces(
            images,
            output_type="numpy",
            box_format="xyxy",
            min_face_size=s.min_face_size,
            scale_factor=s.scale_factor,
            threshold_pnet=s.threshold_pnet,
            threshold_rnet=s.threshold_rnet,
            threshold_onet=s.threshold_onet,
        )
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, 16)
        rows[:, 1:5] /= s.upscale
        rows[:, 6:16] /= s.upscale
        rows = rows[rows[:, 5] >= s.min_score]
        image_ids = rows[:, 0].astype(int)
        return [_faces_of(frame, rows[image_ids == i]) for i, frame in enumerate(frames)]

    def _resized(self, image: np.ndarray) -> np.ndarray:
        """The image as MTCNN gets it: float32, so its normalisation does not work in float64."""
        if self.settings.upscale != 1.0:
            image = cv2.resize(
                image, None, fx=self.settings.upscale, fy=self.settings.upscale,
                interpolation=cv2.INTER_CUBIC,
            )
        return image.astype(np.float32)


def _trace_networks(mtcnn: Any) -> None:
    """Run P-, R- and O-Net on onnxruntime on the CPU (``mtcnn_onnx.py``), and on a GPU as
    traced TensorFlow graphs instead of one eager op at a time.

    mtcnn 1.0 calls its Keras networks eagerly; traced, they give the same boxes for 60-75 % of
    the CPU time (PNet runs many small ops over every level of the image pyramid). Each
    network keeps one graph with free dimensions (``reduce_retracing``) once it has seen two
    shapes, so pyramid levels and varying numbers of candidates do not trace again. mtcnn has no
    public way to swap a stage's network, hence ``_model`` (and ``_stages`` for PNet's input,
    ``_OneTensorPyramid``); mtcnn is pinned to 1.0.0.
    """
    import tensorflow as tf
    from mtcnn.stages import StagePNet

    from emotion_core.mtcnn_onnx import NetworkOnOnnx

    on_cpu = not tf.config.list_physical_devices("GPU")
    for stage in mtcnn.stages:
        if on_cpu:
            try:  # on the CPU, onnxruntime runs them in about half TensorFlow's time
                stage._model = NetworkOnOnnx(stage._model)
                continue
            except Exception as exc:  # noqa: BLE001  (any failure: TensorFlow runs it)
                log.warning("MTCNN's %s runs on TensorFlow: %s", type(stage._model).__name__, exc)
        stage._model = tf.function(stage._model, reduce_retracing=True)
    mtcnn._stages = [_OneTensorPyramid(s) if isinstance(s, StagePNet) else s
                     for s in mtcnn.stages]


class _OneTensorPyramid:
    """PNet's stage, given the batch as one tensor, so that its image pyramid is built from it.

    mtcnn 1.0 hands the batch to ``tf.image.resize`` as a NumPy array once per pyramid level,
    so TensorFlow copies the whole batch again for every level: for 16 frames of 1600x900 that
    is 12 copies of 276 MB, 5 s of the 6 s the pyramid takes. Converted once, the levels are
    the same to the bit (``tests/test_detection.py``). Only this detector's PNet is wrapped:
    other users of mtcnn in the process (DeepFace's detector, the speed benchmark's naive loop)
    run it as shipped.
    """

    def __init__(self, stage: Any) -> None:
        self._stage = stage

    def __call__(self, *, images_normalized: Any, **kwargs: Any) -> Any:
        import tensorflow as tf

        return self._stage(images_normalized=tf.convert_to_tensor(images_normalized), **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stage, name)


def _faces_of(frame: Frame, rows: np.ndarray) -> Faces:
    """Turn MTCNN's rows [image, x1, y1, x2, y2, score, 5 x, 5 y] into ``Faces``."""
    height, width = frame.image.shape[:2]
    faces = Faces(
        frame_index=frame.index,
        time_s=frame.time_s,
        boxes=rows[:, 1:5].copy(),
        scores=rows[:, 5].copy(),
        # mtcnn gives the five x first, then the five y
        landmarks=rows[:, 6:16].reshape(-1, 2, 5).transpose(0, 2, 1).copy(),
    )
    return faces.clipped_to(width, height)
