"""The sign-in throttle (core.auth.throttle): every attempt is counted
before its password is checked, so the limit holds against parallel
attempts; a success clears the account and gives the address its hit back.

The race is tested end to end: 40 attempts sent at once through the JSON
sign-in, each password check made slow (tests.core.auth.hashers.py)
so that they overlap, on a real redis-server and on the database fallback
(the embedded default), on both databases. Checking first and counting
after (the defect) let 10-12 of 40 through against a limit of 5.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from core.auth.throttle import SignInThrottle, SignInThrottled, account_key
from core.models import ActivityLog
from core.ratelimit.counters import LocalCounterStore
from tests.core.auth.hashers import CountingSlowMD5PasswordHasher
from tests.core.middleware.fixtures import LOGIN_URL, PASSWORD

PARALLEL_ATTEMPTS = 40


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600


def test_usernames_are_counted_without_case_and_without_the_name():
    assert account_key(" Asha ") == account_key("asha")
    assert account_key("asha") != account_key("ravi")
    assert "asha" not in account_key("asha")


def test_an_attempt_is_counted_first_and_refused_past_either_limit(limits):
    now = [0.0]
    store = LocalCounterStore(clock=lambda: now[0])
    asha = SignInThrottle(username="asha", client_ip="10.0.0.5", store=store)
    ravi = SignInThrottle(username="ravi", client_ip="10.0.0.5", store=store)

    asha.begin()  # asha 1/2, address 1/3
    now[0] = 100.0
    ravi.begin()  # ravi 1/2, address 2/3
    asha.begin()  # asha 2/2, address 3/3
    with pytest.raises(SignInThrottled) as third:
        asha.begin()  # asha 3/2: refused, and counted
    with pytest.raises(SignInThrottled) as by_address:
        ravi.begin()  # ravi 2/2, but the address is at 5/3

    # Both windows began at asha's first attempt (t=0) and end at t=600.
    assert third.value.retry_after_seconds == 500
    assert by_address.value.retry_after_seconds == 500
    now[0] = 600.0
    asha.begin()  # a new window


def test_a_success_clears_the_account_and_gives_the_address_its_hit_back(limits):
    store = LocalCounterStore()
    attempt = SignInThrottle(username="asha", client_ip="10.0.0.5", store=store)
    attempt.begin()
    attempt.begin()

    attempt.succeeded()

    assert store.peek(account_key("asha")).hits == 0
    assert store.peek("signin:ip:10.0.0.5").hits == 1  # the failure stays


def test_an_attempt_without_a_name_or_an_address_counts_what_it_has(limits):
    store = LocalCounterStore()
    key_attempt = SignInThrottle(username=None, client_ip="10.0.0.5", store=store)
    no_address = SignInThrottle(username="asha", client_ip=None, store=store)

    key_attempt.record_failure()
    no_address.begin()
    no_address.succeeded()

    assert [key for key, _ in key_attempt.limits] == ["signin:ip:10.0.0.5"]
    assert [key for key, _ in no_address.limits] == [account_key("asha")]
    assert store.peek("signin:ip:10.0.0.5").hits == 1


def _attempt(password: str, start: threading.Barrier) -> int:
    client = Client()
    start.wait()
    try:
        answer = client.post(
            LOGIN_URL,
            json.dumps({"username": "asha", "password": password}),
            content_type="application/json",
        )
        return answer.status_code
    finally:
        connection.close()  # each thread's own connection


def parallel_attempts(settings, password: str = "a guess") -> list[int]:  # noqa: S107
    """PARALLEL_ATTEMPTS sign-ins of asha sent at once; their statuses."""
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 5
    settings.PASSWORD_HASHERS = [
        "tests.core.auth.hashers.CountingSlowMD5PasswordHasher"
    ]
    CountingSlowMD5PasswordHasher.checks = 0
    start = threading.Barrier(PARALLEL_ATTEMPTS)
    with ThreadPoolExecutor(PARALLEL_ATTEMPTS) as pool:
        futures = [
            pool.submit(_attempt, password, start) for _ in range(PARALLEL_ATTEMPTS)
        ]
        return sorted(future.result() for future in futures)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", ["database", "on_redis"])
def test_parallel_attempts_get_no_more_password_checks_than_the_limit(
    staff, settings, store, request
):
    # Given the throttle's counters in the database (no Redis) or in Redis
    if store != "database":
        request.getfixturevalue(store)

    # When 40 wrong passwords arrive at once
    statuses = parallel_attempts(settings)

    # Then exactly 5 passwords were checked, and the rest refused unchecked
    assert CountingSlowMD5PasswordHasher.checks == 5
    assert statuses == [401] * 5 + [429] * (PARALLEL_ATTEMPTS - 5)
    assert ActivityLog.objects.filter(action="login_failed").count() == 5
    # And even the right password is refused now, without a check
    assert (
        Client()
        .post(
            LOGIN_URL,
            json.dumps({"username": "asha", "password": PASSWORD}),
            content_type="application/json",
        )
        .status_code
        == 429
    )
    assert CountingSlowMD5PasswordHasher.checks == 5
