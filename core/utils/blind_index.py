"""Blind indexes: keyed hashes of normalised values, one key per lab.

An encrypted column cannot be searched (its ciphertexts differ even for
equal values), so beside it a blind index holds a keyed hash of the
normalised plaintext, and a lookup compares hashes. Two schemes exist, told
apart by their form:

- **v2 (current)**, `"v2:" + base64url(32 bytes)` (46 characters):
  HMAC-SHA256 of the value under a key derived for one lab and one index
  (`domain`, e.g. `"patients.patient|phone"`) with HKDF-SHA256 (RFC 5869):
  input key LIS_BLIND_INDEX_KEY, no salt, `info` the length-prefixed parts
  ("lis-blind-index", "v2", domain, lab id). The same phone in two labs has
  two unrelated indexes, so someone who reads the database cannot link
  patients across labs; within one lab equal values still share an index,
  which is what a lookup needs.
- **v1 (legacy)**, 64 hex characters: HMAC-SHA256 of `domain NUL value`
  under LIS_BLIND_INDEX_KEY itself, equal in every lab. Rows written before
  v2 hold it until `manage.py reindex_blind_indexes` rewrites them; lookups
  also match it while `BLIND_INDEX_LEGACY_LOOKUPS` is on (the default), which
  the operator turns off once that command's `--dry-run` reports no row left.

Why HKDF: it is the published construction for deriving many independent
keys from one secret, its `info` input binding each key to a context
(RFC 5869 section 3.2), and `cryptography` ships it. The blind index key is
already uniformly random, so no salt is needed (RFC 5869 section 3.1: the
salt is optional). The `info` parts are length-prefixed (as NIST SP
800-56C's FixedInfo), so no two (domain, lab) pairs share a context
whatever characters a domain holds. A derived key is recomputed when needed
(microseconds) and never stored: there is no per-lab key to keep, back up
or leak, and a new lab needs no set-up.
"""

from __future__ import annotations

import base64

from django.conf import settings

from core.utils.encryption import get_keyring

#: What every v2 index starts with; a v1 index (hex) never holds a ":".
LAB_INDEX_PREFIX = "v2:"
#: The label at the start of every v2 context, so these keys can never
#: collide with keys derived from the same secret for another purpose.
_CONTEXT_LABEL = b"lis-blind-index"


def lab_blind_index(value: str, *, domain: str, lab_id: int) -> str:
    """The v2 index of an already normalised `value` in lab `lab_id`.

    Example: `lab_blind_index("+919876543210", domain="patients.patient|phone",
    lab_id=3)` -> `"v2:q0b9..."` (46 characters): the same for the same
    value, domain, lab and key; unrelated for another lab or domain.
    """
    info = _length_prefixed(
        _CONTEXT_LABEL, b"v2", domain.encode(), str(int(lab_id)).encode()
    )
    digest = get_keyring().derived_mac(info, value.encode())
    return LAB_INDEX_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def global_blind_index(value: str, *, domain: str) -> str:
    """The v1 (legacy) index of an already normalised `value`: 64 hex
    characters, the same in every lab. Only for finding and re-indexing
    rows written before v2; new indexes are `lab_blind_index`."""
    return get_keyring().mac(domain.encode() + b"\x00" + value.encode())


def is_lab_blind_index(index: str) -> bool:
    """Whether a stored index is v2 (per lab); False for v1 and for ""."""
    return index.startswith(LAB_INDEX_PREFIX)


def legacy_lookups_enabled() -> bool:
    """Whether lookups also match v1 indexes (`BLIND_INDEX_LEGACY_LOOKUPS`,
    read at each lookup): on until every row has been re-indexed."""
    return bool(getattr(settings, "BLIND_INDEX_LEGACY_LOOKUPS", True))


def _length_prefixed(*parts: bytes) -> bytes:
    # 2-byte big-endian length before each part: an unambiguous encoding.
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)
