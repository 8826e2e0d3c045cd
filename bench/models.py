"""Two models with the same columns: one on BaseModel, one on plain Django.

Tables are created and dropped by the benchmark itself (no migrations).
"""

from django.db import models
from django.utils import timezone

from core.models import BaseModel, CacheType


class BaseReading(BaseModel):
    """BaseModel with empty hooks: the cost of the discipline alone."""

    name = models.CharField(max_length=50)
    reading = models.DecimalField(max_digits=8, decimal_places=3)
    channels = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return self.name


class PlainReading(models.Model):
    """The baseline: plain `models.Model` with the same columns."""

    name = models.CharField(max_length=50)
    reading = models.DecimalField(max_digits=8, decimal_places=3)
    channels = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


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
