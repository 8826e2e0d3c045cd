"""Search documents in the database: the embedded default of the `es` client.

`DatabaseSearchClient` (core/utils/elastic_search/database.py) keeps what
Elasticsearch would hold in these two tables, so the activity log can run on
one machine with no search server and switch to Elasticsearch by settings.
"""

from django.db import models
from django.utils import timezone


class SearchIndex(models.Model):
    """An index created by `ensure_index`, with the mappings it was given.

    Plain Model (not BaseModel): maintained by the search client only.
    """

    name = models.CharField(max_length=255, unique=True)
    mappings = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class SearchDocument(models.Model):
    """One document of an index: its id and JSON body, unique per index.

    Plain Model (not BaseModel): written in bulk by the search client with an
    upsert (`bulk_create(update_conflicts=True)`), like Elasticsearch
    overwriting a document by id; there are no hooks to run on a document.
    """

    index = models.CharField(max_length=255)
    doc_id = models.CharField(max_length=512)
    body = models.JSONField(default=dict)
    indexed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["index", "doc_id"], name="searchdoc_unique_index_doc_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index}/{self.doc_id}"
