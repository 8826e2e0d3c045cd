"""Errors of the search clients (Elasticsearch, and the null client without it).

Messages say what was wrong and what would be right; they never carry
credentials or document bodies (which may hold patient data).
"""

#: What an HTTP status from Elasticsearch means, for health reports.
STATUS_MEANINGS = {
    400: "request refused",
    401: "authentication failed",
    403: "not authorised",
    404: "not found",
    429: "overloaded",
}


class SearchError(Exception):
    """A search operation failed. `status` is Elasticsearch's HTTP status
    (None when it did not answer) and `error_type` its error type, when
    known; `cause` puts them in a few words for health reports."""

    def __init__(
        self, message: str = "", *, status: int | None = None, error_type: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type

    @property
    def cause(self) -> str:
        """E.g. "401 authentication failed (security_exception)", or the
        class name when Elasticsearch gave no answer ("SearchUnavailable")."""
        if self.status is None:
            return type(self).__name__
        meaning = STATUS_MEANINGS.get(
            self.status, "unavailable" if self.status >= 500 else "error"
        )
        kind = f" ({self.error_type})" if self.error_type else ""
        return f"{self.status} {meaning}{kind}"


class SearchRequestError(SearchError):
    """The request itself was wrong (bad index name, unsupported query, a
    mapping conflict): retrying it unchanged will fail again."""


class SearchUnavailable(SearchError):
    """The search service could not be reached, timed out, or kept answering
    429/5xx after the retries. Nothing is known to be stored; retry later."""


class SearchNotConfigured(SearchError):
    """No search server is configured (ES_URL unset): the `es` service is
    the null client, which stores and answers nothing."""
