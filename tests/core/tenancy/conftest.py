"""Fixtures of the tenancy tests: the middleware tests' users, Redis servers
and test views."""

from tests.core.middleware.fixtures import (  # noqa: F401
    api_urls_fixture,
    doctor_fixture,
    on_cluster_fixture,
    on_redis_fixture,
    shared_cluster_fixture,
    shared_redis_fixture,
    staff_fixture,
)
