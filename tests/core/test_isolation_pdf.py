"""POST /core/pdf/ tested as an attacker would: another lab's stored PDFs
cannot be read or even confirmed to exist (the same 404 as a missing key),
a child lab cannot reach its parent's or a sibling's, a doctor only their
own lab's, a revoked API key is refused at once, nobody unsigned gets in,
and a session POST without its CSRF token is refused.

Labs (tests/conftest.py): central -> north -> north_clinic,
central -> south; other is unrelated."""

from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from core.models import ApiKey
from core.pdf_jobs import render_pdf_batch
from tests.core.middleware.fixtures import LOGIN_URL, PASSWORD, make_user, post_json
from tests.pdf_fixtures import (
    Labs,
    api_key_headers,
    body_of,
    page_texts,
    post_pdf,
    signed_in,
    store_pdf,
)
from tests.standins.pusher import PusherStandIn

#: The URL names this module attacks (collected by the URL-enumeration test).
COVERS = {"core:pdf"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(labs: Labs, storage: Any) -> dict[str, str]:
    """One stored PDF per lab, saying whose it is; the keys by lab name."""
    return {
        name: store_pdf(lab, f"report-{name}", f"Report of {name}")
        for name, lab in labs.items()
    }


def error_of(response: Any) -> tuple[int, set[str], str]:
    """Status, body fields and message: all that differs between two
    answers except the request id."""
    body = response.json()
    return response.status_code, set(body), body["error"]


def merge(client: Client, key: str, **headers: str) -> Any:
    return post_pdf(client, {"merge": [key]}, **headers)


def test_another_labs_pdf_is_answered_exactly_like_a_missing_one(
    labs: Labs, reports: dict[str, str]
) -> None:
    other_lab = labs["other"].pk
    attacker = signed_in("mallory", labs["central"])

    existing = merge(attacker, reports["other"])
    missing = merge(attacker, f"labs/{other_lab}/reports/report-nobody.pdf")
    own_missing = merge(attacker, f"labs/{labs['central'].pk}/reports/nope.pdf")

    assert error_of(existing) == error_of(missing) == error_of(own_missing)
    assert existing.status_code == 404
    assert "Report of other" not in existing.content.decode()


def test_a_foreign_key_hidden_among_own_keys_is_still_refused(
    labs: Labs, reports: dict[str, str]
) -> None:
    attacker = signed_in("mallory", labs["central"])

    response = post_pdf(attacker, {"merge": [reports["central"], reports["other"]]})

    assert response.status_code == 404
    assert response.json()["error"].startswith("merge[1]:")


@pytest.mark.parametrize(
    "key",
    [
        "labs/{other}/reports/../../{central}/reports/x.pdf",
        "labs/{central}/reports/../../{other}/reports/report-other.pdf",
        "labs/0{other}/reports/report-other.pdf",
        "labs/{other}/reports//report-other.pdf",
        "/labs/{other}/reports/report-other.pdf",
        "labs/{other}/pdf-requests/x.json",
        "labs/{other}/report-other.pdf",
        "labs/{central}/reports",
        "",
    ],
)
def test_crafted_keys_reach_nothing(
    labs: Labs, reports: dict[str, str], key: str
) -> None:
    attacker = signed_in("mallory", labs["central"])
    crafted = key.format(other=labs["other"].pk, central=labs["central"].pk)

    response = merge(attacker, crafted)

    assert response.status_code == 404
    assert error_of(response) == error_of(
        merge(attacker, f"labs/{labs['central'].pk}/reports/nope.pdf")
    )


def test_a_child_lab_reaches_neither_its_parent_nor_a_sibling(
    labs: Labs, reports: dict[str, str]
) -> None:
    north = signed_in("nina", labs["north"])

    parent = merge(north, reports["central"])
    sibling = merge(north, reports["south"])
    own_child = merge(north, reports["north_clinic"])

    assert parent.status_code == sibling.status_code == 404
    assert error_of(parent) == error_of(sibling)
    assert own_child.status_code == 200
    assert "Report of north_clinic" in page_texts(body_of(own_child))[0]


def test_a_parent_reads_its_children_and_grandchildren(
    labs: Labs, reports: dict[str, str]
) -> None:
    central = signed_in("asha", labs["central"])

    answers = [merge(central, reports[name]) for name in ("north", "north_clinic")]

    assert [answer.status_code for answer in answers] == [200, 200]


def test_a_doctor_sees_only_their_own_lab(labs: Labs, reports: dict[str, str]) -> None:
    doctor = signed_in("dr.sen", labs["north"], kind="doctor")

    own = merge(doctor, reports["north"])
    child = merge(doctor, reports["north_clinic"])
    parent = merge(doctor, reports["central"])

    assert own.status_code == 200
    assert "Report of north" in page_texts(body_of(own))[0]
    assert child.status_code == parent.status_code == 404
    assert error_of(child) == error_of(parent)


def test_an_api_key_has_its_labs_scope(
    labs: Labs, reports: dict[str, str], client: Client
) -> None:
    headers = api_key_headers(labs["north"])

    assert merge(client, reports["north_clinic"], **headers).status_code == 200
    assert merge(client, reports["central"], **headers).status_code == 404
    assert merge(client, reports["other"], **headers).status_code == 404


def test_a_revoked_api_key_is_refused_at_once(
    labs: Labs, reports: dict[str, str], client: Client
) -> None:
    key, text = ApiKey.create(labs["north"], "Printer")
    assert merge(client, reports["north"], **{"X-API-Key": text}).status_code == 200

    key.revoke("laptop stolen")
    response = merge(client, reports["north"], **{"X-API-Key": text})

    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "lis_000000000000_" + "x" * 43}, {"Authorization": "Basic x"}],
)
def test_without_a_lab_session_or_a_valid_key_it_is_401(
    labs: Labs, reports: dict[str, str], headers: dict[str, str]
) -> None:
    response = merge(Client(), reports["central"], **headers)

    assert response.status_code == 401
    assert "Report of central" not in response.content.decode()


