"""`manage.py seal_activity_logs`: seal entries left unsealed (the sweeper).

Entries are sealed right after their change commits; this catches any whose
sealing failed (a crash between commit and seal). Safe to run at any time.
"""

from typing import Any

from django.core.management.base import BaseCommand

from core.activity_log.chain import seal_all


class Command(BaseCommand):
    help = "Seal activity log entries that are not yet in their lab's hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"sealed {seal_all()} entries")
