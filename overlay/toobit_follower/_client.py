"""``FollowerClient`` and ``AsyncFollowerClient``: the two I/O loops of a call.

Every operation's method (and its ``with_raw_response`` twin) is generated from the spec
into ``toobit_follower_api.api`` and mixed in; each calls ``_call(operation, arguments,
body)`` here, which prepares the request from the operation's row of the table
(``_operations.prepare``) and runs it through the gate, the deadline and the retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Protocol, Self, TypeVar, cast

import httpx
from pydantic import BaseModel
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
from toobit_follower_models import Follower, HistoryLeadOrder, HistoryOrder
from toobit_follower_models.operations import BY_ID, Operation

from . import _constants as C
from ._base_client import RESYNC, BaseClient, Call
from ._deadline import DEADLINE
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    OutcomeUnknownError,
    ToobitError,
    UnexpectedResponseError,
)
from ._operations import Prepared, prepare
from ._probes import Answer, find_body_signing
from ._raw import async_to_raw_response_wrapper, keep, to_raw_response_wrapper
from ._secret import Secret
from .signing import BodySigning

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
I = TypeVar("I")  # noqa: E741 - an item
I_co = TypeVar("I_co", covariant=True)

SERVER_TIME: Final = BY_ID["getServerTime"]
"""The unsigned clock operation: a -1021 re-syncs through it."""


# Failures of an attempt that got no usable answer: any httpx error (the connection, the
# protocol, a redirect loop), a body too long, in an encoding not asked for or that does
# not decode, or still coming at the attempt's or the call's deadline.
_NO_ANSWER: Final = (httpx.HTTPError, UnexpectedResponseError, APITimeoutError)


def _planned(prepared: Prepared[Any], rule: BodySigning) -> tuple[Prepared[Any], None, BodySigning]:
    """A probe step, as the arguments of ``_request``."""
    return prepared, None, rule


def _probe_failure(error: ToobitError) -> ToobitError:
    """What the caller of a write gets when the signing probe got no answer: the probe's
    own failure (an OutcomeUnknownError of the probe's harmless PUT is about that PUT)."""
    return error.error if isinstance(error, OutcomeUnknownError) else error


class Paged(Protocol[I_co]):
    """A page of a paged read: its items and the number of pages."""

    @property
    def list_(self) -> Sequence[I_co]: ...

    @property
    def pages(self) -> int: ...


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
    read further (ResponseTooLargeError). Every client of one key and host in the process shares one
    rate-limit gate; ``max_rate_limit_wait`` is the longest it waits for a reset.
    ``transport`` (any httpx transport) points the client at a fake or an in-process
    ASGI app (with a gate of its own); ``sleep`` and ``clock`` exist so tests need not
    wait. Safe to share between threads.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        recv_window: int = C.DEFAULT_RECV_WINDOW,
        body_signing: BodySigning | str = BodySigning.QUERY_AND_BODY,
        timeout: float | httpx.Timeout | None = C.DEFAULT_TIMEOUT,
        attempt_timeout: float | None = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        max_rate_limit_wait: float = C.MAX_RATE_LIMIT_WAIT,
        max_response_bytes: int = C.DEFAULT_MAX_RESPONSE_BYTES,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            api_key=api_key,
            api_secret=api_secret,
            base_url=base_url,
            recv_window=recv_window,
            body_signing=body_signing,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait,
            max_response_bytes=max_response_bytes,
            clock=clock,
            httpx_args={} if transport is None else {"transport": transport},
        )
        self._sleep = sleep
        self._http = httpx.Client(**self._httpx_args)
        self._own_http(self._http)
        self.with_raw_response = self._raw(self)
        """The same methods, returning ``RawResponse(parsed, http_response)``."""

    _raw: Callable[[Any], Any]
    """The class of ``with_raw_response`` (the role's raw twins)."""

    @property
    def http_client(self) -> httpx.Client:
        """The httpx client this client sends with (for event hooks, or to check it is
        closed); a request sent through it directly skips the gate, the retries and the
        error mapping."""
        return self._http

    # ---- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- the call loop -----------------------------------------------------------------
    def _request(
        self,
        prepared: Prepared[T],
        within: Call[Any] | None = None,
        body_signing: BodySigning | None = None,
    ) -> tuple[T, httpx.Response]:
        http = self._http
        auth = self._signer_for(prepared, body_signing)
        call = self._begin(prepared, within)
        while True:
            wait = self._admit(call)
            if wait:
                self._sleep(wait)
                continue
            error: APIError | APIConnectionError
            deadline = DEADLINE.set(self._start_attempt(call))
            try:
                # A new request per attempt: the auth signs it afresh, and the request of
                # an earlier attempt (reachable from its response or exception) stays as sent.
                request = self._build_request(prepared)
                response = http.send(request, auth=auth, stream=True)
                try:
                    reader = self._received(call, response)
                    if not response.is_stream_consumed:
                        for chunk in response.iter_raw():
                            reader.feed(chunk)
                    content = reader.body()
                finally:
                    response.close()
            except _NO_ANSWER as exc:
                error = self._failed(call, exc)
            else:
                ok, result = self._answer(call, response, content)
                if ok:
                    return result, response
                error = result
            finally:
                DEADLINE.reset(deadline)
                # however the attempt ended (an exception of any kind, Ctrl-C, a task
                # cancelled), its reservation goes back to the gate
                self._release(call)
            step = self._next_step(call, error)
            if step == RESYNC:
                call.resyncs += 1
                try:  # sync_time(), within what is left of this call's timeout
                    started = self._clock()
                    server_ms, _ = self._request(prepare(SERVER_TIME, {}), within=call)
                    self._offset_from(server_ms, started, self._clock())
                except ToobitError as sync_error:
                    # the -1021 is the error to report; the failed re-sync is its cause
                    raise error from sync_error
                continue
            call.retries += 1
            self._log_retry(call, error, step)
            self._sleep(step)

    def _settle_body_signing(self) -> None:
        """body_signing="auto": run the signing probe, its requests ordinary calls through
        the gate (concurrent first writes wait for one probe)."""
        with self._auth.probe_lock:
            if not self._auth.needs_probe:
                return
            flow = find_body_signing(_planned)
            try:
                _, step = next(flow)
                while True:
                    try:
                        _, response = self._request(*step)
                        answer = Answer.of(response, response.content)
                    except APIError as error:
                        answer = Answer.of_error(error)
                    _, step = flow.send(answer)
            except StopIteration as done:
                self._auth.settle(done.value)
            except ToobitError as error:
                # cut short: the caller's own request is not sent (its outcome is known),
                # and the next write probes again
                raise _probe_failure(error) from None

    # ---- what the generated methods call ------------------------------------------
    def _call(
        self, operation: Operation, arguments: Mapping[str, object], body: BaseModel | None, /
    ) -> Any:
        return self._send(prepare(operation, arguments, body))

    def _send(self, prepared: Prepared[T]) -> T:
        if prepared.json is not None and self._auth.needs_probe:
            self._settle_body_signing()
        data, response = self._request(prepared)
        keep(response)
        return data

    # ---- helpers beside the generated methods ---------------------------------------
    def sync_time(self) -> int:
        """Measure the server clock through GET /api/v1/time and sign later requests with
        it. Returns the offset (server minus local) in ms."""
        started = self._clock()
        server_ms = self.server_time()
        return self._offset_from(server_ms, started, self._clock())

    def server_time(self) -> int:
        """GET /api/v1/time: the server's clock in epoch ms (unsigned)."""
        return cast("int", self._call(SERVER_TIME, {}, None))

    @staticmethod
    def _pages(read: Callable[[int, int], Paged[I]], size: int) -> Iterator[I]:
        """Every item of a paged read, page after page (one request per page)."""
        page = 1
        while True:
            result = read(page, size)
            yield from result.list_
            if not result.list_ or page >= int(result.pages):
                return
            page += 1


