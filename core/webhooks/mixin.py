"""WebhookEventsMixin: a model's creates, updates and deletes become webhook
events of its lab (`<model>.created|updated|deleted`, core/webhooks/).

    class Patient(WebhookEventsMixin, LabScopedMixin, BaseModel):
        def webhook_payload(self):
            return {"id": self.pk, "version": self.version, "sex": self.sex}

The event is recorded in the save's (or delete's) transaction by
BaseModel, which reads the seed's `webhook_enabled` flag that this mixin
sets; an update that changes nothing sends nothing. The model must be
lab-scoped: endpoints subscribe per lab. Put it first in the bases, so the
class line shows that the model sends webhooks.
"""

from collections.abc import Collection
from typing import Any, ClassVar

from django.db import models

from core.webhooks.emission import record_model_change


class WebhookEventsMixin(models.Model):
    """Sends `<model>.created|updated|deleted`; see the module docstring.

    `webhook_payload()` says what the events carry as `data.object`;
    `webhook_payload_version` is its schema version (bump it when the
    payload changes incompatibly)."""

    webhook_enabled: ClassVar[bool] = True
    webhook_payload_version: ClassVar[int] = 1

    class Meta:
        abstract = True

    def webhook_payload(self) -> dict[str, Any]:
        """What this record's webhook events carry as `data.object`. Keep it
        to what the lab's systems need to act (ids, statuses), never
        secrets. Default: `{"id": 12, "version": 3}`."""
        return {"id": self.pk, "version": getattr(self, "version", None)}

    def emit_change_webhook(
        self, action: str, changed_fields: Collection[str] = ()
    ) -> None:
        """Record the webhook event of `action` ("create", "update",
        "delete") in the current transaction; called by BaseModel's save()
        and delete()."""
        record_model_change(self, action, changed_fields)
