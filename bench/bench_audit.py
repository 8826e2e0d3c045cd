"""The audit trail's costs: sealing per entry in each chain format, and
verifying a large export with the two standalone verifiers.

Run: `.venv/bin/python -m bench.bench_audit [--entries 1000000]
[--seal 5000] [--rounds 5] [--verify-rounds 3]` against DATABASE_URL, by default the
PostgreSQL database `lis_bench_audit` (created, migrated, dropped at the end).

Printed:
1. Sealing: seconds per entry of `seal_lab` (read the pending entries,
   hash, write the seals and the head, in the database) with format 1
   (Python's json.dumps, before issue 15) and format 2 (RFC 8785 through
   `rfc8785`), in alternating rounds of `--seal` entries (the order rotating,
   bench/rounds.py; the ratio the median of per-round ratios, with its
   interval); and the hashing alone, in process, per entry, in rounds too.
2. Verifying: an export of `--entries` format-2 entries in one chain (made
   in process with the project's own hashing, as the export command writes
   them) checked by tools/verify_audit_export.py on this Python and by
   tools/verify_audit_export.mjs on Node, alternating over `--verify-rounds`:
   entries per second.

The figures go to var/bench/ (bench/results.py); `--quick` is a short pass.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench_audit"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from bench.database import drop_database, prepare_database  # noqa: E402
from bench.results import Record, parse_arguments, start  # noqa: E402
from bench.rounds import alternate  # noqa: E402
from core.activity_log.chain import seal_lab  # noqa: E402
from core.activity_log.hashing import (  # noqa: E402
    FORMAT_JCS,
    FORMAT_PYTHON_JSON,
    GENESIS_HASH,
    entry_hash,
    hashed_document,
)
from core.activity_log.models import ActivityLog  # noqa: E402
from core.models.activity_log_base import write_entry  # noqa: E402

TOOLS = Path(__file__).resolve().parent.parent / "tools"
LAB = 7
START = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)


def sample_entry(n: int) -> ActivityLog:
    """A realistic entry: a patient edit with Devanagari and Arabic text."""
    return ActivityLog(
        id=n,
        lab_id=LAB,
        parent_lab_id=1,
        model_label="patients.patient",
        instance_id=str(n % 5000),
        action="update",
        category_id=None,
        message="Patient updated",
        reason="नाम सही किया" if n % 3 else "",
        changes={
            "first_name": {"old": "احمد", "new": "أحمد"},
            "phone": {"old": "***", "new": "***"},
            "weight_kg": {"old": 61.5, "new": 62},
        },
        actor_id="user:7",
        actor_name="Dr Rao",
        actor_role="pathologist",
        actor_kind="staff",
        request_id="5f0c2a9e3b1d4e6f",
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0",
        created_at=START + dt.timedelta(microseconds=n),
    )


# -- 1. sealing --------------------------------------------------------------------


def seal_round(count: int, format: int) -> float:
    """Seconds per entry to seal `count` new pending entries in `format`."""
    for n in range(count):
        write_entry(
            lab_id=LAB,
            model_label="patients.patient",
            instance_id=n,
            action="update",
            message="Patient updated",
            changes={"first_name": {"old": "احمد", "new": "أحمد"}},
        )
    started = time.perf_counter()
    sealed = seal_lab(LAB, format=format)
    elapsed = time.perf_counter() - started
    assert sealed == count
    return elapsed / count


def bench_sealing(count: int, rounds: int, record: Record) -> None:
    """seal_lab per entry in each format, then the hashing alone, each in
    alternating rounds (rotated order); per-round ratios format 2 / 1."""
    # Alternating formats on one chain: sealing does not check the order
    # (verification would refuse it; this chain is never verified).
    times = alternate(
        {
            str(f): partial(seal_round, count, f)
            for f in (FORMAT_PYTHON_JSON, FORMAT_JCS)
        },
        rounds,
    )
    one, two = (
        record.figure(f"format {f}", "seconds to seal an entry", times[f], "s")
        for f in ("1", "2")
    )
    ratio = record.ratio(
        "seconds to seal an entry", "format 2", "format 1", times["2"], times["1"]
    )
    print(
        f"sealing, {count} entries x {rounds} rounds, medians: format 1 "
        f"{one.spread.median * 1e6:.0f} us per entry | format 2 (RFC 8785) "
        f"{two.spread.median * 1e6:.0f} us per entry = {ratio.describe()}"
    )
    entries = [sample_entry(n) for n in range(2_000)]

    def hashing(format: int) -> float:
        started = time.perf_counter()
        for entry in entries:
            entry_hash(entry, GENESIS_HASH, format)
        return (time.perf_counter() - started) / len(entries)

    hashed = alternate(
        {str(f): partial(hashing, f) for f in (FORMAT_PYTHON_JSON, FORMAT_JCS)},
        max(rounds, 10),
    )
    for format, values in hashed.items():
        per = record.figure(f"format {format}", "seconds to hash an entry", values, "s")
        print(
            f"        hashing alone, format {format}: "
            f"{per.describe(1e6, 1, ' us')} per entry"
        )


# -- 2. verifying ------------------------------------------------------------------


def write_export(path: Path, count: int) -> None:
    previous, first_previous, first_hash = GENESIS_HASH, GENESIS_HASH, ""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for sequence in range(1, count + 1):
            entry = sample_entry(sequence)
            digest = entry_hash(entry, previous, FORMAT_JCS)
            first_hash = first_hash or digest
            line = {
                "chain": LAB, "sequence": sequence, "format": FORMAT_JCS,
                "previous_hash": previous, "entry_hash": digest,
                "entry": hashed_document(entry),
            }  # fmt: skip
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            previous = digest
    manifest = {
        "lab": LAB, "count": count, "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "chains": [{
            "chain": LAB, "count": count, "previous_hash": first_previous,
            "first_sequence": 1, "first_hash": first_hash, "last_sequence": count,
            "last_hash": previous, "head_sequence": count, "head_hash": previous,
        }],
    }  # fmt: skip
    path.with_name(path.name + ".manifest.json").write_text(json.dumps(manifest))


def run_verifier(command: list[str], count: int) -> tuple[float, str]:
    """Entries per second of one verifier run, and what it said."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    elapsed = time.perf_counter() - started
    return count / elapsed, (done.stdout or done.stderr).strip()


