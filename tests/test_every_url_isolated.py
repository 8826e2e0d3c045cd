"""Every URL the project serves has a lab-isolation test.

Isolation tests live in modules named `test_isolation_*.py` anywhere under
tests/, each declaring `COVERS = {"namespace:name", ...}`: the URL names its
attacker-style tests exercise. This test walks the URL configuration and
fails for a URL no module covers, so a new endpoint cannot ship without one,
and for a COVERS entry naming no URL, so the list cannot rot.
"""

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.engine_independent

#: Namespaces with no lab-scoped data of their own, and why.
EXEMPT_NAMESPACES = {
    # Django's admin is for platform operators (is_staff), not lab users;
    # a lab user signed in through /core/auth/ is not admin staff.
    "admin": "operators only",
}
TESTS = Path(__file__).parent


def url_names(patterns: list, namespace: str = "") -> Iterator[str]:
    """`namespace:name` of every URL pattern ("" when unnamed)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if inner in EXEMPT_NAMESPACES:
                continue
            prefix = f"{inner}:" if pattern.namespace else ""
            for name in url_names(pattern.url_patterns, inner):
                yield name if ":" in name or not prefix else f"{prefix}{name}"
        elif isinstance(pattern, URLPattern):
            full = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield full or f"<unnamed {pattern.pattern}>"


def covered() -> set[str]:
    """The union of COVERS of every tests/**/test_isolation_*.py module."""
    names: set[str] = set()
    for path in sorted(TESTS.rglob("test_isolation_*.py")):
        module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        names |= set(importlib.import_module(module).COVERS)
    return names


def test_every_url_has_an_isolation_test():
    served = set(url_names(get_resolver().url_patterns))

    missing = sorted(served - covered())

    assert served, "no URLs found: the walk is broken"
    assert missing == [], (
        f"URLs without a lab-isolation test: {missing}. Add attacker-style tests "
        "in a tests/**/test_isolation_*.py module and name the URLs in its COVERS."
    )


def test_isolation_modules_name_only_urls_that_exist():
    served = set(url_names(get_resolver().url_patterns))

    assert sorted(covered() - served) == []
