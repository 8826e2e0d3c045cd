"""Fixtures of the middleware tests (see fixtures.py); every test here sees
the test views' URLs."""

import pytest

from tests.core.middleware.fixtures import (  # noqa: F401
    api_urls_fixture,
    doctor_fixture,
    faulty_redis_fixture,
    on_cluster_fixture,
    on_redis_fixture,
    shared_cluster_fixture,
    shared_redis_fixture,
    staff_fixture,
)


@pytest.fixture(autouse=True)
def _test_urls(api_urls) -> None:
    """Every test in this folder runs with the test views' URLs."""