class AsyncClient(BaseClient):
    """The transport core of the async clients (``sleep`` is async). Safe to share
    between tasks."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        recv_window: int = C.DEFAULT_RECV_WINDOW,
        body_signing: BodySigning | str = BodySigning.QUERY_AND_BODY,
        timeout: float | httpx.Timeout | None = C.DEFAULT_TIMEOUT,
        attempt_timeout: float | None = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        max_rate_limit_wait: float = C.MAX_RATE_LIMIT_WAIT,
        max_response_bytes: int = C.DEFAULT_MAX_RESPONSE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            api_key=api_key,
            api_secret=api_secret,
            base_url=base_url,
            recv_window=recv_window,
            body_signing=body_signing,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait,
            max_response_bytes=max_response_bytes,
            clock=clock,
            httpx_args={} if transport is None else {"transport": transport},
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(**self._httpx_args)
        self._own_http(self._http)
        self.with_raw_response = self._raw(self)
        """The same methods, returning ``RawResponse(parsed, http_response)``."""

    _raw: Callable[[Any], Any]

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The httpx client this client sends with (for event hooks, or to check it is
        closed); a request sent through it directly skips the gate, the retries and the
        error mapping."""
        return self._http

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _request(
        self,
        prepared: Prepared[T],
        within: Call[Any] | None = None,
        body_signing: BodySigning | None = None,
    ) -> tuple[T, httpx.Response]:
        http = self._http
        auth = self._signer_for(prepared, body_signing)
        call = self._begin(prepared, within)
        while True:
            wait = self._admit(call)
            if wait:
                await self._sleep(wait)
                continue
            error: APIError | APIConnectionError
            deadline = DEADLINE.set(self._start_attempt(call))
            try:
                request = self._build_request(prepared)
                response = await http.send(request, auth=auth, stream=True)
                try:
                    reader = self._received(call, response)
                    if not response.is_stream_consumed:
                        async for chunk in response.aiter_raw():
                            reader.feed(chunk)
                    content = reader.body()
                finally:
                    await response.aclose()
            except _NO_ANSWER as exc:
                error = self._failed(call, exc)
            else:
                ok, result = self._answer(call, response, content)
                if ok:
                    return result, response
                error = result
            finally:
                DEADLINE.reset(deadline)
                # however the attempt ended (an exception of any kind, Ctrl-C, a task
                # cancelled), its reservation goes back to the gate
                self._release(call)
            step = self._next_step(call, error)
            if step == RESYNC:
                call.resyncs += 1
                try:  # sync_time(), within what is left of this call's timeout
                    started = self._clock()
                    server_ms, _ = await self._request(prepare(SERVER_TIME, {}), within=call)
                    self._offset_from(server_ms, started, self._clock())
                except ToobitError as sync_error:
                    # the -1021 is the error to report; the failed re-sync is its cause
                    raise error from sync_error
                continue
            call.retries += 1
            self._log_retry(call, error, step)
            await self._sleep(step)

    async def _settle_body_signing(self) -> None:
        """The async twin of FollowerClient._settle_body_signing."""
        async with self._auth.async_probe_lock:
            if not self._auth.needs_probe:
                return
            flow = find_body_signing(_planned)
            try:
                _, step = next(flow)
                while True:
                    try:
                        _, response = await self._request(*step)
                        answer = Answer.of(response, response.content)
                    except APIError as error:
                        answer = Answer.of_error(error)
                    _, step = flow.send(answer)
            except StopIteration as done:
                self._auth.settle(done.value)
            except ToobitError as error:
                # cut short: the caller's own request is not sent (its outcome is known),
                # and the next write probes again
                raise _probe_failure(error) from None

    async def _call(
        self, operation: Operation, arguments: Mapping[str, object], body: BaseModel | None, /
    ) -> Any:
        return await self._send(prepare(operation, arguments, body))

    async def _send(self, prepared: Prepared[T]) -> T:
        if prepared.json is not None and self._auth.needs_probe:
            await self._settle_body_signing()
        data, response = await self._request(prepared)
        keep(response)
        return data

    async def sync_time(self) -> int:
        """Measure the server clock and sign later requests with it; returns the offset."""
        started = self._clock()
        server_ms = await self.server_time()
        return self._offset_from(server_ms, started, self._clock())

    async def server_time(self) -> int:
        """GET /api/v1/time: the server's clock in epoch ms (unsigned)."""
        return cast("int", await self._call(SERVER_TIME, {}, None))

    @staticmethod
    async def _pages(
        read: Callable[[int, int], Awaitable[Paged[I]]], size: int
    ) -> AsyncIterator[I]:
        """Every item of a paged read, page after page (one request per page)."""
        page = 1
        while True:
            result = await read(page, size)
            for item in result.list_:
                yield item
            if not result.list_ or page >= int(result.pages):
                return
            page += 1


