"""DocumentDB connection settings per account, and the integration-log table.

- `DocumentDBConnection`: where one account's integration logs live (a
  MongoDB / DocumentDB URL), read by `core.utils.documentdb.client`.
- `IntegrationLog`: the embedded default store for those logs, a table in the
  project's own database, used by `core.utils.documentdb.database`.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from core.models.base import BaseModel
from core.utils.documentdb.logs import IntegrationDirection, IntegrationStatus
from core.utils.documentdb.urls import has_mongodb_scheme, mask_connection_url


class DocumentDBConnection(BaseModel):
    """The DocumentDB / MongoDB URL of one account's integration logs.

    `account_id` is the id of the account's lab. It is a plain integer, not a
    foreign key to `account.Lab`: the architecture note gives this model no
    relation, `core` sits below `admin.account` (which builds on core's
    BaseModel) and must not depend on it, and the connection is operations
    data that may be provisioned before the lab row exists in this database.

    `connection_url` carries credentials. It never appears in `str()`,
    `repr()`, logs or error messages: they show `masked_url` instead
    (`mongodb://***@host:27017/db`). Encryption at rest comes later.
    """

    account_id = models.PositiveBigIntegerField(
        unique=True, help_text="The id of the account's lab."
    )
    connection_url = models.CharField(
        max_length=2000,
        help_text="mongodb:// or mongodb+srv:// URL, credentials included.",
    )

    mandatory_fields = ("account_id", "connection_url")

    class Meta:
        verbose_name = "DocumentDB connection"

    def __str__(self) -> str:
        return f"DocumentDB for account {self.account_id} ({self.masked_url})"

    @property
    def masked_url(self) -> str:
        """The URL without credentials or options, e.g. `mongodb://***@h/db`."""
        return mask_connection_url(self.connection_url or "")

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Base checks, then the URL's scheme (the message never echoes it)."""
        super().validate(*args, **kwargs)
        if not has_mongodb_scheme(self.connection_url):
            raise ValidationError(
                {
                    "connection_url": ValidationError(
                        "The connection URL must start with mongodb:// or "
                        "mongodb+srv://.",
                        code="invalid_scheme",
                    )
                }
            )


class IntegrationLog(models.Model):
    """One message exchanged with an integration (an analyser, a hospital
    system, a payment gateway), for one account: the embedded store behind
    `DatabaseDocumentDBClient`.

    A plain Model, not a BaseModel: rows are append-only records written by
    `DatabaseDocumentDBClient.write_log` and never edited, so versioning,
    lifecycle hooks and `updated_at` would add a column and a transaction per
    write and protect nothing. Every read is by account, newest first, which
    the composite indexes serve; `created_at` alone is indexed for pruning.
    """

    account_id = models.PositiveBigIntegerField()
    integration = models.CharField(max_length=100)
    direction = models.CharField(max_length=8, choices=IntegrationDirection.choices)
    status = models.CharField(max_length=8, choices=IntegrationStatus.choices)
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["account_id", "integration", "-created_at"],
                name="intlog_account_integ_created",
            ),
            models.Index(
                fields=["account_id", "-created_at"], name="intlog_account_created"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.integration} {self.direction} {self.status} "
            f"(account {self.account_id}, {self.created_at:%Y-%m-%d %H:%M:%S})"
        )
