"""Elasticsearch stand-in (no Elasticsearch can run on these machines): an
HTTP server (`server.py`) with the query matcher it needs (`query.py`)."""

from tests.standins.elasticsearch.server import ElasticsearchStandIn, RecordedRequest

__all__ = ["ElasticsearchStandIn", "RecordedRequest"]
