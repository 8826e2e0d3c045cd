"""App configuration of `admin.account`."""

from django.apps import AppConfig


class AccountConfig(AppConfig):
    """Labs, the lab hierarchy (`LabRelations`) and users."""

    name = "admin.account"
    label = "account"
    verbose_name = "Accounts and labs"

    def ready(self) -> None:
        # Registers the LabRelations proxy model, which lives outside models.py
        # at the path the architecture note names.
        from admin.account.proxies import lab_relation  # noqa: F401
