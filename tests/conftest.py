"""Every fixture module of the suite, registered for every test
(`pytest_plugins`), so a test names the fixtures it uses and imports none.
The fixtures domain apps share (labs, the job worker, the stand-ins) are
the project's plugin, tests/plugin.py, loaded for every run."""

import pytest
from django.db import connection

from tests.plugin import make_lab

__all__ = ["make_lab", "requires_postgresql"]

# A module that another one here imports comes first, so pytest can rewrite
# its asserts before that import.
pytest_plugins = [
    "tests.interrupts",
    "tests.engine_independent",
    "tests.fusion_fixtures",
    "tests.core.middleware.fixtures",
    "tests.core.models.encrypted_record",
    "tests.core.fusion.broker_fixtures",
    "tests.core.webhooks.fixtures",
    "tests.health_fixtures",
    "tests.pdf_fixtures",
    "tests.pdf_render_fixtures",
]


requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent connections and row locks (PostgreSQL)",
)
