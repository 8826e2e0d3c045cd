"""LabScopedMixin: rows that belong to one lab, read only through the lab scope.

A request's lab sees its own rows and its descendants' (LabRelations), never a
parent's or a sibling's. Lookups go through `for_lab()` / `get_for_lab()`, and
a row of another lab raises exactly the not-found a missing row raises, so
"not yours" cannot be told apart from "does not exist".
"""

from typing import Any, Self

from django.db import models

from core.models.managers import BaseManager, BaseQuerySet


def lab_ids_in_scope(lab_id: int, *, include_children: bool = True) -> list[int]:
    """`lab_id` followed by every descendant lab's id (when `include_children`).

    Example: `lab_ids_in_scope(1)` -> `[1, 2, 3]` for a parent with two children.
    """
    # Local import: admin.account's models inherit core's BaseModel, so a
    # module-level import here would be circular.
    from admin.account.proxies.lab_relation import LabRelations

    if not include_children:
        return [lab_id]
    return [lab_id, *LabRelations.get_child_labs(lab_id)]


class LabScopedQuerySet(BaseQuerySet[Any]):
    """BaseQuerySet with the lab scope."""

    def for_lab(self, lab_id: int, *, include_children: bool = True) -> Self:
        """Rows of `lab_id` and (by default) of its descendant labs."""
        lab_ids = lab_ids_in_scope(lab_id, include_children=include_children)
        return self.filter(lab_id__in=lab_ids)


class LabScopedManager(BaseManager.from_queryset(LabScopedQuerySet)):  # type: ignore[misc]
    """Default manager of lab-scoped models."""


class LabScopedMixin(models.Model):
    """Adds `lab` (the owning lab; PROTECT, so a lab with data cannot vanish),
    the `for_lab()` queryset method and `get_for_lab()`.

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
        from admin.account.models import Lab  # see lab_ids_in_scope

        return Lab.get_cached_instance(self.lab_id)

    @classmethod
    def get_for_lab(
        cls,
        lab_id: int,
        exception_to_raise: type[Exception] | Exception | None = None,
        /,
        **filters: Any,
    ) -> Self:
        """The one row matching `filters` within `lab_id`'s scope, else raise.

        A row that exists in another lab raises the same exception as a row
        that does not exist (`BaseModel.get` semantics).
        """
        lab_ids = lab_ids_in_scope(lab_id)
        return cls.get(exception_to_raise, lab_id__in=lab_ids, **filters)  # type: ignore[attr-defined]
