"""`manage.py verify_activity_logs [--lab ID]`: check each lab's hash chain.

Seals anything pending, then walks each chain and reports the first entry
that was edited, deleted or reordered; then checks the chain against its
signed checkpoints in storage (core/activity_log/checkpoints.py), which
catches what the chain alone cannot: an entry rewritten with every later
hash recomputed by someone with write access to the database. Exits 1 if
any chain is broken or any checkpoint fails, so a scheduler or an
inspector's script can act on it.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.chain import seal_all, verify_lab
from core.activity_log.checkpoint_keys import verify_keys
from core.activity_log.checkpoints import verify_checkpoints
from core.activity_log.models import ActivityLogSeal


class Command(BaseCommand):
    help = "Verify the activity log's hash chains and checkpoints; exit 1 at a break."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lab", type=int, help="Only this lab's chain (0: records without a lab)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seal_all()
        labs = (
            [options["lab"]]
            if options["lab"] is not None
            else sorted(
                set(ActivityLogSeal.objects.values_list("chain_lab_id", flat=True))
            )
        )
        checkpoints = bool(verify_keys())
        if not checkpoints:
            self.stderr.write(
                "checkpoints not checked: no ACTIVITY_LOG_VERIFY_KEY or signing key"
            )
        broken = sum(not self._verify(lab, checkpoints) for lab in labs)
        if broken:
            raise CommandError(
                f"{broken} of {len(labs)} chains are broken.", returncode=1
            )

    def _verify(self, lab: int, checkpoints: bool) -> bool:
        problem = verify_lab(lab)
        if problem is not None:
            self.stderr.write(
                f"lab {lab}: chain broken at #{problem.sequence} "
                f"(entry {problem.entry_id}): {problem.problem}"
            )
            return False
        failed = verify_checkpoints(lab) if checkpoints else None
        if failed is not None:
            self.stderr.write(
                f"lab {lab}: checkpoint #{failed.sequence} signed {failed.signed_at} "
                f"fails: {failed.problem}"
            )
            return False
        self.stdout.write(f"lab {lab}: chain intact")
        return True
