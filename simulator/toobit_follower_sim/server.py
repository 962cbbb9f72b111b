"""The simulator under uvicorn, hardened against slow, idle and hostile connections, with
no secret in its logs.

uvicorn 0.54 closes an idle keep-alive connection (`timeout_keep_alive`), bounds h11's
unfinished request head (`h11_max_incomplete_event_size`) and answers 503 past
`limit_concurrency`; it has no deadline for a request's headers, so a connection that
never finishes them is kept forever, and httptools (our parser when installed) has no
header size limit. `ConnectionGuard` adds both, through a subclass of uvicorn's
protocol class (`Config(http=...)`):

- a request's line and headers must be complete within `header_timeout_s` of the
  connection opening or of its previous response, and its body within
  `body_timeout_s` of its headers, else the connection is closed; with
  httptools they must also fit in `max_header_bytes` (else 431 and closed; h11 gets the
  same bound from uvicorn's setting). httptools keeps an unfinished header line to
  itself, so the bytes are counted as they arrive, between the parser's
  `on_message_begin` and `on_headers_complete`;
- at most `max_connections` are open (less if the open-file limit is lower: it is
  raised to fit when the hard limit allows). One more closes the connection that has
  waited longest for its first request (else for its next one), so idle or stalled
  connections can never keep a normal request out, nor exhaust file descriptors (which
  would stop `accept`). On asyncio's loop, which accepts many sockets before any reaches
  a protocol, `GuardedSelectorLoop` counts them from `accept` (uvloop needs nothing).
  uvicorn's `limit_concurrency` sits just above, as a backstop;
- what it closes is logged as one warning per `REPORT_EVERY_S` at most, with counts,
  and `LogFloodGuard` lets each warning of uvicorn's (such as "Invalid HTTP request
  received.", once per bad request), asyncio's or ours through once per
  `REPORT_EVERY_S`, the next one saying how many it held back.

Every deadline is a timestamp per connection in an ordered table, checked by one timer
(`sweep`, up to 4 times a second): nothing per request in the app. `RedactSecrets`
keeps `signature=` values and long key-like tokens out of every log line, at every
level (the access log prints each request's URL, the trace log each request's scope).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import importlib.util
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import uvicorn

from .app import SimApp

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

log = logging.getLogger("toobit_follower_sim")

REPORT_EVERY_S = 10.0
_SPARE_FILES = 64  # descriptors left for the database, the listener, logs, the loop

# -- no secret in a log line -----------------------------------------------------
_SIGNATURE = re.compile(r"(signature=)[^&\s\"']*", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9]{32,}")  # API keys, secrets, signatures: 64 characters


def _mask(match: re.Match[str]) -> str:
    token = match.group(0)
    return f"{token[:4]}...{token[-4:]}"  # as the client masks a key


def redact(text: str) -> str:
    """`text` with every `signature=` value replaced and every key-like token (32 or more
    letters and digits) cut to its first and last four characters."""
    return _TOKEN.sub(_mask, _SIGNATURE.sub(r"\1<redacted>", text))


class _Redacted:
    """A log argument that is neither text nor a number (a dict, bytes, an object), shown
    redacted: uvicorn's trace log passes each request's ASGI scope, query string and all."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return redact(str(self.value))

    def __repr__(self) -> str:
        return redact(repr(self.value))


def _redact_arg(arg: object) -> object:
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, (int, float, _Redacted)):
        return arg  # %d and %f need numbers; nothing secret is a number
    return _Redacted(arg)


class RedactSecrets(logging.Filter):
    """Redacts every record it sees: its message, its arguments whatever their type (a
    mapping's values included), and its traceback and stack, rendered here once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True  # seen by a logger's filter, now by a handler's
        record._redacted = True  # type: ignore[attr-defined]
        record.msg = redact(record.msg if isinstance(record.msg, str) else str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:  # formatters keep an exc_text given
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
_MAX_TEMPLATES = 1000


class LogFloodGuard(logging.Filter):
    """Each warning (or worse) of a given template passes once per `every` seconds; the
    next that passes tells how many were held back. Lower levels always pass. A template
    is the logger and the message's first line (asyncio's messages go on with a task's or a
    socket's repr on the next lines); at most the 1,000 seen most recently are remembered."""

    def __init__(self, every: float = REPORT_EVERY_S, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every = every
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg).partition("\n")[0])
        now = self.clock()
        last, held = self._seen.pop(key, (float("-inf"), 0))
        if now - last < self.every:
            self._seen[key] = (last, held + 1)
            return False
        self._seen[key] = (now, 0)
        if len(self._seen) > _MAX_TEMPLATES:
            self._seen.popitem(last=False)
        if held:
            first, newline, rest = str(record.msg).partition("\n")
            record.msg = (
                f"{first} [{held} more like this in the last {now - last:.0f} s]{newline}{rest}"
            )
        return True


# Every logger that may write a request's URL, or flood: uvicorn's (asgi: the trace log of
# each request's scope), asyncio's (accept errors, "Task exception was never retrieved"),
# ours. The handlers of these and of the root logger redact too, for any other logger.
LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "asyncio",
    "toobit_follower_sim",
)


