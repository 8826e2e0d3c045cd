"""Encrypted fields on a real model: plaintext in Python, bound ciphertext in
the database, clear errors for what cannot be decrypted, no plaintext in the
activity log, and re-encryption for key rotation."""

import copy
import json

import pytest
from django import forms
from django.core import checks
from django.core.exceptions import FieldError, ValidationError
from django.db import models
from django.test.utils import isolate_apps

from core.models import (
    ActivityLog,
    BaseModel,
    BlindIndexField,
    EncryptedFieldsMixin,
    EncryptedTextField,
)
from core.models.encrypted_fields import Ciphertext, EncryptedAttribute
from core.utils.encryption import DecryptionError, token_key_id
from tests.core.models.encrypted_record import (
    SealedRecord,
    overwrite_column,
    stored_column,
)


@pytest.fixture
def keys(encryption_keys):
    """The configured keys; `keys.rotate_to("k1", "k2")` adds k2."""
    return encryption_keys


pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("sealed_record_table", "encryption_keys"),
]

RESULTS = {"glucose": {"value": 5.4, "unit": "mmol/L"}, "flags": ["H"]}


def make_record(lab, **fields) -> SealedRecord:
    values = {"label": "R-1", "note": "Haemolysed, redraw", "results": RESULTS}
    record = SealedRecord(lab=lab, **{**values, **fields})
    record.save()
    return record


def reloaded(record: SealedRecord) -> SealedRecord:
    return SealedRecord.objects.get(pk=record.pk)


def log_of(record: SealedRecord) -> list[ActivityLog]:
    entries = ActivityLog.objects.filter(
        model_label="lifecycle_tests.sealedrecord", instance_id=str(record.pk)
    )
    return list(entries.order_by("id"))


# -- plaintext in Python, ciphertext in the database -----------------------------------


def test_values_are_stored_as_tokens_and_read_back_as_plaintext(labs):
    record = make_record(labs["north"], code="X-17")

    row = reloaded(record)

    assert (row.note, row.code, row.results) == ("Haemolysed, redraw", "X-17", RESULTS)
    for column in ("note", "code", "results"):
        raw = stored_column(record, column)
        assert token_key_id(raw) == "k1", column
    assert "Haemolysed" not in stored_column(record, "note")
    assert "glucose" not in stored_column(record, "results")


def test_none_is_null_and_an_empty_string_is_encrypted_too(labs):
    record = make_record(labs["north"], note="", code=None, results=None)

    row = reloaded(record)

    assert (row.note, row.code, row.results) == ("", None, None)
    assert stored_column(record, "code") is None
    assert token_key_id(stored_column(record, "note")) == "k1"


def test_an_unchanged_value_keeps_its_ciphertext_and_a_changed_one_gets_a_new_one(labs):
    record = make_record(labs["north"])
    note_before = stored_column(record, "note")
    results_before = stored_column(record, "results")
    row = reloaded(record)

    row.label = "R-1 relabelled"
    row.note = row.note  # read and set back unchanged
    row.save()

    assert stored_column(record, "note") == note_before
    assert stored_column(record, "results") == results_before
    row.note = "Clotted"
    row.save()
    assert stored_column(record, "note") != note_before
    assert reloaded(record).note == "Clotted"


def test_json_changed_in_place_is_saved(labs):
    row = reloaded(make_record(labs["north"]))

    row.results["flags"].append("L")
    row.save()

    assert reloaded(row).results["flags"] == ["H", "L"]


def test_values_and_values_list_give_ciphertexts_not_plaintext(labs):
    record = make_record(labs["north"])

    [(note,)] = SealedRecord.objects.filter(pk=record.pk).values_list("note")

    assert isinstance(note, Ciphertext)
    assert repr(note) == "<Ciphertext key_id='k1'>"
    assert "Haemolysed" not in repr(note)


def test_a_copied_instance_becomes_a_row_of_its_own(labs):
    original = reloaded(make_record(labs["north"]))

    original.pk = None
    original._state.adding = True
    original.save()

    copied = reloaded(original)
    assert (
        copied.encryption_context
        != SealedRecord.objects.get(label="R-1", pk__lt=copied.pk).encryption_context
    )
    assert copied.note == "Haemolysed, redraw" and copied.results == RESULTS


