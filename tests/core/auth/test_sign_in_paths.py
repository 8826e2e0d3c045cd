"""Every way of signing in is throttled and audited the same way.

The class of defect: a sign-in path of its own (the admin's form was one)
that checks passwords without the throttle and leaves no activity entry.
The project's answer is structural: every password check goes through the
authentication backend (core.auth.backend: counted first,
failures recorded), and every sign-in or sign-out, whatever view did it, is
recorded by SignInAuditMiddleware.

This module lists the sign-in paths it knows (SIGN_IN_PATHS) and:
- fails when the URL configuration has a sign-in view it does not list
  (a LoginView, an admin site's login, or a view whose code calls
  authenticate() or login()), so a new path cannot ship untested;
- checks each listed path against the others: failures on one throttle the
  next attempt on any other, even with the right password; each writes its
  failures and its sign-ins to the activity log;
- fails when project code checks a password any other way.
"""

import inspect
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.auth.views import LoginView
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.models import ActivityLog
from tests.core.middleware.fixtures import PASSWORD, make_user

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
PROJECT_PACKAGES = ("core", "admin", "patients", "config")


def json_sign_in(client: Client, username: str, password: str) -> int:
    return client.post(
        "/core/auth/login/",
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
    ).status_code


def admin_sign_in(client: Client, username: str, password: str) -> int:
    status = client.post(
        "/admin/login/", {"username": username, "password": password}
    ).status_code
    # The admin's form answers a wrong password with the page again (200).
    return 401 if status == 200 else status


#: Every sign-in path: URL name -> how to send credentials (returns the
#: status, 401 for a refused password).
SIGN_IN_PATHS: dict[str, Callable[[Client, str, str], int]] = {
    "core:auth-login": json_sign_in,
    "admin:login": admin_sign_in,
}


def _patterns(patterns: list, namespace: str = "") -> Iterator[tuple[str, object]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from _patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
            yield name, pattern.callback


def _signs_in(callback: object) -> bool:
    view_class = getattr(callback, "view_class", None)
    if isinstance(view_class, type) and issubclass(view_class, LoginView):
        return True
    function = getattr(callback, "__func__", None)
    if function is AdminSite.login:
        return True
    try:
        source = inspect.getsource(inspect.unwrap(callback))  # type: ignore[arg-type]
    except (TypeError, OSError):
        return False
    # A call of authenticate() or login() (not a method such as a client's
    # .authenticate()).
    return bool(re.search(r"(?<![.\w])(authenticate|auth_login|login)\(", source))


def test_every_sign_in_view_of_the_project_is_listed():
    found = {
        name for name, callback in _patterns(get_resolver().url_patterns)
        if _signs_in(callback)
    }  # fmt: skip

    assert found == set(SIGN_IN_PATHS), (
        "A sign-in view is not covered by these tests: add it to SIGN_IN_PATHS "
        "(it must go through authenticate(), which throttles and audits)."
    )


def test_no_project_code_checks_a_password_but_the_backend():
    backend = REPO / "core" / "auth" / "backend.py"
    bypass = re.compile(r"\bcheck_password\(|\bModelBackend\b")
    offenders = [
        str(path.relative_to(REPO))
        for package in PROJECT_PACKAGES
        for path in (REPO / package).rglob("*.py")
        if path != backend and bypass.search(path.read_text())
    ]

    assert offenders == []


@pytest.fixture
def operator(labs):
    """A lab staff member who may also use the admin."""
    return make_user("asha", labs["central"], is_staff=True)


@pytest.mark.parametrize("first", SIGN_IN_PATHS)
@pytest.mark.parametrize("then", SIGN_IN_PATHS)
def test_failures_on_one_path_throttle_every_path(operator, settings, first, then):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 3
    attempts = [SIGN_IN_PATHS[first](Client(), "asha", "a guess") for _ in range(3)]

    right_password = SIGN_IN_PATHS[then](Client(), "asha", PASSWORD)

    assert attempts == [401, 401, 401]
    assert right_password == 429
    assert ActivityLog.objects.filter(action="login_failed").count() == 3


@pytest.mark.parametrize("path", SIGN_IN_PATHS)
def test_each_path_records_failures_and_sign_ins(operator, path):
    client = Client()

    failed = SIGN_IN_PATHS[path](client, "asha", "a guess")
    succeeded = SIGN_IN_PATHS[path](client, "asha", PASSWORD)

    assert failed == 401
    assert succeeded in (200, 302)
    [failure] = ActivityLog.objects.filter(action="login_failed")
    [sign_in] = ActivityLog.objects.filter(action="login")
    assert failure.instance_id == sign_in.instance_id == str(operator.pk)
    assert failure.message == "Failed sign-in: wrong password"
    assert sign_in.actor_id == str(operator.pk)


def test_the_admin_answers_a_throttled_attempt_429_with_retry_after(operator, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 1
    admin_sign_in(Client(), "asha", "a guess")

    answer = Client().post("/admin/login/", {"username": "asha", "password": PASSWORD})

    assert answer.status_code == 429
    assert 0 < int(answer["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert answer.content.decode().startswith("Too many failed sign-ins")
