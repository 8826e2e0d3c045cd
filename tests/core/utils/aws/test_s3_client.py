"""S3Client against a real S3-compatible server (moto's, started by the
tests): upload, download, delete, presigned URLs, and what the caller sees
when the server is down, hung or refuses."""

import re
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from core.utils.aws.client import S3Client
from core.utils.aws.exceptions import (
    InvalidKey,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from tests.core.utils.aws.conftest import MotoServer

pytestmark = pytest.mark.engine_independent


def test_an_uploaded_file_can_be_downloaded_and_deleted(s3, moto_server, bucket):
    # given a PDF uploaded under a lab's key
    s3.upload(
        "labs/12/reports/42.pdf", b"%PDF-1.7 report", content_type="application/pdf"
    )

    # then it is in the bucket, with its content type, and reads back whole
    head = moto_server.admin().head_object(Bucket=bucket, Key="labs/12/reports/42.pdf")
    assert head["ContentType"] == "application/pdf"
    assert s3.exists("labs/12/reports/42.pdf")
    assert s3.download("labs/12/reports/42.pdf") == b"%PDF-1.7 report"

    # when it is deleted, it is gone
    s3.delete("labs/12/reports/42.pdf")
    assert not s3.exists("labs/12/reports/42.pdf")
    with pytest.raises(ObjectNotFound, match=re.escape("labs/12/reports/42.pdf")):
        s3.download("labs/12/reports/42.pdf")


def test_an_upload_replaces_the_previous_content(s3):
    s3.upload("a.txt", b"first")
    s3.upload("a.txt", b"second")

    assert s3.download("a.txt") == b"second"


def test_a_missing_key_is_not_found_and_deleting_it_is_harmless(s3):
    with pytest.raises(ObjectNotFound) as excinfo:
        s3.download("labs/12/never-uploaded.pdf")

    assert not excinfo.value.retryable
    assert not s3.exists("labs/12/never-uploaded.pdf")
    s3.delete("labs/12/never-uploaded.pdf")  # as in S3: no error


def test_a_presigned_url_serves_the_file_without_credentials(s3):
    # given an uploaded file and a presigned URL for it
    s3.upload("labs/12/reports/7.pdf", b"\x00binary\xffbytes")
    url = s3.presigned_url("labs/12/reports/7.pdf", expires_seconds=300)

    # when anyone fetches the URL with a plain HTTP client
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local
        body = response.read()

    # then they get the bytes, and the URL is signed
    assert body == b"\x00binary\xffbytes"
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url


@pytest.mark.parametrize("expires_seconds", [0, -5, 7 * 24 * 3600 + 1])
def test_an_expiry_outside_what_s3_accepts_is_refused(s3, expires_seconds):
    with pytest.raises(ValueError, match="expires_seconds"):
        s3.presigned_url("a.pdf", expires_seconds=expires_seconds)


@pytest.mark.parametrize(
    "key", ["../a", "a/../../b", "/etc/passwd", "a//b", "", "a\\b"]
)
def test_bad_keys_are_refused_before_any_request(s3, moto_server, bucket, key):
    with pytest.raises(InvalidKey):
        s3.upload(key, b"x")

    assert moto_server.admin().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_only_bytes_can_be_uploaded(s3):
    with pytest.raises(TypeError, match="bytes, not str"):
        s3.upload("a.txt", "text")  # type: ignore[arg-type]


def test_threads_share_one_client(s3):
    # given eight threads uploading at once through one client
    errors: list[BaseException] = []

    def upload(index: int) -> None:
        try:
            s3.upload(f"threads/{index}.bin", bytes([index]) * 1000)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every file arrived whole
    assert errors == []
    assert all(s3.download(f"threads/{i}.bin") == bytes([i]) * 1000 for i in range(8))


def test_check_is_ok_against_the_live_server(s3):
    status = s3.check(timeout=2)

    assert status.ok, status.detail
    assert s3.bucket in status.detail


def test_check_is_not_ok_for_a_missing_bucket(moto_server, make_s3_client):
    client = make_s3_client(moto_server.url, "no-such-bucket-here")

    status = client.check(timeout=2)

    assert not status.ok
    assert status.detail == "ClientError"


def test_a_refused_operation_names_the_s3_error_code(moto_server, make_s3_client):
    client = make_s3_client(moto_server.url, "no-such-bucket-here")

    with pytest.raises(StorageError, match="NoSuchBucket") as excinfo:
        client.upload("a.txt", b"x")

    assert not excinfo.value.retryable
    assert "testing" not in str(excinfo.value)  # no credentials in messages


# -- when the server is down or hung ---------------------------------------------
@pytest.fixture
def stopped_server_client(make_s3_client) -> Iterator[Callable[[], S3Client]]:
    """A client whose own moto server is stopped when the test says so."""
    server = MotoServer()
    server.admin().create_bucket(Bucket="going-down")
    client = make_s3_client(server.url, "going-down")
    client.upload("kept.txt", b"stored before the outage")
    yield lambda: (server.stop(), client)[1]
    server.stop()


def test_a_stopped_server_gives_a_retryable_error_not_a_hang(stopped_server_client):
    # given a client whose S3 server has stopped
    client = stopped_server_client()

    # when the caller uploads or downloads, it gets StorageUnavailable
    with pytest.raises(StorageUnavailable, match="could not be reached") as excinfo:
        client.upload("labs/1/new.pdf", b"data")
    assert excinfo.value.retryable
    with pytest.raises(StorageUnavailable):
        client.download("kept.txt")

    # and the health check says so
    status = client.check(timeout=1)
    assert not status.ok
    assert status.detail == "EndpointConnectionError"


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung S3)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_hung_server_times_out_instead_of_blocking_the_caller(
    hung_server, make_s3_client
):
    client = make_s3_client(hung_server, "any", read_timeout_seconds=0.3)

    with pytest.raises(StorageUnavailable, match="ReadTimeoutError"):
        client.download("labs/1/a.pdf")

    status = client.check(timeout=0.3)
    assert not status.ok
    assert status.detail == "ReadTimeoutError"


def test_keys_lists_what_is_under_a_prefix_in_order(s3):
    for key in ("labs/1/b.json", "labs/1/a.json", "labs/12/c.json", "other/d.json"):
        s3.upload(key, b"{}")

    assert s3.keys("labs/1/") == ["labs/1/a.json", "labs/1/b.json"]
    assert s3.keys("labs/1") == ["labs/1/a.json", "labs/1/b.json", "labs/12/c.json"]
    assert s3.keys("labs/9/") == []
