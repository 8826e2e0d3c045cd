"""Sessions in the cache service's Redis: `SESSION_ENGINE = "core.auth.sessions"`.

settings.SESSION_ENGINE selects this engine when the cache service is Redis
or Redis Cluster, and Django's database engine otherwise (the embedded
default). One session is one Redis string, `session:<key>`, holding Django's
signed session encoding, with the session's expiry as its TTL: nothing to
clean up, and one key per session, so it works on a cluster.

It follows the database engine's rules exactly: `create()` never overwrites
an existing session (SET NX), and saving a session that was deleted
meanwhile (a sign-out in another tab) raises UpdateError (SET XX), which
Django turns into a 400 instead of bringing the session back.

Redis down (or the cache breaker open):
- reading a session finds none: the user is treated as signed out (401 on
  session views), never as someone else;
- writing one raises `SessionStoreUnavailable`, which API routes answer with
  503 (`core.middleware.api_errors`), e.g. a sign-in while Redis is down.
"""

import logging
from typing import Any

from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.core.exceptions import ImproperlyConfigured

from core.cache.shared_redis import CacheRedis, StoreUnavailable, cache_redis

logger = logging.getLogger(__name__)

#: Prefix of session keys in Redis.
KEY_PREFIX = "session:"
#: Attempts at a fresh random key before giving up (a clash is ~impossible).
MAX_CREATE_ATTEMPTS = 10


class SessionStoreUnavailable(StoreUnavailable):
    """The session could not be written because Redis is unavailable."""


def _redis() -> CacheRedis:
    redis = cache_redis()
    if redis is None:
        raise ImproperlyConfigured(
            "SESSION_ENGINE 'core.auth.sessions' keeps sessions in the "
            "cache service's Redis, but the cache is in-process. Set "
            "CACHE_REDIS_URL or CACHE_REDIS_CLUSTER_NODES, or use "
            "'django.contrib.sessions.backends.db'."
        )
    return redis


class SessionStore(SessionBase):
    """Django session store on the cache service's Redis client."""

    def _key(self, session_key: str) -> str:
        return KEY_PREFIX + session_key

    def load(self) -> dict[str, Any]:
        """The session's data; {} (and no key) when missing or unreadable."""
        data = None
        if self.session_key is not None:
            key = self._key(self.session_key)
            try:
                data = _redis().call(lambda client: client.get(key))
            except StoreUnavailable as exc:
                logger.warning("session not read, treated as signed out: %s", exc)
        if data is None:
            self._session_key = None
            return {}
        decoded: dict[str, Any] = self.decode(
            data.decode() if isinstance(data, bytes) else data
        )
        return decoded

    def exists(self, session_key: str | None) -> bool:
        """Whether a session with this key is stored."""
        if not session_key:
            return False
        key = self._key(session_key)
        return bool(self._call(lambda client: client.exists(key)))

    def create(self) -> None:
        """Store a new empty session under a fresh key."""
        for _ in range(MAX_CREATE_ATTEMPTS):
            self._session_key = self._get_new_session_key()  # type: ignore[attr-defined]
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise SessionStoreUnavailable(
            f"No free session key after {MAX_CREATE_ATTEMPTS} attempts."
        )

    def save(self, must_create: bool = False) -> None:
        """Write the session with its expiry as TTL: only if absent when
        `must_create` (else CreateError), only if present otherwise (else
        UpdateError)."""
        if self.session_key is None:
            self.create()
            return
        key = self._key(self.session_key)
        data = self.encode(self._get_session(no_load=must_create))  # type: ignore[attr-defined]
        ttl_seconds = max(1, self.get_expiry_age())
        written = self._call(
            lambda client: client.set(
                key, data, ex=ttl_seconds, nx=must_create, xx=not must_create
            )
        )
        if not written:
            raise CreateError if must_create else UpdateError

    def delete(self, session_key: str | None = None) -> None:
        """Remove the session (this one unless `session_key` is given)."""
        session_key = session_key or self.session_key
        if session_key is None:
            return
        key = self._key(session_key)
        self._call(lambda client: client.delete(key))

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: Redis drops sessions when their TTL ends."""

    @staticmethod
    def _call(operation: Any) -> Any:
        try:
            return _redis().call(operation)
        except StoreUnavailable as exc:
            raise SessionStoreUnavailable(
                f"Sessions are unavailable: {exc} Try again shortly."
            ) from exc
