"""Signed checkpoints: each lab's chain head, anchored outside the database.

A hash chain kept only in the database does not stop someone who can write
to the database: they can rewrite an entry and recompute every hash after
it. So, every ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS (an hour) and at
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
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

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


# -- keys -----------------------------------------------------------------------


def signing_key() -> Ed25519PrivateKey | None:
    """The configured private key, or None when none is configured.
    Raises ImproperlyConfigured for a key that cannot be read or is not
    Ed25519 (`manage.py check` reports it as core.E051)."""
    pem = _setting_pem("ACTIVITY_LOG_SIGNING_KEY")
    if pem is None:
        return None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "ACTIVITY_LOG_SIGNING_KEY is not a readable PEM private key "
            f"({type(exc).__name__}); make one with `openssl genpkey -algorithm "
            "ed25519`."
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(
            f"ACTIVITY_LOG_SIGNING_KEY is a {type(key).__name__}; checkpoints are "
            "signed with Ed25519 (`openssl genpkey -algorithm ed25519`)."
        )
    return key


def verify_key() -> Ed25519PublicKey | None:
    """The public key checkpoints are checked with: ACTIVITY_LOG_VERIFY_KEY
    (an inspector's or a verifying host's copy) or the signing key's."""
    pem = _setting_pem("ACTIVITY_LOG_VERIFY_KEY")
    if pem is None:
        private = signing_key()
        return private.public_key() if private is not None else None
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"ACTIVITY_LOG_VERIFY_KEY is not a readable PEM public key "
            f"({type(exc).__name__})."
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured("ACTIVITY_LOG_VERIFY_KEY is not an Ed25519 key.")
    return key


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _setting_pem(name: str) -> bytes | None:
    """Setting `name` (the PEM itself; `\\n` escapes allowed for one-line
    environment variables) or `name`_FILE (a path)."""
    text = getattr(settings, name, "") or ""
    path = getattr(settings, f"{name}_FILE", "") or ""
    if text:
        return text.replace("\\n", "\n").encode()
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={path} cannot be read ({type(exc).__name__})."
            ) from None
    return None


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


def checkpoint_due() -> int:
    """Checkpoint every chain whose last checkpoint is older than the
    interval and whose head moved since (a Fusion periodic task). Returns
    how many were written; 0 without a key (warned once per process; with
    DEBUG off, `manage.py check` refuses to run without one, core.E050)."""
    if signing_key() is None:
        _warn_once_without_key()
        return 0
    due_before = timezone.now() - dt.timedelta(
        seconds=settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS
    )
    written = 0
    for chain in ActivityLogChainHead.objects.filter(sequence__gt=0).values_list(
        "chain_lab_id", flat=True
    ):
        last = _last_checkpoint(chain)
        if last is None or last.signed_at <= due_before:
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


def stored_checkpoints(chain: int) -> list[dict[str, Any]]:
    """The signed documents stored for `chain`, in sequence order."""
    client = get_client("s3")
    return [
        json.loads(client.download(key)) for key in client.keys(f"{PREFIX}{chain}/")
    ]


def verify_checkpoints(chain: int) -> CheckpointProblem | None:
    """Check chain `chain`'s seals against every stored checkpoint: each
    signature holds under the verify key and names this chain, and the seal
    at its sequence still carries its hash. A checkpoint the database
    records but storage lacks is a problem too."""
    public = verify_key()
    if public is None:
        raise ImproperlyConfigured(
            "Checking checkpoints needs ACTIVITY_LOG_VERIFY_KEY or the signing key."
        )
    documents = stored_checkpoints(chain)
    seen = set()
    for document in documents:
        body = document.get("payload", {})
        where = (chain, int(body.get("sequence", 0)), str(body.get("signed_at", "")))
        if not signature_holds(public, document) or body.get("chain") != chain:
            return CheckpointProblem(*where, "the signature does not hold (forged)")
        seen.add(body["sequence"])
        seal = ActivityLogSeal.objects.filter(
            chain_lab_id=chain, sequence=body["sequence"]
        ).first()
        if seal is None or seal.entry_hash != body["entry_hash"]:
            return CheckpointProblem(
                *where,
                f"the chain no longer has this hash at #{body['sequence']} "
                "(rewritten after it was signed)",
            )
    for recorded in ActivityLogCheckpoint.objects.filter(chain_lab_id=chain).exclude(
        sequence__in=seen
    ):
        return CheckpointProblem(
            chain, recorded.sequence, recorded.signed_at.isoformat(),
            "the signed checkpoint is missing from storage",
        )  # fmt: skip
    return None


def signature_holds(public: Ed25519PublicKey, document: dict[str, Any]) -> bool:
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        public.verify(signature, rfc8785.dumps(document["payload"]))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True