# ---- the clients of the two roles: the generated methods of their tags on the core ------
# (x-python.client on a tag names its client; a tag of no role goes to every client)
class FollowerClientWithRawResponse(FollowerClientOperationsWithRawResponse):
    """``client.with_raw_response``: each method returns ``RawResponse(parsed, http_response)``."""


class AsyncFollowerClientWithRawResponse(AsyncFollowerClientOperationsWithRawResponse):
    """``client.with_raw_response`` of the async follower client."""


class LeaderClientWithRawResponse(LeaderClientOperationsWithRawResponse):
    """``client.with_raw_response`` of the leader client (and ``server_time``)."""

    def __init__(self, client: LeaderClient) -> None:
        super().__init__(client)
        self.server_time = to_raw_response_wrapper(client.server_time)


class AsyncLeaderClientWithRawResponse(AsyncLeaderClientOperationsWithRawResponse):
    """``client.with_raw_response`` of the async leader client (and ``server_time``)."""

    def __init__(self, client: AsyncLeaderClient) -> None:
        super().__init__(client)
        self.server_time = async_to_raw_response_wrapper(client.server_time)


class FollowerClient(FollowerClientOperations, SyncClient):
    """Signed, typed client of Toobit's copy-trading follower API (a follower's key); the
    arguments are :class:`SyncClient`'s. Use as a context manager, or call ``close()``."""

    _raw = FollowerClientWithRawResponse
    with_raw_response: FollowerClientWithRawResponse

    def iter_history_orders(self, size: int = 100) -> Iterator[HistoryOrder]:
        """Every closed copy position, page after page (one request per page)."""
        return self._pages(self.list_history_orders, size)


