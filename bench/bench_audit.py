"""The audit trail's costs: sealing per entry in each chain format, and
verifying a large export with the two standalone verifiers.

Run: `.venv/bin/python -m bench.bench_audit [--entries 1000000]
[--seal 5000] [--rounds 5]` against DATABASE_URL, by default the
PostgreSQL database `lis_bench_audit` (created, migrated, dropped at the end).

Printed:
1. Sealing: seconds per entry of `seal_lab` (read the pending entries,
   hash, write the seals and the head, in the database) with format 1
   (Python's json.dumps, before issue 15) and format 2 (RFC 8785 through
   `rfc8785`), in alternating rounds of `--seal` entries; and the hashing
   alone, in process, per entry.
2. Verifying: an export of `--entries` format-2 entries in one chain (made
   in process with the project's own hashing, as the export command writes
   them) checked by tools/verify_audit_export.py on this Python and by
   tools/verify_audit_export.mjs on Node: seconds, and entries per second.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench_audit"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from bench.database import drop_database, prepare_database  # noqa: E402
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


def bench_sealing(count: int, rounds: int) -> None:
    times: dict[int, list[float]] = {FORMAT_PYTHON_JSON: [], FORMAT_JCS: []}
    # Alternating formats on one chain: sealing does not check the order
    # (verification would refuse it; this chain is never verified).
    for _ in range(rounds):
        for format in times:
            times[format].append(seal_round(count, format))
    one, two = (statistics.median(times[f]) * 1e6 for f in (1, 2))
    print(
        f"sealing, {count} entries x {rounds} rounds, medians: format 1 {one:.0f} us "
        f"per entry | format 2 (RFC 8785) {two:.0f} us per entry = {two / one:.2f}x"
    )
    entries = [sample_entry(n) for n in range(20_000)]
    for format in (FORMAT_PYTHON_JSON, FORMAT_JCS):
        started = time.perf_counter()
        for entry in entries:
            entry_hash(entry, GENESIS_HASH, format)
        per = (time.perf_counter() - started) / len(entries) * 1e6
        print(f"        hashing alone, format {format}: {per:.1f} us per entry")


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


def run_verifier(command: list[str], count: int, name: str) -> None:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    elapsed = time.perf_counter() - started
    verdict = (done.stdout or done.stderr).strip()
    rate = count / elapsed
    print(f"        {name}: {elapsed:.1f} s = {rate:,.0f} entries/s ({verdict})")


def bench_verifying(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "audit.jsonl"
        started = time.perf_counter()
        write_export(export, count)
        size = export.stat().st_size / 1e6
        print(
            f"verifying an export of {count:,} entries ({size:,.0f} MB, written in "
            f"{time.perf_counter() - started:.0f} s):"
        )
        script = TOOLS / "verify_audit_export.py"
        run_verifier(
            [sys.executable, "-I", str(script), str(export)], count, "Python (stdlib)"
        )
        node = shutil.which("node")
        if node:
            run_verifier(
                [node, str(TOOLS / "verify_audit_export.mjs"), str(export)],
                count,
                "Node",
            )
        else:
            print("        Node: not installed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seal", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    prepare_database()
    try:
        bench_sealing(args.seal, args.rounds)
    finally:
        drop_database()
    bench_verifying(args.entries)


if __name__ == "__main__":
    main()
