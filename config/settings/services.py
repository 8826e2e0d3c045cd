"""settings.SERVICES: which client class serves each service, with its options.

Read by `core.utils.clients.get_client`. Each service has an embedded default
that needs no server, and a real backend chosen when its environment
variables are set. One section per service; adding a service adds a section
and an entry in SERVICES at the end.
"""

from pathlib import Path
from typing import Any


def build_services(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The SERVICES setting, from the environment."""
    return {
        "fusion": _fusion(),
    }


# -- fusion -------------------------------------------------------------------
def _fusion() -> dict[str, Any]:
    """The job queue's client; the engine itself is chosen by settings.TASKS."""
    return {"BACKEND": "core.utils.fusion.client.FusionClient", "OPTIONS": {}}
