"""How long entries stay in the database after they are shipped.

Audit records are kept for years (settings.ACTIVITY_LOG_RETENTION_YEARS,
default 10: the period Elasticsearch's monthly `activity-*` indices must be
kept for; nothing here ever deletes an index). The database is the source
of truth and by default keeps every entry forever
(settings.ACTIVITY_LOG_DB_RETENTION_DAYS = None). A deployment that ships to
Elasticsearch and wants a lean table sets a number of days; then
`manage.py prune_activity_logs` (or `prune_expired` in
FUSION_PERIODIC_TASKS) removes entries that are

- sealed (their hash is in the chain, and the seal is never removed),
- shipped (Elasticsearch confirmed and can search them), and
- older than the setting,

as a prefix of each lab's chain only, after verifying that prefix, and
records the cut in `ActivityLogPrune` so verification continues from it.
This is not a TTL: nothing expires on its own, an unshipped entry is never
removed however old, and a chain that does not verify is never pruned.

A quarantined entry (Elasticsearch refused it for good; see
core/activity_log/quarantine.py) does not stop the cut: the prefix runs on
past it, and it alone is kept in the table (it exists nowhere else), inside
the pruned range, where verification still checks it against its seal. If
it ships later, after a retry, it stays in the table: a prune does not go
back behind its last cut.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.activity_log.chain import verify_lab
from core.activity_log.checkpoint_keys import signing_key
from core.activity_log.checkpoints import checkpoint_chain
from core.activity_log.models import ActivityLog, ActivityLogPrune, ActivityLogSeal
from core.activity_log.quarantine import quarantined_ids
from core.utils.aws.exceptions import StorageError

#: Deleted per statement, so one prune never holds a huge transaction.
PRUNE_BATCH_SIZE = 1000


class PruneRefused(Exception):
    """The lab's chain does not verify; its entries are evidence, kept."""


@dataclass(frozen=True)
class PruneResult:
    """One lab's prune: entries removed, and the chain sequence cut at."""

    lab: int
    removed: int
    through_sequence: int


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime | None:
    """Entries older than this may leave the database; None keeps all."""
    days = settings.ACTIVITY_LOG_DB_RETENTION_DAYS
    if days is None:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


@dataclass(frozen=True)
class PruneReport:
    """What a prune did: the labs pruned, and why any lab was refused."""

    pruned: list[PruneResult]
    refused: list[str]


def prune_expired(now: dt.datetime | None = None) -> PruneReport:
    """Prune every lab's chain per the retention setting (see the module
    doc); a lab whose chain does not verify is left whole and reported."""
    cutoff = retention_cutoff(now)
    report = PruneReport([], [])
    if cutoff is None:
        return report
    labs = ActivityLogSeal.objects.values_list("chain_lab_id", flat=True).distinct()
    for lab in sorted(labs):
        try:
            result = prune_lab(lab, cutoff)
        except PruneRefused as exc:
            report.refused.append(str(exc))
            continue
        if result.removed:
            report.pruned.append(result)
    return report


def prune_lab(lab: int, cutoff: dt.datetime) -> PruneResult:
    """Remove lab `lab`'s (0 = no lab) chain prefix of sealed, shipped
    entries older than `cutoff`. Raises PruneRefused if the chain does not
    verify."""
    start = last_prune_point(lab)
    through = _prunable_through(lab, start, cutoff)
    if through <= start:
        return PruneResult(lab, 0, start)
    broken = verify_lab(lab)
    if broken is not None and broken.sequence <= through:
        raise PruneRefused(
            f"lab {lab}'s chain breaks at #{broken.sequence} ({broken.problem}); "
            "its entries are kept as evidence."
        )
    if signing_key() is not None:
        # The head is signed and stored outside the database before any
        # entry leaves it; if storage fails, nothing is pruned.
        try:
            checkpoint_chain(lab)
        except StorageError as exc:
            raise PruneRefused(
                f"lab {lab}'s chain head could not be signed and stored ({exc}); "
                "nothing was pruned."
            ) from exc
    seals = ActivityLogSeal.objects.filter(
        chain_lab_id=lab, sequence__gt=start, sequence__lte=through
    )
    removed = 0
    with transaction.atomic():
        ids = list(seals.values_list("entry_id", flat=True))
        for first in range(0, len(ids), PRUNE_BATCH_SIZE):
            batch = ids[first : first + PRUNE_BATCH_SIZE]
            removed += ActivityLog.objects.filter(id__in=batch).prune()
        ActivityLogPrune(
            chain_lab_id=lab,
            through_sequence=through,
            through_hash=seals.get(sequence=through).entry_hash,
            removed=removed,
            cutoff=cutoff,
        ).save()
    return PruneResult(lab, removed, through)


def last_prune_point(lab: int) -> int:
    """The sequence the lab's chain was last pruned through (0: never)."""
    point = ActivityLogPrune.objects.filter(chain_lab_id=lab).aggregate(
        through=Max("through_sequence")
    )["through"]
    return int(point or 0)


def _prunable_through(lab: int, start: int, cutoff: dt.datetime) -> int:
    """The last sequence of the longest run after `start` whose entries are
    all shipped (or quarantined: kept, but no reason to stop) and older than
    `cutoff` (sealed, since they have seals)."""
    seals = ActivityLogSeal.objects.filter(chain_lab_id=lab, sequence__gt=start)
    waiting = Q(shipped=False) & ~Q(id__in=quarantined_ids())
    kept_ids = ActivityLog.objects.filter(
        waiting | Q(created_at__gte=cutoff),
        id__in=seals.values("entry_id"),
    ).values("id")
    first_kept_sequence = (
        seals.filter(entry_id__in=kept_ids)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    if first_kept_sequence is not None:
        return int(first_kept_sequence) - 1
    last = seals.aggregate(last=Max("sequence"))["last"]
    return int(last or start)


def describe(report: PruneReport) -> str:
    """One line per pruned lab, for the command's output."""
    return (
        "\n".join(
            f"lab {r.lab}: {r.removed} entries removed, chain kept from "
            f"#{r.through_sequence + 1} on"
            for r in report.pruned
        )
        or "nothing to prune"
    )
