"""`manage.py checkpoint_activity_logs [--now] [--lab ID]`: sign each lab's
chain head and store it outside the database (core/activity_log/checkpoints.py,
docs/audit-checkpoints.md).

The Fusion workers already do this every ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS
(`checkpoint_due` in FUSION_PERIODIC_TASKS); the command is the same job for
a deployment that schedules with cron, and for an operator who wants a
checkpoint now (`--now`: every chain whose head moved; `--lab`: that one).
It seals pending entries first, so the checkpoint covers them. Exits 1 when
no signing key is configured or storage fails (the error names it; nothing
is recorded for a checkpoint that was not stored), so a scheduler sees it.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.chain import seal_all, seal_lab
from core.activity_log.checkpoint_keys import signing_key
from core.activity_log.checkpoints import checkpoint_chain, checkpoint_due
from core.utils.aws.exceptions import StorageError


class Command(BaseCommand):
    help = "Sign and store each lab's activity-log chain head (signed checkpoints)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            action="store_true",
            help="Ignore the interval: checkpoint every chain whose head moved.",
        )
        parser.add_argument(
            "--lab", type=int, help="Only this lab's chain (0: records without a lab)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if signing_key() is None:
            raise CommandError(
                "No ACTIVITY_LOG_SIGNING_KEY (or ACTIVITY_LOG_SIGNING_KEY_FILE) is "
                "configured; see docs/audit-checkpoints.md."
            )
        try:
            written = self._checkpoint(options["lab"], options["now"])
        except StorageError as exc:
            raise CommandError(
                f"a checkpoint could not be stored ({exc}); it was not recorded. "
                "Run the command again once storage answers.",
                returncode=1,
            ) from exc
        self.stdout.write(f"{written} checkpoints written")

    def _checkpoint(self, lab: int | None, now: bool) -> int:
        if lab is None:
            seal_all()
            return checkpoint_due(0 if now else None)
        seal_lab(lab or None)
        return int(checkpoint_chain(lab) is not None)
