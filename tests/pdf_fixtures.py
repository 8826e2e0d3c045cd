"""Fixtures and helpers of the PDF endpoint and PDF job tests (POST
/core/pdf/, core.pdf_jobs): the file store (a temporary folder, or a
bucket on moto's real S3 server), the Pusher stand-in behind the real
client, signed-in clients, real stored PDFs, and reading PDFs back.

Each fixture is registered under its short name (`storage`) and defined as
`<name>_fixture`, as in tests/core/middleware/fixtures.py, so a test module
imports `storage_fixture` and its tests take `storage` without shadowing
the import. `worker` is tests/fusion_fixtures.py's `run_worker` under that
rule: a module using it imports `database_engine` and `run_worker` too.
"""

import io
import json
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from pypdf import PdfReader

from admin.account.models import Lab
from core.models import ApiKey
from core.utils.clients import get_client, registry
from core.utils.pdf import html_to_pdf
from tests.core.middleware.fixtures import make_user, sign_in
from tests.core.utils.aws.conftest import CREDENTIALS, MotoServer
from tests.health_fixtures import closed_port, use_service
from tests.standins.pusher import PusherStandIn

#: The labs of tests/conftest.py's `labs` fixture, by name.
Labs = dict[str, Lab]

PDF_URL = "/core/pdf/"
LOCAL_CLIENT = "core.utils.aws.client.LocalFileS3Client"
S3_CLIENT = "core.utils.aws.client.S3Client"
PUSHER_CLIENT = "core.utils.pusher.client.PusherClient"
#: S3 client options for tests: quick to give up on a dead endpoint.
S3_TEST_OPTIONS = {
    "addressing_style": "path",
    "connect_timeout_seconds": 1,
    "read_timeout_seconds": 5,
    "max_attempts": 2,
    **CREDENTIALS,
}
#: A patient summary's context, as a client sends it.
SUMMARY_CONTEXT = {
    "patient": {"name": "Asha Rao", "id": "P-1042", "age": "34 Y", "sex": "F"},
    "referred_by": "Dr. Sen",
    "results": [
        {
            "test": "Haemoglobin",
            "result": "13.2",
            "unit": "g/dL",
            "reference_range": "12.0 - 15.0",
        }
    ],
}


# -- the file store -------------------------------------------------------------


@pytest.fixture(name="local_storage")
def local_storage_fixture(settings: Any, tmp_path: Any) -> Any:
    """The s3 service on local files in a temporary folder."""
    use_service(settings, "s3", LOCAL_CLIENT, base_dir=str(tmp_path / "files"))
    return get_client("s3")


@pytest.fixture(scope="session", name="pdf_moto_server")
def pdf_moto_server_fixture() -> Iterator[MotoServer]:
    """moto's S3 server, started once for the PDF tests."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(name="s3_bucket")
def s3_bucket_fixture(pdf_moto_server: MotoServer) -> str:
    """A new, empty bucket on moto's server."""
    name = f"lis-pdf-{uuid.uuid4().hex[:12]}"
    pdf_moto_server.admin().create_bucket(Bucket=name)
    return name


def use_s3(settings: Any, bucket: str, endpoint_url: str) -> None:
    """Point the s3 service at `bucket` on `endpoint_url`."""
    use_service(
        settings,
        "s3",
        S3_CLIENT,
        bucket=bucket,
        endpoint_url=endpoint_url,
        **S3_TEST_OPTIONS,
    )


def s3_down(settings: Any, bucket: str) -> None:
    """Point the s3 service at a port nothing listens on: S3 is unreachable."""
    use_s3(settings, bucket, f"http://127.0.0.1:{closed_port()}")


@pytest.fixture(name="s3_storage")
def s3_storage_fixture(
    settings: Any, pdf_moto_server: MotoServer, s3_bucket: str
) -> Any:
    """The s3 service on a fresh bucket of moto's S3 server."""
    use_s3(settings, s3_bucket, pdf_moto_server.url)
    return get_client("s3")


@pytest.fixture(name="storage", params=["local", "s3"])
def storage_fixture(request: pytest.FixtureRequest) -> Any:
    """The s3 service, once on local files and once on moto's S3."""
    return request.getfixturevalue(f"{request.param}_storage")


def stored_keys(storage: Any, lab_id: int, folder: str) -> list[str]:
    """Keys under labs/<lab_id>/<folder>/ (local folder or bucket listing)."""
    prefix = f"labs/{lab_id}/{folder}/"
    if hasattr(storage, "base_dir"):
        root = storage.base_dir / prefix
        if not root.is_dir():
            return []
        return sorted(prefix + path.name for path in root.iterdir())
    listing = storage._s3.list_objects_v2(Bucket=storage.bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


# -- Pusher -------------------------------------------------------------------


@pytest.fixture(name="pusher")
def pusher_fixture(settings: Any) -> Iterator[PusherStandIn]:
    """The Pusher stand-in behind the real PusherClient; it must have seen no
    malformed or badly signed request by the end of the test."""
    with PusherStandIn() as standin:
        use_service(
            settings,
            "pusher",
            PUSHER_CLIENT,
            **standin.client_options(),
            timeout_seconds=2,
        )
        yield standin
        registry.reset()
        assert standin.problems == []


def pusher_down(settings: Any, standin: PusherStandIn) -> None:
    """Point the Pusher client at a port nothing listens on."""
    options = {**standin.client_options(), "port": closed_port()}
    use_service(settings, "pusher", PUSHER_CLIENT, **options, timeout_seconds=1)


def pusher_up(settings: Any, standin: PusherStandIn) -> None:
    """Point the Pusher client at the stand-in again."""
    use_service(
        settings, "pusher", PUSHER_CLIENT, **standin.client_options(), timeout_seconds=2
    )


# -- the Fusion worker ---------------------------------------------------------


@pytest.fixture(name="worker")
def worker_fixture(run_worker: Callable[..., None]) -> Callable[..., None]:
    """The in-process Fusion worker: `worker(until=..., max_tasks=None)`."""
    return run_worker


# -- clients --------------------------------------------------------------------


def signed_in(username: str, lab: Lab, kind: str = "staff") -> Client:
    """A test client signed in as a new user `username` of `lab`."""
    make_user(username, lab, kind=kind)
    browser = Client()
    answer = sign_in(browser, username)
    assert answer.status_code == 200, answer.content
    return browser


def api_key_headers(lab: Lab) -> dict[str, str]:
    """Headers carrying a new API key of `lab`."""
    _, text = ApiKey.create(lab, "Report printer")
    return {"X-API-Key": text}


def post_pdf(client: Client, body: Any, **headers: str) -> Any:
    """POST `body` (JSON-encoded unless bytes) to /core/pdf/."""
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(PDF_URL, data, content_type="application/json", headers=headers)


# -- PDFs -------------------------------------------------------------------------


@cache
def simple_pdf(text: str) -> bytes:
    """A real one-page PDF saying `text` (made once per text and process)."""
    return html_to_pdf(f"<!DOCTYPE html><p>{text}</p>")


def store_pdf(lab: Lab, name: str, text: str) -> str:
    """Store a PDF saying `text` as `labs/<lab>/reports/<name>.pdf`; its key."""
    key = f"labs/{lab.pk}/reports/{name}.pdf"
    get_client("s3").upload(key, simple_pdf(text), content_type="application/pdf")
    return key


def body_of(response: HttpResponseBase) -> bytes:
    """The whole body of a (possibly streaming) response."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return bytes(response.content)  # type: ignore[attr-defined]


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, as pypdf extracts it."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
