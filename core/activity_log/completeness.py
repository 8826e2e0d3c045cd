"""What must still be there: every chain that was started, and each chain
up to its latest signed checkpoint.

The chain walk (chain.py) proves that the links present hold together. It
cannot see links gone from the end of a chain, nor a chain gone whole: an
empty table verifies. This module checks what must exist, from records an
eraser cannot reach or that only grow:

- `expected_chains`: every chain in the registry (ActivityLogChain,
  append-only, TRUNCATE refused), with a seal, a head, an entry, a recorded
  checkpoint, or a signed checkpoint in storage, and any lab the caller
  knows holds logged records. One with no seal left is `missing`.
- `verify_end`: the chain head is the last seal (sequence and hash), and
  the last seal is not before the latest signed checkpoint in storage. So
  a tail cut, with or without its head rewound, is `truncated` down to
  that checkpoint; links sealed after it are vouched for by the database
  alone until the next checkpoint (docs/audit-checkpoints.md says how
  long that window is).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.activity_log.checkpoints import (
    latest_stored_checkpoint,
    signature_holds,
    stored_chains,
)
from core.activity_log.models import (
    ActivityLog,
    ActivityLogChain,
    ActivityLogChainHead,
    ActivityLogCheckpoint,
    ActivityLogSeal,
)


@dataclass(frozen=True)
class Erasure:
    """Links or a chain that must exist and do not.

    Example: `Erasure(chain=3, sequence=120, kind="truncated", problem="the
    chain ends at #70, but checkpoint #120 ... says it had 120 links")`.
    """

    chain: int
    sequence: int
    kind: str
    problem: str


def expected_chains(
    known_labs: Iterable[int] = (), *, storage: bool = True
) -> dict[int, list[str]]:
    """Each chain that must exist, with what says so (for the report).

    `known_labs`: labs known to hold logged records (the caller's). With
    `storage`, the chains with signed checkpoints in storage count too.

    Example: `{3: ["registry", "seals", "entries"], 5: ["signed checkpoints"]}`.
    """
    sources: dict[str, Iterable[int]] = {
        "registry": ActivityLogChain.objects.values_list("chain_lab_id", flat=True),
        "seals": ActivityLogSeal.objects.values_list("chain_lab_id", flat=True)
        .order_by()
        .distinct(),
        "chain head": ActivityLogChainHead.objects.filter(sequence__gt=0).values_list(
            "chain_lab_id", flat=True
        ),
        "entries": (
            lab or 0
            for lab in ActivityLog.objects.values_list("lab_id", flat=True)
            .order_by()
            .distinct()
        ),
        "recorded checkpoints": ActivityLogCheckpoint.objects.values_list(
            "chain_lab_id", flat=True
        )
        .order_by()
        .distinct(),
        "logged records": known_labs,
        "signed checkpoints": stored_chains() if storage else (),
    }
    expected: dict[int, list[str]] = {}
    for source, chains in sources.items():
        for chain in chains:
            expected.setdefault(int(chain), []).append(source)
    return dict(sorted(expected.items()))


def missing_chain(chain: int, reasons: Iterable[str]) -> Erasure | None:
    """An Erasure if chain `chain` has no seal left. Seals are never pruned,
    so a chain that was ever sealed keeps at least its first one."""
    if ActivityLogSeal.objects.filter(chain_lab_id=chain).exists():
        return None
    return Erasure(
        chain, 0, "missing",
        f"lab {chain}'s chain is gone: no seal is left, though "
        f"{', '.join(reasons)} say it exists",
    )  # fmt: skip


def verify_end(chain: int, keys: dict[str, Ed25519PublicKey] | None) -> Erasure | None:
    """The chain's end against its head row and, with `keys`, its latest
    signed checkpoint in storage (see the module doc)."""
    last, last_hash = _last_seal(chain)
    head = (
        ActivityLogChainHead.objects.filter(pk=chain)
        .values_list("sequence", "last_hash")
        .first()
    )
    if head is None:
        return Erasure(
            chain, last, "head", f"the chain runs to #{last} but its head is gone"
        )
    if head[0] > last:
        return Erasure(
            chain, last, "truncated",
            f"the chain ends at #{last} but its head is at #{head[0]}: links "
            f"after #{last} were deleted",
        )  # fmt: skip
    if head != (last, last_hash):
        return Erasure(
            chain, head[0], "head",
            f"the chain head says #{head[0]} but the last seal is #{last} with "
            "another hash: the head was rewound or rewritten",
        )  # fmt: skip
    return _behind_checkpoint(chain, last, keys) if keys else None


def _last_seal(chain: int) -> tuple[int, str]:
    """The last seal's sequence and hash; (0, "") for a chain with none."""
    last = (
        ActivityLogSeal.objects.filter(chain_lab_id=chain)
        .order_by("-sequence")
        .values_list("sequence", "entry_hash")
        .first()
    )
    return (int(last[0]), str(last[1])) if last else (0, "")


def _behind_checkpoint(
    chain: int, last: int, keys: dict[str, Ed25519PublicKey]
) -> Erasure | None:
    """An Erasure if the latest signed checkpoint is beyond the chain's
    last seal. A checkpoint whose signature fails is left to
    `verify_checkpoints`, which reports it as forged."""
    document = latest_stored_checkpoint(chain)
    if document is None:
        return None
    body = document.get("payload") or {}
    public = keys.get(str(body.get("key_id", "")))
    if public is None or not signature_holds(public, document):
        return None
    signed = int(body.get("sequence", 0))
    if body.get("chain") != chain or signed <= last:
        return None
    return Erasure(
        chain, signed, "truncated",
        f"the chain ends at #{last}, but checkpoint #{signed} signed "
        f"{body.get('signed_at')} says it had {signed} links: links after "
        f"#{last} were cut (and the head rewound)",
    )  # fmt: skip
