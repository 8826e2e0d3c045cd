"""The broker engine's Celery app and publisher (Celery on RabbitMQ).

One Celery app per process and backend configuration (`broker_link()`), used
both to publish and, in a worker, to consume. Messages carry only the id of
a `FusionJob` row; the row (in the database) is the source of truth for the
job's arguments, attempts and state.

Delivery guarantees, and the Celery settings that give them:
- publisher confirms (`confirm_publish`): a publish returns only once
  RabbitMQ has the message; durable queues and persistent messages keep it
  across a broker restart;
- `acks_late` + `reject_on_worker_lost`: a message is acknowledged after the
  job ran, so a worker killed mid-run (SIGKILL, OOM) leaves it to be
  redelivered to another worker;
- prefetched messages are unacknowledged too, so a dead worker's prefetched
  jobs go back to the queue as well.
"""

import logging
import os
import threading
import time

from celery import Celery  # type: ignore[import-untyped]
from django.tasks import DEFAULT_TASK_QUEUE_NAME, task_backends

from core.fusion.broker_worker import MaintenanceStep, PromptCallbacksStep, run_job
from core.fusion.execution import redact
from core.utils.fusion.exceptions import FusionConfigurationError
from core.utils.fusion.options import EngineOptions

logger = logging.getLogger(__name__)

#: Jobs between the Celery fix-up's forced reconnects (see build_celery_app).
DB_REUSE_MAX = 1_000_000
#: The one Celery task name: it runs whichever Fusion job the message names.
RUN_JOB_TASK_NAME = "fusion.run_job"


class FusionCelery(Celery):
    """A Celery app that knows which `settings.TASKS` alias it serves."""

    fusion_alias: str = "default"


def build_celery_app(alias: str, options: EngineOptions) -> FusionCelery:
    """A configured Celery app for the backend `alias`; see the module doc."""
    app = FusionCelery(f"fusion-{alias}", set_as_current=False)
    app.fusion_alias = alias
    app.conf.update(
        broker_url=options.broker_url,
        broker_connection_timeout=options.publish_timeout_seconds,
        broker_connection_retry_on_startup=True,
        # Publishing fails fast (one immediate reconnect for a stale pooled
        # connection) instead of kombu's default of retrying for the whole
        # connect timeout: the relay publishes later, the request moves on.
        broker_transport_options={
            "confirm_publish": True,
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A hard time limit kill is acknowledged: the row stays RUNNING and
        # the recovery applies backoff and counts it, like any lost worker.
        task_acks_on_failure_or_timeout=True,
        # Celery's default. 1 (one message per process beyond the running
        # one) would be fairer to long jobs, but costs a round trip per job:
        # bench_jobs (--no-pin, 7 rounds, with PromptCallbacksStep) measured
        # 703 jobs/s (563-893) against 896 (825-978) with 4. Before that step
        # it also stalled a busy worker for up to 2 s between jobs (15-65
        # jobs/s; celery/celery#3978).
        worker_prefetch_multiplier=4,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=options.queue_prefix + DEFAULT_TASK_QUEUE_NAME,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        # Celery's Django fix-up closes every database connection before and
        # after each task unless told to reuse them: a new PostgreSQL
        # connection per job. Fusion closes stale ones itself per job
        # (close_old_connections, as Django does per request).
        CELERY_DB_REUSE_MAX=DB_REUSE_MAX,
    )
    app.task(
        name=RUN_JOB_TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
    )(run_job)
    app.steps["worker"].add(MaintenanceStep)
    app.steps["worker"].add(PromptCallbacksStep)
    return app


class BrokerLink:
    """Publishes job ids for one backend; shared by the threads of a process.

    After a failed publish it stops trying for `publish_pause_seconds` (a
    small circuit breaker), so that while RabbitMQ is down an enqueue costs
    only its INSERT; the relay publishes those jobs once it is back.
    """

    def __init__(self, alias: str, options: EngineOptions) -> None:
        self.options = options
        self.app = build_celery_app(alias, options)
        self._paused_until = 0.0

    def queue_for(self, queue_name: str) -> str:
        """The broker queue of a Django queue name (`fusion.` + `default`)."""
        return self.options.queue_prefix + queue_name

    def publish(self, job_id: str, queue_name: str, hard_time_limit: float) -> None:
        """Publish one job id, confirmed by the broker; raises on failure."""
        timeout = self.options.publish_timeout_seconds
        self.app.send_task(
            RUN_JOB_TASK_NAME,
            args=[job_id],
            task_id=job_id,
            queue=self.queue_for(queue_name),
            time_limit=hard_time_limit,
            retry=False,
            timeout=timeout,
            confirm_timeout=timeout,
        )

    def try_publish(self, job_id: str, queue_name: str, hard_time_limit: float) -> bool:
        """`publish`, but never raising: False (and a warning) on failure, and
        False at once while paused after a failure."""
        if time.monotonic() < self._paused_until:
            return False
        try:
            self.publish(job_id, queue_name, hard_time_limit)
        except Exception as exc:  # the relay will publish it; never fail a save
            self._paused_until = time.monotonic() + self.options.publish_pause_seconds
            logger.warning(
                "could not publish job %s to the broker (%s: %s); the relay will "
                "publish it later",
                job_id,
                type(exc).__name__,
                redact(str(exc))[:200],
            )
            return False
        return True

    def ping(self, timeout: float) -> None:
        """Connect to the broker within `timeout` seconds, or raise."""
        with self.app.connection_for_write(connect_timeout=timeout) as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )

    def close(self) -> None:
        """Close the app's pooled broker connections."""
        self.app.close()


_links: dict[tuple[str, EngineOptions], BrokerLink] = {}
_links_lock = threading.Lock()


def broker_link(alias: str, options: EngineOptions) -> BrokerLink:
    """The process's `BrokerLink` for this backend configuration."""
    key = (alias, options)
    link = _links.get(key)
    if link is None:
        with _links_lock:
            link = _links.setdefault(key, BrokerLink(alias, options))
    return link


def _forget_links_after_fork() -> None:
    """A forked child must not use the parent's broker sockets."""
    global _links_lock
    _links.clear()
    _links_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_links_after_fork)


def celery_app_for(alias: str) -> FusionCelery:
    """The Celery app of `settings.TASKS[alias]`, which must be the broker
    engine; used by `celery -A core.fusion.celery_app worker`."""
    # Imported here: broker_backend imports this module.
    from core.fusion.broker_backend import FusionCeleryBackend

    backend = task_backends[alias]
    if not isinstance(backend, FusionCeleryBackend):
        raise FusionConfigurationError(
            f"settings.TASKS[{alias!r}] is {type(backend).__name__}, not the broker "
            "engine; set FUSION_ENGINE=celery (and FUSION_BROKER_URL) to use Celery."
        )
    return backend.link.app
