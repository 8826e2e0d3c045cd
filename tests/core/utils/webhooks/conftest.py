"""Fixtures for the webhook tests (see fixtures.py) and the Fusion engines."""

from tests.core.utils.fusion.conftest import (  # noqa: F401 - fixtures
    broker_queue_prefix,
    celery_engine,
)
from tests.core.utils.webhooks.fixtures import (  # noqa: F401 - fixtures
    deliver_fixture,
    receiver_fixture,
    subscribe_fixture,
    webhook_settings_fixture,
)
from tests.fusion_fixtures import database_engine, job_file, run_worker  # noqa: F401
