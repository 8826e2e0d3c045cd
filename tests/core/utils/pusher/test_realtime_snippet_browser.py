"""docs/realtime.md's snippet that drops repeated events, run as written in
headless Chromium (Debian's package, driven by Playwright) with the real
pusher-js (8.6.0, vendored in tests/vendor/pusher-js/).

The page connects to the Pusher stand-in's websocket side
(tests/standins/pusher_websocket.py), subscribes to a lab's private
channel with a signature the stand-in checks, and binds `report.ready`
through `onceById`. The test then sends events through our real
PusherClient and the HTTP stand-in: one event twice (as a retried release
step sends it), then another. The page receives three events, and the
handler runs once per event id.
"""

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, sync_playwright

from core.utils.pusher.client import PusherClient
from tests.standins.pusher import PusherStandIn, sign
from tests.standins.pusher_websocket import PusherWebSocket

pytestmark = pytest.mark.engine_independent

CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags Chromium reaches for the
#: internet (updates, sync), which is closed here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: Each browser step waits at most this long (a shared, busy machine).
STEP_TIMEOUT_MILLISECONDS = 30_000
VENDORED = Path(__file__).parents[3] / "vendor" / "pusher-js"
#: The vendored file's hash (tests/vendor/pusher-js/README.md): the test
#: runs the release it says it runs.
PUSHER_JS_SHA256 = "91640c608080a550d7a7407f943fa8429e9f6d7d567d0bb810f5f6e73b06972a"
LAB_ID = 12
CHANNEL = f"private-lab-{LAB_ID}"

#: The page around the snippet: pusher-js pointed at the stand-in, the
#: channel authorised by the test (as /core/pusher/auth/ would), every
#: `report.ready` counted as it arrives and as the snippet lets it through.
PAGE_SCRIPT = """
window.arrived = []; window.handled = []; window.subscribed = false;
const pusher = new Pusher(KEY, {
  cluster: "stand-in", wsHost: "127.0.0.1", wsPort: PORT, forceTLS: false,
  enabledTransports: ["ws"], disableStats: true,
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) =>
      window.signChannel(socketId, channelName).then(
        (auth) => callback(null, { auth }), (error) => callback(error, null)),
  },
});
const channel = pusher.subscribe(CHANNEL);
channel.bind("pusher:subscription_succeeded", () => { window.subscribed = true; });
channel.bind("report.ready", (data) => window.arrived.push(data.event_id));
channel.bind("report.ready", onceById((data) => window.handled.push(data.event_id)));
"""


def documented_snippet() -> str:
    """The first ```js block of docs/realtime.md: the one front ends copy."""
    text = (Path(settings.BASE_DIR) / "docs" / "realtime.md").read_text()
    match = re.search(r"```js\n(.*?)```", text, re.DOTALL)
    assert match, "docs/realtime.md has no ```js block"
    assert "function onceById" in match.group(1)
    return match.group(1)


@pytest.fixture
def pusher() -> Iterator[tuple[PusherStandIn, PusherWebSocket]]:
    with PusherStandIn() as http, PusherWebSocket(http) as sockets:
        yield http, sockets


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MILLISECONDS)
        yield page
        browser.close()


def open_page(page: Page, http: PusherStandIn, sockets: PusherWebSocket) -> None:
    """The snippet and pusher-js on a page subscribed to the lab's channel."""
    library = VENDORED / "pusher.min.js"
    assert hashlib.sha256(library.read_bytes()).hexdigest() == PUSHER_JS_SHA256
    page.expose_function(
        "signChannel",
        lambda socket_id, channel: (
            f"{http.key}:{sign(http.secret, f'{socket_id}:{channel}')}"
        ),
    )
    page.set_content("<!doctype html><title>lab</title>")
    page.add_script_tag(path=str(library))
    setup = (
        PAGE_SCRIPT.replace("KEY", repr(http.key))
        .replace("PORT", str(sockets.port))
        .replace("CHANNEL", repr(CHANNEL))
    )
    page.add_script_tag(content=documented_snippet() + setup)
    page.wait_for_function("window.subscribed === true")


def test_an_event_delivered_twice_runs_the_handler_once(
    pusher: tuple[PusherStandIn, PusherWebSocket], page: Page
) -> None:
    http, sockets = pusher
    open_page(page, http, sockets)
    client = PusherClient(**http.client_options(), timeout_seconds=5)

    for release_id in (41, 41, 42):  # release 41's step retried after a crash
        client.trigger(
            LAB_ID,
            "report.ready",
            {"release_id": release_id},
            event_id=f"release-{release_id}.report.ready",
        )
    page.wait_for_function("window.arrived.length === 3")
    client.close()

    assert page.evaluate("window.arrived") == [
        "release-41.report.ready",
        "release-41.report.ready",
        "release-42.report.ready",
    ]
    assert page.evaluate("window.handled") == [
        "release-41.report.ready",
        "release-42.report.ready",
    ]
    assert http.problems == [] and sockets.problems == []
