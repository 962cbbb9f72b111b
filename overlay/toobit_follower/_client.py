"""The two I/O loops that drive a call's steps (``_base_client``), and the clients of the
roles: the methods generated into ``toobit_follower_api.api`` on those loops."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Self, TypeVar, cast

import httpx
from toobit_follower_api.api import (
    AsyncFollowerClientOperations,
    AsyncFollowerClientOperationsWithRawResponse,
    AsyncLeaderClientOperations,
    AsyncLeaderClientOperationsWithRawResponse,
    FollowerClientOperations,
    FollowerClientOperationsWithRawResponse,
    LeaderClientOperations,
    LeaderClientOperationsWithRawResponse,
)

from ._base_client import NO_ANSWER, SEND, BaseClient, Call, Steps

__all__ = [
    "AsyncFollowerClient",
    "AsyncFollowerClientWithRawResponse",
    "AsyncLeaderClient",
    "AsyncLeaderClientWithRawResponse",
    "FollowerClient",
    "FollowerClientWithRawResponse",
    "LeaderClient",
    "LeaderClientWithRawResponse",
]

T = TypeVar("T")


class SyncClient(BaseClient):
    """The transport core of the sync clients (one key is one account: a follower's key
    makes a FollowerClient, a leader's a LeaderClient).

    Credentials come from the arguments or ``TOOBIT_API_KEY`` / ``TOOBIT_API_SECRET``
    (a malformed key or secret raises CredentialsError); ``base_url`` from the argument,
    ``TOOBIT_BASE_URL`` or the production host. ``timeout`` (30 s) bounds each method call
    as a whole: every attempt and the backoff between them (DeadlineExceededError; for a
    write, OutcomeUnknownError); ``attempt_timeout`` bounds each attempt, every byte of
    its answer included (default: a third of ``timeout``, at most 10 s), after which a
    GET or PUT is retried within what is left. A body past ``max_response_bytes`` is not
    read further (ResponseTooLargeError). Every client of one key and host in the process
    shares one rate-limit gate; ``max_rate_limit_wait`` is the longest it waits for a
    reset. ``transport`` (any httpx transport) points the client at a fake or an
    in-process ASGI app (with a gate of its own); ``sleep`` and ``clock`` exist so tests
    need not wait. Safe to share between threads.

    Use as a context manager, or call :meth:`close`.
    """

    _http_class = httpx.Client
    _default_sleep = staticmethod(time.sleep)
    _http: httpx.Client

    @property
    def http_client(self) -> httpx.Client:
        """The httpx client this client sends with (a request sent through it directly skips
        the gate, the retries and the error mapping)."""
        return self._http

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, steps: Steps[T]) -> T:
        """Drive ``steps`` with blocking I/O (closing them however it ends)."""
        reply: Any = None
        try:
            while True:
                try:
                    action, argument = steps.send(reply)
                except StopIteration as done:
                    return cast("T", done.value)
                reply = self._attempt(argument) if action == SEND else self._sleep(argument)
        finally:
            steps.close()

    def _attempt(self, call: Call[Any]) -> tuple[httpx.Response, bytes] | BaseException:
        """One request (new, so signed afresh) and its whole answer, or the failure."""
        try:
            request = self._build_request(call.prepared)
            response = self._http.send(request, auth=call.auth, stream=True)
            try:
                reader = self._received(call, response)
                if not response.is_stream_consumed:
                    for chunk in response.iter_raw():
                        reader.feed(chunk)
                return response, reader.body()
            finally:
                response.close()
        except NO_ANSWER as exc:
            return exc

    def sync_time(self) -> int:
        """Measure the server clock through GET /api/v1/time and sign later requests with
        it. Returns the offset (server minus local) in ms."""
        return self._run(self._sync_steps())


class AsyncClient(BaseClient):
    """The transport core of the async clients (``sleep`` is async); the arguments are
    :class:`SyncClient`'s. Safe to share between tasks."""

    _http_class = httpx.AsyncClient
    _default_sleep = staticmethod(asyncio.sleep)
    _http: httpx.AsyncClient

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The httpx client this client sends with; see SyncClient.http_client."""
        return self._http

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self, steps: Steps[T]) -> T:
        """Drive ``steps`` with asyncio (closing them however it ends)."""
        reply: Any = None
        try:
            while True:
                try:
                    action, argument = steps.send(reply)
                except StopIteration as done:
                    return cast("T", done.value)
                reply = await (self._attempt(argument) if action == SEND else self._sleep(argument))
        finally:
            steps.close()

    async def _attempt(self, call: Call[Any]) -> tuple[httpx.Response, bytes] | BaseException:
        """The async twin of SyncClient._attempt."""
        try:
            request = self._build_request(call.prepared)
            response = await self._http.send(request, auth=call.auth, stream=True)
            try:
                reader = self._received(call, response)
                if not response.is_stream_consumed:
                    async for chunk in response.aiter_raw():
                        reader.feed(chunk)
                return response, reader.body()
            finally:
                await response.aclose()
        except NO_ANSWER as exc:
            return exc

    async def sync_time(self) -> int:
        """Measure the server clock and sign later requests with it; returns the offset."""
        return await self._run(self._sync_steps())


# ---- the clients of the two roles: the generated methods of their tags on the core ------
# (x-python.client on a tag names its client; a tag of no role goes to every client)
FollowerClientWithRawResponse = FollowerClientOperationsWithRawResponse
AsyncFollowerClientWithRawResponse = AsyncFollowerClientOperationsWithRawResponse
LeaderClientWithRawResponse = LeaderClientOperationsWithRawResponse
AsyncLeaderClientWithRawResponse = AsyncLeaderClientOperationsWithRawResponse


class FollowerClient(FollowerClientOperations, SyncClient):
    """Signed, typed client of Toobit's copy-trading follower API (a follower's key); the
    arguments are :class:`SyncClient`'s. Use as a context manager, or call ``close()``."""


class AsyncFollowerClient(AsyncFollowerClientOperations, AsyncClient):
    """The asyncio twin of :class:`FollowerClient`."""


class LeaderClient(LeaderClientOperations, SyncClient):
    """Signed, typed client of Toobit's copy-trading leader API (a leader's key); the
    arguments are :class:`SyncClient`'s. Use as a context manager, or call ``close()``."""


class AsyncLeaderClient(AsyncLeaderClientOperations, AsyncClient):
    """The asyncio twin of :class:`LeaderClient`."""
