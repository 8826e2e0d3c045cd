"""File storage: `get_client("s3")` is an `S3Client` (boto3) or, by default, a
`LocalFileS3Client` with the same interface; see `core.utils.aws.client`."""

from core.utils.aws.client import LocalFileS3Client, S3Client
from core.utils.aws.exceptions import (
    InvalidKey,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from core.utils.aws.keys import validate_key

__all__ = [
    "InvalidKey",
    "LocalFileS3Client",
    "ObjectNotFound",
    "S3Client",
    "StorageError",
    "StorageUnavailable",
    "validate_key",
]