# -- connections -----------------------------------------------------------------
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


class ConnectionGuard:
    """Which connections wait for a request, or for the body of one, and since when;
    closes those too slow, and the one waiting longest when too many are open."""

    def __init__(
        self,
        *,
        max_connections: int,
        header_timeout_s: float,
        body_timeout_s: float,
        max_header_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.max_header_bytes = max_header_bytes
        self.clock = clock
        self.open: set[Any] = set()
        self.waiting: OrderedDict[Any, float] = OrderedDict()  # -> since; oldest first
        self.busy: OrderedDict[Any, float] = OrderedDict()  # head complete -> since when
        self.fresh: OrderedDict[Any, None] = OrderedDict()  # waiting, never sent a whole head
        self.counts = {"slow": 0, "slow body": 0, "evicted": 0, "too large": 0}
        # Under `GuardedSelectorLoop`: sockets accepted and not yet lost, each a descriptor
        self.counting = False
        self.held = 0
        self._timer: asyncio.TimerHandle | None = None
        self._reported = float("-inf")  # the first report goes out at once

    # uvicorn's protocol calls these (see `guarded_protocol`)
    def opened(self, conn: Any) -> None:
        self.open.add(conn)
        self.waiting[conn] = self.clock()
        self.fresh[conn] = None
        if len(self.open) > self.max_connections:
            self.shed()  # this one if no other is waiting
        if self._timer is None:
            self._schedule()

    def received(self, conn: Any) -> None:
        cycle = conn.cycle
        if cycle is not None and not cycle.response_complete and conn in self.waiting:
            del self.waiting[conn]  # a request's headers are complete
            self.fresh.pop(conn, None)
            self.busy[conn] = self.clock()

    def head(self, conn: Any, size: int) -> None:
        """`conn`'s request head is still incomplete after `size` bytes."""
        if size > self.max_header_bytes and not conn.transport.is_closing():
            conn.transport.write(_TOO_LARGE)
            self._close(conn, "too large")

    def answered(self, conn: Any) -> None:
        cycle = conn.cycle
        if conn.transport.is_closing() or (cycle is not None and not cycle.response_complete):
            return  # closing, or a pipelined request is under way
        self.busy.pop(conn, None)
        self.waiting.pop(conn, None)
        self.waiting[conn] = self.clock()

    def lost(self, conn: Any) -> None:
        self.open.discard(conn)
        self.waiting.pop(conn, None)
        self.fresh.pop(conn, None)
        self.busy.pop(conn, None)
        if self.counting:
            self.held -= 1

    # the loop calls these (see `GuardedSelectorLoop`)
    def full(self) -> bool:
        """True when one more accepted socket would pass `max_connections` descriptors."""
        return self.held >= self.max_connections

    def shed(self) -> bool:
        """Close the connection that has waited longest for a first request, else for its
        next one (a client's idle keep-alive connection goes after every connection that
        never sent a request head); False when none is waiting. The descriptor is free by
        the loop's next turn."""
        if not self.waiting:
            return False
        self._close(next(iter(self.fresh or self.waiting)), "evicted")
        return True

    # housekeeping
    def sweep(self) -> None:
        """Close every connection waiting for a head longer than header_timeout_s, or for
        a body longer than body_timeout_s; report."""
        now = self.clock()
        while self.waiting:
            conn, since = next(iter(self.waiting.items()))
            if now - since < self.header_timeout_s:
                break
            self._close(conn, "slow")
        while self.busy:
            conn, since = next(iter(self.busy.items()))
            if now - since < self.body_timeout_s:
                break
            del self.busy[conn]  # from now on, only its answer matters (no deadline)
            if conn.cycle.more_body and not conn.cycle.response_complete:
                self._close(conn, "slow body")
        if now - self._reported >= REPORT_EVERY_S and any(self.counts.values()):
            log.warning(
                "closed connections: %d without a complete request head within %g s, "
                "%d without a complete body within %g s, %d to stay within %d open, "
                "%d with a head over %d bytes",
                self.counts["slow"],
                self.header_timeout_s,
                self.counts["slow body"],
                self.body_timeout_s,
                self.counts["evicted"],
                self.max_connections,
                self.counts["too large"],
                self.max_header_bytes,
            )
            self.counts = dict.fromkeys(self.counts, 0)
            self._reported = now

    def _close(self, conn: Any, why: str) -> None:
        self.waiting.pop(conn, None)
        self.fresh.pop(conn, None)
        self.busy.pop(conn, None)
        self.open.discard(conn)
        self.counts[why] += 1
        conn.transport.close()

    def _schedule(self) -> None:
        interval = min(1.0, self.header_timeout_s / 4, self.body_timeout_s / 4)
        self._timer = asyncio.get_running_loop().call_later(interval, self._tick)

    def _tick(self) -> None:
        self.sweep()
        self._schedule()


def guarded_protocol(base: type[asyncio.Protocol], guard: ConnectionGuard) -> type[Any]:
    """uvicorn's HTTP protocol class `base`, telling `guard` what each connection does."""

    class Guarded(base):  # type: ignore[valid-type, misc]
        _in_head = False  # between httptools' on_message_begin and on_headers_complete
        _head = 0  # bytes received while in the head (the chunk it starts in included)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            guard.opened(self)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._in_head:
                self._head += len(data)
                guard.head(self, self._head)
            guard.received(self)

        def on_message_begin(self) -> None:
            self._in_head, self._head = True, 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            guard.answered(self)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.lost(self)
            super().connection_lost(exc)

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded


_OUT_OF_RESOURCE = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_PAUSE_S = 0.05


class GuardedSelectorLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, accepting only as many connections as the guard has room
    for (uvloop, through libuv, needs none of this).

    Why: asyncio's `_accept_connection` accepts up to `backlog` (uvicorn: 2,048) sockets
    per wake-up, before any of them reaches a protocol, so the guard learns of them too
    late to keep within the open-file limit: with 1,100 stalled connections at 1,024 open
    files, `accept` failed with EMFILE. CPython then keeps looping (up to `backlog` times),
    logging a traceback and scheduling a retry in 1 s at each turn: about 600 KB/s of
    log, and normal requests waited about 2 s, or failed. Here each socket is counted from
    `accept` until it is lost; when `max_connections` are held the connection that has
    waited longest for a request is closed first, and the next is accepted on the loop's
    next turn, once its descriptor is free. Overrides a private method whose signature is
    the same in CPython 3.11 to 3.13 (checked in tests/test_sim_hardening.py); it can go
    when asyncio accepts with a callback per connection."""

    def __init__(self, guard: ConnectionGuard) -> None:
        super().__init__()
        self.guard = guard
        guard.counting = True

    def _accept_connection(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.Protocol],
        sock: Any,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        *timeouts: Any,
    ) -> None:
        guard = self.guard
        serving = (protocol_factory, sock, sslcontext, server, backlog, *timeouts)
        for _ in range(backlog):
            if guard.full():
                if not guard.shed():  # every connection is busy, or not yet made
                    self._pause_accepting(*serving)
                return  # accept again on the next turn, after the closed one is gone
            try:
                conn, addr = sock.accept()
                conn.setblocking(False)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCE:
                    raise
                log.warning("accept failed (%s): closing the connection waiting longest", exc)
                guard.shed()
                self._pause_accepting(*serving)
                return
            guard.held += 1
            self.create_task(
                self._accept_connection2(  # type: ignore[attr-defined]
                    protocol_factory, conn, {"peername": addr}, sslcontext, server, *timeouts
                )
            )

    def _pause_accepting(self, *serving: Any) -> None:
        """Stop accepting for `_ACCEPT_PAUSE_S`, then start again (as asyncio does after
        EMFILE, but once, and sooner)."""
        _, sock, _, server, *_ = serving
        self.remove_reader(sock.fileno())

        def resume() -> None:
            if sock.fileno() != -1 and (server is None or server.is_serving()):
                self._start_serving(*serving)  # type: ignore[attr-defined]

        self.call_later(_ACCEPT_PAUSE_S, resume)


def fit_open_files(connections: int) -> int:
    """Raise the soft open-file limit towards `connections` plus spares (up to the hard
    limit); the number of connections that fit under it."""
    if resource is None:  # pragma: no cover
        return connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(1, min(connections, soft - _SPARE_FILES))


def server_config(
    app: SimApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "info",
    access_log: bool = False,
    http: str = "auto",
    loop: str = "auto",
) -> uvicorn.Config:
    """uvicorn's settings for `app`, from its SimOptions: timeouts, limits, the guard."""
    options = app.sim.options
    max_connections = fit_open_files(options.max_connections)
    guard = ConnectionGuard(
        max_connections=max_connections,
        header_timeout_s=options.header_timeout_s,
        body_timeout_s=options.body_timeout_s,
        max_header_bytes=options.max_header_bytes,
    )
    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    loop_factory: Any = loop
    if loop == "asyncio" and os.name == "posix":
        loop_factory = functools.partial(GuardedSelectorLoop, guard)
    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        loop=loop_factory,
        http=guarded_protocol(base, guard),
        lifespan="on",
        timeout_keep_alive=options.keep_alive_s,
        limit_concurrency=max_connections + _SPARE_FILES,
        h11_max_incomplete_event_size=options.max_header_bytes,
    )
    app.state.connection_guard = guard
    flood_guard = LogFloodGuard()
    for name in LOGGERS:  # after Config(), which (re)configures uvicorn's loggers
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
            logger.addFilter(flood_guard)
    for name in (None, *LOGGERS):  # other loggers write through these handlers
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
    return config


def serve(app: SimApp, **settings: Any) -> None:
    """Run `app` under uvicorn until interrupted (settings: see `server_config`)."""
    uvicorn.Server(server_config(app, **settings)).run()
