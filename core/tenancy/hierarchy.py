"""The lab hierarchy as core sees it: the one module of core that imports
`admin.account.proxies.lab_relation` (the seed's `LabRelations`).

Everything in core that asks "which labs are below or above this one?" asks
here, so the rule lives in one place: a parent lab reaches its descendants
at any depth; a child never reaches its parent or a sibling. These are plain
database reads; `core.tenancy.facts` caches what every request needs.

The imports of `admin.account` are inside the functions: `admin.account`'s
models inherit core's BaseModel, so importing them when core's models load
would be circular. This module is the one place core reaches up to it.
"""


def descendant_lab_ids(lab_id: int) -> list[int]:
    """Ids of every lab below `lab_id` at any depth, sorted, without the lab
    itself. One query.

    Example: with 1 -> 2 -> 4 and 1 -> 3, `descendant_lab_ids(1)` is
    `[2, 3, 4]` and `descendant_lab_ids(2)` is `[4]`.
    """
    from admin.account.proxies.lab_relation import LabRelations

    return LabRelations.get_child_labs(lab_id)


def ancestor_lab_ids(lab_id: int) -> list[int]:
    """Ids of every lab above `lab_id` at any depth, sorted. One query."""
    from admin.account.proxies.lab_relation import LabRelations

    return LabRelations.get_parent_labs(lab_id)


def parent_links(child_lab_ids: list[int]) -> list[tuple[int, int]]:
    """`(child, parent)` for every link whose child is in `child_lab_ids`,
    ordered by child then parent. One query."""
    from admin.account.proxies.lab_relation import LabRelations

    return list(
        LabRelations.objects.filter(child_lab_id__in=child_lab_ids)
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
    from admin.account.models import Lab

    rows = Lab.objects.filter(pk__in=lab_ids).values_list(
        "pk", "is_active", "session_epoch"
    )
    return {pk: (active, epoch) for pk, active, epoch in rows}
