"""Signed, expiring links to files in local storage.

Local storage's answer to S3's presigned URLs: a link to this site,
`/core/files/<key>?expires=<unix seconds>&signature=<HMAC>`, that the view in
`core.files_view` serves without a session, but only until it expires
and only for the key it was signed for. The signature is Django's HMAC over
the key and the expiry with SECRET_KEY (read when a link is made or checked,
never at import), so links cannot be forged or stretched to another file.
"""

import hmac
from urllib.parse import urlencode

from django.core.signing import Signer
from django.urls import reverse

#: The URL name of the view that serves signed links (config/urls.py).
URL_NAME = "core:signed-file"
# A salt of its own, so a signature made for another purpose never fits here.
_SALT = "core.utils.aws.signed-file-url"


def signed_file_url(key: str, expires_at: int) -> str:
    """A link to `key` valid until `expires_at` (Unix seconds).

    Example: `"/core/files/labs/12/a.pdf?expires=1767225600&signature=Qx3..."`.
    """
    path = reverse(URL_NAME, kwargs={"key": key})
    query = urlencode({"expires": expires_at, "signature": _signature(key, expires_at)})
    return f"{path}?{query}"


def signature_is_valid(key: str, expires: str, signature: str, now: float) -> bool:
    """Whether `signature` was made by `signed_file_url` for `key` and
    `expires`, and `expires` (Unix seconds, as text) is still after `now`."""
    try:
        expires_at = int(expires)
    except ValueError:
        return False
    if expires_at <= now:
        return False
    # As bytes: compare_digest raises TypeError for text with a non-ASCII
    # character, which a link's signature parameter may hold; such a
    # signature is simply not ours.
    given = signature.encode("utf-8", "replace")
    return hmac.compare_digest(given, _signature(key, expires_at).encode())


def _signature(key: str, expires_at: int) -> str:
    return Signer(salt=_SALT).signature(f"{key}\n{expires_at}")
