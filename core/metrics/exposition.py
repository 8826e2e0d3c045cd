"""What a scrape gets: the project's metric families in Prometheus's
exposition format, summed over processes in multiprocess mode.

prometheus_client chooses its mode once, when it is first imported, from the
environment variable PROMETHEUS_MULTIPROC_DIR (so it is an environment
variable, not a Django setting: the library reads it before any setting
could be):

- unset (runserver, tests, one process): each metric lives in this
  process's memory, and a scrape reads this process's values;
- set to a directory (gunicorn with several workers, beside Fusion
  workers): every process writes its values to its own files there, and a
  scrape, whichever worker answers it, sums every process's files. gunicorn
  tells the library when a worker exits (config/gunicorn.py, `child_exit`).
  docs/operations.md ("Metrics") says how to provision the directory.
"""

import os
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

#: The environment variable prometheus_client reads.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, or None in single-process mode."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(
    accept: str | None, extra: Iterable[Collector] = ()
) -> tuple[bytes, str]:
    """(body, content type) of a scrape: the families of every process (or
    of this one), then those `extra` collectors compute now, in the format
    the `accept` header asks for (Prometheus text 0.0.4 by default,
    OpenMetrics when asked).

    Example: `exposition("text/plain", [BacklogCollector()])` ->
    `(b"# HELP lis_http_requests_total ...", "text/plain; version=0.0.4; ...")`.
    """
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def forget_process(pid: int) -> None:
    """Multiprocess bookkeeping when process `pid` has exited (gunicorn's
    `child_exit`): its live gauges stop counting. Its counters stay in the
    sums, as counters must. Nothing to do in single-process mode."""
    path = multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(pid, path)


class _ThisProcess:
    """This process's own families (the default registry), as one collector
    of a registry built per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