# -- what cannot be decrypted raises, naming the row -----------------------------------


def test_a_value_copied_into_another_row_does_not_decrypt(labs):
    first, second = make_record(labs["north"]), make_record(labs["north"], note="B")
    overwrite_column(second, "note", stored_column(first, "note"))

    with pytest.raises(DecryptionError) as excinfo:
        reloaded(second).note  # noqa: B018 - reading is what is tested

    message = str(excinfo.value)
    assert message.startswith(
        f"Cannot decrypt lifecycle_tests.sealedrecord.note of row {second.pk}: "
    )
    assert "copied from another row or field" in message
    assert "Haemolysed" not in message


def test_a_value_copied_into_another_field_of_the_same_row_does_not_decrypt(labs):
    record = make_record(labs["north"], code="X-17")
    overwrite_column(record, "code", stored_column(record, "note"))

    with pytest.raises(DecryptionError, match=r"sealedrecord\.code of row"):
        reloaded(record).code  # noqa: B018


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (lambda token: token[:-1] + ("A" if token[-1] != "A" else "g"), None),
        (lambda token: token[:-6], "authentication_failed"),
        (lambda token: "Haemolysed, redraw", "not_encrypted"),
        (lambda token: "", "not_encrypted"),
    ],
    ids=["tampered", "truncated", "plaintext", "empty"],
)
def test_an_altered_value_raises_and_is_never_returned(labs, written, reason):
    record = make_record(labs["north"])
    overwrite_column(record, "note", written(stored_column(record, "note")))

    with pytest.raises(DecryptionError) as excinfo:
        reloaded(record).note  # noqa: B018

    assert reason is None or excinfo.value.reason == reason
    assert (
        excinfo.value.where == f"lifecycle_tests.sealedrecord.note of row {record.pk}"
    )


def test_a_value_of_a_removed_key_raises_naming_the_key(labs, keys):
    record = make_record(labs["north"])
    keys.rotate_to("k2")

    with pytest.raises(DecryptionError) as excinfo:
        reloaded(record).results  # noqa: B018

    assert excinfo.value.reason == "unknown_key"
    assert "key id 'k1'" in str(excinfo.value)


def test_an_unreadable_value_can_be_overwritten(labs):
    record = make_record(labs["north"])
    overwrite_column(record, "note", "garbage")
    row = reloaded(record)

    row.note = "Re-entered"
    row.save()

    assert reloaded(record).note == "Re-entered"


def test_a_foreign_ciphertext_cannot_be_planted_through_set_values(labs):
    victim, target = make_record(labs["north"]), make_record(labs["north"], note="B")
    foreign = {"__lis_encrypted__": stored_column(victim, "note")}
    row = reloaded(target)

    with pytest.raises(ValidationError) as refused:
        row.set_values({"note": foreign})  # text fields take text only

    assert refused.value.message_dict == {"note": ["Give text, not an object."]}
    assert reloaded(target).note == "B"


# -- queries ---------------------------------------------------------------------------


def test_an_encrypted_column_cannot_be_filtered_by_value(labs):
    make_record(labs["north"])

    for lookup in ("note", "note__contains", "note__startswith"):
        with pytest.raises(FieldError, match="is encrypted and cannot be filtered"):
            SealedRecord.objects.filter(**{lookup: "Haemolysed, redraw"}).count()
    with pytest.raises(FieldError):
        SealedRecord.objects.order_by("pk").filter(note__in=["x"]).count()


def test_null_and_key_id_lookups_work(labs, keys):
    old = make_record(labs["north"], code=None)
    keys.rotate_to("k1", "k2")
    new = make_record(labs["north"], code="X")

    assert list(SealedRecord.objects.filter(code__isnull=True)) == [old]
    assert list(SealedRecord.objects.filter(note__encrypted_with="k1")) == [old]
    assert list(SealedRecord.objects.filter(note__encrypted_with="k2")) == [new]


def test_transforms_and_bad_key_ids_are_refused(labs):
    make_record(labs["north"])

    with pytest.raises(FieldError, match="Unsupported lookup 'lower__exact'"):
        SealedRecord.objects.filter(note__lower__exact="x").count()
    with pytest.raises(ValueError, match="A key id is 1-32 letters"):
        SealedRecord.objects.filter(note__encrypted_with="k1%").count()


