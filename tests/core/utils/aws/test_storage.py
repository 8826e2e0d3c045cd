"""settings for files: the s3 service and Django's default storage follow the
environment together, and S3FileStorage works against a real S3 server."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from config.settings.services import build_services, build_storages
from core.utils.aws.client import LocalFileS3Client, S3Client
from core.utils.aws.storage import S3FileStorage
from core.utils.clients import get_client

pytestmark = pytest.mark.engine_independent


def test_with_nothing_set_files_live_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("S3_BUCKET", raising=False)

    s3 = build_services(tmp_path)["s3"]
    default = build_storages(s3)["default"]

    assert s3 == {
        "BACKEND": "core.utils.aws.client.LocalFileS3Client",
        "OPTIONS": {"base_dir": str(tmp_path / "files")},
    }
    storage = storages.create_storage(default)
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(tmp_path / "files")


def test_the_default_client_and_storage_share_one_folder(settings, tmp_path):
    settings.SERVICES = {**settings.SERVICES, **build_services(tmp_path)}
    client = get_client("s3")
    storage = storages.create_storage(
        build_storages(settings.SERVICES["s3"])["default"]
    )

    name = storage.save("labs/12/upload.txt", ContentFile(b"from a FileField"))

    assert isinstance(client, LocalFileS3Client)
    assert client.download(name) == b"from a FileField"


def test_s3_bucket_selects_s3_for_the_client_and_django_storage(
    monkeypatch, tmp_path, moto_server, bucket
):
    # given the S3 variables pointing at a real S3-compatible server
    for name, value in {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": moto_server.url,
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_ADDRESSING_STYLE": "path",
        "S3_READ_TIMEOUT_SECONDS": "4",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = build_services(tmp_path)["s3"]
    default = build_storages(s3)["default"]
    client = S3Client(**s3["OPTIONS"])
    storage = storages.create_storage(default)

    # when Django's storage saves a file twice under one name
    first = storage.save("labs/12/scan.png", ContentFile(b"first scan"))
    second = storage.save("labs/12/scan.png", ContentFile(b"second scan"))

    # then both are in the bucket, neither overwritten, and the client reads them
    assert isinstance(storage, S3FileStorage)
    assert first == "labs/12/scan.png" and second != first
    assert client.download(first) == b"first scan"
    assert client.download(second) == b"second scan"
    assert "X-Amz-Signature=" in storage.url(first)
    # with our timeouts, not botocore's 60-second default
    assert storage.client_config.read_timeout == 4
    storage.delete(first)
    assert not client.exists(first)
    client.close()
