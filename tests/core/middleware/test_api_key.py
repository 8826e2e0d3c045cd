"""API keys on real requests: accepted in either header, refused at once when
revoked, never written anywhere, their use kept to the minute, and bad keys
throttled per address."""

import datetime as dt
import json
import logging

import pytest
from django.test import Client
from django.utils import timezone

from core.models import ActivityLog, ApiKey
from tests.core.middleware.fixtures import post_json, sign_in
from tests.lifecycle.models import Specimen

pytestmark = pytest.mark.django_db


@pytest.fixture
def north_key(labs) -> tuple[ApiKey, str]:
    return ApiKey.create(labs["north"], "Analyser bridge")


def bearer(text: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {text}"}


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_a_key_puts_the_request_in_its_lab(client, labs, north_key, header):
    _, text = north_key
    value = f"Bearer {text}" if header == "Authorization" else text

    response = client.get("/api/test/lab/", headers={header: value})

    assert response.status_code == 200
    assert response.json() == {
        "lab_id": labs["north"].pk,
        "lab_kind": "api_key",
        "child_lab_ids": [labs["north_clinic"].pk],
    }


def test_an_integration_writes_as_its_key_without_a_csrf_token(labs, north_key):
    api_key, text = north_key
    integration = Client(enforce_csrf_checks=True)

    response = post_json(
        integration, "/api/test/specimens/", {"label": "S-1"}, **bearer(text)
    )

    assert response.status_code == 200
    specimen = Specimen.objects.get(pk=response.json()["id"])
    assert specimen.lab_id == labs["north"].pk
    entry = ActivityLog.objects.get(model_label="lifecycle_tests.specimen")
    assert (entry.actor_id, entry.actor_name, entry.actor_kind) == (
        f"api_key:{api_key.pk}",
        "Analyser bridge",
        "api_key",
    )
    assert entry.request_id == response["X-Request-ID"]


def test_a_revoked_key_is_refused_at_once_and_the_refusal_logged(
    client, labs, north_key
):
    api_key, text = north_key
    assert client.get("/api/test/lab/", headers=bearer(text)).status_code == 200

    ApiKey.objects.get(pk=api_key.pk).revoke(reason="leaked")
    response = client.get("/api/test/lab/", headers=bearer(text))

    assert response.status_code == 401
    assert response.json()["error"] == (
        "This API key was revoked; ask the lab for a new one."
    )
    [entry] = ActivityLog.objects.filter(action="api_key_refused")
    assert (entry.instance_id, entry.lab_id, entry.message) == (
        str(api_key.pk),
        labs["north"].pk,
        "API key refused (revoked)",
    )


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-API-Key": ""}, "The API key is malformed"),
        ({"X-API-Key": "lis_123"}, "The API key is malformed"),
        (bearer("lis_000000000000_" + "A" * 43), "The API key is not valid."),
    ],
)
def test_bad_keys_are_refused_on_any_route(client, db, headers, error):
    api = client.get("/api/test/lab/", headers=headers)
    admin = client.get("/admin/", headers=headers)

    assert api.status_code == admin.status_code == 401
    assert api.json()["error"].startswith(error)
    entries = ActivityLog.objects.filter(action="api_key_refused")
    assert list(entries.values_list("instance_id", "lab_id")) == [("", None)] * 2


@pytest.mark.parametrize(
    "authorization", ["Bearer health-check-token", "Basic YXNoYTpwdw==", "Bearer"]
)
def test_other_authorization_headers_are_left_alone(client, db, authorization):
    response = client.get("/api/test/lab/", headers={"Authorization": authorization})

    assert response.status_code == 200
    assert response.json()["lab_id"] is None


def test_the_key_never_appears_in_logs_entries_or_answers(
    client, labs, north_key, caplog
):
    api_key, text = north_key
    secret = text.split("_", 2)[2]
    wrong = text[:-1] + ("B" if text[-1] != "B" else "C")

    with caplog.at_level(logging.DEBUG):
        answers = [
            client.get("/api/test/lab/", headers=bearer(text)),
            client.get("/api/test/lab/", headers=bearer(wrong)),
        ]
        api_key.revoke()
        answers.append(client.get("/api/test/lab/", headers=bearer(text)))

    assert [answer.status_code for answer in answers] == [200, 401, 401]
    assert secret[:20] not in caplog.text
    for answer in answers:
        assert secret[:20] not in answer.content.decode()
    for row in ActivityLog.objects.values():
        assert secret[:20] not in json.dumps(row, default=str)


def test_use_is_recorded_once_a_minute_in_one_query_otherwise(
    client, labs, north_key, django_assert_num_queries
):
    api_key, text = north_key

    client.get("/api/test/lab-only/", headers=bearer(text))
    # The key's row, then (no Redis here) the lab facts of its scope: the
    # lab and the labs below it. No write.
    with django_assert_num_queries(3):
        client.get("/api/test/lab-only/", headers=bearer(text))

    first_use = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first_use is not None
    [used] = ActivityLog.objects.filter(action="api_key_used")
    assert (used.instance_id, used.actor_id, used.lab_id) == (
        str(api_key.pk),
        f"api_key:{api_key.pk}",
        labs["north"].pk,
    )
    # A minute later the next request records the use again.
    ApiKey.objects.filter(pk=api_key.pk).update_without_hooks(
        last_used_at=first_use - dt.timedelta(minutes=1)
    )
    client.get("/api/test/lab-only/", headers=bearer(text))
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first_use
    assert ActivityLog.objects.filter(action="api_key_used").count() == 2
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at <= timezone.now()


def test_a_key_request_is_the_keys_alone(client, staff, labs, north_key):
    _, text = north_key
    staff.is_superuser = True
    staff.save()
    sign_in(client, "asha")  # a browser session rides along

    lab = client.get("/api/test/lab/", headers=bearer(text))
    permission = client.get("/api/test/permission/", headers=bearer(text))
    user = client.get("/api/test/whoami/", headers=bearer(text))

    assert client.get("/api/test/whoami/").json() == {"user": "asha"}
    assert user.json() == {"user": None}  # the session's user is set aside
    assert lab.json()["lab_id"] == labs["north"].pk  # the key's, not Central
    assert permission.status_code == 403
    assert "API keys hold no user permissions" in permission.json()["error"]


def test_bad_keys_from_one_address_are_throttled(client, north_key, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 2
    _, text = north_key
    bad = bearer("lis_000000000000_" + "A" * 43)

    answers = [client.get("/api/test/lab/", headers=bad).status_code for _ in "ab"]
    blocked = client.get("/api/test/lab/", headers=bearer(text))
    elsewhere = Client(REMOTE_ADDR="198.51.100.7").get(
        "/api/test/lab/", headers=bearer(text)
    )

    assert answers == [401, 401]
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert elsewhere.status_code == 200
    assert ActivityLog.objects.filter(action="api_key_refused").count() == 2


def test_with_redis_killed_keys_still_work_and_bad_ones_are_still_refused(
    client, labs, north_key, faulty_redis, caplog
):
    _, text = north_key
    faulty_redis.stop()

    with caplog.at_level(logging.WARNING, logger="core.middleware.api_key"):
        good = client.get("/api/test/lab/", headers=bearer(text))
        bad = client.get("/api/test/lab/", headers=bearer(text[:-1] + "_"))

    assert good.status_code == 200
    assert good.json()["lab_id"] == labs["north"].pk
    assert bad.status_code == 401
    assert "API-key failure throttle skipped" in caplog.text
    assert "API-key failure not counted" in caplog.text
