"""Search: Elasticsearch (official client), or nothing.

- `client.ElasticSearchClient`: an Elasticsearch 9 cluster (ES_URL set).
- `null.NullSearchClient`: the embedded default; stores and answers nothing
  (`SearchNotConfigured`), its `check()` says the service is off.

Both take the same calls (`ensure_index`, `ensure_index_template`,
`index_document`, `bulk`, `search`, `get_document`, `check`) and use the
types re-exported here. Reach them through `get_client("es")`; settings
choose which one (services.py). Callers that need a search server ask
`client.can(Capability.SEARCH_SERVER)`.
"""

from core.utils.elastic_search.errors import (
    SearchError,
    SearchNotConfigured,
    SearchRequestError,
    SearchUnavailable,
)
from core.utils.elastic_search.types import (
    BulkFailure,
    BulkResult,
    SearchHit,
    SearchResult,
)

__all__ = [
    "BulkFailure",
    "BulkResult",
    "SearchError",
    "SearchHit",
    "SearchNotConfigured",
    "SearchRequestError",
    "SearchResult",
    "SearchUnavailable",
]
