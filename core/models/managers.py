"""BaseModel's queryset and manager: bulk writes that keep the save discipline.

Django's `QuerySet.update()`, `bulk_create()`, `bulk_update()` and `delete()`
write rows without calling `save()` / `delete()`, so they would skip
validation, the hooks, the version bump, the activity log, cache
invalidation and webhooks. On BaseModel querysets they raise
`HooksBypassError` instead, so the bypass cannot happen by accident. Use:

- `Model.objects.save_many(instances)`: every instance's full `save()` in one
  transaction; all or nothing.
- `queryset.delete_each()`: every row's full `delete()` in one transaction.
- `queryset.update_without_hooks(**values)`: the explicit escape hatch for data
  migrations and maintenance. It still bumps `version` and `updated_at`, so a
  copy loaded before it cannot overwrite its change, but it runs no hooks.

Django's own internals write through private paths (`_update`, `_raw_delete`)
and are unaffected, with two consequences worth knowing: a cascade
(`on_delete=CASCADE`) deletes related rows without their `delete()` hooks, and
`SET_NULL` updates them without a version bump. Lab data therefore uses
`on_delete=PROTECT` and deletes children explicitly.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from django.db import models, router, transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import HooksBypassError
from core.models.save_state import restored_on_failure

if TYPE_CHECKING:
    from core.models.base import BaseModel


class BaseQuerySet[M: "BaseModel"](models.QuerySet[M]):
    """QuerySet of BaseModel rows; see the module docstring for the bulk rules."""

    def _refuse(self, method: str, instead: str) -> NoReturn:
        raise HooksBypassError(
            f"{self.model.__name__}.objects.{method}() would skip validation, the "
            f"save/delete hooks and versioning. Use {instead}."
        )

    def update(self, **kwargs: Any) -> NoReturn:
        """Refused: use `save_many()` or, for maintenance, `update_without_hooks()`."""
        self._refuse(
            "update",
            "save() on each instance (or objects.save_many()), or "
            "update_without_hooks() for data maintenance",
        )

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: use `objects.save_many(instances)`."""
        self._refuse("bulk_create", "objects.save_many(instances)")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: use `objects.save_many(instances)`."""
        self._refuse("bulk_update", "objects.save_many(instances)")

    def delete(self) -> NoReturn:
        """Refused: use `delete_each()`."""
        self._refuse("delete", "queryset.delete_each()")

    def save_many(self, instances: Iterable[M]) -> list[M]:
        """Save every instance with its full `save()`, all in one transaction.

        The first failure (a ValidationError, a VersionConflict, an error from a
        hook) rolls every one back; the exception carries a note saying which
        item failed. Returns the instances, saved.
        """
        items = list(instances)
        using = router.db_for_write(self.model)
        with restored_on_failure(items), transaction.atomic(using=using):
            for index, instance in enumerate(items):
                try:
                    instance.save()
                except Exception as exc:
                    exc.add_note(f"while saving item {index} of {len(items)}")
                    raise
        return items

    def delete_each(self) -> int:
        """Delete every row with its full `delete()`, in one transaction.

        Rows are locked (`SELECT ... FOR UPDATE` where supported) before the
        hooks run. Returns how many rows were deleted.
        """
        using = router.db_for_write(self.model)
        with transaction.atomic(using=using):
            rows = list(self.select_for_update())
            for instance in rows:
                instance.delete()
        return len(rows)

    def update_without_hooks(self, **values: Any) -> int:
        """UPDATE the rows directly: no validation, no hooks. For data migrations.

        Bumps `version` and sets `updated_at`, so copies loaded earlier get a
        VersionConflict instead of overwriting this change.
        """
        values.setdefault("updated_at", timezone.now())
        values["version"] = F("version") + 1
        return super().update(**values)


class BaseManager[M: "BaseModel"](models.Manager.from_queryset(BaseQuerySet)):  # type: ignore[misc]
    """Default manager of BaseModel: every `BaseQuerySet` method, refusals included."""
