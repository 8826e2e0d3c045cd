"""Standard Webhooks signatures: the published test vector, several
secrets during a rotation, and secrets that are not secrets refused."""

import base64

import pytest

from core.utils.webhooks.signing import (
    InvalidWebhookSecret,
    generate_secret,
    secret_key,
    sign,
    signature_headers,
)
from tests.standins.webhook_receiver import SignatureRejected, verify_standard_webhook

pytestmark = pytest.mark.engine_independent


def test_the_specification_test_vector_is_reproduced():
    signature = sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_secret_is_32_random_bytes_after_the_prefix():
    first, second = generate_secret(), generate_secret()

    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert len(secret_key(first)) == 32


def test_headers_carry_one_signature_per_secret_and_each_verifies():
    old, new = generate_secret(), generate_secret()
    body = b'{"type":"patient.created"}'

    headers = signature_headers("msg_1", 1767225600, body, [new, old])

    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1767225600"
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert verify_standard_webhook([secret], headers, body, now=1767225600) == 0
    with pytest.raises(SignatureRejected):
        verify_standard_webhook([generate_secret()], headers, body, now=1767225600)
    with pytest.raises(SignatureRejected):  # one changed byte
        verify_standard_webhook([new], headers, body + b" ", now=1767225600)


def test_a_delivery_needs_a_secret():
    with pytest.raises(InvalidWebhookSecret, match="at least one signing secret"):
        signature_headers("msg_1", 1767225600, b"{}", [])


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with 'whsec_'"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "this one is 5"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "this one is 65"),
    ],
)
def test_a_malformed_secret_is_refused_without_repeating_it(secret, problem):
    with pytest.raises(InvalidWebhookSecret, match=problem) as refused:
        secret_key(secret)

    assert secret.removeprefix("whsec_") not in str(refused.value)
