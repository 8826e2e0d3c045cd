"""No input gives a 5xx, and every error answered on an API route is JSON
(the 405 for a method a view does not take too): arbitrary JSON values and
arbitrary bytes, sent by every kind of caller (lab staff and a doctor
signed in with their CSRF token, an API key, nobody) with every HTTP
method, to every endpoint of
tests/fuzz/endpoints.py (tests/test_every_url_fuzzed.py checks that this
is every URL). A failure prints the request that gave the 5xx.

The values include what the security review found: NaN, Infinity, 1e400,
integers of thousands of digits, nesting thousands deep, NUL and lone
surrogates in values and keys, numbers where dates belong, objects where
text belongs. Each example runs in a savepoint rolled back after it (and
the client's cookies are put back), so a sign-in or sign-out by one
example does not change who the next one is.

CI profile ("fuzz-ci", the default): derandomized, no example database,
so every run sends the same requests, in seconds. To search further:
`LIS_FUZZ_PROFILE=fuzz-explore LIS_FUZZ_SCALE=20 pytest tests/fuzz`.
"""

import copy
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from core.http import is_api_path
from core.models import ApiKey
from core.utils.clients import get_client
from patients.models import Patient
from tests.core.middleware.fixtures import PASSWORD
from tests.fuzz.endpoints import FUZZED, Endpoint, World
from tests.fuzz.json_text import ANY_CHARACTER, bodies
from tests.health_fixtures import use_service
from tests.isolation.helpers import csrf_headers, signed_in
from tests.pdf_fixtures import LOCAL_CLIENT, simple_pdf

pytestmark = pytest.mark.django_db

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: Examples per method an endpoint does not accept (a 405 or 401 is expected).
OTHER_METHOD_EXAMPLES = 3
QUERY_METHODS = ("GET", "HEAD")
#: Print every request and its status (LIS_FUZZ_TRACE=1, with pytest -s).
TRACE = bool(os.environ.get("LIS_FUZZ_TRACE"))
#: Who sends each example: lab staff most often (they reach the most code).
CALLER_MIX = ("staff", "staff", "staff", "api_key", "api_key", "doctor", "nobody")

