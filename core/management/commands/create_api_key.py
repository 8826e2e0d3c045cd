"""`manage.py create_api_key --lab ID --name NAME`: a new API key for a lab.

Prints the key once, on its own line after a short notice; it is stored
only as a digest and cannot be shown again (revoke it and create another
if it is lost). The creation is activity-logged, attributed to this command.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.api_key import ApiKey
from core.tenancy.hierarchy import lab_model
from core.utils.activity_log.context import Actor, ActorKind, acting_as

#: Who the activity log names for keys made by this command.
CREATE_ACTOR = Actor(
    id="command:create_api_key",
    name="create_api_key",
    role="",
    kind=ActorKind.SYSTEM,
)


class Command(BaseCommand):
    """Create an API key for a lab and print it once."""

    help = "Create an API key for a lab and print it (once: it is not stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        """--lab and --name, both required."""
        parser.add_argument("--lab", type=int, required=True, help="The lab's id.")
        parser.add_argument(
            "--name", required=True, help="What uses the key, e.g. 'Analyser bridge'."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name is empty; say what will use the key.")
        lab = lab_model().objects.filter(pk=options["lab"]).first()
        if lab is None:
            raise CommandError(
                f"There is no lab {options['lab']}; pass the id of an existing lab."
            )
        if not lab.is_active:
            raise CommandError(f"Lab {lab.pk} is deactivated; its keys would not work.")
        with acting_as(CREATE_ACTOR):
            api_key, text = ApiKey.create(lab, name)
        self.stdout.write(
            f"API key {api_key.prefix} for lab {lab.pk} ({lab.name}), "
            f"'{name}'. Copy it now; it will not be shown again:"
        )
        self.stdout.write(text)
