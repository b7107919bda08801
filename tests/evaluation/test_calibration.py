"""Expected calibration error on toy cases worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.evaluation.metrics import expected_calibration_error


def readings(confidence: float, n: int, correct: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` two-class readings with top probability ``confidence`` on class 0, of which the
    first ``correct`` are right."""
    probabilities = np.tile([confidence, 1 - confidence], (n, 1))
    return probabilities, np.array([0] * correct + [1] * (n - correct))


def test_a_calibrated_model_has_no_error() -> None:
    # four in five right at 80 % confidence, and three in four right at 75 %
    p80, t80 = readings(0.8, 5, 4)
    p75, t75 = readings(0.75, 4, 3)
    error = expected_calibration_error(np.concatenate([p80, p75]), np.concatenate([t80, t75]))
    assert error == pytest.approx(0.0, abs=1e-12)


def test_an_overconfident_model_by_hand() -> None:
    # 4 faces at 0.95 with 2 right, 6 at 0.6 with 3 right: 0.4 * 0.45 + 0.6 * 0.1
    p95, t95 = readings(0.95, 4, 2)
    p60, t60 = readings(0.6, 6, 3)
    error = expected_calibration_error(np.concatenate([p95, p60]), np.concatenate([t95, t60]))
    assert error == pytest.approx(0.24)


def test_gaps_of_different_bins_do_not_cancel() -> None:
    # over-confident at 0.9 (none right), under-confident at 0.55 (all right): pooled the
    # gaps would partly cancel (|0.5 - 0.725|); binned they add up, 0.5 * 0.9 + 0.5 * 0.45
    p90, t90 = readings(0.9, 2, 0)
    p55, t55 = readings(0.55, 2, 2)
    error = expected_calibration_error(np.concatenate([p90, p55]), np.concatenate([t90, t55]))
    assert error == pytest.approx(0.675)


def test_fifteen_equal_bins_pool_close_confidences() -> None:
    # 0.61 and 0.66 share the bin (0.6, 0.667]: one right, one wrong, mean confidence 0.635
    probabilities = np.array([[0.61, 0.39], [0.66, 0.34]])
    assert expected_calibration_error(probabilities, np.array([0, 1])) == pytest.approx(0.135)
    # with 30 bins they are apart: 0.5 * 0.39 + 0.5 * 0.66
    assert expected_calibration_error(probabilities, np.array([0, 1]), bins=30) == pytest.approx(0.525)


def test_no_faces_no_error_and_shapes_checked() -> None:
    assert expected_calibration_error(np.zeros((0, 7)), np.zeros(0, np.int64)) == 0.0
    with pytest.raises(ValueError):
        expected_calibration_error(np.ones((3, 7)) / 7, np.zeros(2, np.int64))
