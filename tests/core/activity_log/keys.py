"""Ed25519 keys in the forms settings take, for the checkpoint tests."""

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


def pem(key: Ed25519PrivateKey) -> str:
    """The private key as `openssl genpkey -algorithm ed25519` writes it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: Ed25519PublicKey) -> str:
    """The public key as `openssl pkey -pubout` writes it."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def raw_base64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The key's 32 raw bytes (a private key's seed), base64."""
    if isinstance(key, Ed25519PrivateKey):
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    else:
        raw = key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return base64.b64encode(raw).decode()
