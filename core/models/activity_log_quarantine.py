"""`ActivityLogShipQuarantine`: entries Elasticsearch refused for good.

Elasticsearch answers a bulk request item by item. An item refused with 400
(`document_parsing_exception`, `mapper_parsing_exception`,
`illegal_argument_exception`, ...) is refused for what the document holds:
sending it again unchanged fails again, and as the oldest unshipped entry it
would head every batch for ever. The shipper records such an entry here,
with Elasticsearch's reason, and stops picking it; the rest ship. The entry
itself stays in the (append-only) log table, unshipped, so nothing is lost
and no retention prune removes it. `manage.py quarantined_activity_logs
--retry` sends it again after the mapping or the data is fixed; once
Elasticsearch takes it, its row here is deleted.

A plain Model, not an append-only one: this is the shipper's bookkeeping
(attempts, the latest reason), not evidence. `entry_id` is a plain integer,
as in ActivityLogSeal, so nothing here constrains the log table.
"""

from django.db import models
from django.utils import timezone

#: Longest reason kept, in characters (Elasticsearch's can quote a value).
MAX_REASON_CHARS = 2000


class ActivityLogShipQuarantine(models.Model):
    """One entry Elasticsearch refused permanently, and why.

    Example: `entry_id=912, lab_id=3, status=400,
    error_type="document_parsing_exception", reason="[1:40] failed to parse
    field [client_ip] of type [ip] ...", attempts=2`.
    """

    entry_id = models.BigIntegerField(unique=True)
    lab_id = models.BigIntegerField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(help_text="Elasticsearch's HTTP status.")
    error_type = models.CharField(max_length=200)
    reason = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    quarantined_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["entry_id"]

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.error_type}"
