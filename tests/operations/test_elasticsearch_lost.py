"""Runbook "Elasticsearch lost" (docs/operations.md).

The class of defect: a runbook step that does not work. Entries are shipped
to Elasticsearch (the stand-in: no Elasticsearch can run here), which then
loses its data, as a new cluster would. Shipped entries are read from
Elasticsearch, so they vanish from `get_activities`; the documented
`ship_activity_logs --resend` must bring every one back, so that reads give
what the database alone gives.
"""

import io

import pytest
from django.core.management import call_command

from core.activity_log.index import to_document
from core.activity_log.reading import get_activities
from core.models import ActivityLog
from core.utils.clients import override_client
from core.utils.elastic_search.null import NullSearchClient

pytestmark = pytest.mark.django_db


def read(patient, lab) -> list[dict]:
    page = get_activities("patients.patient", patient.pk, lab_id=lab.pk, limit=50)
    return [to_document(entry) for entry in page.entries]


def test_a_new_empty_cluster_gets_every_entry_again(elasticsearch, labs, history):
    north = labs["north"]
    ana = history[0]
    with override_client("es", NullSearchClient()):
        from_the_database = read(ana, north)
    assert len(from_the_database) == 4
    call_command("ship_activity_logs", stdout=io.StringIO())
    assert not ActivityLog.objects.filter(shipped=False).exists()

    elasticsearch.reset()  # the data is lost: a new, empty cluster
    assert read(ana, north) == []  # why the runbook exists
    out = io.StringIO()
    call_command("ship_activity_logs", "--resend", stdout=out)

    entries = ActivityLog.objects.count()
    assert out.getvalue().startswith(f"resent {entries}\nshipped 0, not confirmed 0")
    assert read(ana, north) == from_the_database
    call_command("ship_activity_logs", "--resend", stdout=io.StringIO())  # again
    assert read(ana, north) == from_the_database
