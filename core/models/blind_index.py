"""BlindIndexField: a keyed hash beside an encrypted field, for exact lookups.

An encrypted column cannot be searched (its ciphertexts differ even for
equal values). Its blind index holds an HMAC of the normalised plaintext
under a key derived for the row's lab (core/utils/blind_index.py), so a
domain app finds a patient by an exact phone number without decrypting the
table, and a reader of the database without the key learns only which rows
of one lab share a value: never which patients of two labs do.

Because the key depends on the lab, a lookup over several labs (a parent
lab and its children) computes the index under each lab and matches each
lab's rows with its own index (`BlindIndexField.matching`). Rows indexed
before per-lab keys hold a global (v1) index; `matching` finds them too
while legacy lookups are on, and `manage.py reindex_blind_indexes`
rewrites them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable
from functools import reduce
from typing import Any, ClassVar

from django.core import checks
from django.db import models
from django.db.models import Q

from core.models.encrypted_fields import EncryptedTextField, field_or_none
from core.utils.blind_index import (
    LAB_INDEX_PREFIX,
    global_blind_index,
    lab_blind_index,
    legacy_lookups_enabled,
)

#: The foreign key whose lab an index is computed for (LabScopedMixin's).
LAB_FIELD = "lab"


class BlindIndexField(models.CharField):
    """The blind index (see the module doc) of the normalised plaintext of
    the encrypted text field `source`, under the row's lab; set on every
    save, and again when the row moves to another lab.

    `normalizer` maps a plaintext to the form that is hashed (default: strip
    surrounding spaces); the model should store the value already in that
    form. An empty value has an empty index, which matches nothing.
    `normalizer` is left out of migrations: it changes no schema (re-index
    by saving every row after changing it).

    Look rows up with `matching`:
    `Patient.objects.filter(field.matching(["+919876543210"], [3, 4]))`.
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
        # 64 holds both forms: v1 is 64 hex characters, v2 is 46.
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

    @property
    def domain(self) -> str:
        """What separates this index from every other: "<app.model>|<source>"."""
        return f"{self.model._meta.label_lower}|{self.source}"

    def normalised(self, value: str | None) -> str:
        """The form of a plaintext that is hashed ("" for None or blank)."""
        return self.normalizer(value) if value is not None else ""

    def index_for(self, value: str | None, *, lab_id: int) -> str:
        """The index of a plaintext of `source` in lab `lab_id` ("" for None
        or blank)."""
        normalised = self.normalised(value)
        if not normalised:
            return ""
        return lab_blind_index(normalised, domain=self.domain, lab_id=lab_id)

    def legacy_index_for(self, value: str | None) -> str:
        """The global (v1) index rows written before per-lab keys hold."""
        normalised = self.normalised(value)
        return global_blind_index(normalised, domain=self.domain) if normalised else ""

    def matching(self, values: Iterable[str | None], lab_ids: Collection[int]) -> Q:
        """Rows of `lab_ids` whose `source` is one of the plaintexts `values`:
        each lab's rows matched with that lab's own index, plus rows still
        holding the global index while legacy lookups are on. Matches nothing
        when no value is left after normalising or no lab is given."""
        normalised = {self.normalised(value) for value in values} - {""}
        if not normalised or not lab_ids:
            return Q(pk__in=[])
        lab_id_field, index_in = f"{LAB_FIELD}_id", f"{self.name}__in"
        conditions = []
        for lab_id in sorted(set(lab_ids)):
            indexes = [
                lab_blind_index(value, domain=self.domain, lab_id=lab_id)
                for value in sorted(normalised)
            ]
            conditions.append(Q(**{lab_id_field: lab_id, index_in: indexes}))
        if legacy_lookups_enabled():
            legacy = [global_blind_index(v, domain=self.domain) for v in normalised]
            conditions.append(Q(**{f"{lab_id_field}__in": lab_ids, index_in: legacy}))
        return reduce(operator.or_, conditions)

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        # An encrypted field is not a relation: its attname is its name.
        value = getattr(model_instance, self.source)
        lab_id = getattr(model_instance, f"{LAB_FIELD}_id", None)
        # Without a lab the row is refused anyway (its lab is mandatory and
        # NOT NULL); there is no key to compute an index with.
        index = "" if lab_id is None else self.index_for(value, lab_id=lab_id)
        setattr(model_instance, self.attname, index)
        return index

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
        if not isinstance(field_or_none(self.model, LAB_FIELD), models.ForeignKey):
            errors.append(
                checks.Error(
                    "A BlindIndexField is computed with a key of the row's lab, "
                    f"so its model needs a {LAB_FIELD!r} foreign key.",
                    hint="Add LabScopedMixin to the model's bases.",
                    obj=self,
                    id="core.E033",
                )
            )
        return errors


def blind_index_fields(model: type[models.Model]) -> list[BlindIndexField]:
    """The model's blind index fields."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, BlindIndexField)
    ]


def legacy_indexed_rows(model: type[models.Model]) -> Q:
    """Rows holding at least one global (v1) index: a non-empty index that
    is not v2. `manage.py reindex_blind_indexes` rewrites them."""
    condition = Q(pk__in=[])
    for field in blind_index_fields(model):
        condition |= ~Q(**{field.name: ""}) & ~Q(
            **{f"{field.name}__startswith": LAB_INDEX_PREFIX}
        )
    return condition
