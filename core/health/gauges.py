"""Backlog gauges computed when Prometheus scrapes /core/view/metrics/.

What waits in the database (jobs, log entries, disabled endpoints) is the
same whichever process is asked, so it is read at scrape time by the one
process answering, not counted by every process as it goes (which, summed
over processes, would be wrong). A few indexed queries per scrape:

- `lis_fusion_jobs` {state: ready, running, scheduled},
  `lis_fusion_oldest_ready_age_seconds` (0 when no job waits) and
  `lis_fusion_dead_letters` (pending): the engine's `stats()`, as readiness
  reads it;
- `lis_activity_log_shipping_lag_seconds`: the age of the oldest entry
  waiting to ship to Elasticsearch (0 when none waits),
  `lis_activity_log_quarantined_entries` (refused by Elasticsearch, waiting
  for an operator) and `lis_activity_log_unsealed_entries` (the seal
  backlog: entries not yet on their lab's hash chain);
- `lis_webhook_endpoints_disabled`: endpoints disabled (by hand, or after
  failed deliveries) and not enabled again.

A source that fails (the database down) is left out of the scrape and
`lis_scrape_source_up` {source} says 0 for it; the others are still there.
"""

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from core.activity_log.chain import unsealed_count
from core.activity_log.quarantine import quarantined_count
from core.activity_log.shipping import shipping_lag_seconds
from core.models.webhook import WebhookEndpoint
from core.utils.clients import get_client

logger = logging.getLogger(__name__)


class BacklogCollector:
    """A prometheus_client collector of the gauges of the module docstring.

    Example: `exposition(accept, [BacklogCollector()])`.
    """

    def collect(self) -> Iterator[Metric]:
        """Each source's gauges, then whether each source answered."""
        up = GaugeMetricFamily(
            "lis_scrape_source_up",
            "1 when the scrape could read this source's backlog gauges, else 0.",
            labels=["source"],
        )
        sources: dict[str, Callable[[], list[Metric]]] = {
            "fusion": fusion_gauges,
            "activity_log": activity_log_gauges,
            "webhooks": webhook_gauges,
        }
        for name, source in sources.items():
            try:
                gauges = source()
            except Exception as exc:  # one source down must not hide the others
                logger.warning("metrics: %s gauges unavailable (%r)", name, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from gauges
        yield up


def fusion_gauges() -> list[Metric]:
    """The job queue's backlog (the engine's `stats()`)."""
    stats = get_client("fusion").stats()
    jobs = GaugeMetricFamily(
        "lis_fusion_jobs", "Fusion jobs by state, now.", labels=["state"]
    )
    jobs.add_metric(["ready"], stats.ready)
    jobs.add_metric(["running"], stats.running)
    jobs.add_metric(["scheduled"], stats.scheduled)
    return [
        jobs,
        GaugeMetricFamily(
            "lis_fusion_oldest_ready_age_seconds",
            "How long the oldest job ready to run has waited (0: none waits).",
            value=stats.oldest_ready_age_seconds or 0.0,
        ),
        GaugeMetricFamily(
            "lis_fusion_dead_letters",
            "Dead letters waiting for an operator (manage.py fusion_dead_letters).",
            value=stats.dead_letters,
        ),
    ]


def activity_log_gauges() -> list[Metric]:
    """Shipping lag, quarantined entries and the seal backlog."""
    return [
        GaugeMetricFamily(
            "lis_activity_log_shipping_lag_seconds",
            "Age of the oldest activity log entry waiting to ship (0: none waits).",
            value=shipping_lag_seconds() or 0.0,
        ),
        GaugeMetricFamily(
            "lis_activity_log_quarantined_entries",
            "Activity log entries Elasticsearch refused for good "
            "(manage.py quarantined_activity_logs).",
            value=quarantined_count(),
        ),
        GaugeMetricFamily(
            "lis_activity_log_unsealed_entries",
            "Activity log entries not yet sealed onto their lab's hash chain.",
            value=unsealed_count(),
        ),
    ]


def webhook_gauges() -> list[Metric]:
    """Webhook endpoints disabled and not enabled again."""
    return [
        GaugeMetricFamily(
            "lis_webhook_endpoints_disabled",
            "Webhook endpoints disabled (by hand or after failed deliveries).",
            value=WebhookEndpoint.objects.filter(is_active=False).count(),
        )
    ]
