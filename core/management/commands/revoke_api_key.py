"""`manage.py revoke_api_key PREFIX [--reason TEXT]`: revoke an API key.

PREFIX is the 12 hex digits after `lis_` (shown in the admin and by
create_api_key); the key is refused from the next request on. The
revocation and its reason are activity-logged, attributed to this command.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.api_key import KEY_PREFIX, ApiKey
from core.utils.activity_log.context import Actor, ActorKind, acting_as

#: Who the activity log names for revocations made by this command.
REVOKE_ACTOR = Actor(
    id="command:revoke_api_key",
    name="revoke_api_key",
    role="",
    kind=ActorKind.SYSTEM,
)


class Command(BaseCommand):
    """Revoke an API key by its prefix."""

    help = "Revoke an API key by its prefix (the 12 hex digits after 'lis_')."

    def add_arguments(self, parser: CommandParser) -> None:
        """The prefix, and an optional --reason for the activity log."""
        parser.add_argument("prefix", help="The key's prefix, e.g. 3f9a0c1b2d4e.")
        parser.add_argument("--reason", default="", help="Why, for the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"].strip().removeprefix(KEY_PREFIX)[:12].lower()
        api_key = ApiKey.objects.filter(prefix=prefix).first()
        if api_key is None:
            raise CommandError(
                f"No API key has the prefix {prefix!r}; the prefix is the 12 hex "
                "digits after 'lis_' (see the admin's API keys list)."
            )
        with acting_as(REVOKE_ACTOR):
            revoked = api_key.revoke(reason=options["reason"])
        if revoked:
            self.stdout.write(f"API key {prefix} ({api_key.name}) revoked.")
        else:
            self.stdout.write(f"API key {prefix} ({api_key.name}) was already revoked.")
