"""Signed checkpoints: each lab's chain head, anchored outside the database.

A hash chain kept only in the database does not stop someone who can write
to the database: they can rewrite an entry and recompute every hash after
it. So, every ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS (five minutes) and at
every retention prune, each chain's head (lab, sequence, hash) is signed
with an Ed25519 key the database never holds (ACTIVITY_LOG_SIGNING_KEY or
ACTIVITY_LOG_SIGNING_KEY_FILE, a PEM from `openssl genpkey -algorithm
ed25519`) and written to the `s3` client's storage, under S3 Object Lock
where the bucket has it, so that not even the storage's owner can change
it before ACTIVITY_LOG_CHECKPOINT_RETENTION_DAYS. The database records each
checkpoint too (`ActivityLogCheckpoint`), as an index; verification trusts
only the signed objects and the public key.

The signed bytes are the RFC 8785 canonical JSON of the payload:

    {"chain": 3, "entry_hash": "...", "key_id": "...", "sequence": 17,
     "signed_at": "2026-12-04T05:00:00.000000Z",
     "type": "lis.activity-log.checkpoint", "version": 1}

stored as `{"payload": {...}, "signature": "<base64 Ed25519 signature>"}`
under `activity-log-checkpoints/<chain>/<sequence, 12 digits>.json`.
docs/audit-checkpoints.md says how an inspector checks one with openssl.
"""

import base64
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.activity_log.checkpoint_keys import (
    key_id,
    public_key_pem,
    signing_key,
    verify_keys,
)
from core.activity_log.models import (
    ActivityLogChainHead,
    ActivityLogCheckpoint,
    ActivityLogSeal,
)
from core.utils.clients import get_client

logger = logging.getLogger(__name__)

PREFIX = "activity-log-checkpoints/"
PAYLOAD_TYPE = "lis.activity-log.checkpoint"
PAYLOAD_VERSION = 1
#: Seals looked up per query when checking checkpoints against the chain.
VERIFY_BATCH_SIZE = 500


# -- signing ----------------------------------------------------------------------


def storage_key(chain: int, sequence: int) -> str:
    return f"{PREFIX}{chain}/{sequence:012d}.json"


def payload(chain: int, sequence: int, entry_hash: str, signed_at: dt.datetime,
            key: str) -> dict[str, Any]:  # fmt: skip
    return {
        "type": PAYLOAD_TYPE, "version": PAYLOAD_VERSION, "chain": chain,
        "sequence": sequence, "entry_hash": entry_hash, "key_id": key,
        "signed_at": signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }  # fmt: skip


def checkpoint_due(
    interval_seconds: int | None = None, now: dt.datetime | None = None
) -> int:
    """Checkpoint every chain whose last checkpoint is older than the
    interval (ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS unless given; 0: every
    chain) and whose head moved since: the Fusion periodic task, and
    `manage.py checkpoint_activity_logs`. `now` is when the round runs
    (tests pass a later time). So a busy chain's newest links wait at most
    the interval and one maintenance round to be signed, and a chain that
    was idle longer than the interval is signed in the first round after it
    moves. Returns how many were written; 0
    without a key (warned once per process; with DEBUG off, `manage.py
    check` refuses to run without one, core.E050). A storage failure
    propagates at the first chain it hits; the chains signed before it
    stay signed, and the next round (or run) carries on."""
    if signing_key() is None:
        _warn_once_without_key()
        return 0
    if interval_seconds is None:
        interval_seconds = settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS
    due_before = (now or timezone.now()) - dt.timedelta(seconds=interval_seconds)
    # Two queries a round, however many labs: this runs in every worker's
    # maintenance round.
    last_signed = dict(
        ActivityLogCheckpoint.objects.values("chain_lab_id")
        .annotate(last=Max("signed_at"))
        .values_list("chain_lab_id", "last")
    )
    written = 0
    for chain in ActivityLogChainHead.objects.filter(sequence__gt=0).values_list(
        "chain_lab_id", flat=True
    ):
        last = last_signed.get(chain)
        if last is None or last <= due_before:
            written += checkpoint_chain(chain) is not None
    return written


_warned: list[bool] = []


def _warn_once_without_key() -> None:
    if not _warned:
        _warned.append(True)
        logger.warning("activity-log checkpoints are off: no ACTIVITY_LOG_SIGNING_KEY")


