"""EncryptedFieldsMixin: the row context encrypted fields are bound to.

Encrypted values are bound to their row (core/models/encrypted_fields.py).
Why a row context and not the primary key: the key is unknown before the
INSERT, and encrypting in a second, post-insert UPDATE would double the
writes and leave a window where the row holds no ciphertext. So each row
gets a random UUID, `encryption_context`, drawn in Python before the INSERT:
one write, known up front, as unique to the row as its primary key, and
never changed afterwards (not editable, not settable; a row copied with
`pk = None` gets a new one and its values are re-encrypted under it).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from django.db import models, router, transaction
from django.utils import timezone

from core.models.blind_index import LAB_FIELD, blind_index_fields
from core.models.encrypted_fields import (
    Ciphertext,
    EncryptionContextField,
    encrypted_fields,
    stored_ciphertexts,
)
from core.utils.encryption import get_keyring


class EncryptedFieldsMixin(models.Model):
    """Adds `encryption_context` (the row context encrypted fields are bound
    to), a `save()` that prepares a new row's context and keeps blind indexes
    in step with `update_fields` (the value's, or the lab's when it moves),
    `reencrypt()` for key rotation and `reindex()` for blind index changes.

    For BaseModel subclasses; put it first, so its `save()` runs before
    BaseModel's: `class Patient(EncryptedFieldsMixin, LabScopedMixin, BaseModel)`.
    """

    encryption_context = EncryptionContextField()

    if TYPE_CHECKING:
        version: int
        updated_at: Any
        loaded_state: Any

        def refresh_loaded_values(self, **values: Any) -> None: ...

        def invalidate_cache_on_commit(self, pk: Any, version: int) -> None: ...

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """BaseModel's save, after: on an INSERT, decrypting any value copied
        from another row and drawing this row's own context; with
        `update_fields`, adding the blind index of each encrypted field named,
        or every blind index when the lab is named."""
        if self._state.adding:
            for field in encrypted_fields(type(self)):
                if field.attname in self.__dict__:
                    getattr(self, field.attname)  # decrypt under the old context
            stored_ciphertexts(self).clear()
            self.encryption_context = uuid.uuid4()
        update_fields = kwargs.get("update_fields")
        if update_fields:
            kwargs["update_fields"] = _with_blind_indexes(type(self), update_fields)
        super().save(*args, **kwargs)

    save.alters_data = True  # type: ignore[attr-defined]

    def reencrypt(self) -> bool:
        """Re-encrypt, with the newest key, every stored value of this row made
        with an older one. Returns whether the row was written.

        The key-rotation path (`manage.py rotate_encryption_keys`): an UPDATE
        of those columns at the loaded version, which bumps `version` and
        `updated_at` (so a copy loaded before cannot overwrite it) and
        invalidates the cache after commit. It runs no validation and no
        hooks and writes no activity log entry: no plaintext changes, so
        there is nothing to record. Returns False, writing nothing, when
        the row changed since it was loaded (the next run picks it up).
        Raises `DecryptionError` for a value that cannot be decrypted.
        """
        newest = get_keyring().newest_key_id
        fresh: dict[str, Ciphertext] = {}
        for field in encrypted_fields(type(self)):
            state = self.__dict__.get(field.attname)
            if not isinstance(state, Ciphertext):
                state = stored_ciphertexts(self).get(field.attname)
            if state is None or state.key_id == newest:
                continue
            plaintext = field.open(self, state)
            associated_data = field.associated_data(self)
            rotated = Ciphertext(field.encrypt(plaintext, associated_data))
            rotated.remember(associated_data, field.canonical(plaintext))
            fresh[field.attname] = rotated
        if not fresh or not self._rewrite_at_loaded_version(fresh):
            return False
        for attname, rotated in fresh.items():
            # A value already decrypted (perhaps edited, unsaved) stays as it
            # is; what it was read from is now the rotated ciphertext.
            if isinstance(self.__dict__.get(attname), Ciphertext):
                self.__dict__[attname] = rotated
            else:
                stored_ciphertexts(self)[attname] = rotated
        return True

    reencrypt.alters_data = True  # type: ignore[attr-defined]

    def reindex(self) -> bool:
        """Rewrite every blind index of this row that is not the one its
        current value and lab give (a global v1 index, or one of another
        lab). Returns whether the row was written.

        The path of `manage.py reindex_blind_indexes`, with `reencrypt()`'s
        guarantees: an UPDATE at the loaded version (False, nothing written,
        when the row changed since it was loaded), which bumps `version`,
        invalidates the cache after commit, and writes no activity log entry
        (no data changes). Raises `DecryptionError` for a value that cannot
        be decrypted.
        """
        # The row as stored (loaded), not unsaved edits: this UPDATE only
        # rewrites what was read, at the version it was read at.
        stored = self.loaded_state or self.__dict__
        lab_id = stored.get(f"{LAB_FIELD}_id")
        fresh: dict[str, str] = {}
        for field in blind_index_fields(type(self)):
            value = self._stored_plaintext(field.source, stored)
            index = "" if lab_id is None else field.index_for(value, lab_id=lab_id)
            if stored.get(field.attname) != index:
                fresh[field.attname] = index
        if not fresh or not self._rewrite_at_loaded_version(fresh):
            return False
        for attname, index in fresh.items():
            setattr(self, attname, index)
        return True

    reindex.alters_data = True  # type: ignore[attr-defined]

    def _stored_plaintext(self, name: str, stored: dict[str, Any]) -> Any:
        """The plaintext of encrypted field `name` in `stored` (a loaded
        state: a Ciphertext, or a plaintext once saved)."""
        state = stored.get(name)
        if not isinstance(state, Ciphertext):
            return state
        field = next(f for f in encrypted_fields(type(self)) if f.name == name)
        return field.open(self, state)

    def _rewrite_at_loaded_version(self, values: dict[str, Any]) -> bool:
        """UPDATE `values` of this row if it is still at the loaded version,
        without hooks or an activity log entry; keep the instance's version
        and loaded state in step, and invalidate its cache entry after
        commit. False when the row changed since it was loaded."""
        model = type(self)
        using = router.db_for_write(model, instance=self)
        now = timezone.now()
        with transaction.atomic(using=using):
            at_loaded_version = {"pk": self.pk, "version": self.version}
            rows = model._default_manager.using(using).filter(**at_loaded_version)
            if not rows.update_without_hooks(updated_at=now, **values):  # type: ignore[attr-defined]
                return False
            self.version += 1
            self.updated_at = now
            self.refresh_loaded_values(**values, version=self.version, updated_at=now)
            self.invalidate_cache_on_commit(self.pk, self.version)
        return True


def _with_blind_indexes(
    model: type[models.Model], update_fields: Collection[str]
) -> set[str]:
    names = set(update_fields)
    # A new lab means new indexes: they are computed with the lab's key.
    moved = bool(names & {LAB_FIELD, f"{LAB_FIELD}_id"})
    for field in blind_index_fields(model):
        if moved or field.source in names:
            names.add(field.name)
    return names
