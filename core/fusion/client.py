"""`get_client("fusion")`: enqueue jobs, report the queue's health, and handle
dead letters, on whichever engine settings.TASKS selects."""

from typing import Any

from django.db.models import QuerySet
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskResult, task_backends

from core.fusion.dead_letters import (
    discard_dead_letter,
    pending_dead_letters,
    retry_all_dead_letters,
    retry_dead_letter,
)
from core.fusion.engine import FusionEngine
from core.fusion.heartbeat import recover_lost_workers
from core.models.fusion import FusionDeadLetter
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.fusion.exceptions import FusionConfigurationError
from core.utils.fusion.options import FusionStats
from core.utils.fusion.queue_status import FusionStatus


class FusionClient(ServiceClient):
    """The job queue's client (settings.SERVICES["fusion"]).

    OPTIONS: `backend`, the settings.TASKS alias it reports on (default
    "default"). Holds no connection of its own: the engine's connections
    belong to the task backend, so the client is thread-safe and `close()`
    has nothing to release.

        fusion = get_client("fusion")
        fusion.enqueue(notify_slack, report.pk)   # same as notify_slack.enqueue(...)
        fusion.check()  # HealthStatus(ok=True, detail="database: 0 ready, ...")
    """

    capabilities = frozenset()

    def __init__(self, backend: str = DEFAULT_TASK_BACKEND_ALIAS) -> None:
        self.backend_alias = backend

    def engine(self) -> FusionEngine:
        """The Fusion engine behind the alias, or a configuration error."""
        backend = task_backends[self.backend_alias]
        if not isinstance(backend, FusionEngine):
            raise FusionConfigurationError(
                f"settings.TASKS[{self.backend_alias!r}] is {type(backend).__name__}, "
                "which has no queue to inspect; use config.settings.services."
                "build_tasks() for the database or broker engine."
            )
        return backend

    def enqueue(self, task: Task, *args: Any, **kwargs: Any) -> TaskResult:
        """Enqueue `task(*args, **kwargs)` on its backend. Inside a
        transaction the job exists (and runs) only if that commits.
        Arguments must be JSON values: pass primary keys, not instances."""
        if not isinstance(task, Task):
            raise TypeError(
                f"enqueue() needs a job (a function decorated with "
                f"core.utils.fusion.job), got {type(task).__name__}."
            )
        return task.enqueue(*args, **kwargs)

    def stats(self) -> FusionStats:
        """Ready / running / scheduled jobs, the oldest ready job's age and
        the pending dead letters; see `FusionStats`."""
        return self.engine().stats()

    def status(self, *, include_finished: bool = False) -> FusionStatus:
        """Jobs by state and queue, each queue's oldest ready job's age and
        pending dead letters; finished jobs counted only when asked (a scan
        of every kept job). See `core.fusion.status.fusion_status`."""
        return self.engine().status(include_finished=include_finished)

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Reachable (database, and broker on the broker engine), with the
        backlog in `detail`, e.g. "celery: 3 ready (oldest 1.2 s), 1 running,
        0 scheduled, 0 dead letters". A task backend that is not a Fusion
        engine (Django's immediate one) keeps no queue: jobs are neither
        retried nor dead-lettered, so it is not ok."""
        backend = task_backends[self.backend_alias]
        if not isinstance(backend, FusionEngine):
            return HealthStatus(
                ok=False,
                latency_ms=0.0,
                detail=f"{type(backend).__name__}: no queue (jobs are not kept, "
                "retried or dead-lettered)",
            )

        def probe() -> str:
            backend.ping(timeout)
            return backend.stats().describe()

        return self.timed_check(probe)

    def recover(self, *, republish: bool = False) -> dict[str, int]:
        """One maintenance round now (what workers do periodically), jobs of
        workers that stopped beating included; e.g.
        `{"recovered": 1, "republished": 0, "relayed": 0, "pruned": 0}`.
        `republish`: first count every waiting job as unpublished, however
        recently published, so the round publishes it again (after the
        broker lost its messages); "republished" counts them first."""
        engine = self.engine()
        forgotten = engine.forget_publications() if republish else 0
        # Workers do this in their heartbeat thread; by hand, here.
        lost = recover_lost_workers(engine)
        report = engine.maintain()
        report["recovered"] += lost
        republished = forgotten + report.pop("republished", 0)
        return {"republished": republished, **report}

    def dead_letters(
        self, *, include_retried: bool = False
    ) -> QuerySet[FusionDeadLetter]:
        """Dead letters, newest first; by default only those neither re-run
        nor discarded yet."""
        if include_retried:
            return FusionDeadLetter.objects.all()
        return pending_dead_letters()

    def retry_dead_letter(self, letter_id: int, *, force: bool = False) -> TaskResult:
        """Re-run one dead letter; see `dead_letters.retry_dead_letter`."""
        return retry_dead_letter(letter_id, force=force)

    def discard_dead_letter(
        self, letter_id: int, *, reason: str = ""
    ) -> FusionDeadLetter:
        """Discard one dead letter; see `dead_letters.discard_dead_letter`."""
        return discard_dead_letter(letter_id, reason=reason)

    def retry_dead_letters(self) -> list[tuple[int, TaskResult]]:
        """Re-run every pending dead letter; see `retry_all_dead_letters`."""
        return retry_all_dead_letters()
