"""What a training run records (``run_log``, ``model_card``): paths as they were given on the
command line, and one card layout for a trained network and for an average."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emotion_core.training.config import TrainingConfig
from emotion_core.training.model_card import average_card, render, training_card
from emotion_core.training.results import EpochRecord, TrainingResult
from emotion_core.training.run_log import earlier_run, training_log

COMMAND = "python -m emotion_core train-emotion --data data/fer2013 --out models/run"
METRICS: dict[str, Any] = {
    "accuracy": 0.5, "macro_f1": 0.4,
    "per_class": {"happy": {"precision": 0.6, "recall": 0.5, "f1": 0.55, "support": 20}},
}


def _earlier_log() -> dict[str, Any]:
    return {"command": "python -m emotion_core train-emotion --out runs/a", "device": "cpu",
            "config": {"seed": 0, "val_fraction": 0.1, "limit": None, "stem": 32,
                       "stages": [48, 96, 192], "blocks": 2},
            "parameters": 1000, "epochs_run": 3, "seconds": 60.0, "faces_per_second": 90.0,
            "public_test_flip": METRICS}


def _result(config: TrainingConfig, init: dict[str, Any] | None = None) -> TrainingResult:
    return TrainingResult(
        config=config, device="cpu", torch_version="2.0", parameters=1000, train_faces=270,
        val_faces=30, best_epoch=1, epochs_run=1, seconds=30.0, faces_per_second=9.0,
        history=[EpochRecord(1, 0.1, 1.9, 0.5, 0.4, 30.0)], validation=METRICS,
        public_test=None, public_test_flip=None, model_path=config.out / "model.onnx",
        model_sha256="ab" * 32, init=init,
    )


def test_a_runs_log_and_card_keep_relative_paths_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    earlier = Path("runs/a")
    earlier.mkdir(parents=True)
    (earlier / "model.onnx").write_bytes(b"an earlier model")
    (earlier / "training.json").write_text(json.dumps(_earlier_log()))
    config = TrainingConfig(data=Path("data/fer2013"), out=Path("models/run"),
                            init_from=earlier / "model.onnx")
    init = earlier_run(earlier / "model.onnx", config)
    assert init["file"] == "runs/a/model.onnx"

    result = _result(config, init)
    log = training_log(result, COMMAND)
    assert log["config"]["data"] == "data/fer2013" and log["config"]["out"] == "models/run"
    assert log["config"]["init_from"] == "runs/a/model.onnx"
    card = render(training_card(result, COMMAND))
    assert str(tmp_path) not in json.dumps(log) and str(tmp_path) not in card
    assert "went on training `runs/a/model.onnx`" in card and COMMAND in card


def test_a_run_and_an_average_share_one_card_layout() -> None:
    run = render(training_card(_result(TrainingConfig(data=Path("d"), out=Path("o"))),
                               COMMAND))
    member = dict(_earlier_log(), command=COMMAND)
    average = render(average_card({
        "command": "python -m emotion_core average-emotion a b", "model_sha256": "cd" * 32,
        "validation": METRICS, "public_test": METRICS,
        "members": [{"name": f"member {k}", "file": f"r{k}/model.onnx", "sha256": "ef" * 32,
                     "training": member} for k in (1, 2)],
    }))

    def headings(card: str) -> list[str]:
        return [line for line in card.splitlines() if line.startswith("## ")]

    assert run.startswith("# Classroom mood emotion model (`model.onnx`)\n")
    assert average.startswith("# Classroom mood emotion model (`model.onnx`)\n")
    assert headings(run) == [
        "## Interface", "## Architecture",
        "## Training data and its terms", "## How it was made",
        "## Accuracy (tight 48×48 FER2013 crops, no face detection)",
    ]
    assert headings(average) == [
        "## Interface", "## Members", "## Training data and its terms", "## How it was made",
        "## Accuracy of the average (tight 48×48 FER2013 crops, no face detection)",
    ]
    assert f"sha256 of `model.onnx`: `{'ab' * 32}`" in run
    assert f"sha256 of `model.onnx`: `{'cd' * 32}`" in average
    assert "| happy | 0.600 | 0.500 | 0.550 | 20 |" in average
