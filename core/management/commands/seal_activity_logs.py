"""`manage.py seal_activity_logs`: seal entries left unsealed (the sweeper).

Entries are sealed right after their change commits; this catches any whose
sealing failed (a crash between commit and seal). Safe to run at any time.
Each lab is sealed on its own: a lab whose chain cannot be extended (an
entry's `sealed` flag set back, a head rewound behind its seals) is named on
stderr, the other labs are sealed, and the command exits 1.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.activity_log.chain import seal_each


class Command(BaseCommand):
    help = "Seal activity log entries that are not yet in their lab's hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seal_each()
        self.stdout.write(f"sealed {result.sealed} entries")
        for failure in result.failed:
            self.stderr.write(
                f"FAIL seal chain={failure.lab} sequence={failure.sequence}: "
                f"{failure.problem}"
            )
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} chains could not be sealed; run "
                "verify_activity_logs.",
                returncode=1,
            )
