"""Encrypted model fields and their blind indexes.

`EncryptedTextField` and `EncryptedJSONField` store AES-256-GCM tokens
(core/utils/encryption.py) in a text column; Python code sees plaintext.
Each value is bound to its model, field and row with the associated data
`b"<app.model>|<field>|<row context>"`, so a value copied into another row or
field fails to decrypt, with a `DecryptionError` naming model, field and row.
The row context is a random UUID per row, `encryption_context`, which
`EncryptedFieldsMixin` (core/models/encrypted_mixin.py, required by these
fields) adds and explains.

How values live on an instance: a row read from the database (or the
instance cache) holds a `Ciphertext` per field, decrypted on first access
and then replaced by the plaintext, while the `Ciphertext` is remembered. On
save, an unchanged value is written back as the same ciphertext (no needless
re-encryption, no spurious change) unless it was made with an older key; a
changed value is encrypted afresh with the newest key. The instance cache
stores the ciphertext (`value_to_string`), never the plaintext.

The activity log (ActivityLogBase) masks encrypted fields
(`activity_log_masked`), compares them by plaintext (`same_value`) and leaves
out blind indexes and the row context (`activity_log_skipped`).

Encrypted columns cannot be filtered by value (`exact`, `contains`...: a
FieldError says so); look rows up with a `BlindIndexField`, an HMAC of the
normalised plaintext kept beside the encrypted field. Only `isnull` and
`encrypted_with` (rows encrypted with a given key id) are allowed.

Not supported: `loaddata` of these fields (raw saves write Python values
directly, and a plaintext value cannot be written without its row); renaming
the model, app or field, which changes the associated data (re-encrypt
first). Known property: GCM ciphertext is as long as its plaintext (plus 28
bytes), so a value's length is visible in the database.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django import forms
from django.core import checks
from django.core.exceptions import FieldError, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.lookups import Lookup, StartsWith
from django.db.models.query_utils import DeferredAttribute

from core.utils.encryption import (
    DecryptionError,
    decrypt_json,
    decrypt_str,
    encrypt_json,
    encrypt_str,
    get_keyring,
    token_key_id,
    token_prefix,
)
from core.utils.json_input.fields import JsonKind

#: The one key of the JSON object the instance cache stores for a ciphertext.
SEALED_KEY = "__lis_encrypted__"
#: Lookups an encrypted column allows; every other one is refused.
ALLOWED_LOOKUPS = frozenset({"isnull", "encrypted_with"})
#: Where an instance keeps the ciphertexts its plaintexts were read from.
_STORED = "_encrypted_as_stored"


def associated_data_for(model_label: str, field_name: str, context: Any) -> bytes:
    """What a value is bound to. Example:
    `associated_data_for("patients.patient", "phone", ctx)` ->
    `b"patients.patient|phone|6f1c...-...."`."""
    return f"{model_label}|{field_name}|{context}".encode()


class Ciphertext:
    """A token as stored, not yet decrypted. Equal when the tokens are.

    Remembers the canonical form of its plaintext once opened (per associated
    data), so an unchanged value can be recognised without decrypting again.
    Pickling and copying drop that memo.
    """

    __slots__ = ("_memo", "token")

    def __init__(self, token: str) -> None:
        self.token = token
        self._memo: tuple[bytes, str] | None = None

    @property
    def key_id(self) -> str | None:
        """The id of the key that made it, or None when it is not a token."""
        return token_key_id(self.token)

    def remember(self, associated_data: bytes, canonical: str) -> None:
        self._memo = (associated_data, canonical)

    def remembered(self, associated_data: bytes) -> str | None:
        memo = self._memo
        return memo[1] if memo is not None and memo[0] == associated_data else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ciphertext) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)

    def __reduce__(self) -> tuple[type[Ciphertext], tuple[str]]:
        return (Ciphertext, (self.token,))

    def __repr__(self) -> str:
        return f"<Ciphertext key_id={self.key_id!r}>"


def stored_ciphertexts(instance: models.Model) -> dict[str, Ciphertext]:
    """attname -> the Ciphertext the instance's plaintext was decrypted from."""
    stored: dict[str, Ciphertext] = instance.__dict__.setdefault(_STORED, {})
    return stored


class EncryptedAttribute(DeferredAttribute):
    """Decrypts a field's Ciphertext on first access (see the module doc)."""

    field: EncryptedField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        state = super().__get__(instance, cls)
        if not isinstance(state, Ciphertext):
            return state
        value = self.field.open(instance, state)
        instance.__dict__[self.field.attname] = value
        stored_ciphertexts(instance)[self.field.attname] = state
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # Defining __set__ makes this a data descriptor, so __get__ runs even
        # when the instance's __dict__ holds the value (a Ciphertext to open).
        instance.__dict__[self.field.attname] = value


