"""Blind indexes: per lab and per domain (HKDF-SHA256 of the blind index key,
then HMAC-SHA256), told apart from the legacy global form, and the switch
for legacy lookups read at use."""

import base64
import hashlib
import hmac
import os

import pytest

from core.utils.blind_index import (
    global_blind_index,
    is_lab_blind_index,
    lab_blind_index,
    legacy_lookups_enabled,
)

pytestmark = pytest.mark.engine_independent

PHONE = "+919876543210"
DOMAIN = "patients.patient|phone"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def blind_key(settings) -> bytes:
    settings.ENCRYPTION_KEYS = f"k1:{new_key()}"
    settings.BLIND_INDEX_KEY = new_key()
    return base64.b64decode(settings.BLIND_INDEX_KEY)


def rfc5869_hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF transcribed from RFC 5869 section 2 with the standard library,
    independently of `cryptography`: no salt means HashLen zero bytes."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def test_the_same_value_has_unrelated_indexes_in_two_labs(blind_key):
    in_lab_3 = lab_blind_index(PHONE, domain=DOMAIN, lab_id=3)
    in_lab_4 = lab_blind_index(PHONE, domain=DOMAIN, lab_id=4)

    assert in_lab_3 != in_lab_4
    assert in_lab_3 == lab_blind_index(PHONE, domain=DOMAIN, lab_id=3)  # stable
    assert in_lab_3 != lab_blind_index("+919876543211", domain=DOMAIN, lab_id=3)
    assert in_lab_3 != lab_blind_index(PHONE, domain="patients.patient|email", lab_id=3)


def test_a_lab_index_is_hkdf_then_hmac_as_documented(blind_key):
    # Given the construction the module documents, computed here without it
    info = b"".join(
        len(part).to_bytes(2, "big") + part
        for part in (b"lis-blind-index", b"v2", DOMAIN.encode(), b"3")
    )
    key = rfc5869_hkdf_sha256(blind_key, info)
    digest = hmac.new(key, PHONE.encode(), hashlib.sha256).digest()

    # When the module computes it, then both agree byte for byte
    index = lab_blind_index(PHONE, domain=DOMAIN, lab_id=3)

    assert index == "v2:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert len(index) == 46


def test_the_global_index_is_the_one_written_before_per_lab_keys(blind_key):
    expected = hmac.new(
        blind_key, DOMAIN.encode() + b"\x00" + PHONE.encode(), hashlib.sha256
    ).hexdigest()

    assert global_blind_index(PHONE, domain=DOMAIN) == expected


def test_the_two_forms_are_told_apart(blind_key):
    assert is_lab_blind_index(lab_blind_index(PHONE, domain=DOMAIN, lab_id=1))
    assert not is_lab_blind_index(global_blind_index(PHONE, domain=DOMAIN))
    assert not is_lab_blind_index("")


def test_indexes_depend_on_the_blind_index_key_only(blind_key, settings):
    before = lab_blind_index(PHONE, domain=DOMAIN, lab_id=3)

    settings.ENCRYPTION_KEYS = f"k2:{new_key()}"
    assert lab_blind_index(PHONE, domain=DOMAIN, lab_id=3) == before

    settings.BLIND_INDEX_KEY = new_key()
    assert lab_blind_index(PHONE, domain=DOMAIN, lab_id=3) != before


def test_legacy_lookups_are_on_until_turned_off_read_at_use(settings):
    assert legacy_lookups_enabled()

    settings.BLIND_INDEX_LEGACY_LOOKUPS = False

    assert not legacy_lookups_enabled()
