"""The rule "no Django signals": every side effect is explicit in model methods."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("core", "admin", "patients", "config")
SIGNAL_USE = re.compile(
    r"django\.dispatch|@receiver\b|\b(pre|post)_(save|delete)\.connect"
)


def test_no_project_module_connects_a_signal_receiver():
    offenders = [
        str(path.relative_to(REPO))
        for package in PROJECT_PACKAGES
        for path in (REPO / package).rglob("*.py")
        if SIGNAL_USE.search(path.read_text())
    ]

    assert offenders == []
