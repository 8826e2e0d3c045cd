"""Each lab's hash chain over its activity log: sealing and verification.

Sealing runs apart from the save (so a lab's writers never wait for each
other on the chain, and a save pays only for its entry and a pending row):
`manage.py seal_activity_logs` (schedule it, e.g. every minute) and the
verify command seal whatever is pending. A sealer takes the lab's chain head
with SELECT ... FOR UPDATE, gives the pending entries the next sequence
numbers in id order, and stores for each
`hash = SHA-256(canonical entry + previous hash)` in the current chain
format (hashing.py; the specification is docs/audit-trail.md). Two sealers
of one lab queue on the head row, so the chain cannot fork.

Verification walks a lab's seals in sequence order and reports the first
break: a sequence gap, a previous hash that does not match (reordered or
removed links), an entry whose content no longer gives its hash (edited),
or a seal whose entry is gone (deleted) unless a recorded retention prune
removed it (retention.py). Each seal is checked in the format it was made
in; formats only ever go up along a chain (a seal in an older format after
a newer one is a break), so history keeps its hashes across a format change.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from core.activity_log.hashing import CURRENT_FORMAT, GENESIS_HASH, entry_hash
from core.activity_log.models import (
    ActivityLog,
    ActivityLogChainHead,
    ActivityLogPrune,
    ActivityLogSeal,
)

#: How many entries one sealing transaction takes.
SEAL_BATCH_SIZE = 500


def chain_lab(lab_id: int | None) -> int:
    """The chain an entry belongs to: its lab, or 0 for records without one."""
    return lab_id or 0


def seal_lab(lab_id: int | None, *, format: int = CURRENT_FORMAT) -> int:
    """Seal the lab's unsealed entries, in batches. Returns how many.
    `format` is the chain format; only tests, recreating a chain sealed
    before the current format, pass another."""
    total = 0
    while sealed := _seal_batch(chain_lab(lab_id), format):
        total += sealed
    return total


def seal_all() -> int:
    """Seal every lab's unsealed entries. Returns how many."""
    labs = set(
        ActivityLog.objects.filter(sealed=False).values_list("lab_id", flat=True)
    )
    return sum(seal_lab(lab) for lab in labs)


def _seal_batch(lab: int, format: int) -> int:
    with transaction.atomic():
        head = _locked_head(lab)
        lab_filter = {"lab_id": lab} if lab else {"lab_id__isnull": True}
        pending = list(
            ActivityLog.objects.filter(sealed=False, **lab_filter).order_by("id")[
                :SEAL_BATCH_SIZE
            ]
        )
        sequence, previous = head.sequence, head.last_hash
        seals = []
        for entry in pending:
            sequence += 1
            digest = entry_hash(entry, previous, format)
            seals.append(
                ActivityLogSeal(
                    entry_id=entry.id, chain_lab_id=lab, sequence=sequence,
                    previous_hash=previous, entry_hash=digest, format=format,
                )
            )  # fmt: skip
            previous = digest
        # One INSERT for the batch: new rows only, so append-only holds.
        ActivityLogSeal.objects.bulk_create(seals)
        if pending:
            ActivityLogChainHead.objects.filter(pk=lab).update(
                sequence=sequence, last_hash=previous
            )
            ActivityLog.objects.filter(id__in=[e.id for e in pending]).mark_sealed()
        return len(pending)


def _locked_head(lab: int) -> ActivityLogChainHead:
    """The lab's chain head, locked until the transaction ends."""
    try:
        return ActivityLogChainHead.objects.select_for_update().get(pk=lab)
    except ActivityLogChainHead.DoesNotExist:
        try:
            with transaction.atomic():
                ActivityLogChainHead.objects.create(chain_lab_id=lab)
        except IntegrityError:
            pass  # another sealer created it first
        return ActivityLogChainHead.objects.select_for_update().get(pk=lab)


@dataclass(frozen=True)
class ChainBreak:
    """The first place a lab's chain does not hold.

    Example: `ChainBreak(lab=3, sequence=17, entry_id=920, problem="edited: ...")`.
    """

    lab: int
    sequence: int
    entry_id: int
    problem: str


def verify_lab(lab: int) -> ChainBreak | None:
    """Walk lab `lab`'s chain (0 = records without a lab); the first break.

    Entries a retention prune removed (up to its recorded sequence) are
    checked through their seals' links only, and the seal at the prune
    point must carry the hash the prune recorded.
    """
    pruned_through, pruned_hash = _prune_point(lab)
    expected_sequence, previous, format = 1, GENESIS_HASH, 0
    for seal, entry in _links(lab):
        where = (lab, seal.sequence, seal.entry_id)
        if seal.sequence != expected_sequence:
            return ChainBreak(
                *where, f"reordered or removed: expected #{expected_sequence}"
            )
        if seal.previous_hash != previous:
            return ChainBreak(*where, "reordered: the previous hash does not match")
        if seal.format < format:
            return ChainBreak(*where, f"format {seal.format} after format {format}")
        if entry is None and seal.sequence > pruned_through:
            return ChainBreak(*where, "deleted: the sealed entry is gone")
        if entry is not None and not _matches(entry, seal, previous):
            return ChainBreak(*where, "edited: the entry no longer matches its hash")
        if seal.sequence == pruned_through and seal.entry_hash != pruned_hash:
            return ChainBreak(*where, "edited: the seal differs from the prune record")
        expected_sequence, previous = expected_sequence + 1, seal.entry_hash
        format = seal.format
    if expected_sequence <= pruned_through:
        return ChainBreak(lab, expected_sequence, 0, "deleted: pruned seals are gone")
    return None


def _matches(entry: ActivityLog, seal: ActivityLogSeal, previous: str) -> bool:
    try:
        return entry_hash(entry, previous, seal.format) == seal.entry_hash
    except ValueError:  # a format this code does not know
        return False


def _prune_point(lab: int) -> tuple[int, str]:
    """The last retention prune's sequence and hash (0 and "" if none)."""
    point = (
        ActivityLogPrune.objects.filter(chain_lab_id=lab)
        .order_by("-through_sequence")
        .values_list("through_sequence", "through_hash")
        .first()
    )
    return point or (0, "")


def _links(lab: int) -> Iterator[tuple[ActivityLogSeal, ActivityLog | None]]:
    seals = ActivityLogSeal.objects.filter(chain_lab_id=lab).order_by("sequence")
    for chunk in _chunks(seals.iterator(chunk_size=SEAL_BATCH_SIZE)):
        entries = ActivityLog.objects.in_bulk([seal.entry_id for seal in chunk])
        for seal in chunk:
            yield seal, entries.get(seal.entry_id)


def _chunks(items: Iterator[ActivityLogSeal]) -> Iterator[list[ActivityLogSeal]]:
    chunk: list[ActivityLogSeal] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == SEAL_BATCH_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
