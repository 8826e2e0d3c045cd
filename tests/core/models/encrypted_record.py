"""A test-only model with every kind of encrypted field, and the fixture that
creates its table (the test app's migrations do not know it)."""

import base64
import os
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, models

from core.models import (
    BaseModel,
    BlindIndexField,
    CacheType,
    EncryptedFieldsMixin,
    EncryptedJSONField,
    EncryptedTextField,
    LabScopedMixin,
)


def normalise_note(note: str) -> str:
    """How the note's blind index reads a note: trimmed, any case."""
    return note.strip().casefold()


class SealedRecord(EncryptedFieldsMixin, LabScopedMixin, BaseModel):
    """Two encrypted texts (one nullable), encrypted JSON and a blind index."""

    cache_type = CacheType.INSTANCE

    label = models.CharField(max_length=50)
    note = EncryptedTextField(max_length=200, blank=True, default="")
    code = EncryptedTextField(null=True, blank=True)
    results = EncryptedJSONField(null=True, blank=True)
    note_index = BlindIndexField(source="note", normalizer=normalise_note)

    mandatory_fields = ("lab", "label")

    class Meta:
        app_label = "lifecycle_tests"


@pytest.fixture(scope="session")
def sealed_record_table(django_db_setup, django_db_blocker) -> None:
    """Create SealedRecord's table in the test database, outside any test
    transaction (SQLite cannot change its schema inside one). Idempotent:
    each module importing this fixture gets its own session-scoped copy."""
    with django_db_blocker.unblock():
        if SealedRecord._meta.db_table in connection.introspection.table_names():
            return
        with connection.schema_editor() as editor:
            editor.create_model(SealedRecord)


def new_key() -> str:
    """A random 32-byte key, base64."""
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def encryption_keys(settings) -> SimpleNamespace:
    """Key k1 configured; k2 made for a rotation (add it with `rotate_to`)."""
    keys = SimpleNamespace(k1=new_key(), k2=new_key(), blind=new_key())
    settings.ENCRYPTION_KEYS = f"k1:{keys.k1}"
    settings.BLIND_INDEX_KEY = keys.blind

    def rotate_to(*key_ids: str) -> None:
        settings.ENCRYPTION_KEYS = ",".join(
            f"{key_id}:{getattr(keys, key_id)}" for key_id in key_ids
        )

    keys.rotate_to = rotate_to
    return keys


def stored_column(instance: models.Model, column: str) -> Any:
    """The raw value of `column` in `instance`'s row, as the database has it."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(column)} FROM {quote(instance._meta.db_table)} "  # noqa: S608 - names quoted
            "WHERE id = %s",
            [instance.pk],
        )
        return cursor.fetchone()[0]


def overwrite_column(instance: models.Model, column: str, value: Any) -> None:
    """Write `column` of `instance`'s row around the application (as someone
    with database access would)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(instance._meta.db_table)} SET {quote(column)} = %s "  # noqa: S608 - names quoted
            "WHERE id = %s",
            [value, instance.pk],
        )
