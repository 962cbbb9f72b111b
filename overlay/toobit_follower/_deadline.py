"""A deadline for every socket operation of a call, dripping answers included.

httpx times each socket read alone, so a server sending a byte a second never times out.
The client puts the call's deadline in :data:`DEADLINE`; the streams of its httpx client
cut each connect, read and write to the time left (:func:`install`, on httpx 0.28's private
attributes; elsewhere the client checks between chunks). Remove when httpx has a per-request
deadline.
"""

from __future__ import annotations

import contextvars
import inspect
import time
from typing import Any, Final

import httpcore
import httpx

DEADLINE: Final = contextvars.ContextVar[float | None]("toobit_follower_deadline", default=None)
"""``time.monotonic()`` past which the current call's sockets may not wait; else ``None``."""


class DeadlinePassed(httpcore.ReadTimeout):
    """Raised because the call's deadline passed (httpx makes it ``httpx.ReadTimeout``)."""


def _left(timeout: float | None) -> float | None:
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    if (left := deadline - time.monotonic()) <= 0:
        raise DeadlinePassed("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


def _wrap(stream: Any) -> Any:
    if not inspect.isawaitable(stream):
        return _Timed(stream)

    async def connected() -> _Timed:
        return _Timed(await stream)

    return connected()


class _Timed:
    """A sync or async httpcore backend or stream whose waits end by the deadline (an async
    inner one's coroutine is returned for httpcore to await); the rest passes through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kw: Any) -> Any:
        return _wrap(self._inner.connect_tcp(host, port, _left(timeout), **kw))

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kw: Any) -> Any:
        return _wrap(self._inner.connect_unix_socket(path, _left(timeout), **kw))

    def read(self, max_bytes: int, timeout: float | None = None) -> Any:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> Any:
        return self._inner.write(buffer, _left(timeout))

    def start_tls(self, ssl_context: Any, server_hostname: Any = None, timeout: Any = None) -> Any:
        return _wrap(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))


def install(client: httpx.Client | httpx.AsyncClient) -> bool:
    """Wrap the network backend of every httpcore pool of ``client`` (its transport and
    proxy mounts); False when none was found (a custom transport, or another httpx)."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    wrapped = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend | httpcore.AsyncNetworkBackend):
            pool._network_backend = backend = _Timed(backend)  # type: ignore[union-attr]
        wrapped = wrapped or isinstance(backend, _Timed)
    return wrapped
