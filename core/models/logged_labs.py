"""Which labs hold logged records, and so must have an activity-log chain.

Every change to a BaseModel (an ActivityLogBase) writes an entry into its
lab's chain, so a lab with such a row has a chain; verification
(`manage.py verify_activity_logs`) reports a missing one. This lives with
the models, not in core/activity_log, because it reads every logged model
(README, "Layers": the activity log sits below the models).
"""

from django.apps import apps
from django.db import connections, models, router

from core.models.activity_log_base import ActivityLogBase

#: The column a lab-scoped model keeps its lab in (LabScopedMixin's `lab`).
LAB_ID = "lab_id"


def labs_with_logged_records() -> set[int]:
    """The ids of labs holding at least one row of a logged model with a
    `lab` field. One DISTINCT query per such model, and one listing of the
    database's tables: a model whose table was never created (a test-only
    one) holds no rows.

    Example: `{3, 5, 8}`."""
    labs: set[int] = set()
    tables = _tables()
    for model in apps.get_models():
        if (
            issubclass(model, ActivityLogBase)
            and _has_lab(model)
            and model._meta.db_table in tables.get(router.db_for_read(model), ())
        ):
            labs.update(
                model._base_manager.exclude(**{LAB_ID: None})
                .order_by()
                .values_list(LAB_ID, flat=True)
                .distinct()
            )
    return labs


def _tables() -> dict[str, set[str]]:
    """Each database alias's table names."""
    return {
        alias: set(connections[alias].introspection.table_names())
        for alias in connections
    }


def _has_lab(model: type[models.Model]) -> bool:
    return any(field.attname == LAB_ID for field in model._meta.concrete_fields)
