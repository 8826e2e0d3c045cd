"""An Elasticsearch that refuses reads (401 expired key, 403 missing
privilege, 400 a query it cannot run) costs the reader nothing: the page
comes from the database, the same page, and readiness says why. The real
client against the Elasticsearch stand-in (no Elasticsearch can run here)."""

import pytest

from core.activity_log.reading import get_activities
from core.activity_log.shipping import ship_all
from core.health import Status
from core.health.checks import check_activity_log_reads, check_service
from core.utils.clients import override_client
from core.utils.elastic_search.null import NullSearchClient
from tests.core.activity_log.test_reading import read_all

pytestmark = pytest.mark.django_db

CAUSES = {
    401: "401 authentication failed (security_exception)",
    403: "403 not authorised (security_exception)",
    400: "400 request refused (illegal_argument_exception)",
}


@pytest.mark.parametrize("status", sorted(CAUSES))
def test_a_refused_read_falls_back_to_the_database_and_readiness_says_why(
    elasticsearch, labs, history, status
):
    # Given shipped entries, and the pages the database alone gives
    ship_all()
    with override_client("es", NullSearchClient()):
        expected = read_all(labs, history[:1])
    assert check_activity_log_reads(1.0) == (Status.OK, "read from Elasticsearch")

    # When Elasticsearch refuses every search with `status`
    elasticsearch.fail_searches(status, times=100)
    pages = read_all(labs, history[:1])

    # Then the reader sees the same pages, and readiness reports the cause
    assert pages == expected
    state, detail = check_activity_log_reads(1.0)
    assert state is Status.DEGRADED
    assert detail.startswith("read from the database since ")
    assert detail.endswith(f"reads): es: {CAUSES[status]}")


def test_reads_answered_again_clear_the_warning(elasticsearch, labs, history):
    ship_all()
    ana, north = history[0], labs["north"].pk
    elasticsearch.fail_searches(403, times=1)

    get_activities("patients.patient", ana.pk, lab_id=north)
    refused = check_activity_log_reads(1.0)
    get_activities("patients.patient", ana.pk, lab_id=north)  # answered again
    answered = check_activity_log_reads(1.0)

    assert refused[0] is Status.DEGRADED and "(1 reads)" in refused[1]
    assert answered == (Status.OK, "read from Elasticsearch")


def test_an_expired_api_key_is_named_by_the_es_check(elasticsearch, labs, history):
    # Given shipped entries, then the API key expires
    ship_all()
    with override_client("es", NullSearchClient()):
        expected = read_all(labs, history)
    elasticsearch.revoke_credentials()

    # When History pages are read and readiness is asked
    pages = read_all(labs, history)
    es = check_service("es", 1.0)
    reads = check_activity_log_reads(1.0)

    # Then the pages are right and both checks name the cause
    assert pages == expected
    assert es == (Status.DOWN, "401 authentication failed (security_exception)")
    assert reads[0] is Status.DEGRADED
    assert reads[1].endswith("es: 401 authentication failed (security_exception)")
