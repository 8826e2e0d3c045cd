"""Fixtures for activity log tests: Fusion maintenance rounds, the real
Elasticsearch client pointed at the Elasticsearch stand-in, and a checkpoint
signing key."""

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.utils.activity_log.context import Actor, ActorKind, acting_as
from core.utils.clients import registry
from patients.models import Patient
from tests.core.activity_log.keys import pem
from tests.standins.elasticsearch import ElasticsearchStandIn

API_KEY = "c3RhbmQtaW46a2V5LW5ldmVyLXNob3du"  # the stand-in's test key


@pytest.fixture
def elasticsearch(settings) -> Iterator[ElasticsearchStandIn]:
    with ElasticsearchStandIn(api_key=API_KEY) as standin:
        settings.SERVICES = {
            **settings.SERVICES,
            "es": {
                "BACKEND": "core.utils.elastic_search.client.ElasticSearchClient",
                "OPTIONS": {
                    "hosts": [standin.url],
                    "api_key": API_KEY,
                    "request_timeout_seconds": 2,
                    "max_retries": 0,
                    "retry_backoff_base_seconds": 0,
                    "retry_backoff_cap_seconds": 0,
                    "bulk_max_retries": 0,
                    "bulk_initial_backoff_seconds": 0,
                },
            },
        }
        registry.reset()
        yield standin
        registry.reset()
        assert standin.problems == []


@pytest.fixture
def history(labs) -> list[Patient]:
    """Two patients with creates, updates (some with reasons) and a delete."""
    ana = Patient(lab=labs["north"], first_name="Ana", sex="F")
    ana.save()
    with acting_as(Actor("user:7", "Dr Rao", "pathologist", ActorKind.STAFF)):
        for n, reason in enumerate(["rechecked sample", "", "50% * of the volume"]):
            ana.first_name = f"Ana {n}"
            ana.save(reason=reason)
    ben = Patient(lab=labs["north"], first_name="Ben", sex="M")
    ben.save()
    ben.delete(reason="duplicate record")
    return [ana, ben]


@pytest.fixture
def signing(settings, tmp_path) -> Iterator[Ed25519PrivateKey]:
    """A checkpoint signing key, and local file storage of the test's own."""
    key = Ed25519PrivateKey.generate()
    settings.ACTIVITY_LOG_SIGNING_KEY = pem(key)
    settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS = 3600
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(tmp_path / "files")},
        },
    }
    registry.reset()
    yield key
    registry.reset()
