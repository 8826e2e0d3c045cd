"""The README names only what exists (issue 18 point 8): every `manage.py`
command it shows is a command, every setting or environment variable it
names (`NAME` or `NAME=...`) is read by the project, and every path under
/core/, /api/ or /admin/ it gives is served (or is the prefix of a route).
A renamed command, setting or route then fails here, not a newcomer."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
#: Where the project reads settings and environment variables.
SOURCES = ("config", "core", "admin", "patients", "scripts")


def project_text() -> str:
    files = [
        path
        for folder in SOURCES
        for path in (REPO / folder).rglob("*")
        if path.suffix in (".py", ".sh") and "migrations" not in path.parts
    ]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def routes(patterns: list, prefix: str = "/") -> Iterator[str]:
    """Every route of the URL configuration, placeholders included."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield route
            yield from routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def test_every_command_the_readme_shows_exists() -> None:
    shown = set(re.findall(r"manage\.py ([a-z_]+)", README))

    assert shown, "no commands found: the pattern is broken"
    assert sorted(shown - set(get_commands())) == []


def test_every_setting_and_variable_the_readme_names_is_read() -> None:
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})(?:=[^`]*)?`", README))
    named |= set(re.findall(r"\b([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)=", README))
    source = project_text()

    assert len(named) > 20, "few names found: the pattern is broken"
    assert sorted(name for name in named if name not in source) == []


@pytest.mark.parametrize(
    "path",
    sorted(set(re.findall(r"(?<![\w.])(/(?:core|api|admin)/[\w/<>.{}-]*)", README))),
)
def test_every_path_the_readme_gives_is_served(path: str) -> None:
    sample = re.sub(r"<[^>]+>|\{[^}]+\}", "1", path)
    try:
        resolve(sample)
    except Resolver404:
        known = list(routes(get_resolver().url_patterns))
        assert any(route.startswith(path) for route in known), (
            f"{path} is neither served nor the prefix of a route"
        )


#: A repository path in backquotes: `docs/operations.md`, `core/generics.py`.
REPOSITORY_PATH = re.compile(
    r"`((?:\.\./)*(?:docs|core|admin|patients|config|scripts|tools|bench|tests)"
    r"/[\w./-]*\.(?:md|py|sh|txt|mjs|json|toml))`"
)


def test_every_file_the_readme_and_docs_name_is_in_the_repository() -> None:
    """A clone has everything the README and docs/ point to: no link leaves
    the repository (the design notes live in docs/), no file is renamed
    under them."""
    texts = {"README.md": README} | {
        f"docs/{doc.name}": doc.read_text(encoding="utf-8")
        for doc in (REPO / "docs").glob("*.md")
    }
    named = {
        (source, path) for source, text in texts.items()
        for path in REPOSITORY_PATH.findall(text)
    }  # fmt: skip

    assert len(named) > 20, "too few paths found: the pattern is broken"
    outside = sorted(f"{s}: {p}" for s, p in named if p.startswith("../"))
    missing = sorted(f"{s}: {p}" for s, p in named if not (REPO / p).exists())
    assert outside == [] and missing == []
