"""Who is acting, and for which request: ContextVars the activity log reads.

Middleware sets them for each request; `acting_as(...)` sets the actor for
jobs and management commands, so every entry is attributed. ContextVars
follow threads and asyncio tasks correctly, unlike thread-locals.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    """What kind of actor made a change."""

    STAFF = "staff"
    DOCTOR = "doctor"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The actor as they were at that moment (name and role can change later).

    Example: `Actor(id="12", name="Asha Rao", role="technician", kind=ActorKind.STAFF)`.
    """

    id: str
    name: str
    role: str
    kind: ActorKind


@dataclass(frozen=True)
class RequestInfo:
    """Where a change came from."""

    request_id: str = ""
    client_ip: str | None = None
    user_agent: str = ""


#: The actor when nothing set one: a change made by the system itself.
SYSTEM_ACTOR = Actor(id="system", name="System", role="", kind=ActorKind.SYSTEM)

_actor: ContextVar[Actor | None] = ContextVar("activity_actor", default=None)
_request: ContextVar[RequestInfo | None] = ContextVar("activity_request", default=None)


def current_actor() -> Actor:
    """The actor of the current context, or SYSTEM_ACTOR."""
    return _actor.get() or SYSTEM_ACTOR


def current_request() -> RequestInfo:
    """The request of the current context, or an empty RequestInfo."""
    return _request.get() or RequestInfo()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute everything logged inside the block to `actor`.

    Example: `with acting_as(Actor("job:7", "Release job", "", ActorKind.SYSTEM)):`.
    """
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


@contextmanager
def in_request(info: RequestInfo) -> Iterator[RequestInfo]:
    """Attach `info` (request id, IP, user agent) to entries inside the block."""
    token = _request.set(info)
    try:
        yield info
    finally:
        _request.reset(token)


def actor_for_user(user: Any) -> Actor:
    """A signed-in user as the activity log records them.

    Example: `Actor(id="12", name="Asha Rao", role="staff", kind=ActorKind.STAFF)`;
    a superuser's role is "superuser".
    """
    kind_name = str(getattr(user, "kind", ""))
    kind = ActorKind.DOCTOR if kind_name == "doctor" else ActorKind.STAFF
    role = "superuser" if user.is_superuser else kind_name
    return Actor(
        id=str(user.pk),
        name=user.get_full_name() or user.get_username(),
        role=role,
        kind=kind,
    )


def actor_for_api_key(api_key: Any) -> Actor:
    """An API key as the activity log records it.

    Example: `Actor(id="api_key:4", name="Analyser bridge", role="api_key",
    kind=ActorKind.API_KEY)`. The key's secret is never part of it.
    """
    return Actor(
        id=f"api_key:{api_key.pk}",
        name=api_key.name,
        role="api_key",
        kind=ActorKind.API_KEY,
    )
