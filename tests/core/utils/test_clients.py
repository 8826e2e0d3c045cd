"""get_client: lazy, once per process, rebuilt on settings change and after
fork, replaceable in tests, clear about unknown names."""

import os
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.utils.clients import (
    HealthStatus,
    ServiceClient,
    UnknownServiceError,
    get_client,
    override_client,
    registry,
)

pytestmark = pytest.mark.engine_independent


class CountingClient(ServiceClient):
    """A client that counts how often it is built and closed."""

    built = 0

    def __init__(self, greeting: str = "hello", account_id: int | None = None):
        type(self).built += 1
        self.greeting = greeting
        self.account_id = account_id
        self.closed = False

    def check(self, timeout: float = 2.0) -> HealthStatus:
        return self.timed_check(lambda: self.greeting)

    def close(self) -> None:
        self.closed = True


PATH = f"{__name__}.CountingClient"


@pytest.fixture(autouse=True)
def counting_service(settings):
    CountingClient.built = 0
    registry.reset()
    settings.SERVICES = {
        **settings.SERVICES,
        "counting": {"BACKEND": PATH, "OPTIONS": {"greeting": "hi"}},
    }
    yield
    registry.reset()


def test_a_client_is_built_once_and_shared_by_every_thread():
    seen = []
    threads = [
        threading.Thread(target=lambda: seen.append(get_client("counting")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert CountingClient.built == 1
    assert all(client is seen[0] for client in seen)
    assert seen[0].greeting == "hi"


def test_accounts_and_keyword_arguments_get_their_own_clients():
    first = get_client("counting", account_id=1)
    second = get_client("counting", account_id=2)
    shouting = get_client("counting", greeting="HI")

    assert (first.account_id, second.account_id) == (1, 2)
    assert shouting.greeting == "HI"
    assert get_client("counting", account_id=1) is first
    assert CountingClient.built == 3


def test_an_unknown_service_lists_the_known_ones():
    with pytest.raises(UnknownServiceError) as excinfo:
        get_client("mailgun")

    assert "Unknown service 'mailgun'" in str(excinfo.value)
    assert "counting" in str(excinfo.value) and "fusion" in str(excinfo.value)


def test_a_bad_backend_path_is_a_configuration_error(settings):
    settings.SERVICES = {"broken": {"BACKEND": "core.utils.nowhere.Client"}}

    with pytest.raises(ImproperlyConfigured, match=r"SERVICES\['broken'\]"):
        get_client("broken")


def test_changed_settings_build_a_new_client_and_close_the_old(settings):
    old = get_client("counting")
    settings.SERVICES = {
        **settings.SERVICES,
        "counting": {"BACKEND": PATH, "OPTIONS": {"greeting": "bonjour"}},
    }

    new = get_client("counting")

    assert new is not old and new.greeting == "bonjour"
    assert old.closed


def test_override_client_replaces_it_inside_the_block_only():
    real = get_client("counting")
    stand_in = CountingClient(greeting="stand-in")

    with override_client("counting", stand_in):
        assert get_client("counting") is stand_in

    assert get_client("counting") is real


# The fork is the point (gunicorn's and Celery's prefork workers are forked
# children); the child only asks for a client and leaves with os._exit, so
# the threads earlier tests left in this process cannot deadlock it.
@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"
)
def test_a_forked_child_builds_its_own_client():
    parent_client = get_client("counting")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report whether it got a new client, then leave at once
        child_client = get_client("counting")
        os.write(write_end, b"new" if child_client is not parent_client else b"same")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 10)
    os.waitpid(pid, 0)

    assert answer == b"new"
    assert get_client("counting") is parent_client
    assert not parent_client.closed


def test_check_reports_the_failure_class_never_its_message():
    def probe() -> str:
        raise ConnectionError("postgres://user:secret@db/lis refused")

    status = ServiceClient.timed_check(probe)

    assert (status.ok, status.detail) == (False, "ConnectionError")
    assert status.latency_ms >= 0
