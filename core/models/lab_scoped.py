"""LabScopedMixin: rows that belong to one lab, read only through a lab scope.

A scope (core.tenancy.LabScope) sees its lab's rows and its descendants'
(for staff, API keys and trusted callers), never a parent's or a sibling's.
Rows are read through `Model.objects.in_scope(scope)` and
`Model.get_in_scope(scope, ...)`, and a row of another lab raises exactly the
not-found a missing row raises, so "not yours" cannot be told apart from
"does not exist". Requests pass `request.scope`; jobs and commands pass
`trusted_scope(lab_id)`, whose name says it trusts its caller.
"""

from contextlib import suppress
from typing import Any, Self

from django.db import models

from core.models.caching import CacheType
from core.models.managers import BaseManager, BaseQuerySet
from core.tenancy.scope import LabScope


class LabScopedQuerySet(BaseQuerySet[Any]):
    """BaseQuerySet with the lab scope."""

    def in_scope(self, scope: LabScope) -> Self:
        """Rows of the labs `scope` may read.

        Example: `Patient.objects.in_scope(request.scope).filter(sex="F")`.
        """
        return self.filter(lab_id__in=scope.lab_ids)


class LabScopedManager(BaseManager.from_queryset(LabScopedQuerySet)):  # type: ignore[misc]
    """Default manager of lab-scoped models."""


class LabScopedMixin(models.Model):
    """Adds `lab` (the owning lab; PROTECT, so a lab with data cannot vanish),
    the `in_scope()` queryset method and `get_in_scope()`.

    Put it before BaseModel so its manager wins:
    `class Patient(LabScopedMixin, BaseModel)`. `lab` is mandatory for every
    model using it (add "lab" to `mandatory_fields`).
    """

    lab = models.ForeignKey(
        "account.Lab", on_delete=models.PROTECT, related_name="+", db_index=True
    )

    objects = LabScopedManager()

    class Meta:
        abstract = True

    @property
    def cached_lab(self) -> Any:
        """The row's lab, for reading its settings (time zone, country)
        without a query: the lab already loaded on the instance, else the
        instance cache's copy (Lab is INSTANCE-cached). Change a lab through
        `Lab.objects`, never through this copy."""
        if type(self).lab.is_cached(self):
            return self.lab
        lab_model: Any = type(self)._meta.get_field("lab").related_model
        return lab_model.get_cached_instance(self.lab_id)

    @classmethod
    def get_in_scope(
        cls,
        scope: LabScope,
        exception_to_raise: type[Exception] | Exception | None = None,
        /,
        **filters: Any,
    ) -> Self:
        """The one row matching `filters` among the labs of `scope`, else
        raise (`BaseModel.get` semantics: `exception_to_raise`, or the
        model's DoesNotExist).

        A row that exists in another lab raises the same exception as a row
        that does not exist. INSTANCE-cached models are read from the scope
        lab's cache hash first when `filters` is only `pk`.

        Example: `Patient.get_in_scope(request.scope, Http404("No patient 7."), pk=7)`.
        """
        if set(filters) == {"pk"} and cls.cache_type == CacheType.INSTANCE:  # type: ignore[attr-defined]
            # A miss may be a child lab's row: the database decides.
            with suppress(cls.DoesNotExist):
                return cls.get_cached_instance(filters["pk"], scope.lab_id)  # type: ignore[attr-defined]
        return cls.get(exception_to_raise, lab_id__in=scope.lab_ids, **filters)  # type: ignore[attr-defined]
