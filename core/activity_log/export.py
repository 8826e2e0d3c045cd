"""Exports of the audit trail that verify on their own (docs/audit-trail.md).

An export covers a lab and its descendant labs, each of which is its own
chain, over whole days in the lab's time zone. For each chain it holds the
contiguous run of seals from the first to the last entry created in the
range (an entry created just inside the range can be sealed after one just
outside it: the run includes that one too, so no link is missing), in
sequence order, one JSON line per entry:

    {"chain": 3, "sequence": 17, "format": 2, "previous_hash": "...",
     "entry_hash": "...", "entry": {...the hashed document...}}

A format-1 line also carries `"canonical"`, the exact text that was hashed
(Python's json.dumps), and its `entry` is that text parsed. A seal whose
entry is gone is written with `"entry": null`, for the verifier to report.

The manifest (`<file>.manifest.json`) names the lab, the range, the
count, the file's SHA-256, the checkpoints' public key (and in
`public_keys`, by key id, every key they may be signed with, retired ones
included) and, per chain, the
hash before the first line exported (so the first link checks), the first
and last sequence and hash, the chain's head when exported, and the signed
checkpoints (checkpoints.py) that fall inside the exported run.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from core.activity_log.chain import chain_lab, seal_lab
from core.activity_log.checkpoint_keys import public_key_pem, verify_key
from core.activity_log.checkpoints import inspector_bundle
from core.activity_log.hashing import FORMAT_PYTHON_JSON, canonical, hashed_document
from core.activity_log.models import ActivityLog, ActivityLogSeal

#: Seals (and their entries) read per query.
CHUNK_SIZE = 2000
SPECIFICATION = "docs/audit-trail.md"


@dataclass
class ChainRun:
    """What the manifest says of one chain in an export."""

    chain: int
    first_sequence: int
    last_sequence: int
    previous_hash: str = ""
    first_hash: str = ""
    last_hash: str = ""
    count: int = 0
    head_sequence: int = 0
    head_hash: str = ""
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    public_keys: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain, "count": self.count,
            "previous_hash": self.previous_hash,
            "first_sequence": self.first_sequence, "first_hash": self.first_hash,
            "last_sequence": self.last_sequence, "last_hash": self.last_hash,
            "head_sequence": self.head_sequence, "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
        }  # fmt: skip


@dataclass
class Export:
    """An export being written: its chains' runs, filled as lines go out."""

    lab: int
    since: dt.date
    until: dt.date
    start: dt.datetime
    end: dt.datetime
    runs: list[ChainRun] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(run.count for run in self.runs)

    def lines(self) -> Iterator[dict[str, Any]]:
        """Every line of the export, chain by chain, in sequence order."""
        for run in self.runs:
            yield from _run_lines(run)

    def manifest(self, file: Path, sha256: str) -> dict[str, Any]:
        public = verify_key()
        return {
            "specification": SPECIFICATION,
            "public_key": public_key_pem(public) if public is not None else None,
            "public_keys": {
                kid: pem for run in self.runs for kid, pem in run.public_keys.items()
            },
            "lab": self.lab,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "from": _utc(self.start),
            "to": _utc(self.end),
            "exported_at": _utc(timezone.now()),
            "file": file.name,
            "sha256": sha256,
            "count": self.count,
            "chains": [run.as_dict() for run in self.runs],
        }


def plan_export(
    lab: int,
    lab_ids: Iterable[int],
    since: dt.date,
    until: dt.date,
    start: dt.datetime,
    end: dt.datetime,
) -> Export:
    """Seal what is pending for `lab_ids`, then find each chain's run of
    entries created in [start, end)."""
    export = Export(lab, since, until, start, end)
    for lab_id in sorted(lab_ids):
        seal_lab(lab_id)
        run = _run(chain_lab(lab_id), start, end)
        if run is not None:
            export.runs.append(run)
    return export


def write_lines(export: Export, out: Any) -> None:
    """Write the export's JSON lines, one object per line, to the text
    stream `out` (a file opened as UTF-8, or a command's stdout)."""
    for line in export.lines():
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")


def write_with_manifest(export: Export, path: Path) -> Path:
    """Write the export to `path` and its manifest beside it; the manifest's
    path."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        write_lines(export, out)
    manifest = manifest_path(path)
    document = export.manifest(path, _sha256(path))
    manifest.write_text(
        json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return manifest


def manifest_path(path: Path) -> Path:
    """`export.jsonl` -> `export.jsonl.manifest.json`."""
    return path.with_name(path.name + ".manifest.json")


def _run(chain: int, start: dt.datetime, end: dt.datetime) -> ChainRun | None:
    entries = ActivityLog.objects.filter(
        created_at__gte=start, created_at__lt=end, **_lab_filter(chain)
    ).values_list("id", flat=True)
    bounds = ActivityLogSeal.objects.filter(
        chain_lab_id=chain, entry_id__in=entries
    ).values_list("sequence", flat=True)
    first = bounds.order_by("sequence").first()
    if first is None:
        return None
    run = ChainRun(chain, first, bounds.order_by("-sequence").first() or first)
    head = _seals(chain).order_by("-sequence").first()
    if head is not None:
        run.head_sequence, run.head_hash = head.sequence, head.entry_hash
    bundle = inspector_bundle(chain, first, run.last_sequence)
    run.checkpoints, run.public_keys = bundle["checkpoints"], bundle["public_keys"]
    return run


def _run_lines(run: ChainRun) -> Iterator[dict[str, Any]]:
    seals = _seals(run.chain).filter(
        sequence__gte=run.first_sequence, sequence__lte=run.last_sequence
    )
    chunk: list[ActivityLogSeal] = []
    for seal in seals.order_by("sequence").iterator(chunk_size=CHUNK_SIZE):
        chunk.append(seal)
        if len(chunk) == CHUNK_SIZE:
            yield from _lines(run, chunk)
            chunk = []
    yield from _lines(run, chunk)


def _lines(run: ChainRun, seals: list[ActivityLogSeal]) -> Iterator[dict[str, Any]]:
    entries = ActivityLog.objects.in_bulk([seal.entry_id for seal in seals])
    for seal in seals:
        if run.count == 0:
            run.previous_hash, run.first_hash = seal.previous_hash, seal.entry_hash
        run.count += 1
        run.last_hash = seal.entry_hash
        yield _line(seal, entries.get(seal.entry_id))


def _line(seal: ActivityLogSeal, entry: ActivityLog | None) -> dict[str, Any]:
    line: dict[str, Any] = {
        "chain": seal.chain_lab_id,
        "sequence": seal.sequence,
        "format": seal.format,
        "previous_hash": seal.previous_hash,
        "entry_hash": seal.entry_hash,
        "entry": None,
    }
    if entry is None:
        line["entry_id"] = seal.entry_id
    elif seal.format == FORMAT_PYTHON_JSON:
        text = canonical(entry, FORMAT_PYTHON_JSON).decode()
        line["canonical"], line["entry"] = text, json.loads(text)
    else:
        line["entry"] = hashed_document(entry)
    return line


def _seals(chain: int) -> Any:
    return ActivityLogSeal.objects.filter(chain_lab_id=chain)


def _lab_filter(chain: int) -> dict[str, Any]:
    return {"lab_id": chain} if chain else {"lab_id__isnull": True}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
