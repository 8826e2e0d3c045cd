# ruff: noqa: RUF001, RUF003  (the texts are in several scripts on purpose)
"""`get_activities(text=...)` is case-insensitive beyond ASCII, and finds
the same entries in every store: the database (SQLite here, PostgreSQL in
the PostgreSQL run: the same regular expression, each engine's own) and
Elasticsearch (the stand-in runs the `regexp` query the reader sends; what
Elasticsearch's own engine does with it is stated in docs/elasticsearch.md
from its documentation). Where folding is not one letter for one letter
(ß/SS, dotted İ) nothing matches, in every store alike."""

import pytest

from core.activity_log.reading import get_activities
from core.activity_log.shipping import ship_all
from core.models import ActivityLog
from core.utils.clients import override_client
from core.utils.elastic_search.null import NullSearchClient
from patients.models import Patient

pytestmark = pytest.mark.django_db

REASONS = [
    "Ärztin prüfte die Probe",  # German
    "IŞIK ölçümü tekrarlandı",  # Turkish, capital dotless I
    "ΠΡΟΣΟΧΗ: δείγμα",  # Greek capitals
    "Анализ крови повторён",  # Russian
    "Straße vertauscht",  # German ß
    "İstanbul şubesi",  # Turkish dotted capital İ
]
#: Search text -> the reasons it finds (by index in REASONS).
FOUND = {
    "ärztin": {0},
    "PRÜFTE": {0},
    "ışık": {1},  # ı, I and i are one family
    "işik": {1},
    "προσοχη": {2},
    "προσοχή": set(),  # ή is not Η: accents are letters of their own
    "ΔΕΊΓΜΑ": {2},
    "АНАЛИЗ": {3},
    "ПОВТОРЁН": {3},
    "STRAẞE": {4},  # capital sharp s is ß's capital, letter for letter
    "STRASSE": set(),  # not letter for letter: found nowhere
    "istanbul": set(),  # İ lowercases to two code points: it matches itself
    "İSTANBUL": {5},
}


@pytest.fixture
def reasons(labs) -> Patient:
    patient = Patient(lab=labs["north"], first_name="Ana", sex="F")
    patient.save()
    for n, reason in enumerate(REASONS):
        patient.first_name = f"Ana {n}"
        patient.save(reason=reason)
    return patient


def found(labs, patient: Patient, text: str) -> set[int]:
    page = get_activities(
        "patients.patient", patient.pk, lab_id=labs["north"].pk, text=text
    )
    return {REASONS.index(entry.reason) for entry in page.entries}


def test_each_store_finds_the_same_entries_for_non_ascii_text(
    elasticsearch, labs, reasons
):
    with override_client("es", NullSearchClient()):
        from_database = {text: found(labs, reasons, text) for text in FOUND}
    ship_all()
    assert not ActivityLog.objects.filter(shipped=False).exists()
    from_elasticsearch = {text: found(labs, reasons, text) for text in FOUND}

    assert from_database == FOUND
    assert from_elasticsearch == FOUND
    searches = [r for r in elasticsearch.requests if r.path.endswith("/_search")]
    assert len(searches) == len(FOUND)  # each answered by Elasticsearch


def test_a_search_text_longer_than_elasticsearch_takes_is_refused(labs, reasons):
    with pytest.raises(ValueError, match="at most 100 characters"):
        found(labs, reasons, "x" * 101)
