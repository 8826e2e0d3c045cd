"""Core models and mixins, re-exported for `from core.models import BaseModel`."""

from core.models.activity_log import (
    ActivityLog,
    ActivityLogChainHead,
    ActivityLogSeal,
    AppendOnlyError,
)
from core.models.activity_log_base import ActivityLogBase
from core.models.base import BaseModel
from core.models.cache import PendingCacheInvalidation
from core.models.caching import CacheType
from core.models.documentdb import (
    DocumentDBConnection,
    IntegrationDirection,
    IntegrationLog,
    IntegrationStatus,
)
from core.models.fusion import FusionDeadLetter, FusionJob
from core.models.lab_scoped import LabScopedMixin, lab_ids_in_scope
from core.models.managers import BaseManager, BaseQuerySet
from core.models.search import SearchDocument, SearchIndex

__all__ = [
    "ActivityLog",
    "ActivityLogBase",
    "ActivityLogChainHead",
    "ActivityLogSeal",
    "AppendOnlyError",
    "BaseManager",
    "BaseModel",
    "BaseQuerySet",
    "CacheType",
    "DocumentDBConnection",
    "FusionDeadLetter",
    "FusionJob",
    "IntegrationDirection",
    "IntegrationLog",
    "IntegrationStatus",
    "LabScopedMixin",
    "PendingCacheInvalidation",
    "SearchDocument",
    "SearchIndex",
    "lab_ids_in_scope",
]
