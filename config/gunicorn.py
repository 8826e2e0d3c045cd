"""gunicorn settings of the production command (README, "Running in
production"): `gunicorn -c config/gunicorn.py config.wsgi:application ...`.

`post_worker_init`: each worker renders one small PDF as soon as it has
loaded the app (core.pdf_sync.warm_up). WeasyPrint's first render in a
process sets up fonts and libraries (~0.2 s); done here, no request waits
for it (during it the worker's other threads would), and every render
process the worker forks starts warm.

It also shortens the interpreter's thread switch interval from 5 ms to
WORKER_SWITCH_INTERVAL_SECONDS. A worker's threads share one GIL: while one
thread parses a large body (a refused 180 KB PDF request takes ~15 ms of
Python), a short request of another lab in a sibling thread waited up to
5 ms at each switch. bench/bench_pdf_load measured another lab's patient
list p99 at 2.3-2.7x idle with 5 ms, 1.7-1.95x with 1 ms.

`child_exit`: with PROMETHEUS_MULTIPROC_DIR set, every worker writes its
metrics to files there and a scrape sums them (core/metrics/exposition.py);
when a worker exits, prometheus_client is told, so its live gauges stop
counting (its counters stay in the sums).
"""

import sys
from typing import Any

#: How long a thread of a worker holds the GIL before another may run.
WORKER_SWITCH_INTERVAL_SECONDS = 0.001


def post_worker_init(worker: Any) -> None:
    """Warm the worker's PDF renderer up; see the module docstring."""
    # Imported here: gunicorn reads this file before the app (and Django) load.
    from core.pdf_sync import warm_up

    warm_up()
    sys.setswitchinterval(WORKER_SWITCH_INTERVAL_SECONDS)


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: multiprocess metrics bookkeeping (module docstring)."""
    # Imported here, like post_worker_init's: the master need not load Django.
    from core.metrics.exposition import forget_process

    forget_process(worker.pid)
