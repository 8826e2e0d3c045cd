"""Errors of the search clients (Elasticsearch, and the null client without it).

Messages say what was wrong and what would be right; they never carry
credentials or document bodies (which may hold patient data).
"""


class SearchError(Exception):
    """A search operation failed."""


class SearchRequestError(SearchError):
    """The request itself was wrong (bad index name, unsupported query, a
    mapping conflict): retrying it unchanged will fail again."""


class SearchUnavailable(SearchError):
    """The search service could not be reached, timed out, or kept answering
    429/5xx after the retries. Nothing is known to be stored; retry later."""


class SearchNotConfigured(SearchError):
    """No search server is configured (ES_URL unset): the `es` service is
    the null client, which stores and answers nothing."""
