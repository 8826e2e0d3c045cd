"""The websocket side of the Pusher stand-in, for browser tests only: the
part of Pusher Channels' protocol 7 that pusher-js uses to receive events,
over a minimal RFC 6455 server written here (no websocket library is
installed).

- `GET /app/<key>?protocol=7...` upgrades to a websocket (the key must be
  the stand-in's) and answers `pusher:connection_established` with a new
  socket id;
- `pusher:subscribe` to a private channel must carry the `auth` our server
  would sign (checked with `PusherStandIn.subscription_is_valid`): then
  `pusher_internal:subscription_succeeded`, else `pusher:error`;
- `pusher:ping` gets `pusher:pong`;
- every event the HTTP stand-in publishes goes to each socket subscribed
  to one of its channels, as Pusher fans it out.

What it refuses is listed in `problems`.

    with PusherStandIn() as pusher, PusherWebSocket(pusher) as sockets:
        ...  # pusher-js with wsHost 127.0.0.1, wsPort sockets.port
"""

import base64
import hashlib
import json
import socketserver
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Self

from tests.standins.pusher import PusherStandIn, ReceivedEvent

#: RFC 6455's GUID, appended to the client's key for Sec-WebSocket-Accept.
_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


@dataclass
class _Socket:
    """One connected pusher-js client."""

    socket_id: str
    stream: Any
    channels: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: dict[str, Any], opcode: int = _TEXT) -> None:
        """One unmasked frame (servers do not mask)."""
        payload = json.dumps(message).encode() if opcode == _TEXT else b""
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self.lock:
            self.stream.write(header + payload)
            self.stream.flush()


def read_frame(stream: Any) -> tuple[int, bytes]:
    """One client frame: (opcode, unmasked payload). Clients must mask."""
    first, second = stream.read(2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", stream.read(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", stream.read(8))
    if not second & 0x80:
        raise ValueError("a client frame is not masked")
    mask, payload = stream.read(4), stream.read(size)
    return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class PusherWebSocket:
    """See the module docstring. Use as a context manager."""

    def __init__(self, pusher: PusherStandIn) -> None:
        self.pusher = pusher
        self.problems: list[str] = []
        self._sockets: list[_Socket] = []
        self._lock = threading.Lock()
        self._count = 0
        self._server = socketserver.ThreadingTCPServer(
            ("127.0.0.1", 0), _handler_for(self)
        )
        self._server.daemon_threads = True
        pusher.on_publish = self.publish

    @property
    def port(self) -> int:
        """The port pusher-js is given as `wsPort`."""
        return int(self._server.server_address[1])

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pusher.on_publish = None
        self._server.shutdown()
        self._server.server_close()

    def publish(self, event: ReceivedEvent) -> None:
        """Send `event` to every socket subscribed to one of its channels."""
        with self._lock:
            sockets = list(self._sockets)
        for connected in sockets:
            for channel in set(event.channels) & connected.channels:
                message = {"event": event.name, "channel": channel, "data": event.data}
                connected.send(message)

    def _serve(self, stream: Any) -> None:
        if not self._upgrade(stream):
            return
        with self._lock:
            self._count += 1
            connected = _Socket(f"{self._count}.{self._count * 7919}", stream)
            self._sockets.append(connected)
        data = {"socket_id": connected.socket_id, "activity_timeout": 120}
        connected.send(
            {"event": "pusher:connection_established", "data": json.dumps(data)}
        )
        try:
            self._converse(connected)
        finally:
            with self._lock:
                self._sockets.remove(connected)

    def _upgrade(self, stream: Any) -> bool:
        request_line = stream.readline().decode("latin-1")
        headers = {}
        while (line := stream.readline().decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
        if not path.startswith(f"/app/{self.pusher.key}?") or "protocol=7" not in path:
            self.problems.append(f"not a pusher-js connection: {request_line!r}")
            return False
        accept = base64.b64encode(
            hashlib.sha1(  # noqa: S324 - RFC 6455 requires SHA-1 here
                (headers.get("sec-websocket-key", "") + _WEBSOCKET_GUID).encode()
            ).digest()
        ).decode()
        stream.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + accept.encode()
            + b"\r\n\r\n"
        )
        stream.flush()
        return True

    def _converse(self, connected: _Socket) -> None:
        while True:
            try:
                opcode, payload = read_frame(connected.stream)
            except (ValueError, OSError, struct.error):
                return  # the browser went away
            if opcode == _CLOSE:
                return
            if opcode == _PING:
                connected.send({}, _PONG)
            elif opcode == _TEXT:
                self._answer(connected, json.loads(payload))

    def _answer(self, connected: _Socket, message: dict[str, Any]) -> None:
        event, data = message.get("event"), message.get("data") or {}
        if event == "pusher:ping":
            connected.send({"event": "pusher:pong", "data": "{}"})
        elif event == "pusher:subscribe":
            channel = str(data.get("channel", ""))
            auth = str(data.get("auth", ""))
            if self.pusher.subscription_is_valid(connected.socket_id, channel, auth):
                connected.channels.add(channel)
                connected.send(
                    {"event": "pusher_internal:subscription_succeeded",
                     "channel": channel, "data": "{}"}
                )  # fmt: skip
            else:
                self.problems.append(f"subscription to {channel} refused")
                connected.send(
                    {"event": "pusher:error",
                     "data": {"code": 4009, "message": "invalid signature"}}
                )  # fmt: skip
        elif event == "pusher:unsubscribe":
            connected.channels.discard(str(data.get("channel", "")))
        else:
            self.problems.append(f"unexpected message {event!r}")


def _handler_for(server: PusherWebSocket) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            server._serve(_Stream(self.rfile, self.wfile))

    return Handler


@dataclass
class _Stream:
    """The connection's reading and writing ends, as one object."""

    rfile: Any
    wfile: Any

    def read(self, size: int) -> bytes:
        data: bytes = self.rfile.read(size)
        if len(data) < size:
            raise OSError("the connection closed mid-frame")
        return data

    def readline(self) -> bytes:
        line: bytes = self.rfile.readline(65536)
        return line

    def write(self, data: bytes) -> None:
        self.wfile.write(data)

    def flush(self) -> None:
        self.wfile.flush()
