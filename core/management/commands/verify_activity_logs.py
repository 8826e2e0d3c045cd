"""`manage.py verify_activity_logs [--lab ID]`: check each lab's hash chain.

Seals anything pending, then walks each chain and reports the first entry
that was edited, deleted or reordered. Exits 1 if any chain is broken, so a
scheduler or an inspector's script can act on it.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.chain import seal_all, verify_lab
from core.activity_log.models import ActivityLogSeal


class Command(BaseCommand):
    help = "Verify the activity log's hash chains; exit 1 at the first break."

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
        broken = 0
        for lab in labs:
            problem = verify_lab(lab)
            if problem is None:
                self.stdout.write(f"lab {lab}: chain intact")
                continue
            broken += 1
            self.stderr.write(
                f"lab {lab}: chain broken at #{problem.sequence} "
                f"(entry {problem.entry_id}): {problem.problem}"
            )
        if broken:
            raise CommandError(
                f"{broken} of {len(labs)} chains are broken.", returncode=1
            )
