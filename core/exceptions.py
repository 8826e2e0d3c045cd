"""Exceptions raised by core for callers to catch and translate.

Messages are written for people: they say what went wrong and what to do, and
never carry field values (which may be patient data).
"""

from typing import Any


class VersionConflict(Exception):
    """A save or delete from a stale copy: someone else changed the row since it
    was loaded. The caller reloads, re-applies the change and tries again; the
    web layer answers 409 Conflict.

    Example message: "Patient 12 was changed by someone else since you loaded it
    (your version 3, current version 4). Reload it and apply your change again."
    """

    def __init__(
        self,
        model_name: str,
        pk: Any,
        loaded_version: int,
        current_version: int | None,
    ) -> None:
        self.model_name = model_name
        self.pk = pk
        self.loaded_version = loaded_version
        self.current_version = current_version
        if current_version is None:
            message = (
                f"{model_name} {pk} was deleted by someone else since you loaded it "
                f"(your version {loaded_version})."
            )
        else:
            message = (
                f"{model_name} {pk} was changed by someone else since you loaded it "
                f"(your version {loaded_version}, current version {current_version}). "
                "Reload it and apply your change again."
            )
        super().__init__(message)


class HooksBypassError(TypeError):
    """A bulk QuerySet write that would skip BaseModel's save or delete discipline
    (validation, hooks, versioning). The message names the method to use instead.
    """
