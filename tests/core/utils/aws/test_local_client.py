"""LocalFileS3Client, the default file store: the S3 interface on a folder,
no way out of that folder, whole files only, and signed expiring links."""

import threading
import time
from pathlib import Path

import pytest

from core.utils.aws.client import LocalFileS3Client
from core.utils.aws.exceptions import InvalidKey, ObjectNotFound, StorageError
from core.utils.aws.signed_urls import signed_file_url
from core.utils.capabilities import Capability
from core.utils.clients import override_client
from tests.backend_doubles import another_class_of

pytestmark = pytest.mark.engine_independent

TRAVERSALS = [
    "../outside.txt",
    "labs/../../outside.txt",
    "/var/outside.txt",
    "labs/./a.txt",
    "labs//a.txt",
    "labs\\..\\..\\outside.txt",
    "labs/a.txt\x00.pdf",
    "",
]


@pytest.fixture
def store(tmp_path: Path) -> LocalFileS3Client:
    return LocalFileS3Client(base_dir=str(tmp_path / "files"))


def test_an_uploaded_file_can_be_downloaded_and_deleted(store, tmp_path):
    store.upload(
        "labs/12/reports/42.pdf", b"%PDF report", content_type="application/pdf"
    )

    assert (tmp_path / "files/labs/12/reports/42.pdf").read_bytes() == b"%PDF report"
    assert store.exists("labs/12/reports/42.pdf")
    assert store.download("labs/12/reports/42.pdf") == b"%PDF report"

    store.delete("labs/12/reports/42.pdf")
    assert not store.exists("labs/12/reports/42.pdf")
    with pytest.raises(ObjectNotFound):
        store.download("labs/12/reports/42.pdf")


def test_missing_keys_and_folders_are_not_files(store):
    store.upload("labs/12/a.txt", b"x")

    with pytest.raises(ObjectNotFound):
        store.download("labs/12/missing.txt")
    with pytest.raises(ObjectNotFound):
        store.download("labs/12")  # a folder, not an object
    assert not store.exists("labs/12")
    store.delete("labs/12/missing.txt")  # as in S3: no error
    store.delete("labs/12")
    assert store.download("labs/12/a.txt") == b"x"


@pytest.mark.parametrize("key", TRAVERSALS)
def test_keys_that_would_leave_the_folder_are_refused(store, tmp_path, key):
    # when a key tries to climb out of the storage folder
    with pytest.raises(InvalidKey):
        store.upload(key, b"escaped")
    with pytest.raises(InvalidKey):
        store.download(key)

    # then nothing was written anywhere
    assert not (tmp_path / "outside.txt").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_symbolic_link_out_of_the_folder_is_refused(store, tmp_path):
    # given a link inside the storage folder that points outside it
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not yours")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "link").symlink_to(outside)

    # then keys through the link are refused, for reading and writing
    with pytest.raises(InvalidKey, match="outside the storage folder"):
        store.download("link/secret.txt")
    with pytest.raises(InvalidKey):
        store.upload("link/secret.txt", b"overwritten")
    assert (outside / "secret.txt").read_bytes() == b"not yours"


def test_a_failed_write_raises_and_leaves_no_partial_file(store, tmp_path):
    # given a file where the new key needs a folder
    store.upload("labs/12", b"a file, not a folder")

    with pytest.raises(StorageError, match=r"Could not store 'labs/12/a\.txt'"):
        store.upload("labs/12/a.txt", b"x")

    leftovers = [p.name for p in (tmp_path / "files").rglob("*")]
    assert leftovers == ["labs", "12"]


def test_readers_see_whole_files_while_writers_replace_them(store):
    # given a key rewritten over and over by two writers with different contents
    old, new = b"a" * 200_000, b"b" * 200_000
    store.upload("busy.bin", old)
    stop = threading.Event()

    def write(content: bytes) -> None:
        while not stop.is_set():
            store.upload("busy.bin", content)

    writers = [threading.Thread(target=write, args=(c,)) for c in (old, new)]
    for writer in writers:
        writer.start()
    try:
        # then every read returns one whole version, never a mix or a prefix
        seen = {store.download("busy.bin") for _ in range(200)}
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert seen <= {old, new}


