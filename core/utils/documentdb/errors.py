"""Errors of the integration-log clients.

Messages name the account and what to do; they never carry the connection
URL (it holds credentials) or the log payload (it may hold patient data).
"""

from django.core.exceptions import ImproperlyConfigured


class IntegrationLogError(Exception):
    """Writing or reading integration logs failed."""


class DocumentDBUnavailable(IntegrationLogError):
    """The account's DocumentDB could not be reached or did not answer in
    time. The caller keeps what it wanted to write and retries later."""


class DocumentDBConnectionMissing(ImproperlyConfigured):
    """The account has no `DocumentDBConnection` row, or its URL is unusable."""
