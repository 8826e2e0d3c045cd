"""settings.SERVICES["docdb"]: the table unless DOCDB_BACKEND=mongo."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.services import build_services

pytestmark = pytest.mark.engine_independent


def test_by_default_logs_go_to_the_database_table(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCDB_BACKEND", raising=False)

    docdb = build_services(tmp_path)["docdb"]

    assert docdb["BACKEND"].endswith("DatabaseDocumentDBClient")


def test_mongo_selects_documentdb_with_bounded_timeouts(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCDB_BACKEND", "mongo")
    monkeypatch.setenv("DOCDB_SOCKET_TIMEOUT_SECONDS", "7")

    docdb = build_services(tmp_path)["docdb"]

    assert docdb["BACKEND"] == "core.utils.documentdb.client.DocumentDBClient"
    options = docdb["OPTIONS"]
    assert options["socket_timeout_seconds"] == 7
    assert options["server_selection_timeout_seconds"] == 5
    assert options["retry_writes"] is False  # Amazon DocumentDB has none


def test_an_unknown_backend_names_the_choices(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCDB_BACKEND", "cassandra")

    with pytest.raises(ImproperlyConfigured, match=r"use 'mongo'.*or 'database'"):
        build_services(tmp_path)
