"""File storage clients: S3 (boto3) and local files, with one interface.

`get_client("s3")` returns one of them, chosen by settings.SERVICES["s3"]:

    client.upload("labs/12/reports/42.pdf", pdf_bytes, content_type="application/pdf")
    client.download("labs/12/reports/42.pdf")      # -> bytes
    client.exists("labs/12/reports/42.pdf")        # -> True
    client.presigned_url("labs/12/reports/42.pdf", expires_seconds=600)  # -> str
    client.delete("labs/12/reports/42.pdf")        # no error if already gone

Keys are checked by `core.utils.aws.keys.validate_key` on both backends.
Failures raise `core.utils.aws.exceptions` classes: `ObjectNotFound`,
`StorageUnavailable` (retryable: the store is down or slow), `InvalidKey`,
or `StorageError`; messages never carry credentials.
"""

import datetime as dt
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from core.utils.aws.exceptions import (
    InvalidKey,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from core.utils.aws.keys import validate_key
from core.utils.aws.signed_urls import signed_file_url
from core.utils.capabilities import Capability
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
#: Attempts per call (first try included), with botocore's "standard" backoff.
MAX_ATTEMPTS = 3
MAX_POOL_CONNECTIONS = 20
DEFAULT_URL_EXPIRY_SECONDS = 3600
#: S3 refuses presigned URLs that live longer than seven days.
MAX_URL_EXPIRY_SECONDS = 7 * 24 * 3600
_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}


def botocore_config(
    connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
    read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
    max_pool_connections: int = MAX_POOL_CONNECTIONS,
    addressing_style: str = "auto",
) -> Any:
    """The botocore `Config` shared by `S3Client` and the S3 file storage."""
    return Config(
        connect_timeout=connect_timeout_seconds,
        read_timeout=read_timeout_seconds,
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max_pool_connections,
        s3={"addressing_style": addressing_style},
        signature_version="s3v4",
    )


def _check_expiry(expires_seconds: int) -> int:
    if not 1 <= expires_seconds <= MAX_URL_EXPIRY_SECONDS:
        raise ValueError(
            f"expires_seconds={expires_seconds} is out of range; give 1 to "
            f"{MAX_URL_EXPIRY_SECONDS} seconds (seven days)."
        )
    return expires_seconds


def _check_data(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"upload() takes bytes, not {type(data).__name__}.")
    return bytes(data)


