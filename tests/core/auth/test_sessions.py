"""Sessions in Redis (a real redis-server, and a real Redis Cluster): one key
per session with its expiry as TTL, the database engine's create / update
rules, and what a user sees when Redis dies."""

import logging

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.core.exceptions import ImproperlyConfigured

from core.auth.sessions import SessionStore, SessionStoreUnavailable
from core.utils.clients import registry
from tests.core.middleware.fixtures import LOGOUT_URL, sign_in

pytestmark = pytest.mark.django_db


def test_a_sign_in_keeps_the_session_in_redis_under_a_new_key(
    client, staff, labs, on_redis, settings
):
    # Given an anonymous session already in Redis
    session = client.session
    session["theme"] = "dark"
    session.save()
    old_key = session.session_key
    assert on_redis.client().exists(f"session:{old_key}")

    # When the user signs in
    assert sign_in(client, "asha").status_code == 200

    # Then the session moved to a new key (the old one is gone) with a TTL
    new_key = client.cookies["sessionid"].value
    redis = on_redis.client()
    assert new_key != old_key
    assert not redis.exists(f"session:{old_key}")
    assert 0 < redis.ttl(f"session:{new_key}") <= settings.SESSION_COOKIE_AGE
    assert SessionStore(new_key).load()["labId"] == labs["central"].pk
    assert client.get("/api/test/any-lab/").status_code == 200


def test_sessions_work_on_a_redis_cluster(client, staff, labs, on_cluster):
    assert sign_in(client, "asha").status_code == 200
    key = client.cookies["sessionid"].value

    seen = client.get("/api/test/any-lab/")
    signed_out = client.post(LOGOUT_URL)

    assert seen.json() == {"lab_id": labs["central"].pk, "kind": "staff"}
    assert signed_out.status_code == 200
    assert not SessionStore().exists(key)
    assert client.get("/api/test/any-lab/").status_code == 401


def test_create_never_overwrites_and_save_never_resurrects(on_redis):
    first = SessionStore()
    first["a"] = 1
    first.create()
    clash = SessionStore(first.session_key)
    clash["a"] = 2

    with pytest.raises(CreateError):
        clash.save(must_create=True)
    first.delete()
    with pytest.raises(UpdateError):  # e.g. signed out in another tab meanwhile
        clash.save()
    assert not SessionStore().exists(first.session_key)


def test_a_session_deleted_meanwhile_is_not_brought_back_by_a_request(
    client, staff, on_redis
):
    sign_in(client, "asha")
    key = client.cookies["sessionid"].value
    other_tab = SessionStore(key)
    other_tab["draft"] = "unsaved"
    SessionStore(key).delete()  # signed out elsewhere

    with pytest.raises(UpdateError):
        other_tab.save()
    assert not on_redis.client().exists(f"session:{key}")


def test_expiry_is_the_ttl_and_there_is_nothing_to_clear(on_redis):
    session = SessionStore()
    session.set_expiry(90)
    session["x"] = 1
    session.save()

    ttl = on_redis.client().ttl(f"session:{session.session_key}")
    assert 80 < ttl <= 90
    SessionStore.clear_expired()  # a no-op: Redis expires keys itself
    assert SessionStore().exists(session.session_key)
    assert not SessionStore().exists("")
    SessionStore().delete()  # no key: nothing to delete, no error


def test_the_engine_refuses_an_in_process_cache(settings):
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": {"BACKEND": "core.cache.HashCache", "OPTIONS": {"backend": "local"}},
    }
    registry.reset()

    with pytest.raises(ImproperlyConfigured, match="CACHE_REDIS_URL"):
        SessionStore().exists("abc")


def test_with_redis_killed_users_are_signed_out_not_mixed_up(
    client, staff, faulty_redis, caplog
):
    # Given a signed-in user
    assert sign_in(client, "asha").status_code == 200

    # When Redis dies
    faulty_redis.stop()
    with caplog.at_level(logging.WARNING, logger="core.auth.sessions"):
        seen = client.get("/api/test/any-lab/")
        signed_out = client.post(LOGOUT_URL)

    # Then they are treated as signed out: asked to sign in, never anyone else
    assert seen.status_code == 401
    assert "session not read, treated as signed out" in caplog.text
    # and signing out drops their cookie (the stored session expires by TTL)
    assert signed_out.status_code == 200
    assert client.cookies["sessionid"].value == ""


def test_with_redis_killed_a_session_write_is_a_503(faulty_redis):
    faulty_redis.stop()
    session = SessionStore()
    session["x"] = 1

    with pytest.raises(SessionStoreUnavailable, match="Sessions are unavailable"):
        session.save()


class _UnluckyStore(SessionStore):
    """Draws the same key every time, as a broken random source would."""

    def _get_new_session_key(self) -> str:
        return "k" * 32


def test_create_gives_up_after_its_attempts_instead_of_looping(on_redis):
    _UnluckyStore().create()

    with pytest.raises(SessionStoreUnavailable, match="No free session key after 10"):
        _UnluckyStore().create()


def test_a_missing_or_expired_session_loads_empty(on_redis):
    session = SessionStore("x" * 32)

    assert session.load() == {}
    assert session.session_key is None
