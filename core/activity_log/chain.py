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

Sealing is isolated per lab: a lab whose chain cannot be extended (an
entry whose `sealed` flag was set back, a head rewound behind its seals)
fails in its own savepoint, is logged and reported (`seal_each`), and every
other lab keeps sealing.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, transaction

from core.activity_log.hashing import CURRENT_FORMAT, GENESIS_HASH, entry_hash
from core.activity_log.models import (
    ActivityLog,
    ActivityLogChain,
    ActivityLogChainHead,
    ActivityLogPrune,
    ActivityLogSeal,
)

logger = logging.getLogger(__name__)

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
    """Seal every lab's unsealed entries. Returns how many. A lab whose
    sealing fails is logged and skipped (`seal_each`); the others seal."""
    return seal_each().sealed


def unsealed_count() -> int:
    """How many entries wait to be sealed onto their lab's chain (the seal
    backlog metrics report; a partial index keeps it cheap)."""
    return ActivityLog.objects.filter(sealed=False).count()


@dataclass(frozen=True)
class SealFailure:
    """A lab whose pending entries cannot be sealed onto its chain.

    Example: `SealFailure(lab=3, sequence=17, problem="entry 920 is marked
    unsealed but is already sealed at #17 (its sealed flag was set back)")`.
    """

    lab: int
    sequence: int
    problem: str


@dataclass
class SealRound:
    """One round over every lab: entries sealed, and the labs that failed."""

    sealed: int = 0
    failed: list[SealFailure] = field(default_factory=list)


def seal_each() -> SealRound:
    """Seal every lab's unsealed entries, each lab on its own: a lab whose
    chain cannot be extended is rolled back to its savepoint (each batch is
    an atomic block), logged and reported, and the other labs still seal.
    A lost database connection is not one lab's problem: it propagates."""
    labs = set(
        ActivityLog.objects.filter(sealed=False).values_list("lab_id", flat=True)
    )
    result = SealRound()
    for lab in sorted(labs, key=chain_lab):
        try:
            result.sealed += seal_lab(lab)
        except OperationalError:
            raise
        except DatabaseError as exc:
            failure = seal_failure(chain_lab(lab), exc)
            logger.error(
                "lab %s's chain cannot be sealed: %s", failure.lab, failure.problem
            )
            result.failed.append(failure)
    return result


def seal_failure(lab: int, exc: Exception) -> SealFailure:
    """Why lab `lab`'s pending entries would not seal, in words."""
    sealed_ids = ActivityLogSeal.objects.values("entry_id")
    reset = (
        ActivityLog.objects.filter(sealed=False, id__in=sealed_ids, **_lab_filter(lab))
        .order_by("id")
        .first()
    )
    if reset is not None:
        seal = ActivityLogSeal.objects.get(entry_id=reset.id)
        return SealFailure(
            lab, seal.sequence,
            f"entry {reset.id} is marked unsealed but is already sealed at "
            f"#{seal.sequence} of chain {seal.chain_lab_id} (its sealed flag was "
            "set back behind the application's back)",
        )  # fmt: skip
    head = ActivityLogChainHead.objects.filter(pk=lab).first()
    last = _last_sequence(lab)
    if head is not None and head.sequence < last:
        return SealFailure(
            lab, head.sequence,
            f"the chain head says #{head.sequence} but seals run to #{last} (the "
            "head was rewound behind the application's back)",
        )  # fmt: skip
    return SealFailure(lab, 0, f"sealing fails: {exc}")


def _last_sequence(lab: int) -> int:
    """The highest sequence sealed in lab `lab`'s chain (0: none)."""
    last = (
        ActivityLogSeal.objects.filter(chain_lab_id=lab)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    return int(last or 0)


def _lab_filter(lab: int) -> dict[str, Any]:
    return {"lab_id": lab} if lab else {"lab_id__isnull": True}


def _seal_batch(lab: int, format: int) -> int:
    with transaction.atomic():
        head = _locked_head(lab)
        pending = list(
            ActivityLog.objects.filter(sealed=False, **_lab_filter(lab)).order_by("id")[
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
    """The lab's chain head, locked until the transaction ends. A chain's
    first head also registers the chain (ActivityLogChain, which only
    grows), so that verification expects it from then on."""
    try:
        return ActivityLogChainHead.objects.select_for_update().get(pk=lab)
    except ActivityLogChainHead.DoesNotExist:
        try:
            with transaction.atomic():
                ActivityLogChainHead.objects.create(chain_lab_id=lab)
        except IntegrityError:
            pass  # another sealer created it first
        ActivityLogChain.objects.bulk_create(
            [ActivityLogChain(chain_lab_id=lab)], ignore_conflicts=True
        )
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

    @property
    def kind(self) -> str:
        """The problem's first word: `edited`, `deleted`, `reordered`, `format`."""
        return self.problem.split(":")[0].split()[0]


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