def checkpoint_chain(chain: int) -> ActivityLogCheckpoint | None:
    """Sign chain `chain`'s head now, store it and record it; None if the
    head is already checkpointed or the chain is empty. Serialised with the
    chain's sealers on its head row; if storage fails, nothing is recorded
    and the error propagates (the periodic task retries next round)."""
    private = signing_key()
    if private is None:
        raise ImproperlyConfigured(
            "Checkpoints need ACTIVITY_LOG_SIGNING_KEY "
            "(or ACTIVITY_LOG_SIGNING_KEY_FILE)."
        )
    with transaction.atomic():
        head = ActivityLogChainHead.objects.select_for_update().filter(pk=chain).first()
        if head is None or head.sequence == 0:
            return None
        last = _last_checkpoint(chain)
        if last is not None and last.sequence == head.sequence:
            return None
        return _sign_and_store(private, chain, head.sequence, head.last_hash)


def _sign_and_store(
    private: Ed25519PrivateKey, chain: int, sequence: int, entry_hash: str
) -> ActivityLogCheckpoint:
    public = private.public_key()
    body = payload(chain, sequence, entry_hash, timezone.now(), key_id(public))
    signature = base64.b64encode(private.sign(rfc8785.dumps(body))).decode()
    document = {"payload": body, "signature": signature}
    key = storage_key(chain, sequence)
    retention = settings.ACTIVITY_LOG_CHECKPOINT_RETENTION_DAYS
    get_client("s3").upload(
        key,
        json.dumps(document, sort_keys=True).encode(),
        content_type="application/json",
        retain_until=timezone.now() + dt.timedelta(days=retention)
        if retention
        else None,
        lock_mode=settings.ACTIVITY_LOG_CHECKPOINT_LOCK_MODE,
    )
    checkpoint = ActivityLogCheckpoint(
        chain_lab_id=chain, sequence=sequence, entry_hash=entry_hash,
        signed_at=dt.datetime.strptime(body["signed_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        .replace(tzinfo=dt.UTC),
        key_id=body["key_id"], signature=signature, storage_key=key,
    )  # fmt: skip
    checkpoint.save()
    return checkpoint


def _last_checkpoint(chain: int) -> ActivityLogCheckpoint | None:
    return (
        ActivityLogCheckpoint.objects.filter(chain_lab_id=chain)
        .order_by("-sequence")
        .first()
    )


# -- verifying --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointProblem:
    """The first checkpoint of a chain that does not hold.

    Example: `CheckpointProblem(3, 17, "2026-12-04T05:00:00.000000Z",
    "the chain no longer has this hash at #17")`.
    """

    chain: int
    sequence: int
    signed_at: str
    problem: str


def stored_checkpoints(
    chain: int, first: int | None = None, last: int | None = None
) -> list[dict[str, Any]]:
    """The signed documents stored for `chain`, in sequence order; with
    `first` / `last`, only those signed at sequences in that range (chosen
    by key name, so the others are not downloaded)."""
    client = get_client("s3")
    return [
        json.loads(client.download(key))
        for key in client.keys(f"{PREFIX}{chain}/")
        if _in_range(_key_sequence(key), first, last)
    ]


def stored_chains() -> set[int]:
    """Every chain with at least one signed checkpoint in storage: the
    chains that existed, as told by records outside the database. One
    listing of the prefix (a request per 1,000 checkpoints)."""
    chains: set[int] = set()
    for key in get_client("s3").keys(PREFIX):
        name = key.removeprefix(PREFIX).split("/", 1)[0]
        if name.isdigit():
            chains.add(int(name))
    return chains


def latest_stored_checkpoint(chain: int) -> dict[str, Any] | None:
    """The stored document with the highest sequence for `chain` (None if
    there is none), unchecked: verify its signature before trusting it."""
    client = get_client("s3")
    named = [
        (sequence, key)
        for key in client.keys(f"{PREFIX}{chain}/")
        if (sequence := _key_sequence(key)) is not None
    ]
    if not named:
        return None
    document: dict[str, Any] = json.loads(client.download(max(named)[1]))
    return document


def _key_sequence(key: str) -> int | None:
    """The sequence a checkpoint's storage key names; None for another name."""
    name = key.rsplit("/", 1)[-1].removesuffix(".json")
    return int(name) if name.isdigit() else None


def _in_range(sequence: int | None, first: int | None, last: int | None) -> bool:
    if sequence is None:
        return first is None and last is None  # unexpected names: full checks only
    return (first is None or sequence >= first) and (last is None or sequence <= last)


def inspector_bundle(chain: int, first: int, last: int) -> dict[str, Any]:
    """What an inspector needs to check chain `chain` from sequence `first`
    to `last` against its checkpoints, for an export to carry: the signed
    checkpoints stored for that range, and every public key they may be
    checked with (the current one and any retired ones), by key id.

    Example: `{"public_keys": {"3f9a0c1d2e4b5a69": "-----BEGIN PUBLIC KEY-----..."},
    "checkpoints": [{"payload": {...}, "signature": "..."}]}`. Empty when no
    key is configured (then nothing could be checked).
    """
    keys = verify_keys()
    if not keys:
        return {"public_keys": {}, "checkpoints": []}
    return {
        "public_keys": {kid: public_key_pem(key) for kid, key in keys.items()},
        "checkpoints": stored_checkpoints(chain, first, last),
    }


def verify_checkpoints(chain: int) -> CheckpointProblem | None:
    """Check chain `chain`'s seals against every stored checkpoint, in
    sequence order: each signature holds under the key it names (the verify
    key or a retired one) and names this chain, and the seal at its
    sequence still carries its hash. A checkpoint the database records but
    storage lacks is a problem too. Returns the first problem."""
    keys = verify_keys()
    if not keys:
        raise ImproperlyConfigured(
            "Checking checkpoints needs ACTIVITY_LOG_VERIFY_KEY or the signing key."
        )
    documents = stored_checkpoints(chain)
    for start in range(0, len(documents), VERIFY_BATCH_SIZE):
        problem = _verify_batch(
            chain, keys, documents[start : start + VERIFY_BATCH_SIZE]
        )
        if problem is not None:
            return problem
    return _missing_from_storage(chain, documents)


def _verify_batch(
    chain: int, keys: dict[str, Ed25519PublicKey], documents: list[dict[str, Any]]
) -> CheckpointProblem | None:
    """The first problem among `documents`, with one query for their seals."""
    sequences = [_sequence_of(document) for document in documents]
    hashes = dict(
        ActivityLogSeal.objects.filter(
            chain_lab_id=chain, sequence__in=sequences
        ).values_list("sequence", "entry_hash")
    )
    for document, sequence in zip(documents, sequences, strict=True):
        body = _payload(document)
        where = (chain, sequence, str(body.get("signed_at", "")))
        public = keys.get(str(body.get("key_id", "")))
        if public is None:
            return CheckpointProblem(
                *where, f"signed with key {body.get('key_id')!r}, which is neither "
                "the verify key nor a retired one (forged, or a key not configured)",
            )  # fmt: skip
        if not signature_holds(public, document) or body.get("chain") != chain:
            return CheckpointProblem(*where, "the signature does not hold (forged)")
        if hashes.get(sequence) != body.get("entry_hash"):
            return CheckpointProblem(
                *where,
                f"the chain no longer has this hash at #{sequence} "
                "(rewritten after it was signed)",
            )
    return None


def _payload(document: Any) -> dict[str, Any]:
    """A stored document's payload; {} for a malformed one (which then
    fails as forged rather than stopping verification)."""
    body = document.get("payload") if isinstance(document, dict) else None
    return body if isinstance(body, dict) else {}


def _sequence_of(document: Any) -> int:
    try:
        return int(_payload(document).get("sequence", 0))
    except (TypeError, ValueError):
        return 0


def _missing_from_storage(
    chain: int, documents: list[dict[str, Any]]
) -> CheckpointProblem | None:
    """The first checkpoint the database records that storage lacks."""
    seen = {_sequence_of(document) for document in documents}
    recorded = (
        ActivityLogCheckpoint.objects.filter(chain_lab_id=chain)
        .exclude(sequence__in=seen)
        .order_by("sequence")
        .first()
    )
    if recorded is None:
        return None
    return CheckpointProblem(
        chain, recorded.sequence, recorded.signed_at.isoformat(),
        "the signed checkpoint is missing from storage",
    )  # fmt: skip


def signature_holds(public: Ed25519PublicKey, document: dict[str, Any]) -> bool:
    """Whether `document`'s signature is `public`'s over its payload's RFC
    8785 form."""
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        public.verify(signature, rfc8785.dumps(document["payload"]))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True
