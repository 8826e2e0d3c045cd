"""DatabaseDocumentDBClient specifics: needs no connection row, and a log
written inside a transaction shares its fate."""

import pytest
from django.db import transaction

from core.models import DocumentDBConnection, IntegrationLog
from core.utils.documentdb.database import DatabaseDocumentDBClient

pytestmark = pytest.mark.django_db


def test_it_needs_no_documentdb_connection():
    client = DatabaseDocumentDBClient(account_id=5)

    client.write_log("payments", {"amount": 1})

    assert not DocumentDBConnection.objects.exists()
    assert IntegrationLog.objects.get().account_id == 5


def test_a_log_written_in_a_rolled_back_transaction_is_gone_with_it():
    client = DatabaseDocumentDBClient(account_id=5)

    with pytest.raises(RuntimeError), transaction.atomic():
        client.write_log("payments", {"amount": 1})
        raise RuntimeError("the surrounding work failed")

    assert client.query_logs() == []
