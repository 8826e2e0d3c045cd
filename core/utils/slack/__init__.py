"""Slack: `get_client("slack")` is a `SlackClient` (Web API or incoming
webhook, through slack_sdk) or, by default, a `LogSlackClient`; see
`core.utils.slack.client`."""

from core.utils.slack.client import LogSlackClient, SlackClient
from core.utils.slack.exceptions import (
    SlackError,
    SlackRateLimited,
    SlackRejected,
    SlackUnavailable,
)

__all__ = [
    "LogSlackClient",
    "SlackClient",
    "SlackError",
    "SlackRateLimited",
    "SlackRejected",
    "SlackUnavailable",
]
