"""The registry of service clients: `get_client("slack")`.

Configured like Django's CACHES / STORAGES, in `settings.SERVICES`:

    SERVICES = {
        "slack": {
            "BACKEND": "core.utils.slack.client.SlackClient",
            "OPTIONS": {"token": "...", "timeout_seconds": 5},
        },
        ...
    }

- A client is built on first use (never at import), once per process and per
  (service, account_id, kwargs), and shared by every thread: clients hold
  connection pools and are thread-safe.
- After `os.fork()` the child forgets the parent's clients (their sockets
  belong to the parent) and builds its own on first use.
- When `settings.SERVICES[service]` changes (`override_settings` in a test),
  the next call builds a new client from the new settings.
- Per-account clients (`account_id` given) are kept for at most
  `settings.SERVICE_ACCOUNT_CLIENTS_MAX` (32) accounts per service; the least
  recently used is closed when another is built, so N accounts never mean N
  connection pools held for ever. Dropped clients are closed after the
  registry's lock is released (a close may wait on the network).
- A client whose own configuration can change while it lives (a
  per-account row) says so through `is_stale()`; the registry builds a new
  one and closes the old. `forget(service, account_id)` drops one at once
  (after such a row's change commits in this process).
- `override_client(service, client)` replaces a service's client inside a
  `with` block, for tests that bring their own.

Adding a service = a module `core/utils/<service>/client.py` with a
`ServiceClient` subclass, an entry in `config/settings/services.py`, and
nothing here. Each client class declares its `capabilities`
(`core.utils.capabilities`); callers ask `client.can(...)`, never the class.
"""

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from core.utils.capabilities import Capability, DeclaresCapabilities

logger = logging.getLogger(__name__)

#: Default bound on a health check; the health endpoint may pass its own.
DEFAULT_CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class HealthStatus:
    """The outcome of one client's `check()`.

    Example: `HealthStatus(ok=False, latency_ms=2001.3, detail="timed out")`.
    `detail` is for operators; it never contains credentials.
    """

    ok: bool
    latency_ms: float
    detail: str = ""


class ServiceClient(DeclaresCapabilities, ABC):
    """Base of every client the registry builds.

    Subclasses take their settings `OPTIONS` as keyword arguments (plus
    `account_id` for per-account services), keep one pooled connection for
    the process, and must be safe to share between threads. Each declares
    `capabilities`: what it can do beyond its service's common interface
    (`frozenset()` for nothing more), asked with `client.can(capability)`.
    """

    @abstractmethod
    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Ask the service whether it is usable, within `timeout` seconds."""

    def close(self) -> None:
        """Release pooled connections; called when the registry drops the
        client (replaced, stale, evicted, forgotten), outside its lock.
        Another thread may still be using the client then: a client whose
        library refuses use after close defers it until its operations in
        flight end (as `DocumentDBClient` does). Must be idempotent."""

    def is_stale(self) -> bool:
        """Whether the configuration this client was built from has changed
        since (the registry then builds a new one). Asked on every
        `get_client`, so it must be cheap: a client that checks a database
        row does so at most every few seconds. Settings-built clients never
        are (a settings change is seen by the registry itself)."""
        return False

    @staticmethod
    def timed_check(probe: Callable[[], str | None]) -> HealthStatus:
        """Run `probe` (which raises on failure, or returns a detail string)
        and time it. The failure's class name is reported, never its message,
        which may carry a connection URL."""
        started = time.perf_counter()
        try:
            detail = probe() or ""
        except Exception as exc:  # a health check reports, it does not raise
            elapsed = (time.perf_counter() - started) * 1000
            return HealthStatus(ok=False, latency_ms=elapsed, detail=type(exc).__name__)
        elapsed = (time.perf_counter() - started) * 1000
        return HealthStatus(ok=True, latency_ms=elapsed, detail=detail)


class UnknownServiceError(ImproperlyConfigured):
    """`get_client` was asked for a service that `settings.SERVICES` lacks."""


_Key = tuple[str, Any, tuple[tuple[str, Any], ...]]
#: Per-account clients kept per service, when settings do not say.
DEFAULT_ACCOUNT_CLIENTS_MAX = 32


class ClientRegistry:
    """Builds, caches and replaces service clients; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Insertion-ordered; per-account entries are moved to the end on
        # use, so the first per-account key of a service is its least
        # recently used.
        self._clients: dict[_Key, tuple[dict[str, Any], Any]] = {}
        self._overrides: dict[str, list[Any]] = {}

    def get(self, service: str, account_id: Any = None, **kwargs: Any) -> Any:
        """The client for `service` (and `account_id`), built on first use.

        Clients this drops (replaced, or evicted beyond the bound) are closed
        after the lock is released: a close can wait on the network, and
        every other thread's `get` waits on the lock."""
        if self._overrides.get(service):
            return self._overrides[service][-1]
        config = self._config(service)
        key: _Key = (service, account_id, tuple(sorted(kwargs.items())))
        cached = self._clients.get(key)
        if account_id is None and cached is not None and cached[0] is config:
            return cached[1]  # the hot path: settings-built clients
        dropped: list[Any] = []
        try:
            with self._lock:
                return self._get_locked(key, config, dropped)
        finally:
            for old in dropped:
                _close_quietly(service, old)

    def _get_locked(self, key: _Key, config: dict[str, Any], dropped: list[Any]) -> Any:
        """`get` under the lock; appends the clients it drops to `dropped`."""
        service, account_id, kwargs = key
        cached = self._clients.get(key)
        if cached is not None and self._usable(cached, config, account_id):
            if account_id is not None:
                self._clients[key] = self._clients.pop(key)  # most recent
            return cached[1]
        if cached is not None:
            dropped.append(self._clients.pop(key)[1])
        client = _build(service, config, account_id, dict(kwargs))
        self._clients[key] = (config, client)
        if account_id is not None:
            dropped.extend(self._evict_least_recent(service))
        return client

    @staticmethod
    def _usable(
        cached: tuple[dict[str, Any], Any], config: dict[str, Any], account_id: Any
    ) -> bool:
        """Built from the current settings and, for an account, not stale."""
        client = cached[1]
        return cached[0] is config and (account_id is None or not client.is_stale())

    def forget(self, service: str, account_id: Any) -> None:
        """Close and drop `service`'s clients of `account_id` (every kwargs
        variant); the next `get` builds a new one."""
        with self._lock:
            keys = [k for k in self._clients if k[0] == service and k[1] == account_id]
            dropped = [self._clients.pop(key)[1] for key in keys]
        for client in dropped:
            _close_quietly(service, client)

    def _evict_least_recent(self, service: str) -> list[Any]:
        """Drop `service`'s least recently used per-account clients beyond
        SERVICE_ACCOUNT_CLIENTS_MAX and return them, for the caller to close
        once it has released the lock. Called with the lock held."""
        bound = getattr(
            settings, "SERVICE_ACCOUNT_CLIENTS_MAX", DEFAULT_ACCOUNT_CLIENTS_MAX
        )
        keys = [k for k in self._clients if k[0] == service and k[1] is not None]
        evicted = [self._clients.pop(k)[1] for k in keys[: max(0, len(keys) - bound)]]
        if evicted:
            logger.info(
                "closing %d least recently used %s client(s)", len(evicted), service
            )
        return evicted

    def known_services(self) -> list[str]:
        """Names configured in settings.SERVICES, sorted."""
        return sorted(getattr(settings, "SERVICES", {}))

    def reset(self) -> None:
        """Close and forget every client (they are rebuilt on next use)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for (service, _, _), (_, client) in clients.items():
            _close_quietly(service, client)

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's clients without closing them
        (their sockets are the parent's) and start with a fresh lock."""
        self._lock = threading.Lock()
        self._clients = {}

    @contextmanager
    def override(self, service: str, client: Any) -> Iterator[Any]:
        """Use `client` for `service` inside the block (nestable)."""
        self._config(service)  # an unknown name is an error here too
        self._overrides.setdefault(service, []).append(client)
        try:
            yield client
        finally:
            self._overrides[service].pop()

    def _config(self, service: str) -> dict[str, Any]:
        services = getattr(settings, "SERVICES", {})
        if service not in services:
            known = ", ".join(sorted(services)) or "none configured"
            raise UnknownServiceError(
                f"Unknown service {service!r}. Known services: {known}."
            )
        config: dict[str, Any] = services[service]
        return config


