"""settings.SERVICES: which client class serves each service, with its options.

Read by `core.utils.clients.get_client`. Each service has an embedded default
that needs no server, and a real backend chosen when its environment
variables are set. One section per service; adding a service adds a section
and an entry in SERVICES at the end.
"""

from pathlib import Path
from typing import Any

from config.settings.env import env_int, env_list, env_str


def build_services(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The SERVICES setting, from the environment."""
    return {
        "fusion": _fusion(),
        "cache": _cache(),
    }


# -- fusion -------------------------------------------------------------------
def _fusion() -> dict[str, Any]:
    """The job queue's client; the engine itself is chosen by settings.TASKS."""
    return {"BACKEND": "core.utils.fusion.client.FusionClient", "OPTIONS": {}}


# -- cache --------------------------------------------------------------------
def _cache() -> dict[str, Any]:
    """The instance cache (core/cache): in-process unless Redis is configured.

    CACHE_REDIS_URL (e.g. redis://127.0.0.1:6379/0) selects Redis;
    CACHE_REDIS_CLUSTER_NODES (host:port,host:port) selects Redis Cluster.
    """
    options: dict[str, Any] = {
        "socket_timeout_seconds": env_int("CACHE_REDIS_TIMEOUT_MS", 100) / 1000,
        "failure_threshold": env_int("CACHE_BREAKER_FAILURES", 3),
        "reset_after_seconds": env_int("CACHE_BREAKER_RESET_SECONDS", 5),
    }
    cluster_nodes = env_list("CACHE_REDIS_CLUSTER_NODES", [])
    url = env_str("CACHE_REDIS_URL", "")
    if cluster_nodes:
        options.update(backend="cluster", cluster_nodes=cluster_nodes)
    elif url:
        options.update(backend="redis", url=url)
    else:
        options = {"backend": "local"}
    return {"BACKEND": "core.cache.HashCache", "OPTIONS": options}
