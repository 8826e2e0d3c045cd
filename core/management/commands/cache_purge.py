"""`manage.py cache_purge [--model app_label.Model ...] [--lab ID]`: drop
the instance cache's hashes outright, after a restore from backup.

After the database goes back in time (a restore, a table re-created with
ids starting again), cached rows can be newer than the rows they stand for,
and the cache's compare-and-set rule keeps a newer version against every
fill: readers would get the pre-restore rows until the TTL (7 days) ends.
This deletes the hashes, whatever they hold, of every caching model (or the
models named) and every lab (or one lab). Run it after the restore, before
the app serves again; a reader racing with the purge can only fill rows it
read from the restored database. Fails (exit 1) if the cache is unreachable.

With the in-process cache (the embedded default) each process holds its
own: restart the processes instead.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.management.model_choice import chosen_models
from core.models.caching import CacheType, CachingMixin


class Command(BaseCommand):
    help = "Drop cached rows of every caching model (or --model) and lab (or --lab)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            help="app_label.ModelName of a caching model; repeatable. Default: all.",
        )
        parser.add_argument("--lab", type=int, help="Only this lab's hashes.")

    def handle(self, *args: Any, **options: Any) -> None:
        models = _models(options["model"])
        try:
            for model in models:
                purged = model.purge_cache(options["lab"])
                self.stdout.write(f"{model._meta.label}: {purged} hash(es) dropped")
        except Exception as exc:  # the cache's own error: say it, exit 1
            raise CommandError(
                f"The cache did not answer ({type(exc).__name__}: {exc}); "
                "nothing more was purged. Run the command again once it is back."
            ) from exc


def _models(labels: list[str]) -> list[type[CachingMixin]]:
    return chosen_models(
        labels,
        lambda model: (
            issubclass(model, CachingMixin) and model.cache_type != CacheType.NONE
        ),
        "Not a caching model: {unknown}. Caching models: {choices}.",
    )