def test_a_deferred_row_context_is_loaded_when_a_value_is_read(labs):
    record = make_record(labs["north"])

    row = SealedRecord.objects.only("note").get(pk=record.pk)

    assert "encryption_context" in row.get_deferred_fields()
    assert row.note == "Haemolysed, redraw"


def test_writing_a_plain_value_around_save_is_refused(labs):
    record = make_record(labs["north"])

    with pytest.raises(TypeError, match=r"sealedrecord\.note is encrypted"):
        SealedRecord.objects.filter(pk=record.pk).update_without_hooks(note="plain")


# -- validation and blind indexes ------------------------------------------------------


def test_set_values_holds_an_encrypted_text_field_to_text_like_a_text_field(labs):
    record = make_record(labs["north"])

    with pytest.raises(ValidationError) as refused:
        record.set_values({"note": 12345})
    record.set_values({"note": "12345", "code": None})
    record.save()

    assert refused.value.message_dict == {"note": ["Give text, not a number."]}
    assert (reloaded(record).note, reloaded(record).code) == ("12345", None)


def test_field_rules_apply_to_the_plaintext(labs):
    record = SealedRecord(lab=labs["north"], label="R", note="x" * 201, results={1, 2})

    with pytest.raises(ValidationError) as excinfo:
        record.save()

    assert "at most 200 characters" in excinfo.value.message_dict["note"][0]
    assert "A set cannot be stored as JSON" in excinfo.value.message_dict["results"][0]


def test_the_blind_index_follows_the_value_and_finds_the_row(labs):
    record = make_record(labs["north"], note="Haemolysed")
    index_field = SealedRecord._meta.get_field("note_index")

    def found(note: str) -> list[SealedRecord]:
        matching = index_field.matching([note], [labs["north"].pk])
        return list(SealedRecord.objects.filter(matching))

    assert found("  HAEMOLYSED ") == [record]
    row = reloaded(record)
    row.note = "Clotted"
    row.save(update_fields=["note"])  # the index is written with it
    assert found("haemolysed") == [] and found("clotted") == [row]
    lab_id = labs["north"].pk
    assert index_field.index_for("", lab_id=lab_id) == ""
    assert index_field.index_for(None, lab_id=lab_id) == ""
    assert found("") == found("   ") == []


# -- the activity log ------------------------------------------------------------------


def test_the_log_masks_encrypted_values_and_leaves_out_indexes(labs):
    record = make_record(labs["north"], code="X-17")
    row = reloaded(record)
    row.note = "Clotted"
    row.save()
    row.delete()

    created, updated, deleted = log_of(record)
    assert created.changes["note"] == {"old": None, "new": "***"}
    assert created.changes["results"] == {"old": None, "new": "***"}
    assert updated.changes == {"note": {"old": "***", "new": "***"}}
    assert deleted.changes["code"] == {"old": "***", "new": None}
    logged = json.dumps([entry.changes for entry in (created, updated, deleted)])
    for secret in ("Haemolysed", "Clotted", "X-17", "glucose", "enc1:"):
        assert secret not in logged
    assert "note_index" not in logged and "encryption_context" not in logged


def test_reading_or_re_setting_a_value_logs_no_change(labs):
    record = make_record(labs["north"])
    row = reloaded(record)

    row.note = row.note.strip()
    row.results = dict(row.results)
    row.save()

    assert [entry.action for entry in log_of(record)] == ["create"]


def test_json_types_that_python_thinks_equal_are_logged_as_changed(labs):
    record = make_record(labs["north"], results={"fasting": 1})
    row = reloaded(record)

    row.results = {"fasting": True}
    row.save()

    assert [entry.action for entry in log_of(record)] == ["create", "update"]


# -- re-encryption (key rotation) ------------------------------------------------------


def test_reencrypt_moves_old_values_to_the_newest_key_without_a_log_entry(labs, keys):
    record = make_record(labs["north"], code=None)
    keys.rotate_to("k1", "k2")
    row = reloaded(record)

    assert row.reencrypt() is True

    assert token_key_id(stored_column(record, "note")) == "k2"
    assert token_key_id(stored_column(record, "results")) == "k2"
    assert stored_column(record, "code") is None
    assert reloaded(record).version == row.version == 2
    assert [entry.action for entry in log_of(record)] == ["create"]
    keys.rotate_to("k2")
    assert reloaded(record).note == "Haemolysed, redraw"
    assert row.reencrypt() is False  # nothing left to do
    row.save()  # nothing changed: no entry, no VersionConflict
    assert [entry.action for entry in log_of(record)] == ["create"]