def test_check_is_ok_for_a_writable_folder_and_not_ok_otherwise(store, tmp_path):
    assert store.check().ok

    (tmp_path / "blocker").write_text("a file where the folder should be")
    broken = LocalFileS3Client(base_dir=str(tmp_path / "blocker" / "files"))
    status = broken.check()
    assert not status.ok
    assert status.detail == "NotADirectoryError"


# -- signed links, served by /core/files/ -------------------------------------------
@pytest.fixture
def served_store(settings, tmp_path) -> LocalFileS3Client:
    """The s3 service configured as local storage under tmp_path."""
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(tmp_path / "files")},
        },
    }
    store = LocalFileS3Client(base_dir=str(tmp_path / "files"))
    store.upload("labs/12/reports/42.pdf", b"%PDF report")
    return store


def test_a_presigned_url_serves_the_file_without_a_session(served_store, client):
    url = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)

    response = client.get(url)

    assert url.startswith("/core/files/labs/12/reports/42.pdf?expires=")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF report"
    assert response["Content-Type"] == "application/pdf"


def test_a_key_with_spaces_and_accents_survives_the_link(served_store, client):
    served_store.upload("labs/12/rapport final é&?.txt", b"accents")
    url = served_store.presigned_url(
        "labs/12/rapport final é&?.txt", expires_seconds=60
    )

    response = client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"accents"


def test_a_link_is_refused_once_changed_or_expired(served_store, client):
    served_store.upload("labs/13/other.pdf", b"another lab's file")
    good = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)
    query = good.split("?", 1)[1]
    expired = signed_file_url("labs/12/reports/42.pdf", int(time.time()) - 1)
    stretched = good.replace("expires=", "expires=9")

    # another key with this key's signature, a later expiry, a past one, no signature
    for url in (
        f"/core/files/labs/13/other.pdf?{query}",
        stretched,
        expired,
        "/core/files/labs/12/reports/42.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"invalid or has expired" in response.content


@pytest.mark.parametrize("signature", ["%C2%80", "%E2%82%AC" * 43, "%ED%A0%80", "%00"])
def test_a_signature_that_is_not_ascii_is_refused_like_any_wrong_one(
    served_store, client, signature
):
    # hmac.compare_digest raises TypeError for non-ASCII text (was a 500)
    good = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)
    forged = good.split("signature=")[0] + f"signature={signature}"

    response = client.get(forged)

    assert response.status_code == 403
    assert b"invalid or has expired" in response.content


def test_a_signed_link_to_a_deleted_file_is_not_found(served_store, client):
    url = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)
    served_store.delete("labs/12/reports/42.pdf")

    assert client.get(url).status_code == 404


def test_signed_links_are_not_served_when_files_live_on_s3(
    served_store, client, settings
):
    url = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.S3Client",
            "OPTIONS": {"bucket": "b", "access_key_id": "x", "secret_access_key": "y"},
        },
    }

    assert client.get(url).status_code == 404


def test_a_file_store_of_any_class_that_keeps_local_files_is_served(
    served_store, client
):
    # Given a store of another class than LocalFileS3Client that says it
    # keeps files on this machine
    url = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)
    store = another_class_of(served_store, frozenset({Capability.LOCAL_FILES}))

    # When its signed link is followed
    with override_client("s3", store):
        response = client.get(url)

    # Then the file is served: the view asked what it can do, not its class
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF report"


def test_a_file_store_that_does_not_say_it_keeps_local_files_is_not_served(
    served_store, client
):
    # Given a store that answers path_for() but does not declare LOCAL_FILES
    url = served_store.presigned_url("labs/12/reports/42.pdf", expires_seconds=60)
    store = another_class_of(served_store)

    # When its signed link is followed
    with override_client("s3", store):
        response = client.get(url)

    # Then nothing is served from this machine's disk
    assert response.status_code == 404


def test_keys_lists_what_is_under_a_prefix_in_order(store):
    for key in ("labs/1/b.json", "labs/1/a.json", "labs/12/c.json", "other/d.json"):
        store.upload(key, b"{}")

    assert store.keys("labs/1/") == ["labs/1/a.json", "labs/1/b.json"]
    assert store.keys("labs/1") == ["labs/1/a.json", "labs/1/b.json", "labs/12/c.json"]
    assert store.keys("labs/9/") == []
    assert len(store.keys("")) == 4


def test_keys_refuses_a_prefix_outside_the_folder(store):
    with pytest.raises(InvalidKey):
        store.keys("../elsewhere/")
