"""Models with the same columns: on BaseModel, on plain Django, and on
plain Django audited by django-simple-history or django-auditlog (the
libraries bench_activity_log compares against; dev dependencies only).

Tables are created and dropped by the benchmark itself (no migrations).
"""

from auditlog.registry import auditlog
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.models import BaseModel, CacheType


class BaseReading(BaseModel):
    """BaseModel with empty hooks: the cost of the discipline alone."""

    name = models.CharField(max_length=50)
    reading = models.DecimalField(max_digits=8, decimal_places=3)
    channels = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return self.name


class PlainColumns(models.Model):
    """BaseReading's columns on a plain `models.Model`."""

    name = models.CharField(max_length=50)
    reading = models.DecimalField(max_digits=8, decimal_places=3)
    channels = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class PlainReading(PlainColumns):
    """The baseline: plain `models.Model` with the same columns."""


class CachedReading(BaseModel):
    """An INSTANCE-cached model for bench_cache. `lab_id` is a plain integer
    here (no Lab table in the benchmark), which is all the cache key needs."""

    cache_type = CacheType.INSTANCE

    lab_id = models.IntegerField()
    name = models.CharField(max_length=50)
    reading = models.DecimalField(max_digits=8, decimal_places=3)
    taken_on = models.DateField()
    received_at = models.DateTimeField()
    channels = models.PositiveSmallIntegerField(default=1)
    flags = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class HistoryReading(PlainColumns):
    """The same columns audited by django-simple-history (a historical table
    written by a post_save receiver)."""

    history = HistoricalRecords()


class AuditReading(PlainColumns):
    """The same columns audited by django-auditlog (a LogEntry with the
    field diff, written by its pre_save/post_save receivers)."""


auditlog.register(AuditReading)
