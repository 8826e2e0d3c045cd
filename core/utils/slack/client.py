"""Slack clients: the Web API or an incoming webhook (slack_sdk), or a log.

`get_client("slack")` returns one of them, chosen by settings.SERVICES["slack"]:

    get_client("slack").post_message("#lab-alerts", "Analyser 3 is offline")
    # -> {"ok": True, "channel": "C0123", "ts": "1767225600.000100", ...}

Failures raise `core.utils.slack.exceptions` classes with `retryable` set
(`SlackRateLimited`, `SlackUnavailable`, `SlackRejected`), so the job that
posts can retry or give up; messages never carry the token or webhook URL.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.error import URLError

from django.core.exceptions import ImproperlyConfigured
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from core.utils.capabilities import Capability
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.slack.exceptions import (
    SlackError,
    SlackRateLimited,
    SlackRejected,
    SlackUnavailable,
)
from core.utils.slack.retry import BoundedRateLimitRetryHandler, retry_after_seconds

logger = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 5
MAX_RATE_LIMIT_RETRIES = 2
MAX_RATE_LIMIT_WAIT_SECONDS = 10
#: Retries of a failed connection (the request was not answered).
MAX_CONNECTION_RETRIES = 1
# slack_sdk's webhook client logs the full webhook URL, which is the secret,
# at DEBUG and on retries at INFO; its logger is kept at WARNING so it can't.
_WEBHOOK_SDK_LOGGER = "core.utils.slack.webhook_sdk"


def _check_message(
    channel: str, text: str, blocks: list[dict[str, Any]] | None
) -> None:
    if not isinstance(channel, str) or not channel.strip():
        raise ValueError("A Slack message needs a channel, such as '#lab-alerts'.")
    if not text and not blocks:
        raise ValueError("A Slack message needs text (or blocks); both were empty.")


def _quiet_webhook_logger() -> logging.Logger:
    sdk_logger = logging.getLogger(_WEBHOOK_SDK_LOGGER)
    sdk_logger.setLevel(logging.WARNING)
    return sdk_logger


class SlackClient(ServiceClient):
    """Posts to Slack through the Web API (bot token) or an incoming webhook.

    With a `token`, `post_message` calls chat.postMessage at `base_url`. With
    only a `webhook_url`, it posts to that webhook, whose channel is fixed
    when the webhook is made in Slack (the `channel` argument is then only
    logged). A 429 is retried inline when Retry-After is at most
    `max_rate_limit_wait_seconds`; a failed connection is retried once.
    slack_sdk's client opens a connection per call (urllib) and keeps no
    shared state, so one instance serves every thread.
    """

    capabilities = frozenset()

    def __init__(
        self,
        token: str | None = None,
        webhook_url: str | None = None,
        base_url: str = SLACK_API_URL,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_rate_limit_retries: int = MAX_RATE_LIMIT_RETRIES,
        max_rate_limit_wait_seconds: int = MAX_RATE_LIMIT_WAIT_SECONDS,
    ) -> None:
        if not (token or webhook_url):
            raise ImproperlyConfigured(
                "SlackClient needs a bot token (SLACK_BOT_TOKEN) or an incoming "
                "webhook URL (SLACK_WEBHOOK_URL)."
            )
        self._token = token
        self._webhook_url = webhook_url
        self._base_url = base_url
        handlers: list[RetryHandler] = [
            ConnectionErrorRetryHandler(max_retry_count=MAX_CONNECTION_RETRIES),
            BoundedRateLimitRetryHandler(
                max_rate_limit_retries, max_rate_limit_wait_seconds
            ),
        ]
        self._web = self._web_client(timeout_seconds, handlers) if token else None
        self._webhook = (
            self._webhook_client(timeout_seconds, handlers) if webhook_url else None
        )

    def _web_client(self, timeout: float, handlers: list[RetryHandler]) -> WebClient:
        # urllib takes float seconds; slack_sdk merely annotates `timeout` as int.
        return WebClient(
            token=self._token,
            base_url=self._base_url,
            timeout=cast(int, timeout),
            retry_handlers=handlers,
        )

    def _webhook_client(
        self, timeout: float, handlers: list[RetryHandler]
    ) -> WebhookClient:
        return WebhookClient(
            cast(str, self._webhook_url),
            timeout=cast(int, timeout),
            retry_handlers=handlers,
            logger=_quiet_webhook_logger(),
        )

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Post `text` (the fallback when `blocks` are given) to `channel`.

        Returns Slack's answer, e.g. `{"ok": True, "channel": "C0123", "ts": "..."}`
        (`{"ok": True}` through a webhook).
        """
        _check_message(channel, text, blocks)
        if self._web is not None:
            with _translated("chat.postMessage", channel):
                response = self._web.chat_postMessage(
                    channel=channel, text=text, blocks=blocks
                )
            return dict(cast(dict[str, Any], response.data))
        # __init__ made a web client or a webhook client, so here it is the webhook.
        return _post_to_webhook(
            cast(WebhookClient, self._webhook), channel, text, blocks
        )

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """auth.test with the token; or, with only a webhook, an empty post
        that Slack refuses with 400 (so nothing is posted) while the webhook
        exists. One attempt, bounded by `timeout` seconds."""
        if self._web is not None:
            web = self._web_client(timeout, handlers=[])

            def probe() -> str:
                response = web.auth_test()
                return f"auth.test ok for team {response.get('team', '?')}"

            return self.timed_check(probe)
        webhook = self._webhook_client(timeout, handlers=[])

        def probe_webhook() -> str:
            status = webhook.send_dict({}).status_code
            if status != 400:
                raise SlackError(f"the webhook answered HTTP {status}, not 400")
            return "incoming webhook exists"

        return self.timed_check(probe_webhook)