def test_a_signed_in_user_without_a_lab_gets_401(
    labs: Labs, reports: dict[str, str], django_user_model: Any
) -> None:
    django_user_model.objects.create_user("nolab", password=PASSWORD)
    browser = Client()
    assert browser.login(username="nolab", password=PASSWORD)

    assert merge(browser, reports["central"]).status_code == 401


def test_a_session_post_needs_its_csrf_token(
    labs: Labs, reports: dict[str, str]
) -> None:
    # given a browser signed in the way a page does it, CSRF token and all
    make_user("asha", labs["central"])
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/core/auth/csrf/").json()["csrfToken"]
    credentials = {"username": "asha", "password": PASSWORD}
    answer = post_json(browser, LOGIN_URL, credentials, **{"X-CSRFToken": token})
    token = answer.json()["csrfToken"]  # replaced at sign-in

    # when a page on another site makes it post without the token
    refused = merge(browser, reports["central"])
    accepted = merge(browser, reports["central"], **{"X-CSRFToken": token})

    assert refused.status_code == 403
    assert "CSRF check failed" in refused.json()["error"]
    assert accepted.status_code == 200


def test_an_api_key_needs_no_csrf_token(labs: Labs, reports: dict[str, str]) -> None:
    browser = Client(enforce_csrf_checks=True)

    response = merge(browser, reports["central"], **api_key_headers(labs["central"]))

    assert response.status_code == 200


def test_a_batch_is_stored_and_announced_in_the_requesting_lab_only(
    labs: Labs, local_storage: Any, pusher: PusherStandIn
) -> None:
    north = signed_in("nina", labs["north"])

    response = post_pdf(
        north, {"batch": [{"report": "patients.summary", "context": {}}]}
    )
    job = DBTaskResult.objects.get(pk=response.json()["job"])
    render_pdf_batch.call(*job.args_kwargs["args"], **job.args_kwargs["kwargs"])

    key = response.json()["key"]
    assert key.startswith(f"labs/{labs['north'].pk}/reports/")
    [event] = pusher.events
    assert event.channels == [f"private-lab-{labs['north'].pk}"]
    # the parent reads it; the sibling and the other network do not
    assert merge(signed_in("asha", labs["central"]), key).status_code == 200
    assert merge(signed_in("sam", labs["south"]), key).status_code == 404
    assert merge(signed_in("tom", labs["other"]), key).status_code == 404
