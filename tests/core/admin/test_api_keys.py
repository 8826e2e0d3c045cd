"""API keys in the admin: listed and revoked, never created or deleted there,
and their digest never shown."""

import pytest
from django.urls import reverse

from admin.account.models import User
from core.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def test_the_list_and_the_page_never_show_the_digest(admin_client, labs):
    api_key, text = ApiKey.create(labs["north"], "Analyser bridge")

    listing = admin_client.get(reverse("admin:core_apikey_changelist"))
    page = admin_client.get(reverse("admin:core_apikey_change", args=[api_key.pk]))

    for response in (listing, page):
        assert response.status_code == 200
        content = response.content.decode()
        assert api_key.prefix in content
        assert api_key.secret_hash not in content
        assert text not in content
    assert 'name="name"' in page.content.decode()  # the only editable field
    assert 'name="prefix"' not in page.content.decode()


def test_keys_are_not_added_or_deleted_in_the_admin(admin_client, labs):
    api_key, _ = ApiKey.create(labs["north"], "Bridge")

    add = admin_client.get(reverse("admin:core_apikey_add"))
    delete = admin_client.get(reverse("admin:core_apikey_delete", args=[api_key.pk]))

    assert add.status_code == delete.status_code == 403


def test_the_revoke_action_revokes_each_selected_key(admin_client, labs):
    first, _ = ApiKey.create(labs["north"], "One")
    second, _ = ApiKey.create(labs["north"], "Two")
    second.revoke()

    response = admin_client.post(
        reverse("admin:core_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert "1 API key(s) revoked." in response.content.decode()
    assert ApiKey.objects.get(pk=first.pk).is_revoked


def test_renaming_a_key_in_the_admin_keeps_it_working(admin_client, labs):
    api_key, text = ApiKey.create(labs["north"], "Old name")

    response = admin_client.post(
        reverse("admin:core_apikey_change", args=[api_key.pk]),
        {"name": "New name", "loaded_version": api_key.version},
    )

    assert response.status_code == 302
    assert ApiKey.authenticate(text).name == "New name"
