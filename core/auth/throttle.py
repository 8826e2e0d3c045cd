"""Throttling of sign-in attempts, per account and per client IP.

Every password check of every sign-in path goes through the authentication
backend (core.auth.backend), which asks this throttle first:

1. `begin()` counts the attempt before the password is checked: one atomic
   increment per counter (the account's and the address's). If either count
   is then over its limit (settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT,
   LOGIN_FAILURE_LIMIT_PER_IP, within LOGIN_FAILURE_WINDOW_SECONDS of the
   counter's first attempt), it raises `SignInThrottled` and the password is
   not checked. Counting first is what makes the limit hold against
   parallel attempts: of 40 sent at once with a limit of 5, exactly 5 get
   a password check.
2. `succeeded()` after a right password: the account starts from zero, and
   the address gets its hit back (successes do not use up an address's
   allowance: one address can be a whole lab behind NAT, which is also why
   its limit is higher). A wrong password leaves its hits counted.

Counts live in the cache service's Redis, or in the database when there is
no Redis (core.ratelimit.counters): shared by every process either way.
Account keys hold a hash of the lowercased username, so the store never
holds usernames (or passwords people type into the username field).

With Redis down the sign-in fails closed (`SignInUnavailable`, answered
503): unthrottled guessing would be possible otherwise, and with sessions in
the same Redis no sign-in could complete anyway.

API keys (core.middleware.api_key) use the address counter only, checking
it before the key and counting failures after: a key is a random 256-bit
secret that no number of parallel attempts can guess, so the race that
matters for passwords does not matter there, and valid keys cost no write.
"""

import hashlib
import logging

from django.conf import settings

from core.cache.shared_redis import StoreUnavailable
from core.metrics.families import SIGN_IN_THROTTLED, SIGN_IN_UNAVAILABLE
from core.ratelimit.counters import CounterStore, sign_in_counter_store

logger = logging.getLogger(__name__)


class SignInThrottled(Exception):
    """Too many attempts: answered 429 with Retry-After."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many failed sign-ins; try again in {retry_after_seconds} seconds."
        )
        self.retry_after_seconds = retry_after_seconds


class SignInUnavailable(Exception):
    """The counters cannot be reached, so no password is checked (503)."""

    def __init__(self) -> None:
        super().__init__("Signing in is unavailable for a moment; try again shortly.")


class SignInThrottle:
    """The counters of one attempt: its account (if any) and its IP.

    `store` defaults to `sign_in_counter_store()`. Store failures raise
    `StoreUnavailable` from the `*_failure*` methods (API keys decide what
    that means) and `SignInUnavailable` from `begin()`.
    """

    def __init__(
        self,
        *,
        username: str | None,
        client_ip: str | None,
        store: CounterStore | None = None,
    ) -> None:
        self.store = store or sign_in_counter_store()
        self.window_seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
        self.account_key = account_key(username) if username else None
        self.ip_key = f"signin:ip:{client_ip}" if client_ip else None
        self.limits: list[tuple[str, int]] = []
        if self.account_key:
            self.limits.append(
                (self.account_key, settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT)
            )
        if self.ip_key:
            self.limits.append((self.ip_key, settings.LOGIN_FAILURE_LIMIT_PER_IP))

    def begin(self) -> None:
        """Count this attempt, then refuse it if a count is over its limit."""
        try:
            counts = [
                (self.store.hit(key, self.window_seconds), limit)
                for key, limit in self.limits
            ]
        except StoreUnavailable as exc:
            SIGN_IN_UNAVAILABLE.inc()
            raise SignInUnavailable() from exc
        waits = [
            count.retry_after_seconds for count, limit in counts if count.hits > limit
        ]
        if waits:
            SIGN_IN_THROTTLED.labels("password").inc()
            raise SignInThrottled(max(max(waits), 1))

    def succeeded(self) -> None:
        """After a right password: clear the account, give the IP its hit
        back. If the store fails now, the sign-in goes on: the attempt
        stays counted, which costs the user one attempt of the window."""
        try:
            if self.account_key:
                self.store.reset(self.account_key)
            if self.ip_key:
                self.store.undo(self.ip_key)
        except StoreUnavailable as exc:
            logger.warning("failed sign-ins not cleared after a sign-in: %s", exc)

    def retry_after_seconds(self) -> int:
        """0 when the failures counted so far allow another attempt; else
        the seconds until the longest-lasting exceeded limit ends (API keys)."""
        waits = [
            count.retry_after_seconds
            for key, limit in self.limits
            if (count := self.store.peek(key)).hits >= limit
        ]
        return max(waits, default=0)

    def record_failure(self) -> None:
        """Count one failed attempt on every counter (API keys)."""
        for key, _ in self.limits:
            self.store.hit(key, self.window_seconds)


def account_key(username: str) -> str:
    """The counter key of a username, without the username in it.

    Example: `account_key("Asha")` -> `"signin:account:5f2b..."` (the same for
    "asha": usernames are compared without case, as people type them).
    """
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"signin:account:{digest[:32]}"
