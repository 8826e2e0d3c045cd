"""Every test here sees the project's URLs plus the test views of
tests/core/middleware/views.py (the `api_urls` fixture)."""

import pytest


@pytest.fixture(autouse=True)
def _test_urls(api_urls) -> None:
    """Every test in this folder runs with the test views' URLs."""
