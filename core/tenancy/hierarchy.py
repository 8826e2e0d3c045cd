"""Labs and their hierarchy as core sees them: the one module of core that
reaches `admin.account` (the `Lab` model and the seed's `LabRelations`).

Everything in core that asks "which labs are below or above this one?" asks
here, so the rule lives in one place: a parent lab reaches its descendants
at any depth; a child never reaches its parent or a sibling. These are plain
database reads; `core.tenancy.facts` caches what every request needs.

`admin.account` sits above core (its models inherit core's BaseModel), so
core never imports it: this module asks Django's app registry for its
models when called, as `get_user_model()` does for the user model, and the
rest of core asks this module (`lab_model()`). Imports under TYPE_CHECKING
are for annotations only.
"""

from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from admin.account.models import Lab
    from admin.account.proxies.lab_relation import LabRelations


def lab_model() -> "type[Lab]":
    """The `Lab` model, e.g. `lab_model().objects.get(pk=lab_id)`."""
    return apps.get_model("account", "Lab")


def _relations() -> "type[LabRelations]":
    return apps.get_model("account", "LabRelations")


def descendant_lab_ids(lab_id: int) -> list[int]:
    """Ids of every lab below `lab_id` at any depth, sorted, without the lab
    itself. One query.

    Example: with 1 -> 2 -> 4 and 1 -> 3, `descendant_lab_ids(1)` is
    `[2, 3, 4]` and `descendant_lab_ids(2)` is `[4]`.
    """
    return _relations().get_child_labs(lab_id)


def ancestor_lab_ids(lab_id: int) -> list[int]:
    """Ids of every lab above `lab_id` at any depth, sorted. One query."""
    return _relations().get_parent_labs(lab_id)


def parent_links(child_lab_ids: list[int]) -> list[tuple[int, int]]:
    """`(child, parent)` for every link whose child is in `child_lab_ids`,
    ordered by child then parent. One query."""
    return list(
        _relations()
        .objects.filter(child_lab_id__in=child_lab_ids)
        .order_by("child_lab_id", "parent_lab_id")
        .values_list("child_lab_id", "parent_lab_id")
    )


def first_parent_lab_id(lab_id: int) -> int | None:
    """The lowest id among the lab's direct parents, or None for a top lab."""
    links = parent_links([lab_id])
    return links[0][1] if links else None


def lab_states(lab_ids: list[int]) -> dict[int, tuple[bool, int]]:
    """`{lab id: (is_active, session_epoch)}` of the labs that exist among
    `lab_ids`. One query."""
    rows = (
        lab_model()
        .objects.filter(pk__in=lab_ids)
        .values_list("pk", "is_active", "session_epoch")
    )
    return {pk: (active, epoch) for pk, active, epoch in rows}
