"""Every URL the project serves is fuzzed (tests/fuzz/), or is declared
here as taking no input the fuzz test could send, with the reason.

This walks the URL configuration, as test_every_url_isolated.py does, and
fails for a URL name in neither list, so a new endpoint (say
`patients:search`) cannot ship until tests/fuzz/endpoints.py says how to
fuzz it; and for a name in either list that no URL has, so the lists
cannot rot.
"""

from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.fuzz.endpoints import FUZZED

pytestmark = pytest.mark.engine_independent

#: URL namespaces not fuzzed, and why.
NOT_FUZZED_NAMESPACES = {
    # Django's own HTML forms for platform operators (is_staff), validated
    # by Django's form fields (which refuse NUL themselves); not JSON, and
    # not reachable by a lab session or an API key.
    "admin": "Django's admin: HTML forms for operators, not JSON",
}
#: URL names not fuzzed, and why. Empty: even the form and file endpoints
#: (Pusher auth, signed file links) are fuzzed.
NOT_FUZZED: dict[str, str] = {}


def url_names(patterns: list, namespace: str = "") -> Iterator[str]:
    """`namespace:name` of every URL pattern outside NOT_FUZZED_NAMESPACES
    (`<unnamed ...>` for a pattern without a name, which cannot be listed)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if inner not in NOT_FUZZED_NAMESPACES:
                yield from url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            if not pattern.name:
                yield f"<unnamed {pattern.pattern}>"
            else:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def served() -> set[str]:
    return set(url_names(get_resolver().url_patterns))


def test_every_url_is_fuzzed_or_declared_not_to_take_input():
    missing = sorted(served() - set(FUZZED) - set(NOT_FUZZED))

    assert len(served()) >= 10, "too few URLs found: the walk is broken"
    assert missing == [], (
        f"URLs the fuzz test does not cover: {missing}. Say how to fuzz each in "
        "tests/fuzz/endpoints.py (FUZZED: its methods, URL and body fields), or "
        "list it in NOT_FUZZED here with the reason it takes no input."
    )


def test_the_lists_name_only_urls_that_exist():
    assert sorted((set(FUZZED) | set(NOT_FUZZED)) - served()) == []
    assert set(FUZZED).isdisjoint(NOT_FUZZED)


def test_a_new_url_shows_up_as_not_fuzzed(settings):
    # Given the project's URLs plus a new JSON endpoint nobody declared
    settings.ROOT_URLCONF = "tests.fuzz.urls_with_a_new_endpoint"

    # then the walk finds it uncovered
    assert sorted(served() - set(FUZZED) - set(NOT_FUZZED)) == ["patients:export"]
