"""Architecture: every top-level module and package of core has a place in
the layers contract (pyproject.toml), so a new one cannot sit outside the
import rules that lint-imports enforces (README, "Layers")."""

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[1]
#: Not Python code that imports anything: data and the package's own marker.
NOT_CODE = {"__init__", "locale", "static", "templates", "__pycache__"}


def layered_modules() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(
        contract["layers"]
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "layers"
    )
    return {
        name.strip() for layer in layers for name in layer.replace("|", ":").split(":")
    }


def core_modules() -> set[str]:
    return {
        f"core.{path.stem}"
        for path in (REPO / "core").iterdir()
        if path.stem not in NOT_CODE and (path.suffix == ".py" or path.is_dir())
    }


def test_every_core_module_has_a_layer():
    assert core_modules() - layered_modules() == set()
