"""BaseModel.save() against a plain models.Model.save() of the same columns.

Run: `.venv/bin/python -m bench.bench_save [--rounds 15 --per-round 200]`
(against DATABASE_URL, by default the machine's PostgreSQL).

Plain and BaseModel batches alternate in short rounds, the order rotating
(bench/rounds.py), so a noisy neighbour slows both; each round gives a median
per save and a ratio against the plain save of the same round; the medians
and each ratio's median with its interval over the rounds are printed, and
the figures written to var/bench/ (bench/results.py; `--quick` for a short
pass). Target: <= 1.5x, set before every save
wrote an activity-log entry. BaseReading keeps the base hooks; its save
sends BEGIN, the row, the entry's INSERT and COMMIT where the plain save
sends one statement: the difference is the transaction, the entry (built in
Python, one more round trip), validation and version bookkeeping. The log's
own target (<= 2x plain) is bench_activity_log's.
"""

import argparse
import os
from collections.abc import Callable
from functools import partial

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.database import prepare_database  # noqa: E402
from bench.models import BaseReading, PlainReading  # noqa: E402
from bench.results import Record, parse_arguments, start  # noqa: E402
from bench.rounds import AtMost, alternate, combine  # noqa: E402
from bench.saves import insert, time_per_call, time_prepared, update  # noqa: E402

MODELS = (BaseReading, PlainReading)
TARGET = AtMost(1.5)


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
    args: argparse.Namespace,
    record: Record,
) -> str:
    """Alternate the three variants for args.rounds; print medians and
    ratios; the verdict on TARGET."""
    variants = {
        "plain": lambda: make(PlainReading),
        "floor": lambda: in_transaction(make(PlainReading)),
        "base": lambda: make(BaseReading),
    }
    figures = alternate(
        {
            name: partial(time_prepared, v, args.per_round)
            for name, v in variants.items()
        },
        args.rounds,
    )
    metric = f"seconds per {label}"
    plain, floor, base = (
        record.figure(name, metric, figures[name], "s").spread.median
        for name in ("plain", "floor", "base")
    )
    ratio = record.ratio(
        metric, "base", "plain", figures["base"], figures["plain"], TARGET
    )
    print(
        f"{label:<7} plain {plain * 1e6:7.1f} us | plain in atomic() "
        f"{floor * 1e6:7.1f} us ({floor / plain:.2f}x) | BaseModel "
        f"{base * 1e6:7.1f} us: {base / plain:.2f}x plain, "
        f"{base / floor:.2f}x plain-in-atomic"
    )
    in_atomic = record.ratio(
        metric, "floor", "plain", figures["floor"], figures["plain"]
    )
    over_floor = record.ratio(
        metric, "base", "floor", figures["base"], figures["floor"]
    )
    print(
        f"        per round: BaseModel/plain {ratio.describe()}\n"
        f"        plain-in-atomic/plain {in_atomic.describe()}\n"
        f"        BaseModel/plain-in-atomic {over_floor.describe()}"
    )
    assert ratio.verdict is not None
    return ratio.verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    args = parse_arguments(parser, quick={"rounds": 5, "per_round": 50})
    print(
        f"database: {connection.vendor}, {args.rounds} rounds x "
        f"{args.per_round} saves each, medians"
    )
    record = start("bench_save", args)
    prepare_database()
    create_tables()
    try:
        for warm in (insert, update):  # connections, caches, JIT of the planner
            time_per_call(warm(PlainReading), 50)
            time_per_call(warm(BaseReading), 50)
        verdicts = [
            compare("insert", insert, args, record),
            compare("update", update, args, record),
        ]
    finally:
        drop_tables()
    outcome = record.conclude(f"BaseModel {TARGET} plain", combine(verdicts))
    print(f"target {TARGET} plain on insert and update: {outcome}")
    record.write()


if __name__ == "__main__":
    main()
