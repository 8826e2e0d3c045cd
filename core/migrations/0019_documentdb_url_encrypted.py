"""Encrypt each DocumentDB connection's URL (it carries credentials).

1. Add the row context, nullable for now (AddField would give every
   existing row the same default UUID).
2. Make connection_url a text column of ciphertext.
3. For each existing row: draw its own context and encrypt its plaintext
   URL bound to it (core/models/encrypted_fields.py).
4. Make the context NOT NULL.

Needs the encryption keys (LIS_ENCRYPTION_KEYS) when rows exist. Reversible:
going back decrypts into the plain column again. Clients built from the old
rows are replaced as their version changes (DocumentDBClient.is_stale).
"""

import uuid

from django.db import migrations
from django.db.models import F, TextField, Value
from django.db.models.functions import Cast

import core.models.encrypted_fields
from core.models.encrypted_fields import Ciphertext, associated_data_for
from core.utils.encryption import decrypt_str, encrypt_str

MODEL_LABEL = "core.documentdbconnection"


def _rows(apps, schema_editor):
    """The model and each row's pk, context and raw URL column."""
    model = apps.get_model("core", "DocumentDBConnection")
    rows = (
        model._base_manager.using(schema_editor.connection.alias)
        .annotate(raw_url=Cast("connection_url", output_field=TextField()))
        .values("pk", "encryption_context", "raw_url")
        .order_by("pk")
    )
    return model, list(rows)


def encrypt_urls(apps, schema_editor):
    model, rows = _rows(apps, schema_editor)
    for row in rows:
        context = uuid.uuid4()
        bound = associated_data_for(MODEL_LABEL, "connection_url", context)
        model._base_manager.using(schema_editor.connection.alias).filter(
            pk=row["pk"]
        ).update(
            encryption_context=context,
            connection_url=Ciphertext(encrypt_str(row["raw_url"] or "", bound)),
            version=F("version") + 1,
        )


def decrypt_urls(apps, schema_editor):
    model, rows = _rows(apps, schema_editor)
    for row in rows:
        bound = associated_data_for(
            MODEL_LABEL, "connection_url", row["encryption_context"]
        )
        where = f"{MODEL_LABEL}.connection_url of row {row['pk']}"
        plaintext = decrypt_str(row["raw_url"], bound, where=where)
        model._base_manager.using(schema_editor.connection.alias).filter(
            pk=row["pk"]
        ).update(
            # A Value is written as given: the field would refuse plaintext.
            connection_url=Value(plaintext, output_field=TextField()),
            version=F("version") + 1,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0018_activity_log_ship_quarantine"),
    ]

    operations = [
        migrations.AddField(
            model_name="documentdbconnection",
            name="encryption_context",
            field=core.models.encrypted_fields.EncryptionContextField(
                default=None, null=True
            ),
        ),
        migrations.AlterField(
            model_name="documentdbconnection",
            name="connection_url",
            field=core.models.encrypted_fields.EncryptedTextField(
                help_text="mongodb:// or mongodb+srv:// URL, credentials included.",
                max_length=2000,
            ),
        ),
        migrations.RunPython(encrypt_urls, decrypt_urls),
        migrations.AlterField(
            model_name="documentdbconnection",
            name="encryption_context",
            field=core.models.encrypted_fields.EncryptionContextField(
                default=uuid.uuid4
            ),
        ),
    ]
