"""What a backend can do, declared by its class, so callers never ask which
class it is.

A caller that needs more than a service's common interface asks
`client.can(Capability.SEARCH_SERVER)`, never
`isinstance(client, ElasticSearchClient)`: an OpenSearch client, a test
double or a backend written later says what it can do and is treated
accordingly, instead of passing for "something else" because its class is
not the one the caller thought of. `tests/test_backend_capabilities.py`
fails for a project module that decides by a backend's class, and for a
backend class that does not declare its capabilities.
"""

from enum import StrEnum
from typing import ClassVar

__all__ = ["Capability", "DeclaresCapabilities"]


class Capability(StrEnum):
    """Something a backend can do beyond its service's common interface.

    Each member says what a backend that declares it promises.
    """

    #: A search engine apart from the database (Elasticsearch): the activity
    #: log ships its entries to it and reads shipped ones back from it. The
    #: client has `ensure_index_template`, `bulk`, `search(...,
    #: timeout_seconds=)` and a `read_breaker` (a CircuitBreaker).
    SEARCH_SERVER = "search_server"
    #: Files live on this machine: `path_for(key)` is the file holding a
    #: key, and `/core/files/` serves it by signed link.
    LOCAL_FILES = "local_files"
    #: A Redis (or Redis Cluster) that every process of the deployment
    #: reaches: sessions, counters, leases and lab facts keep their own keys
    #: in it, through `redis_client()` (a redis-py client; each call touches
    #: one key, so it works on a cluster).
    SHARED_REDIS = "shared_redis"
    #: Stands in for the real service on this machine: it only logs (Slack,
    #: Pusher), keeps data locally (files, the in-process cache, integration
    #: logs in the database) or is off (search). Right for the embedded
    #: default; with DEBUG off it must be chosen explicitly (settings.
    #: LOCAL_SERVICES, `LIS_LOCAL_SERVICES`), or `manage.py check` fails and
    #: readiness reports it degraded (core.utils.clients.stand_in_services).
    STAND_IN = "stand_in"


class DeclaresCapabilities:
    """Mixin: a class attribute `capabilities` and `can(capability)`.

    Every concrete backend class declares its own `capabilities` (empty
    when it can do nothing beyond the common interface), so a reader of the
    class sees what it promises; the inherited default is for test doubles.
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def can(self, capability: Capability) -> bool:
        """Whether this backend declares `capability`.

        Example: `get_client("s3").can(Capability.LOCAL_FILES)`.
        """
        return capability in self.capabilities
