"""The rule "ask a backend what it can do, never which class it is".

A backend is a class that declares capabilities (`core.utils.capabilities`):
every `ServiceClient` and every storage of the instance cache. Project code
must not decide by a backend's class (`isinstance(client, LocalFileS3Client)`
let an OpenSearch client or a test double pass for "no search server"), and
every concrete backend class must declare its own `capabilities`. Checking
that something is a backend at all (`issubclass(cls, ServiceClient)`, as the
system check does) is allowed: the abstract roots are not decisions.

The scan reads the source (AST), so it also finds checks in code no test
runs; the planted offenders below prove that it finds each form.
"""

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("core", "patients", "admin", "config")
#: The mixin every backend root derives from.
DECLARING_MIXIN = "DeclaresCapabilities"
CLASS_CHECKS = ("isinstance", "issubclass")


@dataclass(frozen=True)
class Backends:
    """Backend class names found in the scanned files."""

    roots: frozenset[str]  # the mixin and the abstract bases deriving from it
    concrete: dict[str, tuple[Path, ast.ClassDef]]  # every other backend class


def parsed(roots: list[Path]) -> dict[Path, ast.Module]:
    return {
        path: parse(path, path.read_text())
        for root in roots
        for path in sorted(root.rglob("*.py"))
    }


@functools.cache
def parse(path: Path, source: str) -> ast.Module:
    """One parse per file and text: the tests below scan the project's
    packages five times (the scan only reads the trees)."""
    return ast.parse(source, filename=str(path))


def base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def find_backends(modules: dict[Path, ast.Module]) -> Backends:
    """Classes deriving, by name and at any depth, from the mixin."""
    classes = [
        (path, node, {base_name(base) for base in node.bases})
        for path, module in modules.items()
        for node in ast.walk(module)
        if isinstance(node, ast.ClassDef)
    ]
    roots = {DECLARING_MIXIN} | {
        node.name for _, node, bases in classes if DECLARING_MIXIN in bases
    }
    backends: dict[str, tuple[Path, ast.ClassDef]] = {}
    grew = True
    while grew:
        grew = False
        for path, node, bases in classes:
            known = roots | set(backends)
            if node.name not in known and bases & known:
                backends[node.name] = (path, node)
                grew = True
    return Backends(roots=frozenset(roots), concrete=backends)


def class_names(node: ast.expr, aliases: dict[str, str]) -> list[str]:
    """The class names a type argument names: `A`, `mod.A`, `(A, B)`, `A | B`."""
    if isinstance(node, ast.Tuple):
        return [name for item in node.elts for name in class_names(item, aliases)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return class_names(node.left, aliases) + class_names(node.right, aliases)
    name = base_name(node)
    return [] if name is None else [aliases.get(name, name)]


def import_aliases(module: ast.Module) -> dict[str, str]:
    """`from x import A as B` makes B mean A."""
    return {
        alias.asname: alias.name
        for node in ast.walk(module)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname
    }


def checked_classes(node: ast.AST, aliases: dict[str, str]) -> list[str]:
    """Class names `node` decides by: isinstance / issubclass, `type(x) is A`,
    and `case A():`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in CLASS_CHECKS
        and len(node.args) == 2
    ):
        return class_names(node.args[1], aliases)
    if (
        isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Call)
        and isinstance(node.left.func, ast.Name)
        and node.left.func.id == "type"
    ):
        return [n for c in node.comparators for n in class_names(c, aliases)]
    if isinstance(node, ast.MatchClass):
        return class_names(node.cls, aliases)
    return []


def class_decisions(roots: list[Path]) -> list[str]:
    """`path:line: ClassName` for each decision by a concrete backend class."""
    modules = parsed(roots)
    backends = find_backends(modules)
    found = []
    for path, module in modules.items():
        aliases = import_aliases(module)
        for node in ast.walk(module):
            for name in checked_classes(node, aliases):
                if name in backends.concrete:
                    found.append(f"{shown(path)}:{node.lineno}: {name}")
    return found


def undeclared_backends(roots: list[Path]) -> list[str]:
    """Concrete backend classes without `capabilities` in their own body."""
    backends = find_backends(parsed(roots))
    return sorted(
        f"{shown(path)}: {name}"
        for name, (path, node) in backends.concrete.items()
        if not any(declares_capabilities(statement) for statement in node.body)
    )


def declares_capabilities(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    else:
        return False
    return any(base_name(t) == "capabilities" for t in targets)


def shown(path: Path) -> str:
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def project_roots() -> list[Path]:
    return [REPO / package for package in PROJECT_PACKAGES]


def test_no_project_module_decides_by_a_backends_class():
    assert class_decisions(project_roots()) == []


def test_every_backend_class_declares_its_capabilities():
    backends = find_backends(parsed(project_roots()))

    assert {"ElasticSearchClient", "LocalFileS3Client"} <= set(backends.concrete)
    assert "ServiceClient" in backends.roots
    assert undeclared_backends(project_roots()) == []


PLANTED = """
from core.utils.aws.client import LocalFileS3Client as Folder
from core.utils.clients import ServiceClient
import core.utils.aws.client as aws
import core.utils.elastic_search.client


def decide(client, cls):
    if isinstance(client, Folder):  # line 9: an alias
        pass
    if isinstance(client, (str, aws.S3Client)):  # line 11: in a tuple, by module
        pass
    if isinstance(client, int | core.utils.elastic_search.client.ElasticSearchClient):
        pass  # line 13: in a union, by its full path
    if type(client) is aws.LocalFileS3Client:  # line 15
        pass
    if issubclass(cls, PlantedClient):  # line 17: a backend defined here
        pass
    match client:
        case Folder():  # line 20
            pass
    return isinstance(client, str) or issubclass(cls, ServiceClient)  # allowed


class PlantedClient(ServiceClient):
    def check(self, timeout=2.0):
        raise NotImplementedError
"""


def test_the_scan_finds_every_planted_decision_by_class(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(PLANTED)

    found = class_decisions([*project_roots(), tmp_path])

    mine = sorted(line.rsplit(":", 2)[1:] for line in found if "planted.py" in line)
    assert mine == sorted(
        [
            ["9", " LocalFileS3Client"],
            ["11", " S3Client"],
            ["13", " ElasticSearchClient"],
            ["15", " LocalFileS3Client"],
            ["17", " PlantedClient"],
            ["20", " LocalFileS3Client"],
        ]
    )


def test_the_scan_finds_a_planted_backend_that_declares_nothing(tmp_path):
    (tmp_path / "planted.py").write_text(PLANTED)

    undeclared = undeclared_backends([*project_roots(), tmp_path])

    assert [line.rsplit(": ", 1)[1] for line in undeclared] == ["PlantedClient"]
