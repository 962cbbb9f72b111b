"""A deadline for every socket operation of a call, dripping answers included.

httpx times each socket read alone, so a server sending a byte a second never times out
(headers are read in httpcore's own loop). The client puts the call's deadline in
:data:`DEADLINE`; the streams of its httpx client cut each connect, read and write to the
time left. :func:`install` reaches the pools on httpx 0.28's private attributes (pinned;
httpcore 1.0 checks no stream or backend type). Elsewhere nothing is wrapped and the client
checks the deadline between attempts and chunks. Remove when httpx has a per-request deadline.
"""

from __future__ import annotations

import contextvars
import inspect
import time
from typing import Any, Final

import httpcore
import httpx

__all__ = ["DEADLINE", "install"]

DEADLINE: Final[contextvars.ContextVar[float | None]] = contextvars.ContextVar(
    "toobit_follower_deadline", default=None
)
"""``time.monotonic()`` past which the current call's sockets may not wait; else ``None``."""


class DeadlinePassed(httpcore.ReadTimeout):
    """Raised because the call's deadline passed (httpx makes it ``httpx.ReadTimeout``)."""


def _left(timeout: float | None) -> float | None:
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Wrapper:
    """Wraps a sync or an async httpcore backend or stream. Each override computes the
    time left at once and returns the inner result: for an async inner one, the coroutine
    httpcore awaits. What it does not override (close, aclose, sleep, ...) passes through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _wrap(stream: Any) -> Any:
    if not inspect.isawaitable(stream):
        return _Stream(stream)

    async def connected() -> _Stream:
        return _Stream(await stream)

    return connected()


class _Stream(_Wrapper):
    def read(self, max_bytes: int, timeout: float | None = None) -> Any:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> Any:
        return self._inner.write(buffer, _left(timeout))

    def start_tls(self, ssl_context: Any, server_hostname: Any = None, timeout: Any = None) -> Any:
        return _wrap(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))


class _Backend(_Wrapper):
    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kw: Any) -> Any:
        return _wrap(self._inner.connect_tcp(host, port, _left(timeout), **kw))

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kw: Any) -> Any:
        return _wrap(self._inner.connect_unix_socket(path, _left(timeout), **kw))


def install(client: httpx.Client | httpx.AsyncClient) -> bool:
    """Wrap the network backend of every httpcore pool of ``client`` (its transport and
    proxy mounts); False when none was found (a custom transport, or another httpx)."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    wrapped = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend | httpcore.AsyncNetworkBackend):
            pool._network_backend = backend = _Backend(backend)  # type: ignore[union-attr]
        wrapped = wrapped or isinstance(backend, _Backend)
    return wrapped
