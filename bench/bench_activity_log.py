"""The activity log's costs: saving with automatic logging, reading one
record's history out of a million entries, and shipping to Elasticsearch.

Run: `.venv/bin/python -m bench.bench_activity_log [--rounds 11]
[--per-round 200] [--entries 1000000] [--reads 2000] [--ship 20000] [--keep]`
against DATABASE_URL, by default the PostgreSQL database
`lis_bench_activity` (created and migrated here, dropped at the end unless
`--keep`, which keeps the generated entries for the next run).

`--quick` runs a short pass. Printed, medians of alternating rounds in one
run (the order rotating, bench/rounds.py), each ratio the median of per-round
ratios with its interval and range, each target met, missed or inconclusive
(the interval straddles it); the figures go to var/bench/ (bench/results.py):
1. Save: a plain Django save of the same fields (no log) against BaseModel's
   save with automatic logging, and the same save audited by
   django-simple-history and by django-auditlog. Targets: ours <= 0.8x the
   cheaper library, and <= 2x plain. For scale, the same statements written
   by hand: the plain save plus a hand-written entry INSERT in atomic()
   (BEGIN, the row, the entry, COMMIT: what our save sends, four round trips
   where the plain autocommit save has one, the entry's values mostly
   constants in the SQL), so ours against it is the cost of our layer:
   validation, the diff, and building and sending the entry's 19 values.
   And the plain save alone in atomic(): the transaction's own cost, BEGIN
   and COMMIT. Those extra round trips are the floor of any save that
   writes its row and its entry atomically in two statements, so "by hand"
   against plain shows how much of the 2x budget the floor leaves.
2. `get_activities` for one record and a 30-day range over a table of
   `--entries` entries: p50 and p99 (target p99 < 20 ms), against the same
   query written directly with the ORM, in `--read-rounds` rounds.
3. Shipping: entries per second from the table to the Elasticsearch
   stand-in (tests/standins/elasticsearch, in its own process) in bulk,
   against the official client's bulk helper sending the same documents,
   in `--ship-rounds` rounds.
"""

import argparse
import multiprocessing
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench_activity"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from admin.account.models import Lab, LabRelation  # noqa: E402
from bench.database import drop_database, prepare_database  # noqa: E402
from bench.models import AuditReading, BaseReading, HistoryReading, PlainReading  # noqa: E402
from bench.results import Record, parse_arguments, start  # noqa: E402
from bench.rounds import AtMost, alternate, combine, rotation  # noqa: E402
from bench.saves import insert, time_per_call, time_prepared, update  # noqa: E402
from core.activity_log.index import index_name, to_document  # noqa: E402
from core.activity_log.reading import get_activities  # noqa: E402
from core.activity_log.shipping import ship_all  # noqa: E402
from core.models import ActivityLog  # noqa: E402

MODELS = (BaseReading, PlainReading, HistoryReading, AuditReading)
LABS = 10
ENTRIES_PER_RECORD = 50
HISTORY_DAYS = 365
READ_RANGE_DAYS = 30
GENERATE_CHUNK = 100_000


# -- 1. save ---------------------------------------------------------------


def create_tables() -> None:
    with connection.schema_editor() as editor:
        for model in (*MODELS, HistoryReading.history.model):
            editor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table} CASCADE")
            editor.create_model(model)


def with_entry(action: Callable[[int], None]) -> Callable[[int], None]:
    """Our save's statements by hand: the plain save and one hand-written
    INSERT of an entry row, in transaction.atomic()."""
    sql = (
        f"INSERT INTO {ActivityLog._meta.db_table} (model_label, instance_id, "  # noqa: S608
        "action, message, changes, reason, actor_id, actor_name, actor_role, "
        "actor_kind, request_id, user_agent, created_at, sealed, shipped) VALUES "
        "('bench.plainreading', %s, 'update', '', %s, '', 'system', '', '', "
        "'system', '', '', now(), false, false) RETURNING id"
    )

    def wrapped(i: int) -> None:
        with transaction.atomic():
            action(i)
            with connection.cursor() as cursor:
                cursor.execute(sql, [str(i), '{"channels": {"old": 1, "new": 2}}'])

    return wrapped