def _build(
    service: str, config: dict[str, Any], account_id: Any, kwargs: dict[str, Any]
) -> Any:
    try:
        backend = import_string(config["BACKEND"])
    except (KeyError, ImportError) as exc:
        raise ImproperlyConfigured(
            f"settings.SERVICES[{service!r}]['BACKEND'] must be the dotted path "
            f"of a client class: {exc}"
        ) from exc
    options = {**config.get("OPTIONS", {}), **kwargs}
    if account_id is not None:
        options["account_id"] = account_id
    return backend(**options)


def _close_quietly(service: str, client: Any) -> None:
    try:
        client.close()
    except Exception:  # closing a replaced client must not break the caller
        logger.warning("closing the %s client failed", service, exc_info=True)


registry = ClientRegistry()
os.register_at_fork(after_in_child=registry.forget_after_fork)


def get_client(service: str, account_id: Any = None, **kwargs: Any) -> Any:
    """The process's client for `service`; see the module docstring.

    Example: `get_client("s3").upload(key, data)`,
    `get_client("docdb", account_id=123)`.
    """
    return registry.get(service, account_id, **kwargs)


def override_client(service: str, client: Any) -> Any:
    """Context manager: `with override_client("slack", client): ...`."""
    return registry.override(service, client)


def stand_in_services() -> dict[str, str]:
    """The services of settings.SERVICES whose backend (or a backend in its
    OPTIONS, such as the cache's storage) stands in for the real service
    (`Capability.STAND_IN`): name -> backend class name.

    Example: with no variables set, `{"slack": "LogSlackClient", "pusher":
    "LogPusherClient", "s3": "LocalFileS3Client", ...}`.
    """
    found = {}
    for name, config in settings.SERVICES.items():
        for backend in _backend_classes(config):
            if Capability.STAND_IN in getattr(backend, "capabilities", ()):
                found[name] = backend.__name__
    return found


def unchosen_stand_ins() -> dict[str, str]:
    """The stand-ins (as `stand_in_services`) that production did not choose:
    with DEBUG off, those not named in settings.LOCAL_SERVICES
    (`LIS_LOCAL_SERVICES`); in DEBUG, none."""
    if settings.DEBUG:
        return {}
    chosen = set(settings.LOCAL_SERVICES)
    return {n: c for n, c in stand_in_services().items() if n not in chosen}


def _backend_classes(config: dict[str, Any]) -> list[type]:
    """The classes named by a service's BACKEND and by any nested
    `{"BACKEND": ...}` option; a path that does not import is left to the
    services check (core.checks) to report."""
    paths = [config.get("BACKEND")] + [
        value.get("BACKEND")
        for value in config.get("OPTIONS", {}).values()
        if isinstance(value, dict)
    ]
    classes = []
    for path in paths:
        if isinstance(path, str):
            try:
                classes.append(import_string(path))
            except ImportError:
                continue
    return classes
