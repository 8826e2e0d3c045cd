"""The signed-in user of a request read from Redis (core/middleware/
signed_in_users.py): no query per request, never the password hash in
Redis, and every change to a user seen at the next request, race included.

`transaction=True`: the cache is invalidated after commit, as in production.
"""

import json

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test.utils import CaptureQueriesContext

from admin.account.models import User
from core.auth.signed_in_users import (
    _entry,
    _keys,
    forget_signed_in_users,
    signed_in_user,
)
from core.cache.shared_redis import cache_redis
from tests.core.middleware.fixtures import PASSWORD, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_IN_ONLY = "/api/test/any-lab/"


def user_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "account_user" in q["sql"]]


def signed_in(client, staff) -> None:
    assert sign_in(client, staff.username).status_code == 200
    assert client.get(SIGNED_IN_ONLY).status_code == 200  # fills the cache


@pytest.mark.parametrize("redis_kind", ["on_redis", "on_cluster"])
def test_a_signed_in_request_reads_its_user_from_redis(
    client, staff, redis_kind, request
):
    request.getfixturevalue(redis_kind)
    signed_in(client, staff)

    with CaptureQueriesContext(connection) as captured:
        answer = client.get(SIGNED_IN_ONLY)

    assert answer.status_code == 200
    assert user_queries(captured) == []
    stored = cache_redis().client.get(_keys(staff.pk)[0])  # the app's own client
    entry = json.loads(stored)
    assert "password" not in entry["fields"]
    assert staff.password not in stored.decode()  # the hash never leaves the DB


def test_the_cached_user_loads_its_password_only_when_asked(staff, on_redis):
    signed_in_user(staff.pk)  # fills the cache
    cached = signed_in_user(staff.pk)

    with CaptureQueriesContext(connection) as captured:
        assert cached.check_password(PASSWORD)
    assert len(user_queries(captured)) == 1  # the deferred password

    cached = signed_in_user(staff.pk)
    cached.first_name = "Asha R."
    cached.save()  # saves what it holds; the password is left as it is
    assert authenticate(username=staff.username, password=PASSWORD) is not None
    assert signed_in_user(staff.pk).first_name == "Asha R."


@pytest.mark.parametrize("redis_kind", ["on_redis", "on_cluster"])
def test_a_deactivated_user_is_signed_out_at_the_next_request(
    client, staff, redis_kind, request, caplog
):
    request.getfixturevalue(redis_kind)
    signed_in(client, staff)

    staff.is_active = False
    staff.save()

    assert client.get(SIGNED_IN_ONLY).status_code == 401
    assert "not invalidated" not in caplog.text  # the counter moved on


def test_a_changed_password_signs_other_sessions_out(client, staff, on_redis):
    signed_in(client, staff)

    staff.set_password("a new and long passphrase")
    staff.save()

    assert client.get(SIGNED_IN_ONLY).status_code == 401


def test_a_bulk_update_or_delete_of_users_is_seen_at_once(client, staff, on_redis):
    signed_in(client, staff)

    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert client.get(SIGNED_IN_ONLY).status_code == 401

    User.objects.filter(pk=staff.pk).update(is_active=True)
    # The old session stays ended (core.tenancy), a new sign-in works
    assert client.get(SIGNED_IN_ONLY).status_code == 401
    signed_in(client, staff)
    User.objects.filter(pk=staff.pk).delete()
    assert client.get(SIGNED_IN_ONLY).status_code == 401


def test_a_fill_that_raced_with_a_change_is_never_used(staff, on_redis):
    # A request read the user (generation 0) just before an admin renamed
    # them; the rename committed and bumped the generation; the request then
    # stored what it had read.
    before = User.objects.get(pk=staff.pk)
    User.objects.filter(pk=staff.pk).update(first_name="Renamed")
    key = _keys(staff.pk)[0]
    on_redis.client().set(key, json.dumps(_entry(before, 0), default=str))

    assert signed_in_user(staff.pk).first_name == "Renamed"


def test_with_redis_down_users_come_from_the_database(staff, faulty_redis, caplog):
    assert signed_in_user(staff.pk).username == staff.username

    faulty_redis.stop()
    forget_signed_in_users([staff.pk])  # logged, not raised

    assert signed_in_user(staff.pk).username == staff.username
    assert "not invalidated" in caplog.text


def test_the_embedded_default_caches_no_user(client, staff):
    signed_in(client, staff)

    with CaptureQueriesContext(connection) as captured:
        assert client.get(SIGNED_IN_ONLY).status_code == 200

    assert len(user_queries(captured)) == 1


def test_an_unreadable_entry_is_replaced_from_the_database(staff, on_redis):
    key = _keys(staff.pk)[0]
    on_redis.client().set(key, b'{"generation": 0, "fields": {}}')  # an old shape

    assert signed_in_user(staff.pk).username == staff.username
    assert json.loads(on_redis.client().get(key))["fields"]["username"] == "asha"
