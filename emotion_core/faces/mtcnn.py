"""MTCNN (its weights ship in the ``mtcnn`` package), run on whole batches of frames."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from emotion_core.core.types import Faces, Frame

log = logging.getLogger(__name__)


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
    """MTCNN from the ``mtcnn`` package, run on whole batches of same-sized frames at once
    (``_mtcnn_rows`` drives its three stages)."""

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
        rows = _mtcnn_rows(
            self._mtcnn,
            [self._resized(f.image) for f in frames],
            min_face_size=s.min_face_size,
            scale_factor=s.scale_factor,
            threshold_pnet=s.threshold_pnet,
            threshold_rnet=s.threshold_rnet,
            threshold_onet=s.threshold_onet,
        )
        rows[:, 1:5] /= s.upscale
        rows[:, 6:16] /= s.upscale
        rows = rows[rows[:, 5] >= s.min_score]
        image_ids = rows[:, 0].astype(int)
        return [_faces_of(frame, rows[image_ids == i]) for i, frame in enumerate(frames)]

    def _resized(self, image: np.ndarray) -> np.ndarray:
        if self.settings.upscale != 1.0:
            image = cv2.resize(
                image, None, fx=self.settings.upscale, fy=self.settings.upscale,
                interpolation=cv2.INTER_CUBIC,
            )
        return image


def _mtcnn_rows(mtcnn: Any, images: Sequence[np.ndarray], **knobs: Any) -> np.ndarray:
    """MTCNN's rows [image, x1, y1, x2, y2, score, 5 x, 5 y] (float32, N×16) for ``images``,
    as mtcnn 1.0's ``detect_faces(images, output_type="numpy", box_format="xyxy", **knobs)``
    gives them, to the bit (``tests/faces/test_detection.py``).

    mtcnn pads and stacks the batch, normalises it into new arrays and hands it to each of its
    three stages as NumPy, which TensorFlow then copies again for every pyramid level and for
    R- and O-Net's patches: for 8 frames of 1600×900 that is about 1 GB of copies. Here the batch
    is stacked once, copied into TensorFlow as bytes, normalised there and read by every stage
    as one tensor: the same boxes in about half the time (BENCHMARKS.md). Images of different
    sizes are padded as mtcnn pads them, and each box is moved back by its own image's padding
    (mtcnn pairs the paddings with the images that have boxes, so an image without a face shifts
    the boxes of the next one).
    """
    import tensorflow as tf

    batch, shapes, pads = _stacked(images)
    with tf.device(mtcnn.device):
        # normalised as mtcnn does, ((x - 127.5) / 128 in float32: exact for 0..255), after the
        # copy into TensorFlow, so that the copy is of bytes rather than floats
        tensor = (tf.cast(tf.convert_to_tensor(batch), tf.float32) - 127.5) / 128
        del batch
        rows = None
        try:
            for stage in mtcnn.stages:
                rows = stage(bboxes_batch=rows, images_normalized=tensor, images_oshapes=shapes,
                             **knobs)
        except tf.errors.InvalidArgumentError:  # mtcnn's own signal that no face is left
            return np.zeros((0, 16), np.float32)
    from mtcnn.utils.bboxes import limit_bboxes

    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 16)
    ids = rows[:, 0].astype(int)
    rows[:, [1, 3, 6, 7, 8, 9, 10]] -= pads[ids, 1, 0][:, None]
    rows[:, [2, 4, 11, 12, 13, 14, 15]] -= pads[ids, 0, 0][:, None]
    # boxes inside their image, landmarks left where they are, as detect_faces leaves them
    return limit_bboxes(rows, images_shapes=shapes, limit_landmarks=False)


def _stacked(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The images stacked, their shapes, and mtcnn's padding of each ((top, bottom), (left,
    right), (0, 0)): none where they are of one size, else as mtcnn pads them (zeros, centred)."""
    shapes = np.array([image.shape for image in images])
    if (shapes == shapes[0]).all():
        return np.stack(images), shapes, np.zeros((len(images), 3, 2), dtype=int)
    from mtcnn.utils.images import pad_stack_np

    batch, _, pads = pad_stack_np([image.astype(np.float32) for image in images])
    return batch, shapes, pads


def _trace_networks(mtcnn: Any) -> None:
    """Run P-, R- and O-Net on onnxruntime on the CPU (``mtcnn_onnx.py``), and on a GPU as
    traced TensorFlow graphs instead of one eager op at a time.

    mtcnn 1.0 calls its Keras networks eagerly; traced, they give the same boxes for 60-75 % of
    the CPU time (PNet runs many small ops over every level of the image pyramid). Each
    network keeps one graph with free dimensions (``reduce_retracing``) once it has seen two
    shapes, so pyramid levels and varying numbers of candidates do not trace again. mtcnn has no
    public way to swap a stage's network, hence ``_model``; mtcnn is pinned to 1.0.0. Only this
    detector's networks are swapped: other users of mtcnn in the process (DeepFace's detector,
    the speed benchmark's naive loop) run it as shipped.
    """
    import tensorflow as tf

    from emotion_core.faces.mtcnn_onnx import NetworkOnOnnx

    on_cpu = not tf.config.list_physical_devices("GPU")
    for stage in mtcnn.stages:
        if on_cpu:
            try:  # on the CPU, onnxruntime runs them in about half TensorFlow's time
                stage._model = NetworkOnOnnx(stage._model)
                continue
            except Exception as exc:  # noqa: BLE001  (any failure: TensorFlow runs it)
                log.warning("MTCNN's %s runs on TensorFlow: %s", type(stage._model).__name__, exc)
        stage._model = tf.function(stage._model, reduce_retracing=True)


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
