"""What the isolation tests share: clients signed in to labs of the `labs`
tree (central -> north -> north_clinic, central -> south; other) as an
attacker would hold them: a real session cookie, CSRF enforced."""

import json
from typing import Any

from django.test import Client

from admin.account.models import Lab
from tests.core.middleware.fixtures import LOGIN_URL, PASSWORD, make_user


def signed_in(lab: Lab, *, kind: str = "staff") -> Client:
    """A client signed in to `lab` as a new user of it, CSRF enforced."""
    username = f"{kind}-{lab.pk}"
    make_user(username, lab, kind=kind)
    client = Client(enforce_csrf_checks=True)
    client.get("/core/auth/csrf/")
    response = client.post(
        LOGIN_URL,
        json.dumps({"username": username, "password": PASSWORD}),
        content_type="application/json",
        headers=csrf_headers(client),
    )
    assert response.status_code == 200, response.content
    return client


def csrf_headers(client: Client) -> dict[str, str]:
    """The header a page of this session sends with a write."""
    return {"X-CSRFToken": client.cookies["csrftoken"].value}


def send_json(client: Client, method: str, url: str, body: Any, **headers: str) -> Any:
    """`method` with a JSON body (and the session's CSRF header unless
    `headers` are given)."""
    return client.generic(
        method,
        url,
        json.dumps(body),
        content_type="application/json",
        headers=headers or csrf_headers(client),
    )
