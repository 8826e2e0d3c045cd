"""The tenancy seam holds: no code decides access by reading the session's
lab itself, and core reaches the lab hierarchy through one module.

The class of defect: an endpoint that reads `labId` / `docLabId` from the
session (the Pusher auth view did, and signed a deactivated user's channel)
skips the per-request re-authorisation of core.tenancy.access. These tests
read the project's source: they fail for any module but
core/tenancy/session.py that names those keys in code, and for any module
of core but core/tenancy/hierarchy.py that imports the hierarchy.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[3]
PROJECT_PACKAGES = ("core", "admin", "patients", "config")
SESSION_LAB_KEYS = {"labId", "docLabId", "labEpochs"}
SESSION_MODULE = REPO / "core" / "tenancy" / "session.py"
HIERARCHY = "admin.account.proxies.lab_relation"
HIERARCHY_MODULE = REPO / "core" / "tenancy" / "hierarchy.py"


def project_modules(*packages: str) -> Iterator[tuple[Path, ast.Module]]:
    for package in packages:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), str(path))


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string nodes that are docstrings (prose, not code)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def session_key_uses(tree: ast.Module) -> list[int]:
    """Lines where code (not a docstring) names a session lab key."""
    prose = _docstrings(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and node.value in SESSION_LAB_KEYS
        and id(node) not in prose
    ]


def test_only_the_session_module_names_the_session_lab_keys():
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path, tree in project_modules(*PROJECT_PACKAGES)
        if path != SESSION_MODULE
        for line in session_key_uses(tree)
    ]

    assert offenders == [], (
        "Read the request's lab from request.scope (LabContextMiddleware), "
        "never from the session."
    )


def test_the_check_finds_a_view_reading_the_session_lab():
    planted = ast.parse(
        'def view(request):\n    """Reads labId."""\n'
        '    return request.session.get("labId")\n'
    )

    assert session_key_uses(planted) == [3]  # the code, not the docstring


def test_core_reaches_the_lab_hierarchy_through_one_module():
    offenders = []
    for path, tree in project_modules("core"):
        for node in ast.walk(tree):
            names = (
                [f"{node.module}.{alias.name}" for alias in node.names]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name.startswith(HIERARCHY) for name in names):
                offenders.append(str(path.relative_to(REPO)))

    assert set(offenders) == {str(HIERARCHY_MODULE.relative_to(REPO))}
