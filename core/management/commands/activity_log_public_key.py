"""`manage.py activity_log_public_key`: print the PEM public key that the
audit trail's checkpoints verify with, for inspectors (exports carry it
too; docs/audit-checkpoints.md)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.activity_log.checkpoints import key_id, public_key_pem, verify_key


class Command(BaseCommand):
    help = "Print the public key of the activity log's signed checkpoints."

    def handle(self, *args: Any, **options: Any) -> None:
        public = verify_key()
        if public is None:
            raise CommandError(
                "No ACTIVITY_LOG_SIGNING_KEY or ACTIVITY_LOG_VERIFY_KEY is configured."
            )
        self.stdout.write(public_key_pem(public), ending="")
        self.stderr.write(f"key id {key_id(public)}")