def in_atomic(action: Callable[[int], None]) -> Callable[[int], None]:
    """The plain save in transaction.atomic(): what the transaction alone
    costs (BEGIN and COMMIT round trips), before any entry."""

    def wrapped(i: int) -> None:
        with transaction.atomic():
            action(i)

    return wrapped


def compare_saves(
    label: str, make: Any, args: argparse.Namespace, record: Record
) -> list[str]:
    """Alternate the save variants; print medians and ratios (per round),
    record them; the verdicts on <= 2x plain and <= 0.8x the cheaper library."""
    variants = {
        "plain": lambda: make(PlainReading),
        "in atomic": lambda: in_atomic(make(PlainReading)),
        "by hand": lambda: with_entry(make(PlainReading)),
        "ours": lambda: make(BaseReading),
        "simple-history": lambda: make(HistoryReading),
        "auditlog": lambda: make(AuditReading),
    }
    metric = f"seconds per {label}"
    runs = alternate(
        {n: partial(time_prepared, v, args.per_round) for n, v in variants.items()},
        args.rounds,
    )
    runs["cheaper library"] = [
        min(pair) for pair in zip(runs["simple-history"], runs["auditlog"], strict=True)
    ]
    us = {
        name: record.figure(name, metric, values, "s").spread.median * 1e6
        for name, values in runs.items()
    }

    def ratio(subject: str, baseline: str, target: AtMost | None = None) -> Any:
        return record.ratio(
            metric, subject, baseline, runs[subject], runs[baseline], target
        )

    cheaper = us["cheaper library"]
    vs_plain, vs_library = (
        ratio("ours", "plain", AtMost(2.0)),
        ratio("ours", "cheaper library", AtMost(0.8)),
    )
    print(
        f"{label:<7} plain {us['plain']:6.0f} us"
        f" | in atomic() {us['in atomic']:6.0f} us"
        f" | plain + entry INSERT in atomic() {us['by hand']:6.0f} us"
        f" ({us['by hand'] / us['plain']:.2f}x plain, "
        f"{us['by hand'] / cheaper:.2f}x the cheaper library)\n"
        f"        simple-history {us['simple-history']:6.0f} us | "
        f"auditlog {us['auditlog']:6.0f} us\n"
        f"        ours {us['ours']:6.0f} us = {us['ours'] / us['plain']:.2f}x plain, "
        f"{us['ours'] / cheaper:.2f}x the cheaper library, "
        f"{us['ours'] / us['by hand']:.2f}x the same statements by hand\n"
        f"        per round: ours vs plain {vs_plain.describe()}\n"
        f"        ours vs cheaper library {vs_library.describe()}\n"
        f"        ours vs by hand {ratio('ours', 'by hand').describe()}\n"
        f"        by hand vs plain {ratio('by hand', 'plain').describe()}"
    )
    return [str(vs_plain.verdict), str(vs_library.verdict)]


# -- 2. get_activities over a million entries --------------------------------


def make_labs() -> list[Lab]:
    labs = list(Lab.objects.order_by("id")[:LABS])
    if len(labs) == LABS:
        return labs
    parent = Lab(name="Bench network")
    parent.save()
    labs = [parent]
    for n in range(1, LABS):
        child = Lab(name=f"Bench lab {n}")
        child.save()
        LabRelation(parent_lab=parent, child_lab=child).save()
        labs.append(child)
    return labs