class S3Client(ServiceClient):
    """Files in an S3 bucket (or any S3-compatible server), through boto3.

    One boto3 client per instance: boto3 clients are thread-safe and keep a
    pool of up to `max_pool_connections` connections. Every call is bounded
    by the connect/read timeouts and retried by botocore's "standard" mode
    (throttling, 5xx and connection errors, with backoff) up to
    `max_attempts` attempts in all.
    """

    capabilities = frozenset()

    def __init__(
        self,
        bucket: str,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        max_pool_connections: int = MAX_POOL_CONNECTIONS,
    ) -> None:
        self.bucket = bucket
        # Without explicit keys, boto3's own chain (environment, IAM role) applies.
        self._session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._endpoint_url = endpoint_url
        self._addressing_style = addressing_style
        self._s3 = self._make_client(
            botocore_config(
                connect_timeout_seconds,
                read_timeout_seconds,
                max_attempts,
                max_pool_connections,
                addressing_style,
            )
        )
        self._check_clients: dict[float, Any] = {}
        self._check_lock = threading.Lock()
        self._object_lock: bool | None = None

    def _make_client(self, config: Any) -> Any:
        return self._session.client(
            "s3", endpoint_url=self._endpoint_url, config=config
        )

    def upload(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        retain_until: dt.datetime | None = None,
        lock_mode: str = "COMPLIANCE",
    ) -> None:
        """Store `data` under `key`, replacing what was there. With
        `retain_until`, and if the bucket has S3 Object Lock enabled, the
        object version is locked until then in `lock_mode` (COMPLIANCE: no
        one, root included, can delete or overwrite it; GOVERNANCE: only
        with a special permission). A bucket without Object Lock stores it
        unlocked (`object_lock_enabled()` says which)."""
        key, body = validate_key(key), _check_data(data)
        extra: dict[str, Any] = {}
        if retain_until is not None and self.object_lock_enabled():
            extra = {
                "ObjectLockMode": lock_mode,
                "ObjectLockRetainUntilDate": retain_until,
                "ChecksumAlgorithm": "SHA256",  # S3 wants a checksum with a lock
            }
        with self._translated("upload", key):
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                **extra,
            )

    def object_lock_enabled(self) -> bool:
        """Whether the bucket has S3 Object Lock enabled (asked once)."""
        if self._object_lock is None:
            with self._translated("get_object_lock_configuration", ""):
                try:
                    config = self._s3.get_object_lock_configuration(Bucket=self.bucket)
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    if code != "ObjectLockConfigurationNotFoundError":
                        raise
                    config = {}
            enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
            self._object_lock = enabled == "Enabled"
        return self._object_lock

    def keys(self, prefix: str) -> list[str]:
        """The keys stored under `prefix`, sorted."""
        found: list[str] = []
        with self._translated("list", prefix):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)

    def download(self, key: str) -> bytes:
        """The bytes stored under `key`; `ObjectNotFound` if there are none."""
        key = validate_key(key)
        with self._translated("download", key):
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
            return body

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing key is not an error (as in S3)."""
        key = validate_key(key)
        with self._translated("delete", key):
            self._s3.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        key = validate_key(key)
        try:
            with self._translated("exists", key):
                self._s3.head_object(Bucket=self.bucket, Key=key)
        except ObjectNotFound:
            return False
        return True

    def presigned_url(
        self, key: str, expires_seconds: int = DEFAULT_URL_EXPIRY_SECONDS
    ) -> str:
        """A URL anyone can GET the file from for `expires_seconds`.

        Signed locally (no request to S3), so it does not prove the file exists.
        Example: `"https://bucket.s3.amazonaws.com/labs/12/a.pdf?X-Amz-Signature=..."`.
        """
        key, expires_seconds = validate_key(key), _check_expiry(expires_seconds)
        with self._translated("presigned_url", key):
            url: str = self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_seconds,
            )
            return url

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """HEAD the bucket, with one attempt bounded by `timeout` seconds."""

        def probe() -> str:
            self._check_client(timeout).head_bucket(Bucket=self.bucket)
            return f"bucket {self.bucket} reachable"

        return self.timed_check(probe)

    def _check_client(self, timeout: float) -> Any:
        # A boto3 client's timeouts are fixed when it is made, and making one
        # costs tens of milliseconds, so keep one per timeout asked for.
        with self._check_lock:
            client = self._check_clients.get(timeout)
            if client is None:
                config = botocore_config(
                    timeout, timeout, 1, 1, addressing_style=self._addressing_style
                )
                client = self._check_clients[timeout] = self._make_client(config)
            return client

    def close(self) -> None:
        """Close the pooled connections."""
        with self._check_lock:
            clients = [self._s3, *self._check_clients.values()]
            self._check_clients = {}
        for client in clients:
            client.close()

    @contextmanager
    def _translated(self, operation: str, key: str) -> Iterator[None]:
        """Turn botocore's exceptions into ours, with messages for people."""
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if code in _NOT_FOUND_CODES:
                raise ObjectNotFound(
                    f"No file is stored under {key!r} in bucket {self.bucket!r}."
                ) from exc
            error = StorageError(
                f"S3 refused {operation} of {key!r} in bucket {self.bucket!r} "
                f"with error code {code}."
            )
            if code in ("SlowDown", "ServiceUnavailable", "InternalError"):
                error = StorageUnavailable(str(error) + " Try again later.")
            raise error from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StorageUnavailable(
                f"S3 could not be reached for {operation} of {key!r} "
                f"({type(exc).__name__}) after the configured retries; try again later."
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"S3 {operation} of {key!r} failed ({type(exc).__name__}); check the "
                "S3 settings (bucket, region, credentials)."
            ) from exc


