"""The health check fixtures (tests/health_fixtures.py), and Fusion's
database engine for the job backlog."""

from tests.fusion_fixtures import database_engine  # noqa: F401
from tests.health_fixtures import (  # noqa: F401
    database_unreachable,
    elasticsearch,
    faulty_redis,
)
