"""Runbook "Redis lost" (docs/operations.md).

The class of defect: a runbook step that does not work. A real
redis-server is killed while rows change and comes back empty: the runbook
says the operator runs nothing, so reads must give the current rows. Then
Redis comes back holding an older snapshot of a row's hash (DUMP/RESTORE,
as an RDB file or a lagging replica would): the runbook says to run
`cache_purge`, after which reads must give the current row again.
"""

import io

import pytest
from django.core.management import call_command

from core.utils.clients import get_client
from patients.models import Patient
from tests.core.fusion.processes import wait_for
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.django_db(
    transaction=True
)  # the cache fills only outside transactions


def renamed(patient: Patient, name: str) -> None:
    patient.first_name = name
    patient.save()


def cached_read(patient: Patient) -> str | None:
    """The patient's first name if this read was a cache hit, else None."""
    hits = get_client("cache").snapshot()["hits"]
    name = Patient.get_cached_instance(patient.pk, patient.lab_id).first_name
    return name if get_client("cache").snapshot()["hits"] > hits else None


def test_redis_back_empty_needs_nothing(labs, faulty_redis):
    lab = labs["north"]
    patient = Patient(lab=lab, first_name="Before", sex="F")
    patient.save()
    Patient.get_cached_instance(patient.pk, lab.pk)
    port = faulty_redis.port

    faulty_redis.stop()
    renamed(patient, "While down")  # saves never fail
    assert Patient.get_cached_instance(patient.pk, lab.pk).first_name == "While down"
    back = RedisServer(port)  # restarted, empty
    try:
        renamed(patient, "After")
        hit = wait_for(lambda: cached_read(patient), "a read served by Redis again")
    finally:
        back.stop()

    assert hit == "After"


def test_redis_back_with_an_older_snapshot_is_purged(labs, on_redis):
    lab = labs["north"]
    patient = Patient(lab=lab, first_name="Old", sex="F")
    patient.save()
    Patient.get_cached_instance(patient.pk, lab.pk)
    redis = on_redis.client()
    key = Patient.get_cache_key(lab.pk)
    snapshot = redis.dump(key)
    renamed(patient, "Current")
    Patient.get_cached_instance(patient.pk, lab.pk)

    redis.restore(key, 0, snapshot, replace=True)  # Redis back from the snapshot
    assert Patient.get_cached_instance(patient.pk, lab.pk).first_name == "Old"
    call_command("cache_purge", stdout=io.StringIO())

    assert Patient.get_cached_instance(patient.pk, lab.pk).first_name == "Current"