def test_reencrypt_keeps_an_unsaved_edit_and_leaves_a_row_changed_meanwhile(labs, keys):
    record = make_record(labs["north"])
    keys.rotate_to("k1", "k2")
    stale, editing = reloaded(record), reloaded(record)
    editing.note = editing.note + " (edited)"

    assert editing.reencrypt() is True
    assert editing.note == "Haemolysed, redraw (edited)"
    assert stale.reencrypt() is False  # loaded before: the row moved on
    editing.save()
    assert reloaded(record).note == "Haemolysed, redraw (edited)"


def test_a_save_re_encrypts_an_old_value_with_the_newest_key(labs, keys):
    record = make_record(labs["north"])
    keys.rotate_to("k1", "k2")
    row = reloaded(record)

    row.label = "R-2"
    row.save()

    assert token_key_id(stored_column(record, "note")) == "k2"
    assert log_of(record)[-1].changes == {"label": {"old": "R-1", "new": "R-2"}}


# -- the pieces ------------------------------------------------------------------------


def test_the_cache_form_of_an_unread_row_is_its_stored_token(labs):
    record = make_record(labs["north"])
    row = reloaded(record)  # nothing read yet
    note = SealedRecord._meta.get_field("note")

    assert note.value_to_string(row) == {
        "__lis_encrypted__": stored_column(record, "note")
    }
    assert note.to_python(note.value_to_string(row)) == Ciphertext(
        stored_column(record, "note")
    )


def test_same_value_compares_plaintexts(labs):
    row = reloaded(make_record(labs["north"]))
    stored = row.__dict__["note"]
    note = SealedRecord._meta.get_field("note")

    assert note.same_value(row, stored, Ciphertext(stored.token))
    assert note.same_value(row, stored, "Haemolysed, redraw")
    assert not note.same_value(row, stored, "Haemolysed")
    assert not note.same_value(row, stored, None)
    assert note.same_value(row, None, None)
    assert not note.same_value(row, Ciphertext("garbage"), "Haemolysed")


def test_the_form_fields_edit_plaintext():
    note = SealedRecord._meta.get_field("note").formfield()
    code = SealedRecord._meta.get_field("code").formfield()
    results = SealedRecord._meta.get_field("results").formfield()

    assert isinstance(note, forms.CharField) and note.max_length == 200
    assert isinstance(code.widget, forms.Textarea)  # no max_length: long text
    assert isinstance(results, forms.JSONField)
    assert isinstance(SealedRecord.note, EncryptedAttribute)  # on the class


def test_a_copied_ciphertext_forgets_its_plaintext():
    opened = Ciphertext("enc1:k1:abc")
    opened.remember(b"here", "secret")

    for copied in (copy.deepcopy(opened), copy.copy(opened)):
        assert copied == opened and hash(copied) == hash(opened)
        assert copied.remembered(b"here") is None
    assert opened.remembered(b"elsewhere") is None


@isolate_apps("tests.lifecycle")
def test_model_checks_catch_a_missing_mixin_an_index_a_wrong_source_and_no_lab():
    class NoContext(BaseModel):
        secret = EncryptedTextField()

        class Meta:
            app_label = "lifecycle_tests"

    class Indexed(EncryptedFieldsMixin, BaseModel):
        secret = EncryptedTextField(db_index=True)
        plain = models.CharField(max_length=10)
        plain_index = BlindIndexField(source="plain")

        class Meta:
            app_label = "lifecycle_tests"

    found = {error.id for model in (NoContext, Indexed) for error in model.check()}
    with pytest.raises(ValueError, match="needs EncryptedFieldsMixin"):
        NoContext._meta.get_field("secret").value_to_string(NoContext(secret="x"))

    assert {"core.E030", "core.E031", "core.E032", "core.E033"} <= found
    assert all(isinstance(error, checks.Error) for error in Indexed.check())
    assert not [e for e in SealedRecord.check() if e.id.startswith("core.")]