class AsyncFollowerClient(AsyncFollowerClientOperations, AsyncClient):
    """The asyncio twin of :class:`FollowerClient`."""

    _raw = AsyncFollowerClientWithRawResponse
    with_raw_response: AsyncFollowerClientWithRawResponse

    def iter_history_orders(self, size: int = 100) -> AsyncIterator[HistoryOrder]:
        """Every closed copy position, page after page (one request per page)."""
        return self._pages(self.list_history_orders, size)


class LeaderClient(LeaderClientOperations, SyncClient):
    """Signed, typed client of Toobit's copy-trading leader API (a leader's key); the
    arguments are :class:`SyncClient`'s. Use as a context manager, or call ``close()``."""

    _raw = LeaderClientWithRawResponse
    with_raw_response: LeaderClientWithRawResponse

    def iter_history_lead_orders(self, size: int = 100) -> Iterator[HistoryLeadOrder]:
        """Every closed lead order, page after page (one request per page)."""
        return self._pages(self.list_history_lead_orders, size)

    def iter_followers(self, size: int = 100) -> Iterator[Follower]:
        """Every follower, page after page (one request per page)."""
        return self._pages(self.list_followers, size)


class AsyncLeaderClient(AsyncLeaderClientOperations, AsyncClient):
    """The asyncio twin of :class:`LeaderClient`."""

    _raw = AsyncLeaderClientWithRawResponse
    with_raw_response: AsyncLeaderClientWithRawResponse

    def iter_history_lead_orders(self, size: int = 100) -> AsyncIterator[HistoryLeadOrder]:
        """Every closed lead order, page after page (one request per page)."""
        return self._pages(self.list_history_lead_orders, size)

    def iter_followers(self, size: int = 100) -> AsyncIterator[Follower]:
        """Every follower, page after page (one request per page)."""
        return self._pages(self.list_followers, size)
