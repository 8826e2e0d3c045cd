"""Django's file storage on S3: django-storages' S3Storage with our timeouts.

settings.STORAGES["default"] uses it when S3 is configured (see
`config/settings/services.py`), so `default_storage` and FileFields write to
the same bucket as `get_client("s3")`, bounded by the same timeouts and
retries instead of botocore's 60-second defaults.
"""

from typing import Any

from storages.backends.s3 import S3Storage  # type: ignore[import-untyped]

from core.utils.aws.client import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    MAX_POOL_CONNECTIONS,
    READ_TIMEOUT_SECONDS,
    botocore_config,
)


class S3FileStorage(S3Storage):
    """`S3Storage` that also takes plain timeout options (settings stay data).

    Example OPTIONS: `{"bucket_name": "lis-files", "read_timeout_seconds": 10}`
    plus any other django-storages S3 option.
    """

    def __init__(
        self,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        max_pool_connections: int = MAX_POOL_CONNECTIONS,
        **options: Any,
    ) -> None:
        options.setdefault(
            "client_config",
            botocore_config(
                connect_timeout_seconds,
                read_timeout_seconds,
                max_attempts,
                max_pool_connections,
                options.get("addressing_style") or "auto",
            ),
        )
        super().__init__(**options)
