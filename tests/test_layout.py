"""The dependency rule between emotion_core's sub-packages (README, "Layout"), checked by
import-linter against the contracts in pyproject.toml, and shown to fail on a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.env import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the package and the contracts found in ``root``."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture
def copy_of_project(tmp_path: Path) -> Path:
    """The package and its contracts, copied where a test may break them."""
    shutil.copytree(PROJECT_ROOT / "emotion_core", tmp_path / "emotion_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_every_contract() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "forbidden", "contract"), [
    # the bottom layer reaching up into the store
    ("core/labels.py", "import emotion_core.store.store", "Layers of the sub-packages"),
    # one stage importing another: emotion and identity know nothing of each other
    ("emotion/model.py", "import emotion_core.identity.embedders", "Layers of the sub-packages"),
    # analysis-time code importing the training package (and so torch)
    ("analysis/models.py", "import emotion_core.training.net", "Layers of the sub-packages"),
    ("emotion/model.py", "import torch", "torch is imported only by training"),
    ("store/queries.py", "import streamlit", "Nothing in emotion_core imports Streamlit"),
    ("store/privacy.py", "import emotion_core.onnx.runtime", "The store depends only on core"),
])
def test_a_forbidden_import_breaks_its_contract(copy_of_project: Path, module: str, forbidden: str,
                                                contract: str) -> None:
    path = copy_of_project / "emotion_core" / module
    path.write_text(path.read_text() + f"\n{forbidden}  # noqa\n")
    result = lint_imports(copy_of_project)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout
