"""The read deadlines of the HTTP protocol (runtime/protocol.py), on a real uvicorn server and
real sockets, with a small ASGI application standing in for csomatch's."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from tests.serving import free_port

from csomatch.runtime.protocol import protocol_class

TIMEOUT_S = 1.0
DEADLINE_S = 2.5


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, sleeps ``?sleep=`` seconds, answers the body's length."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["query_string"].startswith(b"sleep="):
        await asyncio.sleep(float(scope["query_string"][6:]))
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def port() -> Iterator[int]:
    """A uvicorn server with the protocol (timeout 1 s, deadline 2.5 s) in a thread."""
    config = uvicorn.Config(
        echo_app,
        port=free_port(),
        loop="asyncio",
        http=protocol_class(TIMEOUT_S, DEADLINE_S),
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield config.port
    server.should_exit = True
    thread.join(timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _read_response(sock: socket.socket) -> bytes:
    """One response: its head and its ``content-length`` bytes of body."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _request(body: bytes, path: str = "/") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def test_a_body_sent_slowly_within_the_timeout_is_served(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = _request(b"x" * 6)
        sock.sendall(request[:-6])
        for _ in range(3):  # two bytes every 0.6 s: never 1 s without a byte, 1.8 s in all
            time.sleep(0.6)
            sock.sendall(b"xx")
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert answer.endswith(b"\r\n\r\n6")


def test_a_body_trickling_past_the_deadline_is_dropped(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request(b"x" * 100)[:-100])
        # A byte every 0.5 s: never idle for 1 s, but 2.5 s in all is what a request gets.
        for _ in range(10):
            readable, _, _ = select.select([sock], [], [], 0.5)
            if readable:
                break
            sock.sendall(b"x")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_the_application_may_take_longer_than_the_deadline_to_answer(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request(b"abc", "/?sleep=3"))
        answer = _read_response(sock)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        # The connection is kept: the next request is read with fresh deadlines.
        sock.sendall(_request(b"abcd"))
        assert _read_response(sock).endswith(b"\r\n\r\n4")


def test_an_idle_kept_alive_connection_is_closed_without_a_408(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request(b"ab"))
        answer = _read_response(sock)
        assert answer.endswith(b"\r\n\r\n2")
        # uvicorn's keep-alive timeout (5 s) closes it; nothing more is sent.
        assert _read_all(sock) == b""
