"""Every endpoint the architecture note (`seed/core-architecture.txt`,
"The core app exposes minimal endpoints") names answers at its path.

The note is a contract: its paths must not 404 however the routes grow.
Its table is copied here (the note lives outside the repository), so a
route renamed away from the note fails this test rather than a client.
"""

import pytest
from django.test import Client
from django.urls import resolve

from core import pdf_view
from core.view import ReadinessView

#: The note's table: path, the module it names, what it is for.
SEED_ENDPOINTS = [
    ("/core/pdf/", "core.pdf_view", "PDF generation utilities"),
    ("/core/view/", "core.view", "Health checks"),
]


@pytest.mark.parametrize(("path", "module", "purpose"), SEED_ENDPOINTS)
def test_each_seed_endpoint_is_served_by_the_module_the_note_names(
    path: str, module: str, purpose: str
) -> None:
    match = resolve(path)

    view = getattr(match.func, "view_class", match.func)
    assert view.__module__ == module, purpose


def test_the_seed_pdf_endpoint_is_the_pdf_view() -> None:
    assert resolve("/core/pdf/").func is pdf_view.pdf


@pytest.mark.django_db
def test_the_seed_health_endpoint_answers_the_readiness_report(
    client: Client,
) -> None:
    seed = client.get("/core/view/")
    ready = client.get("/core/view/ready/")

    assert resolve("/core/view/").func.view_class is ReadinessView  # type: ignore[attr-defined]
    assert seed.status_code == ready.status_code
    assert seed.json().keys() == ready.json().keys()
    assert seed.json()["checks"].keys() == ready.json()["checks"].keys()


def test_the_seed_health_endpoint_keeps_readinesss_access_rule(
    client: Client,
) -> None:
    response = client.get("/core/view/", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 403
    assert "checks" not in response.json()
