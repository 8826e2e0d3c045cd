"""Shared fixtures: labs in a small hierarchy, on the real test database; and
every fixture module of the suite, registered for every test
(`pytest_plugins`), so a test names the fixtures it uses and imports none."""

from collections.abc import Callable

import pytest
from django.db import connection

from admin.account.models import Lab, LabRelation
from core.models.activity_log_base import forget_parent_labs
from core.utils.clients import registry

# A module that another one here imports comes first, so pytest can rewrite
# its asserts before that import.
pytest_plugins = [
    "tests.fusion_fixtures",
    "tests.core.middleware.fixtures",
    "tests.core.models.encrypted_record",
    "tests.core.fusion.broker_fixtures",
    "tests.core.webhooks.fixtures",
    "tests.health_fixtures",
    "tests.pdf_fixtures",
    "tests.pdf_render_fixtures",
]


@pytest.fixture(autouse=True)
def fresh_clients():
    """Every test starts with fresh service clients, so the in-process
    instance cache never carries rows from one test's database to the next."""
    registry.reset()
    forget_parent_labs()
    yield
    registry.reset()


def make_lab(name: str, parent: Lab | None = None, **fields: object) -> Lab:
    """A saved lab, linked under `parent` when given."""
    lab = Lab(name=name, **fields)
    lab.save()
    if parent is not None:
        LabRelation(parent_lab=parent, child_lab=lab).save()
    return lab


@pytest.fixture
def lab_factory(db: None) -> Callable[..., Lab]:
    return make_lab


@pytest.fixture
def labs(db: None) -> dict[str, Lab]:
    """central -> north -> north_clinic, central -> south; plus unrelated other."""
    central = make_lab("Central", time_zone="Asia/Kolkata")
    north = make_lab("North", parent=central)
    south = make_lab("South", parent=central)
    north_clinic = make_lab("North Clinic", parent=north)
    other = make_lab("Other Network", time_zone="Europe/London", country="GB")
    return {
        "central": central,
        "north": north,
        "south": south,
        "north_clinic": north_clinic,
        "other": other,
    }


requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent connections and row locks (PostgreSQL)",
)
