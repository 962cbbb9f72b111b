"""A scriptable HTTP/1.1 server on 127.0.0.1 for the client's tests (no tests here).

Real sockets, as load balancers and gateways answer: each connection gets one request,
read whole (head and ``Content-Length`` body) and recorded, then the next scripted
:class:`Action`: send bytes as given, a body cut short, a reset (RST) mid-body, a stall,
a close without an answer, or a drip. Answers say ``Connection: close`` unless a test
writes its own bytes, so httpx never reuses a connection the server is closing.

A test starts and stops its server (``with LoopbackServer(...) as server``); ``stop``
wakes every connection thread (stalls included), joins it and closes every socket, and
fails if a thread is still alive. It also holds the client-side helpers the loopback
tests share: the spec's success bodies, fresh API keys, a sleep that stops a stranded
call.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import json
import selectors
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

__all__ = [
    "DEMO_SECRET",
    "Action",
    "LoopbackServer",
    "Request",
    "SleepGuard",
    "Stranded",
    "answer",
    "close",
    "drip",
    "exact",
    "fresh_key",
    "reset",
    "response",
    "stall",
    "success_body",
    "truncated",
]

# the exchange's published demo pair (basic-information.md)
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"
_REQUEST_HEAD_LIMIT = 64 * 1024
_READ_TIMEOUT = 5.0  # a client that connects and sends nothing is dropped after this


# ---- what was asked, what is answered ---------------------------------------------
@dataclass(frozen=True)
class Request:
    """One request as it arrived (header names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(frozen=True)
class Action:
    """What the server does with one request; made by the functions below."""

    kind: str
    """send | truncate | reset | stall | close | drip"""
    data: bytes = b""
    """Bytes sent first (all of them for ``send``)."""
    seconds: float = 0.0
    """stall: how long; drip: the interval between bytes."""
    then: bytes = b""
    """stall: bytes sent once the stall is over (the connection then closes)."""
    fast: int = 0
    """drip: bytes sent at once before the drip starts."""


Reply = Action | Callable[[Request], Action]
"""An action, or a function of the request giving one."""

Headers = Iterable[tuple[str, str]]


def head(status: int, headers: Headers = (), *, reason: str | None = None) -> bytes:
    """A status line and header lines, ending with the blank line."""
    if reason is None:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(
    status: int,
    body: bytes = b"",
    headers: Headers = (),
    *,
    length: int | str | None = "auto",
    reason: str | None = None,
    connection_close: bool = True,
) -> bytes:
    """A whole answer. ``length``: "auto" (the body's length), None (no Content-Length:
    the body ends when the connection closes), or the value to declare."""
    all_headers = list(headers)
    if length == "auto":
        all_headers.append(("Content-Length", str(len(body))))
    elif length is not None:
        all_headers.append(("Content-Length", str(length)))
    if connection_close:
        all_headers.append(("Connection", "close"))
    return head(status, all_headers, reason=reason) + body


def exact(data: bytes) -> Action:
    """Send ``data`` as it is, then close."""
    return Action("send", data)


def answer(
    status: int,
    body: bytes | dict[str, Any] = b"",
    headers: Headers = (),
    *,
    length: int | str | None = "auto",
    reason: str | None = None,
) -> Action:
    """A well-formed answer (a dict body is sent as compact JSON with its content type)."""
    headers = list(headers)
    if isinstance(body, dict):
        body = json.dumps(body, separators=(",", ":")).encode()
        headers.append(("Content-Type", "application/json"))
    return exact(response(status, body, headers, length=length, reason=reason))


def truncated(status: int, body: bytes, headers: Headers = (), *, sent: int) -> Action:
    """Declare the whole body's length, send only its first ``sent`` bytes, close (FIN)."""
    whole = response(status, body, headers)
    return Action("truncate", whole[: len(whole) - len(body) + sent])


def reset(data: bytes, *, after: int) -> Action:
    """Send the first ``after`` bytes of ``data``, then reset the connection (RST)."""
    return Action("reset", data[:after])


def stall(seconds: float, data: bytes = b"", then: bytes = b"") -> Action:
    """Send ``data`` (nothing, or a head), say nothing more for ``seconds`` (or until the
    server stops), send ``then``, close."""
    return Action("stall", data, seconds=seconds, then=then)


def close() -> Action:
    """Close without an answer."""
    return Action("close")


def drip(data: bytes, interval: float, fast: int = 0) -> Action:
    """Send ``data[:fast]`` at once, then one byte every ``interval`` seconds."""
    return Action("drip", data, seconds=interval, fast=fast)


# ---- the server ---------------------------------------------------------------------
@dataclass
class _Connection:
    sock: socket.socket
    thread: threading.Thread | None = None


@dataclass
class LoopbackServer:
    """The server; ``script`` queues actions (one per request, in order), ``default``
    answers once the queue is empty (None: close without an answer)."""

    initial: tuple[Reply, ...] = ()
    default: Reply | None = None
    requests: list[Request] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    """Exceptions of the server's own threads (a test may assert there are none)."""

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque(self.initial)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._connections: list[_Connection] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept_loop, name="loopback", daemon=True)
        self._started = False

    # ---- scripting ------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def count(self) -> int:
        """Requests received whole so far."""
        with self._lock:
            return len(self.requests)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` requests have arrived; False if ``timeout`` passed first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> Self:
        self._started = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake and join every connection thread, close every socket."""
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._started:
            self._thread.join(10)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:  # wake a thread blocked reading the request; a closed socket raises
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        alive = []
        for conn in connections:
            if conn.thread is not None:
                conn.thread.join(10)
                if conn.thread.is_alive():
                    alive.append(conn.thread.name)
            conn.sock.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        if self._thread.is_alive():
            alive.append(self._thread.name)
        assert not alive, f"loopback threads still running: {alive}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- the threads ----------------------------------------------------------------
    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or self._stop.is_set():
                        return
                    try:
                        sock, _ = self._listener.accept()
                    except BlockingIOError:
                        continue
                    sock.setblocking(True)
                    conn = _Connection(sock)
                    number = len(self._connections)
                    conn.thread = threading.Thread(
                        target=self._serve, args=(conn,), name=f"loopback-{number}", daemon=True
                    )
                    with self._lock:
                        self._connections.append(conn)
                    conn.thread.start()

    def _serve(self, conn: _Connection) -> None:
        sock = conn.sock
        try:
            request = self._read_request(sock)
            if request is None:
                return
            with self._arrived:
                self.requests.append(request)
                reply = self._queue.popleft() if self._queue else self.default
                self._arrived.notify_all()
            action = reply(request) if callable(reply) else reply
            if action is None:
                action = close()
            self._act(sock, action)
        except OSError:
            pass  # the client hung up, or stop() shut the socket
        except BaseException as exc:  # a bug of the server: the test can see it
            self.errors.append(exc)
        finally:
            sock.close()  # idempotent: stop() may close it too

    def _read_request(self, sock: socket.socket) -> Request | None:
        sock.settimeout(_READ_TIMEOUT)
        data = b""
        while b"\r\n\r\n" not in data:
            if self._stop.is_set() or len(data) > _REQUEST_HEAD_LIMIT:
                return None
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head_bytes, body = data.split(b"\r\n\r\n", 1)
        lines = head_bytes.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
        sock.settimeout(None)
        return Request(method, target, headers, body[:length])

    def _act(self, sock: socket.socket, action: Action) -> None:
        kind = action.kind
        if kind == "close":
            sock.shutdown(socket.SHUT_WR)
            return
        if kind == "reset":
            if action.data:
                sock.sendall(action.data)
            time.sleep(0.01)  # let the bytes leave before the reset overtakes them
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return
        if kind in ("send", "truncate"):
            sock.sendall(action.data)
            sock.shutdown(socket.SHUT_WR)
            return
        if kind == "stall":
            if action.data:
                sock.sendall(action.data)
            if not self._stop.wait(action.seconds) and action.then:
                sock.sendall(action.then)
            sock.shutdown(socket.SHUT_WR)
            return
        if kind == "drip":
            data = action.data
            if action.fast:
                sock.sendall(data[: action.fast])
            for index in range(action.fast, len(data)):
                if action.seconds and self._stop.wait(action.seconds):
                    return
                sock.sendall(data[index : index + 1])
            sock.shutdown(socket.SHUT_WR)
            return
        raise ValueError(f"unknown action {kind!r}")


# ---- for the client's tests ---------------------------------------------------------
_KEYS = itertools.count()
_RUN = uuid.uuid4().hex


def fresh_key(prefix: str = "Loop") -> str:
    """An API key no other client in this process uses (a rate-limit gate of its own):
    ASCII letters and digits, as the exchange's keys are."""
    return f"{prefix}{_RUN}{next(_KEYS):08d}"


def success_body(operation_id: str) -> bytes:
    """The first example of the operation's 200 answer in the spec (compact JSON)."""
    from toobit_follower.spec import spec_dict

    for item in spec_dict()["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                content = operation["responses"]["200"]["content"]["application/json"]
                example = next(iter(content["examples"].values()))["value"]
                return json.dumps(example, separators=(",", ":")).encode()
    raise KeyError(operation_id)


class Stranded(BaseException):
    """Raised by :class:`SleepGuard` when a call is still waiting past its limit: the
    call is stuck (a rate-limit gate that never lets it go). A BaseException, so no
    ``except Exception`` of the client turns it into something else."""


class SleepGuard:
    """A ``sleep`` for a client that barely sleeps (keeps tests fast) and stops a call
    that waits past ``arm(limit)`` by raising :class:`Stranded`."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.calls: list[float] = []

    def arm(self, limit: float | None) -> None:
        self.deadline = None if limit is None else time.monotonic() + limit

    def _check(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Stranded(f"still waiting (sleep({seconds:g})) past the test's limit")

    def __call__(self, seconds: float) -> None:
        self._check(seconds)
        time.sleep(min(seconds, 0.002))

    async def async_sleep(self, seconds: float) -> None:
        self._check(seconds)
        await asyncio.sleep(min(seconds, 0.002))
