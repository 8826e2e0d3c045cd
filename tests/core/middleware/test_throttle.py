"""SignInThrottle: which counters an attempt has, when it is blocked and for
how long, and what a success clears."""

import pytest

from core.middleware.counters import LocalCounterStore
from core.middleware.throttle import SignInThrottle, account_key


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600


def test_usernames_are_counted_without_case_and_without_the_name():
    assert account_key(" Asha ") == account_key("asha")
    assert account_key("asha") != account_key("ravi")
    assert "asha" not in account_key("asha")


def test_an_attempt_is_blocked_by_whichever_limit_it_reached(limits):
    now = [0.0]
    store = LocalCounterStore(clock=lambda: now[0])
    asha = SignInThrottle(username="asha", client_ip="10.0.0.5", store=store)
    ravi = SignInThrottle(username="ravi", client_ip="10.0.0.5", store=store)

    asha.record_failure()
    now[0] = 100.0
    ravi.record_failure()
    assert asha.retry_after_seconds() == ravi.retry_after_seconds() == 0
    asha.record_failure()  # asha's account: 2 of 2; the address: 3 of 3

    # Both windows began at asha's first failure (t=0) and end at t=600.
    assert asha.retry_after_seconds() == 500  # account and address
    assert ravi.retry_after_seconds() == 500  # only the shared address
    assert store.peek(account_key("ravi")).hits == 1
    now[0] = 600.0
    assert asha.retry_after_seconds() == ravi.retry_after_seconds() == 0


def test_a_success_clears_the_account_not_the_address(limits):
    store = LocalCounterStore()
    attempt = SignInThrottle(username="asha", client_ip="10.0.0.5", store=store)
    for _ in range(3):
        attempt.record_failure()

    attempt.forget_account_failures()

    assert store.peek(account_key("asha")).hits == 0
    assert store.peek("signin:ip:10.0.0.5").hits == 3
    assert attempt.retry_after_seconds() > 0  # the address is still blocked


def test_an_attempt_without_a_name_or_an_address_counts_what_it_has(limits):
    store = LocalCounterStore()
    key_attempt = SignInThrottle(username=None, client_ip="10.0.0.5", store=store)
    no_address = SignInThrottle(username="asha", client_ip=None, store=store)

    key_attempt.record_failure()
    key_attempt.forget_account_failures()  # nothing to clear
    no_address.record_failure()

    assert [key for key, _ in key_attempt.limits] == ["signin:ip:10.0.0.5"]
    assert [key for key, _ in no_address.limits] == [account_key("asha")]
    assert store.peek("signin:ip:10.0.0.5").hits == 1