class LocalFileS3Client(ServiceClient):
    """Files in a local folder, with `S3Client`'s interface: the default.

    `base_dir` is usually DATA_DIR/files. Writes go to a temporary file that
    is then renamed into place, so a reader never sees half a file and two
    writers of one key leave one whole file. `content_type` is accepted for
    parity and not stored (the serving view guesses it from the name).
    `presigned_url` returns a signed, expiring link to this site (see
    `core.utils.aws.signed_urls`): like S3's, it works without a session and
    only until it expires, which a plain file path could not do.
    """

    capabilities = frozenset({Capability.LOCAL_FILES, Capability.STAND_IN})

    def __init__(self, base_dir: str) -> None:
        self.base_dir = Path(base_dir)

    def path_for(self, key: str) -> Path:
        """The file that holds `key`; `InvalidKey` if it would be outside
        `base_dir` (also through a symbolic link)."""
        key = validate_key(key)
        root = self.base_dir.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise InvalidKey(f"File key {key!r} points outside the storage folder.")
        return path

    def upload(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        retain_until: dt.datetime | None = None,
        lock_mode: str = "COMPLIANCE",
    ) -> None:
        """Store `data` under `key`, replacing what was there. A local folder
        has no Object Lock: `retain_until` is accepted for parity and
        ignored (`object_lock_enabled()` is False)."""
        path, body = self.path_for(key), _check_data(data)
        temporary: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            temporary = Path(name)
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(body)
            os.replace(temporary, path)
        except OSError as exc:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            raise StorageError(
                f"Could not store {key!r} in local storage ({type(exc).__name__}); "
                "check that the storage folder is writable and that no folder has "
                "that name."
            ) from exc

    def download(self, key: str) -> bytes:
        """The bytes stored under `key`; `ObjectNotFound` if there are none."""
        path = self.path_for(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"No file is stored under {key!r}.") from None
        except OSError as exc:
            raise StorageError(f"Could not read {key!r} from local storage.") from exc

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing key is not an error (as in S3)."""
        path = self.path_for(key)
        if path.is_dir():
            return  # a "folder" is not an object, as in S3
        try:
            path.unlink(missing_ok=True)
        except NotADirectoryError:
            return
        except OSError as exc:
            raise StorageError(f"Could not delete {key!r} from local storage.") from exc

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        return self.path_for(key).is_file()

    def object_lock_enabled(self) -> bool:
        """Never: a local folder cannot lock a file against its owner."""
        return False

    def keys(self, prefix: str) -> list[str]:
        """The keys stored under `prefix`, sorted (temporary files left out).
        Walks only the folder the prefix names (`a/b/` or `a/b/c...`: `a/b`),
        not the whole storage, which holds every uploaded file."""
        root = self.base_dir.resolve()
        folder = prefix.rpartition("/")[0]
        top = self.path_for(folder) if folder else root
        if not top.is_dir():
            return []
        found = (
            path.relative_to(root).as_posix()
            for path in top.rglob("*")
            if path.is_file() and not path.name.startswith(".upload-")
        )
        return sorted(key for key in found if key.startswith(prefix))

    def presigned_url(
        self, key: str, expires_seconds: int = DEFAULT_URL_EXPIRY_SECONDS
    ) -> str:
        """A signed link to this site's `/core/files/<key>`, valid for
        `expires_seconds`.

        Example: `"/core/files/labs/12/a.pdf?expires=1767225600&signature=Qx3..."`.
        """
        key, expires_seconds = validate_key(key), _check_expiry(expires_seconds)
        return signed_file_url(key, int(time.time()) + expires_seconds)

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """The storage folder exists (or can be made) and is writable."""

        def probe() -> str:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.base_dir, os.W_OK):
                raise PermissionError("storage folder is not writable")
            return "local storage writable"

        return self.timed_check(probe)
