"""What every view, decorator and middleware of core shares about HTTP: the
JSON answers of the API (errors included), which paths are API routes, and
the client address a request came from.

An error answer is `{"error": <message for people>, "request_id": <id>,
...}` (core.middleware.api_errors turns exceptions into them), never
cached.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse

from core.utils.activity_log.context import current_request
from core.utils.json_input import MalformedJson


def is_api_path(path: str) -> bool:
    """Whether `path` is an API route (settings.API_PATH_PREFIXES)."""
    return path.startswith(tuple(settings.API_PATH_PREFIXES))


def client_ip_for(request: HttpRequest) -> str | None:
    """The client's address: the trusted proxy header's first entry when
    configured, else REMOTE_ADDR; None when neither is there."""
    header = settings.TRUSTED_PROXY_IP_HEADER
    forwarded = request.META.get(header, "") if header else ""
    if forwarded:
        return str(forwarded.split(",")[0].strip()) or None
    return request.META.get("REMOTE_ADDR") or None


def json_error(message: str, status: int, **extra: Any) -> JsonResponse:
    """An error answer: `{"error": message, "request_id": ..., **extra}`,
    never cached.

    Example: `json_error("Send a JSON object.", 400)` ->
    `{"error": "Send a JSON object.", "request_id": "4f1c..."}`.
    """
    body = {"error": message, "request_id": current_request().request_id, **extra}
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def malformed_json_response(error: MalformedJson) -> JsonResponse:
    """The 400 for a body the JSON parser refused: its message, and under
    `fields` the place in the body it names, if any.

    Example: `{"error": "first_name: Text may not contain the NUL character
    (U+0000); remove it.", "fields": {"first_name": ["Text may not ..."]}}`.
    """
    if not error.where:
        return json_error(error.message, 400)
    return json_error(str(error), 400, fields={error.where: [error.message]})


def validation_fields(error: ValidationError) -> dict[str, list[str]]:
    """A ValidationError's messages by field ("__all__" for the others).

    Example: `{"name": ["This field is required."]}`.
    """
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {"__all__": list(error.messages)}
