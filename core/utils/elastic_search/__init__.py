"""Search: Elasticsearch (official client) or the database store.

- `client.ElasticSearchClient`: an Elasticsearch 9 cluster.
- `database.DatabaseSearchClient`: the embedded default, core tables.

Both take the same calls (`ensure_index`, `index_document`, `bulk`, `search`,
`get_document`, `check`) and return the types re-exported here. Reach them
through `get_client("es")`; settings choose which one (services.py).
"""

from core.utils.elastic_search.errors import (
    SearchError,
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
    "SearchRequestError",
    "SearchResult",
    "SearchUnavailable",
]
