"""BlindIndexField: a keyed hash beside an encrypted field, for exact lookups.

An encrypted column cannot be searched (its ciphertexts differ even for
equal values). Its blind index holds HMAC-SHA256 of the normalised
plaintext, with LIS_BLIND_INDEX_KEY (a key of its own, see
core/utils/encryption.py), so a domain app finds a patient by an exact phone
number without decrypting the table, and a reader of the database without
the key learns only which rows share a value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core import checks
from django.db import models

from core.models.encrypted_fields import EncryptedTextField, field_or_none
from core.utils.encryption import blind_index


class BlindIndexField(models.CharField):
    """HMAC-SHA256 (hex) of the normalised plaintext of the encrypted text
    field `source`, set on every save, for exact lookups:
    `Patient.objects.filter(phone_index=field.index_for("+919876543210"))`.

    `normalizer` maps a plaintext to the form that is hashed (default: strip
    surrounding spaces); the model should store the value already in that
    form. An empty value has an empty index, which matches nothing.
    `normalizer` is left out of migrations: it changes no schema (re-index
    by saving every row after changing it).
    """

    activity_log_skipped: ClassVar[bool] = True

    def __init__(
        self,
        *args: Any,
        source: str = "",
        normalizer: Callable[[str], str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.normalizer = normalizer or str.strip
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("default", "")
        kwargs["blank"] = True
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for option in ("blank", "editable"):
            kwargs.pop(option, None)
        return name, path, args, kwargs

    def index_for(self, value: str | None) -> str:
        """The index of a plaintext of `source` ("" for None or blank)."""
        normalised = self.normalizer(value) if value is not None else ""
        if not normalised:
            return ""
        domain = f"{self.model._meta.label_lower}|{self.source}"
        return blind_index(normalised, domain=domain)

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        # An encrypted field is not a relation: its attname is its name.
        value = self.index_for(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = [*super().check(**kwargs)]
        if not isinstance(field_or_none(self.model, self.source), EncryptedTextField):
            errors.append(
                checks.Error(
                    f"BlindIndexField(source={self.source!r}) must name an "
                    "EncryptedTextField of the same model.",
                    obj=self,
                    id="core.E032",
                )
            )
        return errors
