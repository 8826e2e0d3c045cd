"""The signed-in user of a request, from Redis instead of a query.

Django's AuthenticationMiddleware loads `request.user` from the database on
every request. With sessions in Redis (the cache service is Redis or Redis
Cluster), `SignedInUserBackend` (core/auth/backend.py, in
settings.AUTHENTICATION_BACKENDS) reads each signed-in user from there too,
so a request with a session costs no query:

- What is kept: the user's columns except the password hash, which never
  leaves the database. A cached user has `password` deferred (read from the
  database if anything asks for it), and carries the session hash computed
  from it when it was cached, which is what Django compares with the
  session's (`CachedSessionHashMixin`, mixed into the user model).
- Invalidation, race-free: each user has a generation counter beside the
  entry. A save or delete of the user, and a queryset update or delete of
  users, increments it after commit (`forget_signed_in_users`); an entry is
  used only if it was filled at the current generation, so an entry filled
  from a read that raced with the change is never used. A deactivated user,
  or a changed password, signs the user's sessions out at the next request.
- Keys: `signed-in-user:{12}` and `signed-in-user:{12}:generation`; the
  braces put both in one slot of a Redis Cluster (one MGET reads both).
  The entry lives ENTRY_TTL_SECONDS; the counter longer, so no entry can
  outlive the counter it was checked against.
- Redis down (or its breaker open): users are read from the database, as
  Django does. An invalidation that cannot reach Redis is logged; the
  entry it missed expires within ENTRY_TTL_SECONDS.
- The embedded default (in-process cache, sessions in the database) caches
  nothing: each worker process would keep a copy no other could invalidate.
"""

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import suppress
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import router

from core.cache.shared_redis import StoreUnavailable, cache_redis

logger = logging.getLogger(__name__)

#: How long a signed-in user stays cached (also the longest a missed
#: invalidation can leave a stale entry).
ENTRY_TTL_SECONDS = 60
#: How long a generation counter outlives its last increment.
GENERATION_TTL_SECONDS = 10 * ENTRY_TTL_SECONDS


class CachedSessionHashMixin:
    """For the user model: a user read from the cache has no password hash
    to compute its session hash from, so it carries the one computed when it
    was cached. Users read from the database compute it as Django does."""

    #: Set on users read from the cache (`_from_entry`).
    cached_session_auth_hash: str | None = None
    cached_session_auth_fallback_hashes: list[str] | None = None

    def get_session_auth_hash(self) -> str:
        if self.cached_session_auth_hash is not None:
            return self.cached_session_auth_hash
        computed: str = super().get_session_auth_hash()  # type: ignore[misc]
        return computed

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        if self.cached_session_auth_fallback_hashes is not None:
            yield from self.cached_session_auth_fallback_hashes
            return
        yield from super().get_session_auth_fallback_hash()  # type: ignore[misc]


def signed_in_user(user_id: Any) -> Any:
    """The user `user_id`, from Redis when cached at its current generation,
    else from the database (then cached); None if there is no such user."""
    redis = cache_redis()
    if redis is None:
        return _from_database(user_id)
    key, generation_key = _keys(user_id)
    try:
        cached, generation = redis.call(lambda r: r.mget([key, generation_key]))
    except StoreUnavailable:
        return _from_database(user_id)
    generation = int(generation or 0)
    user = _from_entry(cached, generation) if cached is not None else None
    if user is not None:
        return user
    user = _from_database(user_id)
    if user is not None:
        document = json.dumps(_entry(user, generation), cls=DjangoJSONEncoder)
        # If Redis fails here, the user was served from the database and the
        # next request tries again.
        with suppress(StoreUnavailable):
            redis.call(lambda r: r.set(key, document, ex=ENTRY_TTL_SECONDS))
    return user


def forget_signed_in_users(user_ids: Iterable[Any]) -> None:
    """Make the cached entries of `user_ids` unusable (call after commit)."""
    redis = cache_redis()
    if redis is None:
        return
    generation_keys = [_keys(user_id)[1] for user_id in user_ids]
    if not generation_keys:
        return

    def increment(client: Any) -> None:
        pipeline = client.pipeline(transaction=False)
        for generation_key in generation_keys:
            pipeline.incr(generation_key)
            pipeline.expire(generation_key, GENERATION_TTL_SECONDS)
        pipeline.execute()

    try:
        redis.call(increment)
    except StoreUnavailable as exc:
        logger.warning(
            "signed-in users %s not invalidated (their cache entries expire "
            "within %s s): %s",
            user_ids, ENTRY_TTL_SECONDS, exc,
        )  # fmt: skip


def _keys(user_id: Any) -> tuple[str, str]:
    key = f"signed-in-user:{{{user_id}}}"
    return key, f"{key}:generation"


@cache
def _cached_fields() -> list[Any]:
    return [f for f in get_user_model()._meta.concrete_fields if f.name != "password"]


def _from_database(user_id: Any) -> Any:
    model = get_user_model()
    try:
        return model._default_manager.get(pk=user_id)
    except model.DoesNotExist:
        return None


def _entry(user: Any, generation: int) -> dict[str, Any]:
    return {
        "generation": generation,
        "fields": {f.attname: f.value_from_object(user) for f in _cached_fields()},
        "session_auth_hash": user.get_session_auth_hash(),
        "fallback_hashes": list(user.get_session_auth_fallback_hash()),
    }


def _from_entry(cached: bytes, generation: int) -> Any:
    """The user in a cached entry filled at `generation`, else None (also
    for an entry this code cannot read, e.g. written before a new column)."""
    try:
        entry = json.loads(cached)
        if entry["generation"] != generation:
            return None
        stored = entry["fields"]
        fields = _cached_fields()
        values = [
            None if stored[f.attname] is None else f.to_python(stored[f.attname])
            for f in fields
        ]
        session_hash, fallback_hashes = (
            entry["session_auth_hash"],
            entry["fallback_hashes"],
        )
    except (ValueError, KeyError, TypeError, ValidationError):
        return None
    model = get_user_model()
    user: Any = model.from_db(
        router.db_for_read(model), [f.attname for f in fields], values
    )
    user.cached_session_auth_hash = session_hash
    user.cached_session_auth_fallback_hashes = fallback_hashes
    return user
