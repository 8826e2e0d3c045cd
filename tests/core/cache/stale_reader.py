"""A second process that reads cached rows on demand, for the stale-window
experiment (`tests/core/cache/freeze.py`).

Run as `python -m tests.core.cache.stale_reader <app_label.Model> <lab_id>
<id,id,...>` with DJANGO_SETTINGS_MODULE, DATABASE_URL and CACHE_REDIS_URL
set. It prints `ready`, then for each `read` line on stdin reads every id
with one `get_cached_instances` and prints `{"<id>": <version>, ...}` as one
JSON line; `quit` (or end of input) stops it. It reads only when told, so
it can sit idle through an outage, like a process that never saw one.
"""

import json
import sys

import django


def main(model_label: str, lab_id: str, ids: str) -> None:
    django.setup()
    from django.apps import apps

    model = apps.get_model(model_label)
    wanted = [int(pk) for pk in ids.split(",")]
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "read":
            break
        rows = model.get_cached_instances(wanted, int(lab_id))
        versions = {str(pk): row.version for pk, row in rows.items()}
        print(json.dumps(versions), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