def bench_verifying(count: int, rounds: int, record: Record) -> None:
    """The two verifiers on one export, alternating over `rounds`."""
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "audit.jsonl"
        started = time.perf_counter()
        write_export(export, count)
        size = export.stat().st_size / 1e6
        print(
            f"verifying an export of {count:,} entries ({size:,.0f} MB, written in "
            f"{time.perf_counter() - started:.0f} s), {rounds} rounds:"
        )
        script = TOOLS / "verify_audit_export.py"
        commands = {"Python (stdlib)": [sys.executable, "-I", str(script), str(export)]}
        node = shutil.which("node")
        if node:
            commands["Node"] = [
                node,
                str(TOOLS / "verify_audit_export.mjs"),
                str(export),
            ]
        said: dict[str, str] = {}

        def verify(name: str) -> float:
            rate, said[name] = run_verifier(commands[name], count)
            return rate

        rates = alternate({name: partial(verify, name) for name in commands}, rounds)
    for name, values in rates.items():
        rate = record.figure(name, "entries verified per second", values, "/s")
        shown = rate.describe(digits=0, unit=" entries/s")
        print(f"        {name}: {shown} ({said[name]})")
    if not node:
        print("        Node: not installed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seal", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--verify-rounds", type=int, default=3)
    quick = {"entries": 20_000, "seal": 500, "rounds": 3}
    args = parse_arguments(parser, quick)
    # One process, or a verifier alone: no server and load generator to part.
    record = start("bench_audit", args, unpinned="no server and load generator")
    prepare_database()
    try:
        bench_sealing(args.seal, args.rounds, record)
    finally:
        drop_database()
    bench_verifying(args.entries, args.verify_rounds, record)
    record.write()


if __name__ == "__main__":
    main()
