"""`manage.py fusion_dead_letters list|retry|discard`: jobs that failed for
good. Re-runs and discards are activity-logged, attributed to this command."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.models.fusion import FusionDeadLetter
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from core.utils.clients import get_client
from core.utils.fusion.exceptions import DeadLetterError

#: Characters of the error message shown per letter in the listing.
LISTED_MESSAGE_CHARS = 160

COMMAND_ACTOR = Actor(
    id="command:fusion_dead_letters",
    name="fusion_dead_letters",
    role="",
    kind=ActorKind.SYSTEM,
)


class Command(BaseCommand):
    """List dead letters, or re-run them as fresh jobs.

    manage.py fusion_dead_letters list [--all]
    manage.py fusion_dead_letters retry 12 15 [--force]
    manage.py fusion_dead_letters retry --all
    manage.py fusion_dead_letters discard 12 --reason "report deleted"
    """

    help = (
        "List Fusion dead letters, re-run them (retry ID... | retry --all) or "
        "discard them (discard ID...)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """`list` and `retry` subcommands."""
        commands = parser.add_subparsers(dest="action", required=True)
        listing = commands.add_parser("list", help="Dead letters, newest first.")
        listing.add_argument(
            "--all", action="store_true", help="Include re-run and discarded ones."
        )
        retry = commands.add_parser("retry", help="Enqueue dead letters again.")
        retry.add_argument("ids", nargs="*", type=int)
        retry.add_argument("--all", action="store_true", help="Every pending letter.")
        retry.add_argument(
            "--force", action="store_true", help="Even if re-run or discarded before."
        )
        discard = commands.add_parser(
            "discard", help="Mark dead letters as not to be re-run (kept)."
        )
        discard.add_argument("ids", nargs="+", type=int)
        discard.add_argument("--reason", default="", help="Why (activity-logged).")

    def handle(self, *args: Any, **options: Any) -> None:
        """Dispatch to `list`, `retry` or `discard`."""
        with acting_as(COMMAND_ACTOR):
            if options["action"] == "list":
                self._list(include_retried=options["all"])
            elif options["action"] == "discard":
                self._discard(options["ids"], reason=options["reason"])
            else:
                self._retry(
                    options["ids"], every=options["all"], force=options["force"]
                )

    def _list(self, *, include_retried: bool) -> None:
        letters = get_client("fusion").dead_letters(include_retried=include_retried)
        count = 0
        for letter in letters.iterator():
            count += 1
            self.stdout.write(_describe(letter))
        self.stdout.write(f"{count} dead letter(s)")

    def _retry(self, ids: list[int], *, every: bool, force: bool) -> None:
        if every == bool(ids):
            raise CommandError("Pass the ids of the letters to re-run, or --all.")
        fusion = get_client("fusion")
        try:
            if every:
                done = fusion.retry_dead_letters()
            else:
                done = [(i, fusion.retry_dead_letter(i, force=force)) for i in ids]
        except DeadLetterError as exc:
            raise CommandError(str(exc)) from exc
        for letter_id, result in done:
            self.stdout.write(f"dead letter {letter_id} re-enqueued as job {result.id}")
        self.stdout.write(f"{len(done)} dead letter(s) re-enqueued")

    def _discard(self, ids: list[int], *, reason: str) -> None:
        fusion = get_client("fusion")
        try:
            for letter_id in ids:
                fusion.discard_dead_letter(letter_id, reason=reason)
                self.stdout.write(f"dead letter {letter_id} discarded")
        except DeadLetterError as exc:
            raise CommandError(str(exc)) from exc


def _describe(letter: FusionDeadLetter) -> str:
    """One line: id, when, job, attempts, error, re-run state."""
    message = letter.error_message.replace("\n", " ")[:LISTED_MESSAGE_CHARS]
    rerun = f" [re-run as {letter.retried_job_id}]" if letter.retried_at else ""
    if letter.discarded_at:
        rerun += f" [discarded {letter.discarded_at:%Y-%m-%d %H:%M:%S}]"
    return (
        f"{letter.pk}  {letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.task_path}"
        f"({letter.args_kwargs}) after {letter.attempts} attempt(s): "
        f"{letter.error_class}: {message}{rerun}"
    )
