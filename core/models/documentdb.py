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
from core.models.encrypted_fields import EncryptedTextField
from core.models.encrypted_mixin import EncryptedFieldsMixin
from core.utils.clients import registry
from core.utils.documentdb.logs import IntegrationDirection, IntegrationStatus
from core.utils.documentdb.urls import has_mongodb_scheme, mask_connection_url


class DocumentDBConnection(EncryptedFieldsMixin, BaseModel):
    """The DocumentDB / MongoDB URL of one account's integration logs.

    `account_id` is the id of the account's lab. It is a plain integer, not a
    foreign key to `account.Lab`: the architecture note gives this model no
    relation, `core` sits below `admin.account` (which builds on core's
    BaseModel) and must not depend on it, and the connection is operations
    data that may be provisioned before the lab row exists in this database.

    `connection_url` carries credentials. It is encrypted at rest, bound to
    its row like patient data (README, "Encryption of patient data"; the
    data migration 0019 encrypted the rows stored before), and it never
    appears in `str()`, `repr()`, logs, activity entries or error messages:
    they show `masked_url` (`mongodb://***@host:27017/db`) or a mask.

    A change is live without a restart: once a save or delete commits, this
    process forgets the account's client, and other processes replace theirs
    within DOCDB_CONNECTION_REFRESH_SECONDS (the client compares the row's
    version, `DocumentDBClient.is_stale`).
    """

    account_id = models.PositiveBigIntegerField(
        unique=True, help_text="The id of the account's lab."
    )
    connection_url = EncryptedTextField(
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

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        """Once the save commits, forget the account's client, and the
        client of the account the row was loaded with if it moved (read
        here, before the save marks the new values as loaded)."""
        super().before_save(*args, **kwargs)
        self._forget_clients_on_commit()

    def before_delete(self, *args: Any, **kwargs: Any) -> None:
        """Once the delete commits, forget the account's client."""
        super().before_delete(*args, **kwargs)
        self._forget_clients_on_commit()

    def _forget_clients_on_commit(self) -> None:
        accounts = {self.account_id, self.initial_value("account_id")} - {None}
        for account_id in accounts:
            self.on_commit(registry.forget, "docdb", account_id)

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
