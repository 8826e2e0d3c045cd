"""BlindIndexField on a real model: each row's index is computed under its
lab, lookups over several labs match each lab's rows with its own index
(and global indexes while legacy lookups are on), a row that moves to
another lab is re-indexed at save, and `reindex()` rewrites a global index
without logging a change."""

import pytest

from core.models import ActivityLog
from core.utils.blind_index import global_blind_index, is_lab_blind_index
from tests.core.models.encrypted_record import (
    SealedRecord,
    overwrite_column,
    stored_column,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("sealed_record_table", "encryption_keys"),
]

NOTE = "Haemolysed"


def make_record(lab, note: str = NOTE) -> SealedRecord:
    record = SealedRecord(lab=lab, label="R", note=note)
    record.save()
    return record


def found(note: str, *labs) -> set[int]:
    field = SealedRecord._meta.get_field("note_index")
    matching = field.matching([note], [lab.pk for lab in labs])
    return set(SealedRecord.objects.filter(matching).values_list("pk", flat=True))


def make_global(record: SealedRecord) -> str:
    """Give the row the global index an older release wrote."""
    index = global_blind_index(
        NOTE.casefold(), domain="lifecycle_tests.sealedrecord|note"
    )
    overwrite_column(record, "note_index", index)
    return index


def test_the_same_value_in_two_labs_has_two_unrelated_indexes(labs):
    north, south = make_record(labs["north"]), make_record(labs["south"])

    north_index = stored_column(north, "note_index")
    south_index = stored_column(south, "note_index")

    assert north_index != south_index
    assert is_lab_blind_index(north_index) and is_lab_blind_index(south_index)
    assert stored_column(make_record(labs["north"]), "note_index") == north_index


def test_a_lookup_matches_each_labs_rows_with_its_own_index(labs):
    north, south = make_record(labs["north"]), make_record(labs["south"])
    make_record(labs["other"])

    assert found("haemolysed", labs["north"]) == {north.pk}
    assert found("haemolysed", labs["north"], labs["south"]) == {north.pk, south.pk}
    assert found("clotted", labs["north"], labs["south"]) == set()
    assert found("haemolysed") == set()  # no lab, nobody


def test_a_row_whose_index_was_made_for_another_lab_is_not_found(labs):
    # Given a north row holding the index south would compute (as a copied
    # index would be): south's lookup must not claim it, nor north's.
    north, south = make_record(labs["north"]), make_record(labs["south"])
    overwrite_column(north, "note_index", stored_column(south, "note_index"))

    assert found(NOTE, labs["north"], labs["south"]) == {south.pk}


def test_a_global_index_is_found_while_legacy_lookups_are_on(labs, settings):
    legacy = make_record(labs["north"])
    make_global(legacy)
    make_global(make_record(labs["south"]))

    assert found(NOTE, labs["north"]) == {legacy.pk}  # not south's, same index

    settings.BLIND_INDEX_LEGACY_LOOKUPS = False
    assert found(NOTE, labs["north"]) == set()


@pytest.mark.parametrize("update_fields", [None, ["lab"]])
def test_a_row_that_moves_to_another_lab_is_re_indexed_under_it(labs, update_fields):
    record = make_record(labs["north"])
    before = stored_column(record, "note_index")

    record.lab = labs["south"]
    record.save(update_fields=update_fields)

    assert stored_column(record, "note_index") != before
    assert found(NOTE, labs["south"]) == {record.pk}
    assert found(NOTE, labs["north"]) == set()


def test_reindex_rewrites_a_global_index_without_logging_a_change(labs):
    record = make_record(labs["north"])
    per_lab = stored_column(record, "note_index")
    make_global(record)
    entries = ActivityLog.objects.count()
    row = SealedRecord.objects.get(pk=record.pk)

    assert row.reindex() is True

    assert stored_column(record, "note_index") == per_lab == row.note_index
    assert SealedRecord.objects.get(pk=record.pk).version == row.version == 2
    assert ActivityLog.objects.count() == entries
    assert row.reindex() is False  # nothing left to do
    assert SealedRecord.objects.get(pk=record.pk).version == 2


def test_reindex_writes_nothing_when_the_row_changed_since_it_was_read(labs):
    record = make_record(labs["north"])
    legacy = make_global(record)
    row = SealedRecord.objects.get(pk=record.pk)
    record.label = "Changed meanwhile"
    record.save(update_fields=["label"])  # version 2, index untouched

    assert row.reindex() is False

    assert stored_column(record, "note_index") == legacy  # the next run's job


def test_reindex_uses_the_row_as_read_not_unsaved_edits(labs):
    record = make_record(labs["north"])
    make_global(record)
    row = SealedRecord.objects.get(pk=record.pk)
    row.note, row.lab = "Clotted", labs["south"]  # edited, not saved

    row.reindex()

    assert found(NOTE, labs["north"]) == {record.pk}
    assert found("Clotted", labs["south"]) == set()
