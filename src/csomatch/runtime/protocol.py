"""uvicorn's HTTP protocol with deadlines for reading a request (slow clients, "slowloris").

uvicorn has no timeout while a request is being received: its keep-alive timeout covers the
time between two requests only, and stops at the first byte of the next one. A client that
opens a connection and sends nothing, or sends the headers of a request and never its body
(``Content-Length: 100``, then silence), holds a connection (and a handler waiting for the
body) for as long as it likes; a few hundred such clients hold the server. ASGI middleware
cannot help: the application is called only once the headers are complete.

This protocol drops a request, from the first byte of a connection or of a request until the
request has been read whole, when no byte arrived for ``read_timeout_s`` or reading it took
longer than ``read_deadline_s`` in all: it answers ``408 Request Timeout`` (when a request had
begun and no answer has) and closes the connection. While the server itself paused reading
(flow control, pipelining), the clock does not count against the client. Once a request is
read, nothing limits how long the application takes to answer it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

_BODY_408 = msgspec.json.encode(
    {
        "type": "about:blank",
        "title": "Request Timeout",
        "status": 408,
        "detail": "the request did not arrive in time; send it again, whole",
    }
)
RESPONSE_408 = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/problem+json\r\n"
    b"content-length: " + str(len(_BODY_408)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _BODY_408
)


class ReadDeadlineProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that drops requests which do not arrive in time (see module)."""

    read_timeout_s: float = 8.0
    read_deadline_s: float = 60.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # When the current read began and its last byte came (loop time); None: not reading.
        self._read_started: float | None = None
        self._last_byte = 0.0
        self._request_began = False
        self._read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock: a connection that sends nothing is dropped too."""
        super().connection_made(transport)
        self._start_reading()
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Feed the parser; the bytes restart the idle clock of a request being read."""
        self._last_byte = self.loop.time()
        super().data_received(data)
        # Armed only for requests that did not arrive in one read (most do).
        if self._read_started is not None and self._read_timer is None:
            self._arm()

    def on_message_begin(self) -> None:
        """A request begins: reading it has a deadline."""
        super().on_message_begin()
        if self._read_started is None:
            self._start_reading()
        self._request_began = True

    def on_message_complete(self) -> None:
        """The request is read whole: its deadlines end."""
        super().on_message_complete()
        self._stop_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """No more reading on this connection."""
        self._stop_reading()
        super().connection_lost(exc)

    def _start_reading(self) -> None:
        self._read_started = self._last_byte = self.loop.time()
        self._request_began = False

    def _stop_reading(self) -> None:
        self._read_started = None
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _due(self) -> float:
        assert self._read_started is not None
        return min(self._last_byte + self.read_timeout_s, self._read_started + self.read_deadline_s)

    def _arm(self) -> None:
        self._read_timer = self.loop.call_at(self._due(), self._check)

    def _check(self) -> None:
        self._read_timer = None
        if self._read_started is None or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:
            # The server is not reading (it is busy with what came before): not the client's
            # delay. The clocks start again.
            self._read_started = self._last_byte = now
        if now < self._due():
            self._arm()
            return
        self._drop()

    def _drop(self) -> None:
        self._stop_reading()
        cycle = self.cycle
        if self._request_began and (cycle is None or not cycle.response_started):
            self.transport.write(RESPONSE_408)
        if cycle is not None and not cycle.response_complete:
            # As ``connection_lost`` does: a handler waiting for the body gets a disconnect,
            # and whatever it sends later is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def protocol_class(read_timeout_s: float, read_deadline_s: float) -> type[ReadDeadlineProtocol]:
    """A ``ReadDeadlineProtocol`` with these deadlines (uvicorn's ``http`` setting)."""
    return type(
        "ReadDeadlineProtocol",
        (ReadDeadlineProtocol,),
        {"read_timeout_s": read_timeout_s, "read_deadline_s": read_deadline_s},
    )
