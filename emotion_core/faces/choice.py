"""The face detectors an analysis can be run with, by name, and the default one."""

from __future__ import annotations

from emotion_core.core.errors import ClassroomMoodError
from emotion_core.faces.detector import FaceDetector
from emotion_core.faces.mtcnn import MTCNNDetector, MTCNNSettings
from emotion_core.faces.yunet import YuNetDetector, YuNetSettings

DetectorSettings = YuNetSettings | MTCNNSettings

# YuNet finds 0.935 of the faces of 20 px and more on WIDER FACE's group photos where MTCNN finds
# 0.836 (BENCHMARKS.md, "Detection on real photos (issue 19)"), but MTCNN stays the default for
# now: the emotion models' crops, the alert rules' detection-score guard and the readability
# thresholds were all chosen on MTCNN's boxes and scores, and with YuNet's the default emotion
# model reads JAFFE at 0.516 against 0.540, and YuNet's scores (median 0.78 on a real lesson)
# fall under the alerts' 0.9 guard. YuNet is there to choose (``--detector yunet``).
DETECTORS: dict[str, type] = {"mtcnn": MTCNNSettings, "yunet": YuNetSettings}
DEFAULT_DETECTOR = "mtcnn"


class UnknownDetector(ClassroomMoodError, ValueError):
    """A detector name that is none of ``DETECTORS``."""


def detector_settings(name: str = DEFAULT_DETECTOR) -> DetectorSettings:
    """The default settings of the detector called ``name``."""
    if name not in DETECTORS:
        raise UnknownDetector(
            f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}"
        )
    return DETECTORS[name]()


def default_detector_settings() -> DetectorSettings:
    return detector_settings(DEFAULT_DETECTOR)


def build_detector(settings: DetectorSettings, device: str = "CPU:0") -> FaceDetector:
    """The detector ``settings`` describe (``device``: TensorFlow's, for MTCNN)."""
    if isinstance(settings, YuNetSettings):
        return YuNetDetector(settings)
    if isinstance(settings, MTCNNSettings):
        return MTCNNDetector(settings, device=device)
    raise UnknownDetector(f"no face detector has settings of type {type(settings).__name__}")
