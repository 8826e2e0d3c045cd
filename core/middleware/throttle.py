"""Throttling of failed sign-ins, per account and per client IP.

After settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT failed sign-ins for one
username, or settings.LOGIN_FAILURE_LIMIT_PER_IP failures (passwords and API
keys) from one address, within settings.LOGIN_FAILURE_WINDOW_SECONDS of the
first, further attempts are refused with 429 and Retry-After until that
window ends; the password is not even checked. A successful sign-in clears
its account's count (not its IP's: one address can be a whole lab behind
NAT, which is also why the per-IP limit is higher).

Counts are windowed counters (`core.middleware.counters`) in the cache
service's Redis, or in process. Account keys hold a hash of the lowercased
username, so Redis never holds usernames (or the passwords people type into
the username field by mistake).

With Redis down the password sign-in **fails closed** (503 before the
password is checked): unthrottled guessing would be possible otherwise, and
with sessions in the same Redis no sign-in could complete anyway. API keys,
random 256-bit secrets nobody can guess, are not held up by the outage: the
API-key middleware skips the throttle then.
"""

import hashlib

from django.conf import settings

from core.middleware.counters import CounterStore, counter_store


class SignInThrottle:
    """The failure counters of one attempt: its account (if any) and its IP.

    Methods raise `StoreUnavailable` when the counters cannot be read or
    written; callers choose what that means (see the module docstring).
    """

    def __init__(
        self,
        *,
        username: str | None,
        client_ip: str | None,
        store: CounterStore | None = None,
    ) -> None:
        self.store = store or counter_store()
        self.window_seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
        self.account_key = account_key(username) if username else None
        self.limits: list[tuple[str, int]] = []
        if self.account_key:
            self.limits.append(
                (self.account_key, settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT)
            )
        if client_ip:
            self.limits.append(
                (f"signin:ip:{client_ip}", settings.LOGIN_FAILURE_LIMIT_PER_IP)
            )

    def retry_after_seconds(self) -> int:
        """0 when the attempt may proceed; otherwise the seconds until the
        longest-lasting exceeded limit ends."""
        waits = [
            count.retry_after_seconds
            for key, limit in self.limits
            if (count := self.store.peek(key)).hits >= limit
        ]
        return max(waits, default=0)

    def record_failure(self) -> None:
        """Count one failed attempt on the account and on the IP."""
        for key, _ in self.limits:
            self.store.hit(key, self.window_seconds)

    def forget_account_failures(self) -> None:
        """After a successful sign-in: the account starts from zero."""
        if self.account_key:
            self.store.reset(self.account_key)


def account_key(username: str) -> str:
    """The counter key of a username, without the username in it.

    Example: `account_key("Asha")` -> `"signin:account:5f2b..."` (the same for
    "asha": usernames are compared without case, as people type them).
    """
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"signin:account:{digest[:32]}"