def _post_to_webhook(
    webhook: WebhookClient,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    logger.debug("posting to the Slack webhook (meant for %s)", channel)
    with _translated("the incoming webhook", channel):
        response = webhook.send(text=text, blocks=blocks)
    status, body = response.status_code, str(response.body or "")[:100]
    if status == 200:
        return {"ok": True}
    if status == 429:
        wait = retry_after_seconds(dict(response.headers or {}))
        raise SlackRateLimited(
            f"Slack rate-limited the incoming webhook; retry in {wait} s.", wait
        )
    if status >= 500:
        raise SlackUnavailable(
            f"Slack's incoming webhook failed with HTTP {status}; try again later."
        )
    raise SlackRejected(
        f"Slack's incoming webhook refused the message (HTTP {status}: {body}). "
        "Check that the webhook still exists and the message has text.",
        code=body or str(status),
    )


@contextmanager
def _translated(target: str, channel: str) -> Iterator[None]:
    """Turn slack_sdk's and urllib's exceptions into ours, without secrets."""
    try:
        yield
    except SlackApiError as exc:
        raise _from_api_error(exc, target, channel) from exc
    except (URLError, OSError) as exc:  # refused, reset, timed out
        raise SlackUnavailable(
            f"Slack could not be reached for {target} ({type(exc).__name__}); "
            "try again later."
        ) from exc
    except SlackClientError as exc:
        raise SlackError(
            f"The Slack client could not send to {target} ({type(exc).__name__}); "
            "check the Slack settings."
        ) from exc


def _from_api_error(exc: SlackApiError, target: str, channel: str) -> SlackError:
    status = exc.response.status_code
    data = exc.response.data
    if status == 429:
        wait = retry_after_seconds(dict(exc.response.headers or {}))
        return SlackRateLimited(
            f"Slack rate-limited {target}; retry in {wait} s.", retry_after_seconds=wait
        )
    if status >= 500:
        return SlackUnavailable(
            f"Slack failed on {target} with HTTP {status}; try again later."
        )
    code = str(data.get("error", "unknown")) if isinstance(data, dict) else str(status)
    return SlackRejected(
        f"Slack refused {target} to {channel!r}: {code}. Check the channel name, "
        "that the app is in the channel, and the token.",
        code=code,
    )


class LogSlackClient(ServiceClient):
    """The default: logs each message at INFO instead of posting it.

    Checks its arguments like `SlackClient`, so a call that would fail
    against Slack fails here too.
    """

    capabilities = frozenset({Capability.STAND_IN})

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Log the message.

        Returns `{"ok": True, "channel": channel, "logged": True}`.
        """
        _check_message(channel, text, blocks)
        logger.info(
            "Slack message for %s (log backend): %s%s",
            channel,
            text,
            f" [+{len(blocks)} blocks]" if blocks else "",
        )
        return {"ok": True, "channel": channel, "logged": True}

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Working, and saying what it is: messages go to the log only."""
        return self.timed_check(lambda: "log only: messages are not sent to Slack")
