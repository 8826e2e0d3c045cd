"""LabScope: the labs a request, a job or a command acts for and may read.

A scope is a lab, how the caller came to act for it (`LabKind`), and the
lab ids it may read: the lab itself first, then (for staff, API keys and
trusted callers) every lab below it; a doctor reads their own lab only.

Requests get theirs from `LabContextMiddleware` (`request.scope`), which
re-authorises the session or API key on every request
(`core.tenancy.access`). Jobs and commands, which act for a lab they were
given by code that already checked it, build one with `trusted_scope`: its
name says that it trusts its caller. Never pass it a value from a request.

Lab-owned rows are read through a scope only: `Model.objects.in_scope(scope)`
and `Model.get_in_scope(scope, ...)` (core.models.lab_scoped).
"""

from dataclasses import dataclass
from enum import StrEnum

from core.tenancy.hierarchy import descendant_lab_ids


class LabKind(StrEnum):
    """How the caller came to act for its lab."""

    STAFF = "staff"
    DOCTOR = "doctor"
    API_KEY = "api_key"
    #: A job or command acting for a lab its caller vouches for.
    TRUSTED = "trusted"


@dataclass(frozen=True)
class LabScope:
    """A lab, the caller's kind, and the labs it may read (the lab first).

    Example: staff of lab 1 (children 2 and 3):
    `LabScope(lab_id=1, kind=LabKind.STAFF, lab_ids=(1, 2, 3))`;
    a doctor of lab 2: `LabScope(2, LabKind.DOCTOR, (2,))`.
    """

    lab_id: int
    kind: LabKind
    lab_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.lab_ids or self.lab_ids[0] != self.lab_id:
            raise ValueError(
                f"A scope's lab_ids start with its lab ({self.lab_id}); "
                f"got {self.lab_ids!r}."
            )

    def __contains__(self, lab_id: object) -> bool:
        return lab_id in self.lab_ids

    @property
    def child_lab_ids(self) -> tuple[int, ...]:
        """The labs below the scope's lab that it may read (none for a doctor)."""
        return self.lab_ids[1:]


def trusted_scope(lab_id: int, *, include_children: bool = True) -> LabScope:
    """The scope of a job or command acting for `lab_id`, which its caller
    vouches for (a row's own lab, an operator's --lab argument). Reads the
    hierarchy from the database (one query with children).

    Example: `Patient.objects.in_scope(trusted_scope(report.lab_id))`.
    """
    children = descendant_lab_ids(lab_id) if include_children else []
    return LabScope(lab_id, LabKind.TRUSTED, (lab_id, *children))
