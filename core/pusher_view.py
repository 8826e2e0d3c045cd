"""POST /core/pusher/auth/: signs a private-channel subscription for pusher-js.

pusher-js posts the form fields `socket_id` and `channel_name` (send Django's
CSRF token too, e.g. `channelAuthorization: {headers: {"X-CSRFToken": ...}}`).
The request's lab, as LabContextMiddleware re-authorised it on this request
(a signed-in staff member's or doctor's; never read from the session here,
so a deactivated user's session gets nothing), may subscribe to its own
channel, `private-lab-<lab_id>`, and to nothing else: not another
lab's, and neither a parent's nor a child lab's. Each lab's events go to its
own channel, so a wider grant would only widen what a stolen session can
listen to; a page that needs a child lab's events gets them from a publisher
that also triggers on the parent's channel, a decision made where the data
is, not here.

Answers: 200 with the SDK's auth JSON; 400 for missing or malformed fields;
403 when the session has no lab or the channel is not its lab's.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from core.tenancy import LabKind
from core.utils.clients import get_client
from core.utils.pusher.channels import check_channel_request, lab_channel
from core.utils.pusher.exceptions import InvalidChannelRequest

#: Who may subscribe: people in a browser. An API key has no page to push to.
SUBSCRIBING_KINDS = frozenset({LabKind.STAFF, LabKind.DOCTOR})


def _answer(body: dict[str, str], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def pusher_auth(request: HttpRequest) -> JsonResponse:
    """Authorise `channel_name` for `socket_id` if it is the session lab's."""
    try:
        channel, socket_id = check_channel_request(
            request.POST.get("channel_name", ""), request.POST.get("socket_id", "")
        )
    except InvalidChannelRequest as exc:
        return _answer({"error": f"Send socket_id and channel_name: {exc}"}, 400)
    scope = getattr(request, "scope", None)
    if scope is None or scope.kind not in SUBSCRIBING_KINDS:
        return _answer({"error": "Sign in to a lab to receive its updates."}, 403)
    if channel != lab_channel(scope.lab_id):
        # The same answer for every other channel: it says nothing about them.
        return _answer({"error": "You may only subscribe to your lab's channel."}, 403)
    return _answer(get_client("pusher").authenticate(channel, socket_id))