def generate_entries(labs: list[Lab], total: int, *, shipped: bool) -> None:
    """`total` entries about `total / 50` records over a year, in SQL."""
    records = max(1, total // ENTRIES_PER_RECORD)
    lab_ids = "ARRAY[" + ",".join(str(lab.pk) for lab in labs) + "]::bigint[]"
    table = ActivityLog._meta.db_table
    start = ActivityLog.objects.count()
    seconds = HISTORY_DAYS * 86400
    for first in range(start, start + total, GENERATE_CHUNK):
        last = min(first + GENERATE_CHUNK, start + total) - 1
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (lab_id, parent_lab_id, model_label,
                    instance_id, action, category_id, message, changes, reason,
                    actor_id, actor_name, actor_role, actor_kind, request_id,
                    client_ip, user_agent, created_at, sealed, shipped)
                SELECT ({lab_ids})[(g %% {records}) %% {LABS} + 1], NULL,
                    'patients.patient', (g %% {records})::text, 'update', NULL,
                    'Updated patient', '{{"first_name": {{"old": "A", "new": "B"}}}}',
                    '', 'user:' || (g %% 97), 'Bench user', 'technician', 'staff',
                    md5(g::text), '10.0.0.1', 'bench', now() - make_interval(
                        secs => (g::bigint * 7919) %% {seconds}), true, %s
                FROM generate_series(%s, %s) AS g
                """,  # noqa: S608 (numbers and table name from code, not input)
                [shipped, first, last],
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_reads(labs: list[Lab], args: argparse.Namespace, record: Record) -> str:
    """p50 and p99 of get_activities and of the ORM query, per round of
    reads (the two alternating read by read); the verdict on p99 < 20 ms."""
    records = ActivityLog.objects.count() // ENTRIES_PER_RECORD
    today = timezone.now().astimezone(labs[0].zone).date()
    first_day = today - timezone.timedelta(days=READ_RANGE_DAYS - 1)
    since = timezone.now() - timezone.timedelta(days=READ_RANGE_DAYS)

    def ours(record: int) -> int:
        lab = labs[record % LABS]
        page = get_activities(
            "patients.patient", record, first_day, today, lab_id=lab.pk
        )
        return len(page.entries)

    def orm(record: int) -> int:
        lab = labs[record % LABS]
        entries = ActivityLog.objects.filter(
            model_label="patients.patient", instance_id=str(record),
            lab_id__in=[lab.pk], created_at__gte=since,
        ).order_by("-id")[:51]  # fmt: skip
        return len(list(entries))

    for number in range(50):  # warm: connections, lab lookups, query plans
        ours(number), orm(number)
    reads = {"ours": ours, "orm": orm}
    per_round = max(1, args.reads // args.read_rounds)
    ms: dict[str, dict[str, list[float]]] = {
        name: {"p50": [], "p99": []} for name in reads
    }
    found = 0
    for number in range(args.read_rounds):
        samples: dict[str, list[float]] = {name: [] for name in reads}
        for n in range(number * per_round, (number + 1) * per_round):
            for name in rotation(list(reads), n):
                started = time.perf_counter()
                found += reads[name]((n * 7907) % records)
                samples[name].append(time.perf_counter() - started)
        for name, values in samples.items():
            ms[name]["p50"].append(percentile(values, 0.5) * 1e3)
            ms[name]["p99"].append(percentile(values, 0.99) * 1e3)
    return report_reads(ms, found / (per_round * args.read_rounds * 2), record)


def report_reads(
    ms: dict[str, dict[str, list[float]]], found: float, record: Record
) -> str:
    """Print and record the reads' percentiles; the verdict on p99 < 20 ms."""
    shown = {
        (name, key): record.figure(
            name, f"get_activities {key}", values, "ms",
            AtMost(20.0, " ms") if (name, key) == ("ours", "p99") else None,
        )
        for name, percentiles in ms.items()
        for key, values in percentiles.items()
    }  # fmt: skip
    median = {key: measured.spread.median for key, measured in shown.items()}
    ratio = record.ratio(
        "get_activities p50", "ours", "orm", ms["ours"]["p50"], ms["orm"]["p50"]
    )
    rounds = len(ms["ours"]["p50"])
    print(
        f"get_activities over {ActivityLog.objects.count():,} entries, 30 days, "
        f"{rounds} rounds of reads ({found:.1f} entries each), medians:\n"
        f"        ours p50 {median['ours', 'p50']:.2f} ms p99 "
        f"{median['ours', 'p99']:.2f} ms | ORM query p50 {median['orm', 'p50']:.2f} "
        f"ms p99 {median['orm', 'p99']:.2f} ms | p50 {ratio.describe()} the ORM "
        f"query\n        ours p99 {shown['ours', 'p99'].describe()}"
    )
    return str(shown["ours", "p99"].verdict)


# -- 3. shipping -------------------------------------------------------------


def serve_standin(ports: Any) -> None:
    from tests.standins.elasticsearch import ElasticsearchStandIn

    standin = ElasticsearchStandIn().start()
    ports.put(standin.url)
    while True:
        time.sleep(3600)


def bench_shipping(labs: list[Lab], args: argparse.Namespace, record: Record) -> None:
    """Entries per second shipped by ours and by the client's bulk helper
    alone (the same documents), a pair per round."""
    ports: Any = multiprocessing.get_context("fork").Queue()
    connections.close_all()
    server = multiprocessing.get_context("fork").Process(
        target=serve_standin, args=(ports,), daemon=True
    )
    server.start()
    url = ports.get(timeout=30)
    count = max(1, args.ship // args.ship_rounds)
    rates: dict[str, list[float]] = {"ours": [], "bulk helper": []}
    try:
        for _ in range(args.ship_rounds):
            shipped, failed, ours, raw = ship_round(labs, url, count)
            rates["ours"].append(ours)
            rates["bulk helper"].append(raw)
    finally:
        server.kill()
    ours, raw = (
        record.figure(name, "entries shipped per second", values, "/s").spread.median
        for name, values in rates.items()
    )
    ratio = record.ratio(
        "entries shipped per second", "ours", "bulk helper", rates["ours"],
        rates["bulk helper"],
    )  # fmt: skip
    print(
        f"shipping {args.ship_rounds} x {shipped:,} entries ({failed} failed) to "
        f"the stand-in, medians: ours {ours:,.0f} entries/s | the client's bulk "
        f"helper alone {raw:,.0f} entries/s | ours {ratio.describe()}"
    )


def ship_round(labs: list[Lab], url: str, count: int) -> tuple[int, int, float, float]:
    """Generate `count` unshipped entries, ship them with ours, send the same
    documents with the bulk helper: (shipped, failed, ours/s, helper/s)."""
    from elasticsearch import Elasticsearch
    from elasticsearch.helpers import bulk

    generate_entries(labs, count, shipped=False)
    search = {
        "BACKEND": "core.utils.elastic_search.client.ElasticSearchClient",
        "OPTIONS": {"hosts": [url]},
    }
    with override_settings(SERVICES={**settings.SERVICES, "es": search}):
        started = time.perf_counter()
        result = ship_all()
        ours = result.shipped / (time.perf_counter() - started)
    entries = list(ActivityLog.objects.order_by("-id")[:count])
    client = Elasticsearch(url, http_compress=True)
    started = time.perf_counter()
    actions = (
        {"_index": "raw-" + index_name(e.created_at), "_id": str(e.id),
         "_source": to_document(e)}
        for e in entries
    )  # fmt: skip
    sent, _ = bulk(client, actions, chunk_size=500, refresh="wait_for")
    raw = sent / (time.perf_counter() - started)
    return result.shipped, result.failed, ours, raw


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--read-rounds", type=int, default=10)
    parser.add_argument("--ship", type=int, default=20_000)
    parser.add_argument("--ship-rounds", type=int, default=4)
    parser.add_argument("--keep", action="store_true")
    quick = {
        "rounds": 3, "per_round": 30, "entries": 20_000, "reads": 300,
        "read_rounds": 3, "ship": 1500, "ship_rounds": 3,
    }  # fmt: skip
    return parse_arguments(parser, quick)


def main() -> None:
    args = parse_args()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    record = start("bench_activity_log", args)
    prepare_database()
    try:
        create_tables()
        for make in (insert, update):  # warm connections and caches
            for model in MODELS:
                time_per_call(make(model), 30)
        print(f"saves: {args.rounds} rounds x {args.per_round}, medians")
        verdicts = compare_saves("insert", insert, args, record)
        verdicts += compare_saves("update", update, args, record)
        labs = make_labs()
        missing = args.entries - ActivityLog.objects.count()
        if missing > 0:
            started = time.perf_counter()
            generate_entries(labs, missing, shipped=True)
            took = time.perf_counter() - started
            print(f"generated {missing:,} entries in {took:.0f} s")
        reads = bench_reads(labs, args, record)
        bench_shipping(labs, args, record)
        targets = {
            "save <= 2x plain": combine(verdicts[0::2]),
            "save <= 0.8x the cheaper library": combine(verdicts[1::2]),
            "get_activities p99 < 20 ms": reads,
        }
        print(
            "targets: "
            + "; ".join(f"{t}: {record.conclude(t, v)}" for t, v in targets.items())
        )
    finally:
        if not args.keep:
            drop_database()
    record.write()


if __name__ == "__main__":
    main()
