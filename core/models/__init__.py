"""Core models and mixins, re-exported for `from core.models import BaseModel`."""

from core.models.base import BaseModel
from core.models.cache import PendingCacheInvalidation
from core.models.caching import CacheType
from core.models.lab_scoped import LabScopedMixin, lab_ids_in_scope
from core.models.managers import BaseManager, BaseQuerySet

__all__ = [
    "BaseManager",
    "BaseModel",
    "BaseQuerySet",
    "CacheType",
    "LabScopedMixin",
    "PendingCacheInvalidation",
    "lab_ids_in_scope",
]
