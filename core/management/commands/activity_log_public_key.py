"""`manage.py activity_log_public_key [--all]`: print the PEM public key that
the audit trail's checkpoints verify with, for inspectors (exports carry it
too; docs/audit-checkpoints.md). `--all` adds the retired keys that older
checkpoints were signed with; the key ids go to stderr, so stdout is a
plain PEM file."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.checkpoint_keys import (
    key_id,
    public_key_pem,
    retired_keys,
    verify_key,
)


class Command(BaseCommand):
    help = "Print the public key of the activity log's signed checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Also print the retired keys (ACTIVITY_LOG_RETIRED_VERIFY_KEYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        public = verify_key()
        if public is None:
            raise CommandError(
                "No ACTIVITY_LOG_SIGNING_KEY or ACTIVITY_LOG_VERIFY_KEY is configured."
            )
        self.stdout.write(public_key_pem(public), ending="")
        self.stderr.write(f"key id {key_id(public)} (current)")
        for retired in retired_keys() if options["all"] else []:
            self.stdout.write(public_key_pem(retired), ending="")
            self.stderr.write(f"key id {key_id(retired)} (retired)")
