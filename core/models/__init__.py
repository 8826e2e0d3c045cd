"""Core models and mixins, re-exported for `from core.models import BaseModel`."""

from core.activity_log.models import (
    ActivityLog,
    ActivityLogChain,
    ActivityLogChainHead,
    ActivityLogCheckpoint,
    ActivityLogPrune,
    ActivityLogSeal,
    ActivityLogShipQuarantine,
    AppendOnlyError,
)
from core.models.activity_log_base import ActivityLogBase
from core.models.api_key import ApiKey
from core.models.base import BaseModel
from core.models.blind_index import BlindIndexField
from core.models.cache_invalidation import PendingCacheInvalidation
from core.models.caching import CacheType
from core.models.counter import Counter
from core.models.documentdb import (
    DocumentDBConnection,
    IntegrationDirection,
    IntegrationLog,
    IntegrationStatus,
)
from core.models.encrypted_fields import EncryptedJSONField, EncryptedTextField
from core.models.encrypted_mixin import EncryptedFieldsMixin
from core.models.fusion import FusionDeadLetter, FusionJob, FusionWorker
from core.models.fusion_schedule import FusionScheduleSlot
from core.models.lab_scoped import LabScopedMixin
from core.models.loaded_state import LoadedStateMixin
from core.models.managers import BaseManager, BaseQuerySet
from core.models.translation import LabTranslation
from core.models.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "ActivityLog",
    "ActivityLogBase",
    "ActivityLogChain",
    "ActivityLogChainHead",
    "ActivityLogCheckpoint",
    "ActivityLogPrune",
    "ActivityLogSeal",
    "ActivityLogShipQuarantine",
    "ApiKey",
    "AppendOnlyError",
    "BaseManager",
    "BaseModel",
    "BaseQuerySet",
    "BlindIndexField",
    "CacheType",
    "Counter",
    "DocumentDBConnection",
    "EncryptedFieldsMixin",
    "EncryptedJSONField",
    "EncryptedTextField",
    "FusionDeadLetter",
    "FusionJob",
    "FusionScheduleSlot",
    "FusionWorker",
    "IntegrationDirection",
    "IntegrationLog",
    "IntegrationStatus",
    "LabScopedMixin",
    "LabTranslation",
    "LoadedStateMixin",
    "PendingCacheInvalidation",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
