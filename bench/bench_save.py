"""BaseModel.save() against a plain models.Model.save() of the same columns.

Run: `.venv/bin/python -m bench.bench_save [--rounds 15 --per-round 200]`
(against DATABASE_URL, by default the machine's PostgreSQL).

Plain and BaseModel batches alternate, round after round, so a noisy
neighbour slows both; each round gives a median per save, and the ratio of the
medians over all rounds is printed. Target: <= 1.5x, set before every save
wrote an activity-log entry. BaseReading keeps the base hooks; its save
sends BEGIN, the row, the entry's INSERT and COMMIT where the plain save
sends one statement: the difference is the transaction, the entry (built in
Python, one more round trip), validation and version bookkeeping. The log's
own target (<= 2x plain) is bench_activity_log's.
"""

import argparse
import os
import statistics
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.database import prepare_database  # noqa: E402
from bench.models import BaseReading, PlainReading  # noqa: E402
from bench.saves import insert, time_per_call, update  # noqa: E402

MODELS = (BaseReading, PlainReading)


def create_tables() -> None:
    with connection.schema_editor() as editor:
        for model in MODELS:
            editor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table}")
            editor.create_model(model)


def drop_tables() -> None:
    with connection.schema_editor() as editor:
        for model in MODELS:
            editor.delete_model(model)


def in_transaction(action: Callable[[int], None]) -> Callable[[int], None]:
    """The floor: the same plain save inside transaction.atomic()."""

    def wrapped(i: int) -> None:
        with transaction.atomic():
            action(i)

    return wrapped


def compare(
    label: str,
    make: Callable[[type], Callable[[int], None]],
    rounds: int,
    per_round: int,
) -> float:
    """Alternate the three variants for `rounds`; print medians and ratios."""
    medians: dict[str, list[float]] = {"plain": [], "floor": [], "base": []}
    for _ in range(rounds):
        medians["plain"].append(time_per_call(make(PlainReading), per_round))
        medians["floor"].append(
            time_per_call(in_transaction(make(PlainReading)), per_round)
        )
        medians["base"].append(time_per_call(make(BaseReading), per_round))
    plain, floor, base = (statistics.median(medians[k]) for k in medians)
    print(
        f"{label:<7} plain {plain * 1e6:7.1f} us | plain in atomic() "
        f"{floor * 1e6:7.1f} us ({floor / plain:.2f}x) | BaseModel "
        f"{base * 1e6:7.1f} us: {base / plain:.2f}x plain, "
        f"{base / floor:.2f}x plain-in-atomic"
    )
    return base / plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()
    print(
        f"database: {connection.vendor}, {args.rounds} rounds x "
        f"{args.per_round} saves each, medians"
    )
    prepare_database()
    create_tables()
    try:
        for warm in (insert, update):  # connections, caches, JIT of the planner
            time_per_call(warm(PlainReading), 50)
            time_per_call(warm(BaseReading), 50)
        ratios = [
            compare("insert", insert, args.rounds, args.per_round),
            compare("update", update, args.rounds, args.per_round),
        ]
    finally:
        drop_tables()
    verdict = "within" if max(ratios) <= 1.5 else "OVER"
    print(f"target <= 1.50x: {verdict} (worst {max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
