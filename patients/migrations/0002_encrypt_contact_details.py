"""Encrypt patients' phone and email, with blind indexes for lookups.

1. Add the row context (nullable for now: AddField would give every existing
   row the same default UUID) and the two blind index columns.
2. Widen phone and email to text columns of ciphertext.
3. For each existing row: draw its own context, encrypt its plaintext phone
   and email bound to it, and compute the blind indexes under the row's lab
   (core/utils/blind_index.py; databases migrated before per-lab indexes
   hold global ones, which `manage.py reindex_blind_indexes` rewrites).
   Phones are already E.164 (Patient.before_save wrote them so since 0001);
   emails are lowered.
4. Make the context NOT NULL.

The instance cache holds the old plaintext rows: each lab's Patient hash is
dropped once the migration commits (both directions). Needs the encryption
keys (LIS_ENCRYPTION_KEYS, LIS_BLIND_INDEX_KEY) to be configured. Reversible:
going back decrypts into plain columns again.
"""

import uuid

import django.core.validators
from django.db import migrations, transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

import core.models.blind_index
import core.models.encrypted_fields
from core.models.encrypted_fields import Ciphertext, associated_data_for
from core.utils.clients import get_client
from core.utils.blind_index import lab_blind_index
from core.utils.encryption import decrypt_str, encrypt_str

MODEL_LABEL = "patients.patient"
#: (field, its blind index field, how the index normalises the plaintext)
CONTACT_FIELDS = (
    ("phone", "phone_index", str.strip),
    ("email", "email_index", lambda value: value.strip().lower()),
)


def _rows(apps, schema_editor):
    """(model, the rows' pk, context, lab and raw column values) for a pass."""
    patient = apps.get_model("patients", "Patient")
    raw = {name: Cast(name, output_field=TextField()) for name, _, _ in CONTACT_FIELDS}
    rows = (
        patient._base_manager.using(schema_editor.connection.alias)
        .annotate(**{f"raw_{name}": value for name, value in raw.items()})
        .values("pk", "lab_id", "encryption_context", *[f"raw_{n}" for n in raw])
        .order_by("pk")
    )
    return patient, list(rows)


def _drop_cached_patients(lab_ids, alias):
    """After commit, drop each lab's cached Patient hash (key format of
    core/models/caching.py), so no row cached in the old form survives."""

    def drop():
        cache = get_client("cache")
        for lab_id in lab_ids:
            cache.drop(f"Patient_CentreId{int(lab_id)}_List")

    transaction.on_commit(drop, using=alias)


def encrypt_contact_details(apps, schema_editor):
    patient, rows = _rows(apps, schema_editor)
    for row in rows:
        context = uuid.uuid4()
        values = {"encryption_context": context}
        for name, index_name, normalise in CONTACT_FIELDS:
            plaintext = row[f"raw_{name}"] or ""
            bound = associated_data_for(MODEL_LABEL, name, context)
            values[name] = Ciphertext(encrypt_str(plaintext, bound))
            normalised = normalise(plaintext)
            values[index_name] = (
                lab_blind_index(
                    normalised, domain=f"{MODEL_LABEL}|{name}", lab_id=row["lab_id"]
                )
                if normalised
                else ""
            )
        patient._base_manager.using(schema_editor.connection.alias).filter(
            pk=row["pk"]
        ).update(**values)
    _drop_cached_patients(
        {row["lab_id"] for row in rows}, schema_editor.connection.alias
    )


def decrypt_contact_details(apps, schema_editor):
    patient, rows = _rows(apps, schema_editor)
    for row in rows:
        values = {}
        for name, index_name, _ in CONTACT_FIELDS:
            token = row[f"raw_{name}"]
            bound = associated_data_for(MODEL_LABEL, name, row["encryption_context"])
            where = f"{MODEL_LABEL}.{name} of row {row['pk']}"
            plaintext = decrypt_str(token, bound, where=where) if token else ""
            # A Value is written as given: the field would refuse plaintext.
            values[name] = Value(plaintext, output_field=TextField())
            values[index_name] = ""
        patient._base_manager.using(schema_editor.connection.alias).filter(
            pk=row["pk"]
        ).update(**values)
    _drop_cached_patients(
        {row["lab_id"] for row in rows}, schema_editor.connection.alias
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="encryption_context",
            field=core.models.encrypted_fields.EncryptionContextField(
                default=None, null=True
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="phone_index",
            field=core.models.blind_index.BlindIndexField(
                db_index=True, default="", max_length=64, source="phone"
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="email_index",
            field=core.models.blind_index.BlindIndexField(
                db_index=True, default="", max_length=64, source="email"
            ),
        ),
        migrations.AlterField(
            model_name="patient",
            name="phone",
            field=core.models.encrypted_fields.EncryptedTextField(
                blank=True,
                default="",
                help_text="Stored in E.164 form, e.g. +919876543210. Encrypted.",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="patient",
            name="email",
            field=core.models.encrypted_fields.EncryptedTextField(
                blank=True,
                default="",
                help_text="Encrypted.",
                max_length=254,
                validators=[django.core.validators.EmailValidator()],
            ),
        ),
        migrations.RunPython(encrypt_contact_details, decrypt_contact_details),
        migrations.AlterField(
            model_name="patient",
            name="encryption_context",
            field=core.models.encrypted_fields.EncryptionContextField(
                default=uuid.uuid4
            ),
        ),
    ]
