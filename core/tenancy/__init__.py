"""Tenancy: which labs a request, a job or a command may read.

One seam for every lab-scoped read in the project:

- `scope`: `LabScope` (a lab, the caller's `LabKind`, the lab ids it may
  read) and `trusted_scope(lab_id)` for jobs and commands.
- `access`: the rules of who may act for which lab, applied at sign-in and
  re-applied on every request by `LabContextMiddleware`, which sets
  `request.scope`.
- `session`: the session keys `labId` / `docLabId` (nothing else reads them).
- `facts`: what authorisation needs about labs, cached in Redis with
  race-free invalidation.
- `hierarchy`: the only module of core that imports the lab hierarchy
  (`admin.account.proxies.lab_relation`).

Views read `request.scope` (or `request.lab_id`, `request.lab_kind`,
`request.child_lab_ids`, set from it); models are read through
`Model.objects.in_scope(scope)` and `Model.get_in_scope(scope, ...)`.
"""

from core.tenancy.scope import LabKind, LabScope, trusted_scope

__all__ = ["LabKind", "LabScope", "trusted_scope"]
