"""Guided face search: between whole-frame detections, faces are looked for near known faces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from emotion_core.core.crops import region_crops
from emotion_core.core.geometry import iou_matrix, square_boxes
from emotion_core.core.types import Faces, Frame
from emotion_core.faces.detector import FaceDetector

# Between full detections (``detect_every`` > 1) faces are looked for again only near the faces
# already known: in a square REGION_CONTEXT times a face's side around its last box, scaled so
# that the face is about REGION_FACE_PX wide where the detector looks. Small faces come out
# enlarged, and MTCNN finds those more reliably than the same faces in the whole frame.
REGION_CONTEXT = 2.5
REGION_FACE_PX = 32.0
# A face found in a region is taken only when its centre is this close to the region's centre
# (a fraction of the region's side on each axis): a neighbour cut by the region's edge is left to
# its own region or to the next full detection.
REGION_CENTRE_TOLERANCE = 0.25
# Boxes that overlap more than this are taken to be one face.
SAME_FACE_IOU = 0.3
# How long a face that was seen is looked for again where it was: pupils come back to their seat
# after looking away or leaving the room for a moment.
REGION_MEMORY_S = 6.0
# Regions per detector call: the detector's working memory grows with the regions of a call, so a
# crowded batch is split and the peak memory of an analysis does not depend on the busiest batch.
REGIONS_PER_CALL = 64


class RecentFaces:
    """The last box of every track seen within ``memory_s``: where to look for faces again.

    Old entries are dropped as time goes on, so this stays small however long the video.
    """

    def __init__(self, memory_s: float = REGION_MEMORY_S) -> None:
        self.memory_s = memory_s
        self._last: dict[int, tuple[float, np.ndarray]] = {}  # track id -> (time, box)

    def add(self, faces: Faces) -> None:
        """Remember the boxes of tracked ``faces`` (``track_ids`` set) as seen at their time."""
        if faces.track_ids is None:
            raise ValueError("RecentFaces needs tracked faces")
        for track_id, box in zip(faces.track_ids.tolist(), faces.boxes):
            self._last.pop(track_id, None)  # re-insert: the dict stays ordered by time seen
            self._last[track_id] = (faces.time_s, box)
        horizon = faces.time_s - self.memory_s
        for track_id in [t for t, (seen, _) in self._last.items() if seen < horizon]:
            del self._last[track_id]

    def boxes(self, now: float) -> np.ndarray:
        """Boxes (N, 4) seen within ``memory_s`` before ``now``, the latest seen first."""
        boxes = [box for seen, box in reversed(self._last.values()) if now - seen <= self.memory_s]
        return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def region_crop_size(detector: FaceDetector) -> int:
    """Side in pixels of the regions cut around known faces (see REGION_FACE_PX).

    A detector that enlarges its input (MTCNN's ``upscale``) gets smaller regions, so the faces
    it sees are the same size and the cost does not grow with its upscale.
    """
    settings = getattr(detector, "settings", None)
    upscale = float(getattr(settings, "upscale", 1.0) or 1.0)
    min_face = float(getattr(settings, "min_face_size", 20))
    face_px = max(REGION_FACE_PX, 1.5 * min_face) / upscale
    return max(12, round(face_px * REGION_CONTEXT))


def detect_guided(
    detector: FaceDetector,
    batch: Sequence[Frame],
    whole: Sequence[bool],
    recent: RecentFaces,
    crop_size: int,
) -> list[Faces]:
    """Faces of a batch where only the frames flagged in ``whole`` are searched whole.

    Every frame is also searched near the known faces it does not have yet: those of the whole
    frames before it in the batch, latest first, then those in ``recent`` (as of the batch's
    start). All the whole frames go to the detector in one call, all the regions in a second one.
    """
    found = iter(detector.detect([f for f, w in zip(batch, whole) if w]))
    searched: list[Faces] = []  # the whole frames so far, latest last
    own: list[Faces] = []
    regions: list[np.ndarray] = []
    for frame, is_whole in zip(batch, whole):
        faces = next(found) if is_whole else Faces.empty(frame)
        if is_whole:
            searched.append(faces)
        known = _no_boxes()
        for earlier in reversed(searched):
            if frame.time_s - earlier.time_s <= recent.memory_s:
                known = _add_new(known, earlier.boxes)
        known = _add_new(known, recent.boxes(frame.time_s))
        regions.append(_add_new(faces.boxes, known)[len(faces):])
        own.append(faces)
    nearby = detect_in_regions(detector, batch, regions, crop_size)
    return [_merge(frame, o, n) for frame, o, n in zip(batch, own, nearby)]


def detect_in_regions(
    detector: FaceDetector,
    frames: Sequence[Frame],
    boxes: Sequence[np.ndarray],
    crop_size: int,
) -> list[Faces]:
    """Faces found near ``boxes[i]`` (M, 4) in ``frames[i]``, up to REGIONS_PER_CALL per call."""
    squares = [square_boxes(b, (REGION_CONTEXT - 1) / 2) for b in boxes]
    crops = [
        Frame(index=frame.index, time_s=frame.time_s, image=crop)
        for frame, s in zip(frames, squares)
        for crop in region_crops(frame.image, s, crop_size)
    ]
    in_crops = (
        faces
        for start in range(0, len(crops), REGIONS_PER_CALL)
        for faces in detector.detect(crops[start : start + REGIONS_PER_CALL])
    )
    return [
        _in_frame(frame, [_from_region(next(in_crops), square, crop_size) for square in s])
        for frame, s in zip(frames, squares)
    ]


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.float32)


def _add_new(boxes: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``boxes`` followed by the boxes of ``more`` that overlap none of them."""
    if not len(more):
        return boxes
    fresh = more[iou_matrix(more, boxes).max(axis=1, initial=0.0) < SAME_FACE_IOU]
    return np.concatenate([boxes, fresh]) if len(boxes) else fresh


def _from_region(faces: Faces, square: np.ndarray, crop_size: int) -> Faces:
    """Faces found in the crop of ``square``, in frame pixels, without faces off its centre."""
    centre = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    keep = (np.abs(centre - crop_size / 2) <= REGION_CENTRE_TOLERANCE * crop_size).all(axis=1)
    faces = faces.select(keep)
    scale = float(square[2] - square[0]) / crop_size
    origin = square[:2].astype(np.float32)
    return replace(
        faces,
        boxes=faces.boxes * scale + np.tile(origin, 2),
        landmarks=faces.landmarks * scale + origin,
    )


def _in_frame(frame: Frame, parts: Sequence[Faces]) -> Faces:
    """One frame's faces from the faces of its regions, boxes clipped to the frame."""
    height, width = frame.image.shape[:2]
    return Faces.concat(frame, parts).clipped_to(width, height)


def _merge(frame: Frame, own: Faces, nearby: Faces) -> Faces:
    """``own`` plus the faces of ``nearby`` that are not already there, best score first."""
    if not len(nearby):
        return own
    taken = own.boxes
    keep = np.zeros(len(nearby), dtype=bool)
    for i in np.argsort(-nearby.scores, kind="stable"):
        box = nearby.boxes[i : i + 1]
        if iou_matrix(box, taken).max(initial=0.0) < SAME_FACE_IOU:
            keep[i] = True
            taken = np.concatenate([taken, box])
    return Faces.concat(frame, [own, nearby.select(keep)])
