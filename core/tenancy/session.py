"""The lab a session is signed in to: the one module that reads or writes
the session keys `labId` (lab staff) and `docLabId` (doctors), the names
kept from the original app.

Views never read these keys: they read `request.scope`, which
`LabContextMiddleware` builds from them after re-authorising the session
(core.tenancy.access). A test fails for any other module that names them.

Beside the lab, a session records the session epochs of the user, the
user's home lab and the signed-in lab at sign-in (`labEpochs`). Deactivating
a user or a lab (or moving a user to another lab or kind) bumps its epoch,
so a session from before no longer matches and is ended; reactivating does
not bring it back. Sessions from before epochs existed count as epoch 0.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from core.tenancy.scope import LabKind

_STAFF_KEY = "labId"
_DOCTOR_KEY = "docLabId"
_EPOCHS_KEY = "labEpochs"
#: Which session key holds the lab of each kind of session (staff first).
_KEYS = {LabKind.STAFF: _STAFF_KEY, LabKind.DOCTOR: _DOCTOR_KEY}


@dataclass(frozen=True)
class SessionLab:
    """What a session says it is signed in to.

    Example: `SessionLab(lab_id=3, kind=LabKind.DOCTOR, epochs=(0, 1, 1))`:
    epochs of the user, the home lab and this lab at sign-in.
    """

    lab_id: int
    kind: LabKind
    epochs: tuple[int, int, int]


def parse_lab_id(value: Any) -> int | None:
    """A positive lab id from an int or a string of ASCII digits, else None.

    Example: `parse_lab_id("12") == 12`; `parse_lab_id("x")`, `parse_lab_id(0)`,
    `parse_lab_id(True)`, `parse_lab_id("١٢")` and `parse_lab_id(None)` are None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() else None
    if isinstance(value, int) and value > 0:
        return value
    return None


def read_session_lab(session: SessionBase) -> SessionLab | None:
    """The lab the session is signed in to (`labId` first, then
    `docLabId`), or None when neither holds a usable id. Not authorised:
    see core.tenancy.access for that."""
    for kind, key in _KEYS.items():
        lab_id = parse_lab_id(session.get(key))
        if lab_id is not None:
            return SessionLab(lab_id, kind, _epochs(session.get(_EPOCHS_KEY)))
    return None


def start_lab_session(
    session: SessionBase, lab_id: int, kind: LabKind, epochs: tuple[int, int, int]
) -> None:
    """Record the lab a user just signed in to under the key of their kind
    (removing the other kind's), with the epochs it was authorised at."""
    if kind not in _KEYS:
        raise ValueError(f"A session is for lab staff or a doctor, not {kind!r}.")
    for key in _KEYS.values():
        session.pop(key, None)
    session[_KEYS[kind]] = lab_id
    session[_EPOCHS_KEY] = list(epochs)


def _epochs(value: Any) -> tuple[int, int, int]:
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1], value[2])
    if value is None:
        return (0, 0, 0)  # signed in before epochs were recorded
    return (-1, -1, -1)  # unreadable: matches nothing, so the session ends
