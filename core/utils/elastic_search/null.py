"""NullSearchClient: the `es` service when no search server is configured.

The embedded default. Nothing in the project needs a search store without
Elasticsearch: the activity log, the only user of `es`, reads its own table
when the client is not a search server (`Capability.SEARCH_SERVER`), and its
periodic shipper sends nothing. So this client stores nothing and answers
nothing: every call raises `SearchNotConfigured`, which names ES_URL, rather
than keeping a second copy of the log that nothing reads. `check()` reports
the service as off, which is healthy.
"""

from typing import Any, NoReturn

from core.utils.capabilities import Capability
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.elastic_search.errors import SearchNotConfigured
from core.utils.elastic_search.types import BulkResult, SearchResult

#: What `check()` says, and the health endpoint shows.
OFF_DETAIL = "off: no search server configured (ES_URL unset)"


class NullSearchClient(ServiceClient):
    """The `es` client without Elasticsearch: every call raises
    `SearchNotConfigured`; `check()` is ok and says the service is off.

    Takes no options; answers the calls `ElasticSearchClient` answers.
    """

    capabilities = frozenset({Capability.STAND_IN})

    # Each call takes what ElasticSearchClient's takes; the arguments past
    # the index name are not looked at, since nothing is done with them.
    def ensure_index(self, name: str, *args: Any, **kwargs: Any) -> bool:
        """Raises `SearchNotConfigured`."""
        _refuse(f"create index {name!r}")

    def ensure_index_template(self, name: str, *args: Any, **kwargs: Any) -> bool:
        """Raises `SearchNotConfigured`."""
        _refuse(f"put index template {name!r}")

    def index_document(self, index: str, *args: Any, **kwargs: Any) -> str:
        """Raises `SearchNotConfigured`."""
        _refuse(f"index a document into {index!r}")

    def bulk(self, *args: Any, **kwargs: Any) -> BulkResult:
        """Raises `SearchNotConfigured` (before reading the actions)."""
        _refuse("index documents in bulk")

    def search(self, index: str, *args: Any, **kwargs: Any) -> SearchResult:
        """Raises `SearchNotConfigured`."""
        _refuse(f"search {index!r}")

    def get_document(self, index: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Raises `SearchNotConfigured`."""
        _refuse(f"read a document of {index!r}")

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Ok, with a detail saying the service is off."""
        return HealthStatus(ok=True, latency_ms=0.0, detail=OFF_DETAIL)


def _refuse(action: str) -> NoReturn:
    raise SearchNotConfigured(
        f"Cannot {action}: no search server is configured. Set ES_URL (or "
        "ES_URLS) to an Elasticsearch cluster; without one the activity log "
        "is read from the database and nothing is shipped."
    )
