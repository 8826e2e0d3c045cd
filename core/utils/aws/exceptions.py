"""What the file-store clients raise; the same classes for S3 and local files.

Each class says whether trying again later can help (`retryable`), so a job
that stores or fetches a file knows whether to retry or give up.
"""


class StorageError(Exception):
    """A file-store operation failed. Base of the classes below."""

    retryable = False


class InvalidKey(StorageError, ValueError):
    """A file key that is not a clean relative path (for example `../etc`)."""


class ObjectNotFound(StorageError):
    """No file is stored under the key."""


class StorageUnavailable(StorageError):
    """The store could not be reached or did not answer in time; retry later."""

    retryable = True
