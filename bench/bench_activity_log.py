"""The activity log's costs: saving with automatic logging, reading one
record's history out of a million entries, and shipping to Elasticsearch.

Run: `.venv/bin/python -m bench.bench_activity_log [--rounds 11]
[--per-round 200] [--entries 1000000] [--reads 2000] [--ship 20000] [--keep]`
against DATABASE_URL, by default the PostgreSQL database
`lis_bench_activity` (created and migrated here, dropped at the end unless
`--keep`, which keeps the generated entries for the next run).

Printed, medians of alternating rounds in one run:
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
   query written directly with the ORM.
3. Shipping: entries per second from the table to the Elasticsearch
   stand-in (tests/standins/elasticsearch, in its own process) in bulk,
   against the official client's bulk helper sending the same documents.
"""

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
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
from bench.saves import insert, time_per_call, update  # noqa: E402
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


def compare_saves(label: str, make: Any, rounds: int, per_round: int) -> list[float]:
    variants = {
        "plain": lambda: make(PlainReading),
        "in atomic": lambda: in_atomic(make(PlainReading)),
        "by hand": lambda: with_entry(make(PlainReading)),
        "ours": lambda: make(BaseReading),
        "simple-history": lambda: make(HistoryReading),
        "auditlog": lambda: make(AuditReading),
    }
    medians: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, prepare in variants.items():
            medians[name].append(time_per_call(prepare(), per_round))
    us = {name: statistics.median(values) * 1e6 for name, values in medians.items()}
    cheaper = min(us["simple-history"], us["auditlog"])
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
        f"{us['ours'] / us['by hand']:.2f}x the same statements by hand"
    )
    return [us["ours"] / us["plain"], us["ours"] / cheaper]


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


def bench_reads(labs: list[Lab], reads: int) -> float:
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

    for record in range(50):  # warm: connections, lab lookups, query plans
        ours(record), orm(record)
    samples: dict[str, list[float]] = {"ours": [], "orm": []}
    found = 0
    for n in range(reads):
        record = (n * 7907) % records
        for name, read in (("ours", ours), ("orm", orm)):
            started = time.perf_counter()
            found += read(record)
            samples[name].append(time.perf_counter() - started)
    ms = {
        name: (percentile(values, 0.5) * 1e3, percentile(values, 0.99) * 1e3)
        for name, values in samples.items()
    }
    print(
        f"get_activities over {ActivityLog.objects.count():,} entries, 30 days, "
        f"{reads} reads ({found / reads / 2:.1f} entries each):\n"
        f"        ours p50 {ms['ours'][0]:.2f} ms p99 {ms['ours'][1]:.2f} ms | "
        f"ORM query p50 {ms['orm'][0]:.2f} ms p99 {ms['orm'][1]:.2f} ms | "
        f"p50 {ms['ours'][0] / ms['orm'][0]:.2f}x the ORM query"
    )
    return ms["ours"][1]


# -- 3. shipping -------------------------------------------------------------


def serve_standin(ports: Any) -> None:
    from tests.standins.elasticsearch import ElasticsearchStandIn

    standin = ElasticsearchStandIn().start()
    ports.put(standin.url)
    while True:
        time.sleep(3600)


def bench_shipping(labs: list[Lab], count: int) -> None:
    ports: Any = multiprocessing.get_context("fork").Queue()
    connections.close_all()
    server = multiprocessing.get_context("fork").Process(
        target=serve_standin, args=(ports,), daemon=True
    )
    server.start()
    url = ports.get(timeout=30)
    try:
        generate_entries(labs, count, shipped=False)
        search = {
            "BACKEND": "core.utils.elastic_search.client.ElasticSearchClient",
            "OPTIONS": {"hosts": [url]},
        }
        with override_settings(SERVICES={**settings.SERVICES, "es": search}):
            started = time.perf_counter()
            result = ship_all()
            ours = result.shipped / (time.perf_counter() - started)
        from elasticsearch import Elasticsearch
        from elasticsearch.helpers import bulk

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
        print(
            f"shipping {result.shipped:,} entries ({result.failed} failed) to the "
            f"stand-in: ours {ours:,.0f} entries/s | the client's bulk helper "
            f"alone {raw:,.0f} entries/s | ours {ours / raw:.2f}x"
        )
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--ship", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    prepare_database()
    try:
        create_tables()
        for make in (insert, update):  # warm connections and caches
            for model in MODELS:
                time_per_call(make(model), 30)
        print(f"saves: {args.rounds} rounds x {args.per_round}, medians")
        ratios = compare_saves("insert", insert, args.rounds, args.per_round)
        ratios += compare_saves("update", update, args.rounds, args.per_round)
        labs = make_labs()
        missing = args.entries - ActivityLog.objects.count()
        if missing > 0:
            started = time.perf_counter()
            generate_entries(labs, missing, shipped=True)
            took = time.perf_counter() - started
            print(f"generated {missing:,} entries in {took:.0f} s")
        p99 = bench_reads(labs, args.reads)
        bench_shipping(labs, args.ship)
        vs_plain, vs_library = max(ratios[0::2]), max(ratios[1::2])
        print(
            f"targets: save <= 2x plain: {'met' if vs_plain <= 2 else 'MISSED'} "
            f"({vs_plain:.2f}x); <= 0.8x the cheaper library: "
            f"{'met' if vs_library <= 0.8 else 'MISSED'} ({vs_library:.2f}x); "
            f"get_activities p99 < 20 ms: {'met' if p99 < 20 else 'MISSED'} "
            f"({p99:.2f} ms)"
        )
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