fuzz_settings.register_profile(
    "fuzz-ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
fuzz_settings.register_profile(
    "fuzz-explore", parent=fuzz_settings.get_profile("fuzz-ci"), derandomize=False
)


@dataclass(frozen=True)
class Caller:
    """A client and the headers its requests carry."""

    client: Client
    headers: dict[str, str]


@dataclass(frozen=True)
class Request:
    """One fuzzed request."""

    path: str
    body: bytes
    content_type: str

    def __repr__(self) -> str:  # what a failure prints
        return f"Request(path={self.path[:300]!r}, body={self.body[:600]!r})"


@pytest.fixture
def fuzz_world(labs, settings, tmp_path) -> tuple[World, dict[str, Caller]]:
    """The world of tests/fuzz/endpoints.py and its callers, built once per
    test (not per example): sessions, an API key, patients in the caller's
    lab, a child lab and another network, a stored PDF and its signed link."""
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 10**9  # fuzzing is no attack
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 10**9
    settings.PDF_RATE_LIMIT_PER_LAB = 10**9
    use_service(settings, "s3", LOCAL_CLIENT, base_dir=str(tmp_path / "files"))
    north = labs["north"]
    staff, doctor = signed_in(north), signed_in(north, kind="doctor")
    _, key = ApiKey.create(north, "Fuzzer")
    nobody = Client(enforce_csrf_checks=True)
    nobody.get(reverse("core:auth-csrf"))
    stored_key = f"labs/{north.pk}/reports/fuzz.pdf"
    storage = get_client("s3")
    storage.upload(stored_key, simple_pdf("fuzz"), content_type="application/pdf")
    world = World(
        lab_id=north.pk,
        child_lab_id=labs["north_clinic"].pk,
        other_lab_id=labs["other"].pk,
        patient_ids=tuple(
            _patient(labs[name]) for name in ("north", "north_clinic", "other")
        ),
        username=f"staff-{north.pk}",
        password=PASSWORD,
        stored_key=stored_key,
        signed_link=storage.presigned_url(stored_key, 3600),
    )
    callers = {
        "staff": Caller(staff, csrf_headers(staff)),
        "doctor": Caller(doctor, csrf_headers(doctor)),
        "api_key": Caller(Client(enforce_csrf_checks=True), {"X-API-Key": key}),
        "nobody": Caller(nobody, csrf_headers(nobody)),
    }
    return world, callers


def _patient(lab: Any) -> int:
    patient = Patient(lab=lab, first_name="Asha", sex="F")
    patient.save()
    return patient.pk


def requests_for(endpoint: Endpoint, method: str, world: World) -> Any:
    """The strategy of requests to `endpoint` with `method`."""
    paths = endpoint.path(world)
    if method in QUERY_METHODS:
        query = _pairs(endpoint.query(world))
        return st.builds(
            lambda path, pairs: Request(_with_query(path, pairs), b"", "text/plain"),
            paths,
            query,
        )
    if endpoint.form:
        fields = {
            name: f for shape in endpoint.shapes(world) for name, f in shape.items()
        }
        forms = _pairs(fields).map(lambda pairs: _urlencoded(pairs).encode())
        forms |= st.binary(max_size=200)
        return st.builds(
            lambda path, body: Request(path, body, "application/x-www-form-urlencoded"),
            paths,
            forms,
        )
    return st.builds(
        lambda path, body: Request(path, body, "application/json"),
        paths,
        bodies(endpoint.shapes(world)),
    )


def _pairs(fields: dict[str, Any]) -> Any:
    """Lists of (name, text value): every declared name with a plausible
    value, the same with one value replaced by any text, or any names and
    values (a name may repeat)."""
    text = st.text(ANY_CHARACTER, max_size=20)
    plausible = st.fixed_dictionaries(fields).map(lambda chosen: list(chosen.items()))
    tampered = st.tuples(plausible, st.integers(0, 10), text).map(
        lambda parts: [
            (name, parts[2] if index == parts[1] % len(parts[0]) else value)
            for index, (name, value) in enumerate(parts[0])
        ]
    )
    anything = st.lists(
        st.tuples(st.one_of(st.sampled_from(sorted(fields) or [""]), text), text),
        max_size=5,
    )
    return st.one_of(plausible, tampered, tampered, anything) if fields else anything


def _with_query(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{path}{'&' if '?' in path else '?'}{_urlencoded(pairs)}" if pairs else path


def _urlencoded(pairs: list[tuple[str, str]]) -> str:
    """`a=1&b=%00`; a lone surrogate goes as its (invalid UTF-8) bytes."""
    return urlencode(
        [
            (k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
            for k, v in pairs
        ]
    )


CASES = [
    pytest.param(
        name,
        method,
        endpoint.examples if method in endpoint.methods else OTHER_METHOD_EXAMPLES,
        id=f"{name} {method}",
    )
    for name, endpoint in FUZZED.items()
    for method in METHODS
]


@pytest.mark.parametrize(("name", "method", "examples"), CASES)
def test_no_input_gives_a_server_error(fuzz_world, name, method, examples):
    world, callers = fuzz_world
    profile = os.environ.get("LIS_FUZZ_PROFILE", "fuzz-ci")
    scale = int(os.environ.get("LIS_FUZZ_SCALE", "1"))

    @fuzz_settings(fuzz_settings.get_profile(profile), max_examples=examples * scale)
    @given(
        caller=st.sampled_from(CALLER_MIX),
        request=requests_for(FUZZED[name], method, world),
    )
    def fuzz(caller: str, request: Request) -> None:
        status, content_type, content = send(callers[caller], method, request)
        statuses[status] += 1
        if TRACE:
            print(status, caller, request, content[:150])
        assert status < 500, f"{method} as {caller}: {status} {content[:500]!r}"
        if status >= 400 and is_api_path(request.path):  # 405s and 403s too
            assert content_type == "application/json", (
                f"{method} as {caller}: a {status} in {content_type}, not JSON"
            )

    statuses: Counter[int] = Counter()
    fuzz()
    if TRACE:  # how far the requests got, to tune the strategies
        print(name, method, dict(statuses))


def send(caller: Caller, method: str, request: Request) -> tuple[int, str, bytes]:
    """Send `request` in a savepoint that is rolled back, with the caller's
    cookies put back after it; the status, media type and body."""
    cookies = copy.deepcopy(caller.client.cookies)
    try:
        with transaction.atomic():
            response = caller.client.generic(
                method,
                request.path,
                request.body,
                content_type=request.content_type,
                headers=caller.headers,
            )
            content = b"".join(response) if response.streaming else response.content
            transaction.set_rollback(True)
    finally:
        caller.client.cookies = cookies
    media_type = response.get("Content-Type", "").split(";")[0].strip()
    return response.status_code, media_type, content
