"""DocumentDBConnection: one URL per account, never shown with its password."""

import pytest
from django.core.exceptions import ValidationError

from core.models import DocumentDBConnection
from core.utils.documentdb.urls import mask_connection_url
from tests.core.utils.documentdb.conftest import URL_PASSWORD, add_connection

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "mongodb://app:pw@docdb.internal:27017/lis?tls=true",
            "mongodb://***@docdb.internal:27017/lis?***",
        ),
        (
            "mongodb+srv://app:pw@cluster.example.net/",
            "mongodb+srv://***@cluster.example.net/",
        ),
        ("mongodb://h1:27017,h2:27017/lis", "mongodb://h1:27017,h2:27017/lis"),
        ("not a url with pw inside", "***"),
        ("", "***"),
    ],
)
def test_masking_drops_credentials_and_options(url, masked):
    assert mask_connection_url(url) == masked


def test_str_and_repr_show_the_account_and_host_but_not_the_password():
    connection = add_connection(7)

    for text in (str(connection), repr(connection)):
        assert "account 7" in text
        assert "mongodb://***@docdb.internal:27017/lis?***" in text
        assert URL_PASSWORD not in text


def test_a_url_that_is_not_mongodb_is_refused_without_echoing_it():
    connection = DocumentDBConnection(
        account_id=7, connection_url=f"https://user:{URL_PASSWORD}@docdb.internal/"
    )

    with pytest.raises(ValidationError) as excinfo:
        connection.save()

    assert "must start with mongodb:// or mongodb+srv://" in str(excinfo.value)
    assert URL_PASSWORD not in str(excinfo.value)
    assert not DocumentDBConnection.objects.exists()


def test_account_and_url_are_mandatory():
    with pytest.raises(ValidationError) as excinfo:
        DocumentDBConnection().save()

    assert set(excinfo.value.message_dict) == {"account_id", "connection_url"}
