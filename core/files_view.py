"""Serves local storage's signed file links (`/core/files/<key>?expires=&signature=`).

Only used when files are stored locally; with S3 configured, presigned URLs
point at S3 and this view answers 404. The link is the credential (like an S3
presigned URL), so no session is needed; an invalid or expired link is a 403.
"""

import time

from django.http import FileResponse, Http404, HttpRequest, HttpResponseForbidden
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from core.utils.aws.client import LocalFileS3Client
from core.utils.aws.exceptions import InvalidKey
from core.utils.aws.signed_urls import signature_is_valid
from core.utils.clients import get_client


@require_GET
def serve_signed_file(request: HttpRequest, key: str) -> HttpResponseBase:
    """The file under `key`, if the link's signature and expiry are good."""
    expires = request.GET.get("expires", "")
    signature = request.GET.get("signature", "")
    if not signature_is_valid(key, expires, signature, now=time.time()):
        return HttpResponseForbidden(
            "This file link is invalid or has expired; ask for a new link."
        )
    client = get_client("s3")
    if not isinstance(client, LocalFileS3Client):
        raise Http404("Files are not stored locally.")
    try:
        path = client.path_for(key)
    except InvalidKey:
        raise Http404("No such file.") from None
    if not path.is_file():
        raise Http404("No such file.")
    response = FileResponse(path.open("rb"), filename=path.name)
    response["Cache-Control"] = "private, no-store"
    return response