class EncryptedField(models.Field, ABC):
    """Base of the encrypted fields: a text column of tokens, plaintext in
    Python. Subclasses say how a plaintext is encrypted and compared."""

    descriptor_class = EncryptedAttribute
    activity_log_masked: ClassVar[bool] = True
    empty_strings_allowed = False

    def get_internal_type(self) -> str:
        return "TextField"

    # -- the plaintext (subclasses) -------------------------------------------

    @abstractmethod
    def encrypt(self, value: Any, associated_data: bytes) -> str:
        """A token of `value` bound to `associated_data`."""

    @abstractmethod
    def decrypt(self, token: str, associated_data: bytes, where: str) -> Any:
        """The plaintext of `token`; `DecryptionError` naming `where`."""

    @abstractmethod
    def canonical(self, value: Any) -> str:
        """A string equal for equal plaintexts and different otherwise."""

    # -- binding to the row -----------------------------------------------------

    def associated_data(self, instance: models.Model) -> bytes:
        """This field's associated data in `instance`'s row."""
        context = instance.__dict__.get("encryption_context")
        if context is None:
            context = getattr(instance, "encryption_context", None)
        if context is None:
            raise ValueError(
                f"{self.describe(instance)} has no encryption_context; the model "
                "needs EncryptedFieldsMixin."
            )
        return associated_data_for(self.model._meta.label_lower, self.name, context)

    def describe(self, instance: models.Model) -> str:
        """E.g. "patients.patient.phone of row 12" (never a value)."""
        row = "an unsaved row" if instance.pk is None else f"row {instance.pk}"
        return f"{self.model._meta.label_lower}.{self.name} of {row}"

    def open(self, instance: models.Model, ciphertext: Ciphertext) -> Any:
        """Decrypt a stored value of `instance`; `DecryptionError` names this
        model, field and row when it does not belong here or was altered."""
        associated_data = self.associated_data(instance)
        value = self.decrypt(ciphertext.token, associated_data, self.describe(instance))
        ciphertext.remember(associated_data, self.canonical(value))
        return value

    def same_value(self, instance: models.Model, old: Any, new: Any) -> bool:
        """Whether `old` and `new` (each a Ciphertext, a plaintext or None)
        hold the same plaintext; the activity log's comparison."""
        if old is None or new is None:
            return old is new
        if isinstance(old, Ciphertext) and old == new:
            return True
        try:
            return self._canonical_of(instance, old) == self._canonical_of(
                instance, new
            )
        except DecryptionError:
            return False  # an unreadable value replaced by a readable one

    def _canonical_of(self, instance: models.Model, state: Any) -> str:
        if not isinstance(state, Ciphertext):
            return self.canonical(state)
        remembered = state.remembered(self.associated_data(instance))
        if remembered is None:
            return self.canonical(self.open(instance, state))
        return remembered

    def ciphertext_for(
        self, instance: models.Model, *, rotate: bool
    ) -> Ciphertext | None:
        """The ciphertext to store for `instance`'s current value: the one it
        was read from when the value is unchanged (re-encrypted with the
        newest key if it used an older one and `rotate`), else a fresh one."""
        state = instance.__dict__.get(self.attname)
        if state is None:
            return None
        if isinstance(state, Ciphertext):
            stored: Ciphertext | None = state
            plaintext = self.open(instance, state)  # refuses a foreign value
        else:
            stored, plaintext = stored_ciphertexts(instance).get(self.attname), state
            if stored is not None and not self.same_value(instance, stored, state):
                stored = None
        newest = get_keyring().newest_key_id
        if stored is not None and not (rotate and stored.key_id != newest):
            return stored
        associated_data = self.associated_data(instance)
        fresh = Ciphertext(self.encrypt(plaintext, associated_data))
        fresh.remember(associated_data, self.canonical(plaintext))
        stored_ciphertexts(instance)[self.attname] = fresh
        return fresh

    # -- Django's field API ------------------------------------------------------

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if add:
            # A new row's context is new: nothing it holds was encrypted for it.
            stored_ciphertexts(model_instance).pop(self.attname, None)
        return self.ciphertext_for(model_instance, rotate=True)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or hasattr(value, "resolve_expression"):
            return value
        if isinstance(value, Ciphertext):
            return value.token
        raise TypeError(
            f"{self.model._meta.label_lower}.{self.name} is encrypted: it is "
            "written by the model's save(), which encrypts it, and cannot be "
            "written or compared as a plain value."
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else Ciphertext(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, dict) and value.keys() == {SEALED_KEY}:
            token = value[SEALED_KEY]
            if isinstance(token, str):
                return Ciphertext(token)  # as value_to_string stored it
        return value

    def value_to_string(self, obj: models.Model) -> Any:
        """The stored form, for the instance cache: `{SEALED_KEY: token}`,
        never the plaintext."""
        ciphertext = self.ciphertext_for(obj, rotate=False)
        return None if ciphertext is None else {SEALED_KEY: ciphertext.token}

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in ALLOWED_LOOKUPS:
            raise FieldError(
                f"{self.model._meta.label_lower}.{self.name} is encrypted and "
                f"cannot be filtered with {lookup_name!r}: look rows up by its "
                "blind index field instead (e.g. Patient.objects.find_by_phone)."
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = [*super().check(**kwargs)]
        context = field_or_none(self.model, "encryption_context")
        if not isinstance(context, EncryptionContextField):
            errors.append(
                checks.Error(
                    f"{type(self).__name__} needs a row context to bind values to.",
                    hint="Add EncryptedFieldsMixin to the model's bases.",
                    obj=self,
                    id="core.E030",
                )
            )
        if self.unique or getattr(self, "db_index", False) or self.primary_key:
            errors.append(
                checks.Error(
                    "An encrypted field cannot be unique, indexed or a primary "
                    "key: its ciphertexts differ even for equal values.",
                    hint="Index a BlindIndexField beside it instead.",
                    obj=self,
                    id="core.E031",
                )
            )
        return errors


@EncryptedField.register_lookup
class EncryptedWith(Lookup):
    """`field__encrypted_with="k2"`: rows whose value was encrypted with key k2
    (a LIKE on the token prefix "enc1:k2:", escaped by Django)."""

    lookup_name = "encrypted_with"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return token_prefix(self.rhs)

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        return StartsWith(self.lhs, self.rhs).as_sql(compiler, connection)


class EncryptedTextField(EncryptedField):
    """Encrypted text. `max_length` (optional) limits the plaintext; the
    column itself is unlimited text. Python None is stored as NULL; every
    other value, "" included, as a ciphertext."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    def encrypt(self, value: Any, associated_data: bytes) -> str:
        return encrypt_str(str(value), associated_data)

    def decrypt(self, token: str, associated_data: bytes, where: str) -> Any:
        return decrypt_str(token, associated_data, where=where)

    def canonical(self, value: Any) -> str:
        return str(value)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value is None or isinstance(value, str | Ciphertext):
            return value
        return str(value)

    def formfield(self, **kwargs: Any) -> Any:
        widget = forms.Textarea if self.max_length is None else forms.TextInput
        return super().formfield(
            **{
                "form_class": forms.CharField,
                "max_length": self.max_length,
                "widget": widget,
                **kwargs,
            }
        )


class EncryptedJSONField(EncryptedField):
    """Encrypted JSON (objects, lists, text, numbers, booleans). Python None is
    stored as NULL. A JSON object whose only key is `SEALED_KEY` is reserved
    (it is how the instance cache writes a ciphertext)."""

    #: Any JSON value (core.utils.json_input.model_fields): the column's
    #: internal type is text, but the field holds JSON.
    json_kind = JsonKind.ANY

    def encrypt(self, value: Any, associated_data: bytes) -> str:
        return encrypt_json(value, associated_data)

    def decrypt(self, token: str, associated_data: bytes, where: str) -> Any:
        return decrypt_json(token, associated_data, where=where)

    def canonical(self, value: Any) -> str:
        # Sorted keys; 1, 1.0 and true stay distinct (Python's == would not).
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"A {type(value).__name__} cannot be stored as JSON; use text, "
                "numbers, true/false, null, lists and objects.",
                code="invalid",
            ) from None

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


class EncryptionContextField(models.UUIDField):
    """The random per-row UUID encrypted values are bound to (see the module
    doc). Not editable and not logged."""

    activity_log_skipped: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", uuid.uuid4)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs


def field_or_none(model: Any, name: str) -> Any:
    """`model`'s field `name`, or None (also while models are loading)."""
    try:
        return model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist, or a model not ready
        return None


_ENCRYPTED: dict[type[models.Model], list[EncryptedField]] = {}


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    """The model's encrypted fields (memoised per model)."""
    if model not in _ENCRYPTED:
        _ENCRYPTED[model] = [
            field
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedField)
        ]
    return _ENCRYPTED[model]
