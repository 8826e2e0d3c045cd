"""Backends of a class the project has never heard of, for capability tests.

`another_class_of(client, capabilities)` is what an OpenSearch client, a
test double or a backend written later looks like to a caller: not the
project's class nor a subclass of it, answering the same calls (here by
forwarding them to a real client) and declaring what it can do. A caller
that decides by class treats it wrongly; one that asks `can()` does not.
"""

from typing import Any

from core.utils.capabilities import Capability
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)


def another_class_of(
    client: Any, capabilities: frozenset[Capability] = frozenset()
) -> ServiceClient:
    """A ServiceClient forwarding every call to `client`, declaring
    `capabilities` (none unless given)."""

    class Forwarding(ServiceClient):
        def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
            result: HealthStatus = client.check(timeout)
            return result

        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

    Forwarding.capabilities = frozenset(capabilities)
    return Forwarding()
