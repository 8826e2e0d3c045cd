"""Fusion jobs that talk to Slack, so no request ever waits on (or fails
because of) Slack."""

from typing import Any

from core.utils.clients import get_client
from core.utils.fusion import job

#: Slack outages are usually minutes: eight attempts with the default capped
#: backoff span about half an hour before the message becomes a dead letter.
POST_MESSAGE_MAX_ATTEMPTS = 8
POST_MESSAGE_TIME_LIMIT_SECONDS = 30


@job(
    max_attempts=POST_MESSAGE_MAX_ATTEMPTS,
    time_limit_seconds=POST_MESSAGE_TIME_LIMIT_SECONDS,
)
def post_slack_message(
    channel: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> None:
    """Post one message. Any failure raises, so Fusion retries it with backoff
    and, if Slack never takes it, keeps it as a dead letter an operator can
    re-run: a notification is never silently dropped."""
    get_client("slack").post_message(channel, text, blocks=blocks)
