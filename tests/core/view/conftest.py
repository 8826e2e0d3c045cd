"""The health check fixtures (tests/health_fixtures.py)."""

from tests.health_fixtures import (  # noqa: F401
    database_unreachable,
    elasticsearch,
    faulty_redis,
)
