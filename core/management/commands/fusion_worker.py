"""`manage.py fusion_worker`: run a Fusion worker for the configured engine."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.tasks.exceptions import InvalidTaskBackend

from core.fusion.engine import FusionEngine


class Command(BaseCommand):
    """Run jobs until stopped (SIGTERM/SIGINT finish the current job first).

    On the database engine this is django-tasks-db's worker loop with
    Fusion's retries, time limits and recovery; on the broker engine it is a
    Celery worker (`celery -A core.fusion.celery_app worker` is the
    same). Either way every worker also recovers jobs of dead workers.
    """

    help = "Run a Fusion background worker for settings.TASKS (any engine)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Options of both engines; each ignores the other's."""
        parser.add_argument("--backend", default=DEFAULT_TASK_BACKEND_ALIAS)
        parser.add_argument(
            "--queue-name",
            default="",
            help="Queues to run, comma-separated (default: the backend's QUEUES; "
            "'*' for all, database engine only).",
        )
        parser.add_argument("--worker-id", default=None)
        database = parser.add_argument_group("database engine")
        database.add_argument(
            "--interval", type=float, default=None, help="Idle poll, seconds."
        )
        database.add_argument(
            "--batch", action="store_true", help="Exit when no job is ready."
        )
        database.add_argument("--max-tasks", type=int, default=None)
        database.add_argument(
            "--no-startup-delay", dest="startup_delay", action="store_false"
        )
        broker = parser.add_argument_group("broker engine")
        broker.add_argument(
            "--pool", default="prefork", help="Celery pool (prefork, solo)."
        )
        broker.add_argument("--concurrency", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker of the backend's engine in this process."""
        try:
            backend = task_backends[options["backend"]]
        except InvalidTaskBackend as exc:
            raise CommandError(str(exc)) from exc
        if not isinstance(backend, FusionEngine):
            raise CommandError(
                f"settings.TASKS[{options['backend']!r}] is {type(backend).__name__}, "
                "not a Fusion engine; see config.settings.services.build_tasks()."
            )
        queue_names = [q.strip() for q in options["queue_name"].split(",") if q.strip()]
        backend.run_worker(
            queue_names=queue_names or None,
            worker_id=options["worker_id"],
            interval=options["interval"],
            batch=options["batch"],
            max_tasks=options["max_tasks"],
            startup_delay=options["startup_delay"],
            pool=options["pool"],
            concurrency=options["concurrency"],
        )
