"""Fixtures the runbook tests share with the activity log's tests: the real
Elasticsearch client on the stand-in, a history of patients' changes, and a
checkpoint signing key with local file storage (defined in
tests/core/activity_log/conftest.py, which only that folder sees, hence
imported here)."""

from tests.core.activity_log.conftest import elasticsearch, history, signing

__all__ = ["elasticsearch", "history", "signing"]
