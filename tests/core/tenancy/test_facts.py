"""core.tenancy.facts: what re-authorising a request costs, and that a
cached fact never outlives a change that committed (generation counter,
invalidated after commit), on a real redis-server and Redis Cluster."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from admin.account.models import LabRelation
from core.cache.shared_redis import cache_redis
from core.tenancy.facts import GENERATION_KEY, forget_lab_facts, lab_facts
from tests.core.middleware.fixtures import sign_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("api_urls"),
]


@pytest.mark.parametrize("redis_kind", ["on_redis", "on_cluster"])
def test_a_signed_in_request_is_reauthorised_without_a_query(
    staff, labs, redis_kind, request
):
    request.getfixturevalue(redis_kind)
    client = Client()
    sign_in(client, "asha", lab_id=labs["north"].pk)
    client.get("/api/test/lab/")  # fills the user and lab caches

    with CaptureQueriesContext(connection) as captured:
        answer = client.get("/api/test/lab/")

    assert answer.json()["lab_id"] == labs["north"].pk
    assert answer.json()["child_lab_ids"] == [labs["north_clinic"].pk]
    assert captured.captured_queries == []


def test_the_embedded_default_reads_facts_from_the_database(labs):
    with CaptureQueriesContext(connection) as captured:
        facts = lab_facts([labs["central"].pk, labs["south"].pk])

    assert facts[labs["south"].pk].descendants == ()
    assert set(facts[labs["central"].pk].descendants) == {
        labs[name].pk for name in ("north", "south", "north_clinic")
    }
    assert len(captured) == 3  # the labs, then each lab's descendants


def test_an_entry_filled_before_a_change_is_never_used_after_it(labs, on_redis):
    # Given facts cached while North still has North Clinic below it
    north, clinic = labs["north"].pk, labs["north_clinic"].pk
    assert lab_facts([north])[north].descendants == (clinic,)

    # When the link goes behind the cache's back (no invalidation yet), a
    # reader still sees the cached entry ...
    LabRelation.objects.filter(child_lab_id=clinic).delete_each()
    cache_redis().client.decr(GENERATION_KEY)  # undo the after-commit bump
    assert lab_facts([north])[north].descendants == (clinic,)

    # ... until the generation moves, which retires every older entry
    forget_lab_facts()
    with CaptureQueriesContext(connection) as captured:
        assert lab_facts([north])[north].descendants == ()
    assert captured.captured_queries  # read again from the database


def test_a_missing_lab_is_a_fact_too(db):
    assert lab_facts([987654])[987654].exists is False
