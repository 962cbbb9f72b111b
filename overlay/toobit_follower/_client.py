"""``FollowerClient`` and ``AsyncFollowerClient``: one method per follower operation."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Final, ParamSpec, Self, TypeVar

import httpx
from toobit_follower_models import (
    CurrentOrder,
    FollowConfig,
    FollowConfigUpdate,
    HistoryOrder,
    HistoryOrdersPage,
    Leader,
)

from . import _constants as C
from . import _operations as ops
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
from ._operations import LeaderId, Prepared
from ._probes import Answer, find_body_signing
from ._secret import Secret
from ._types import RawResponse
from .signing import BodySigning

__all__ = [
    "AsyncFollowerClient",
    "AsyncFollowerClientWithRawResponse",
    "FollowerClient",
    "FollowerClientWithRawResponse",
]

T = TypeVar("T")
P = ParamSpec("P")


# Failures of an attempt that got no usable answer: any httpx error (the connection, the
# protocol, a redirect loop), a body too long, in an encoding not asked for or that does
# not decode, or still coming at the attempt's or the call's deadline.
_NO_ANSWER: Final = (httpx.HTTPError, UnexpectedResponseError, APITimeoutError)

_RAW: Final[contextvars.ContextVar[list[httpx.Response] | None]] = contextvars.ContextVar(
    "toobit_follower_raw", default=None
)
"""Set by a ``with_raw_response`` method: the call's httpx response is put there."""


def to_raw_response_wrapper(method: Callable[P, T]) -> Callable[P, RawResponse[T]]:
    """``method`` returning ``RawResponse(parsed, http_response)``."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        box: list[httpx.Response] = []
        token = _RAW.set(box)
        try:
            parsed = method(*args, **kwargs)
        finally:
            _RAW.reset(token)
        return RawResponse(parsed, box[-1])

    return wrapped


def async_to_raw_response_wrapper(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[RawResponse[T]]]:
    """``method`` (async) returning ``RawResponse(parsed, http_response)``."""

    @functools.wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        box: list[httpx.Response] = []
        token = _RAW.set(box)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            _RAW.reset(token)
        return RawResponse(parsed, box[-1])

    return wrapped


def _planned(prepared: Prepared[Any], rule: BodySigning) -> tuple[Prepared[Any], None, BodySigning]:
    """A probe step, as the arguments of ``_request``."""
    return prepared, None, rule


def _probe_failure(error: ToobitError) -> ToobitError:
    """What the caller of a write gets when the signing probe got no answer: the probe's
    own failure (an OutcomeUnknownError of the probe's harmless PUT is about that PUT)."""
    return error.error if isinstance(error, OutcomeUnknownError) else error


def _keep(response: httpx.Response) -> None:
    box = _RAW.get()
    if box is not None:  # the last response of a with_raw_response call is its own
        box.append(response)


class FollowerClient(BaseClient):
    """Signed, typed client of the Toobit copy-trading follower API.

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
        self.with_raw_response = FollowerClientWithRawResponse(self)
        """The same methods, returning ``RawResponse(parsed, http_response)``."""

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
        url = self.base_url + prepared.target
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
                request = http.build_request(
                    prepared.method, url, content=prepared.json, headers=prepared.headers
                )
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
                    server_ms, _ = self._request(ops.get_server_time(), within=call)
                    self._offset_from(server_ms, started, self._clock())
                except ToobitError as sync_error:
                    # the -1021 is the error to report; the failed re-sync is its cause
                    raise error from sync_error
                continue
            call.retries += 1
            self._log_retry(call, error, step)
            self._sleep(step)

    def _call(self, prepared: Prepared[T]) -> T:
        if prepared.json is not None and self._auth.needs_probe:
            self._settle_body_signing()
        data, response = self._request(prepared)
        _keep(response)
        return data

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

    # ---- operations ----------------------------------------------------------------
    def server_time(self) -> int:
        """GET /api/v1/time: the server's clock in epoch ms (unsigned)."""
        return self._call(ops.get_server_time())

    def sync_time(self) -> int:
        """Measure the server clock through GET /api/v1/time and sign later requests with
        it. Returns the offset (server minus local) in ms."""
        started = self._clock()
        server_ms = self.server_time()
        return self._offset_from(server_ms, started, self._clock())

    def list_current_orders(self) -> list[CurrentOrder]:
        """GET /api/v2/copy-trading/follower/orders/current: the open copy positions."""
        return self._call(ops.list_current_orders())

    def list_history_orders(self, page: int = 1, size: int = 10) -> HistoryOrdersPage:
        """GET /api/v2/copy-trading/follower/orders/history: one page (size <= 100)."""
        return self._call(ops.list_history_orders(page, size))

    def iter_history_orders(self, size: int = 100) -> Iterator[HistoryOrder]:
        """Every closed copy position, page after page (one request per page)."""
        page = 1
        while True:
            result = self._call(ops.list_history_orders(page, size))
            yield from result.list_
            if not result.list_ or page >= int(result.pages):
                return
            page += 1

    def get_follow_config(self, leader_user_id: LeaderId) -> FollowConfig:
        """GET /api/v2/copy-trading/follower/config: the follow settings for a leader."""
        return self._call(ops.get_follow_config(leader_user_id))

    def update_follow_config(
        self, config: FollowConfigUpdate | None = None, /, **fields: object
    ) -> None:
        """PUT /api/v2/copy-trading/follower/config: replace the follow settings.

        Pass a FollowConfigUpdate, keyword fields named as its Python fields, or both
        (fields override the model). Raises TypeError for an unknown keyword or a float
        amount, pydantic.ValidationError (a ValueError) when a field is missing or invalid;
        both before sending.
        """
        self._call(ops.update_follow_config(ops.follow_config_update(config, fields)))

    def update_stop_profit_loss(
        self,
        leader_user_id: LeaderId,
        symbol_id: str,
        is_long: bool | int,
        **fields: object,
    ) -> None:
        """PUT /api/v2/copy-trading/follower/positions/stop-profit-loss: the optional
        StopProfitLossUpdate fields as keywords (Python names); one left out or ``None``
        keeps its stored value. TypeError for an unknown keyword or a float."""
        self._call(ops.update_stop_profit_loss(leader_user_id, symbol_id, is_long, fields))

    def list_leaders(self) -> list[Leader]:
        """GET /api/v2/copy-trading/follower/leaders: the leaders followed."""
        return self._call(ops.list_leaders())

    def cancel_leader(self, leader_user_id: LeaderId) -> None:
        """DELETE /api/v2/copy-trading/follower/leaders/{leaderUserId}: stop following.

        Never retried after a 5XX or timeout: raises OutcomeUnknownError (the relation
        may be gone already; check ``list_leaders()``)."""
        self._call(ops.cancel_leader(leader_user_id))


class AsyncFollowerClient(BaseClient):
    """The asyncio twin of :class:`FollowerClient` (same arguments; ``sleep`` is async).
    Safe to share between tasks."""

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
        self.with_raw_response = AsyncFollowerClientWithRawResponse(self)
        """The same methods, returning ``RawResponse(parsed, http_response)``."""

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
        url = self.base_url + prepared.target
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
                request = http.build_request(
                    prepared.method, url, content=prepared.json, headers=prepared.headers
                )
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
                    server_ms, _ = await self._request(ops.get_server_time(), within=call)
                    self._offset_from(server_ms, started, self._clock())
                except ToobitError as sync_error:
                    # the -1021 is the error to report; the failed re-sync is its cause
                    raise error from sync_error
                continue
            call.retries += 1
            self._log_retry(call, error, step)
            await self._sleep(step)

    async def _call(self, prepared: Prepared[T]) -> T:
        if prepared.json is not None and self._auth.needs_probe:
            await self._settle_body_signing()
        data, response = await self._request(prepared)
        _keep(response)
        return data

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

    async def server_time(self) -> int:
        """GET /api/v1/time: the server's clock in epoch ms (unsigned)."""
        return await self._call(ops.get_server_time())

    async def sync_time(self) -> int:
        """Measure the server clock and sign later requests with it; returns the offset."""
        started = self._clock()
        server_ms = await self.server_time()
        return self._offset_from(server_ms, started, self._clock())

    async def list_current_orders(self) -> list[CurrentOrder]:
        """GET /api/v2/copy-trading/follower/orders/current: the open copy positions."""
        return await self._call(ops.list_current_orders())

    async def list_history_orders(self, page: int = 1, size: int = 10) -> HistoryOrdersPage:
        """GET /api/v2/copy-trading/follower/orders/history: one page (size <= 100)."""
        return await self._call(ops.list_history_orders(page, size))

    async def iter_history_orders(self, size: int = 100) -> AsyncIterator[HistoryOrder]:
        """Every closed copy position, page after page (one request per page)."""
        page = 1
        while True:
            result = await self._call(ops.list_history_orders(page, size))
            for order in result.list_:
                yield order
            if not result.list_ or page >= int(result.pages):
                return
            page += 1

    async def get_follow_config(self, leader_user_id: LeaderId) -> FollowConfig:
        """GET /api/v2/copy-trading/follower/config: the follow settings for a leader."""
        return await self._call(ops.get_follow_config(leader_user_id))

    async def update_follow_config(
        self, config: FollowConfigUpdate | None = None, /, **fields: object
    ) -> None:
        """PUT /api/v2/copy-trading/follower/config: replace the follow settings."""
        await self._call(ops.update_follow_config(ops.follow_config_update(config, fields)))

    async def update_stop_profit_loss(
        self,
        leader_user_id: LeaderId,
        symbol_id: str,
        is_long: bool | int,
        **fields: object,
    ) -> None:
        """PUT /api/v2/copy-trading/follower/positions/stop-profit-loss."""
        await self._call(ops.update_stop_profit_loss(leader_user_id, symbol_id, is_long, fields))

    async def list_leaders(self) -> list[Leader]:
        """GET /api/v2/copy-trading/follower/leaders: the leaders followed."""
        return await self._call(ops.list_leaders())

    async def cancel_leader(self, leader_user_id: LeaderId) -> None:
        """DELETE /api/v2/copy-trading/follower/leaders/{leaderUserId}: stop following.
        Never retried after a 5XX or timeout (OutcomeUnknownError)."""
        await self._call(ops.cancel_leader(leader_user_id))


class FollowerClientWithRawResponse:
    """``client.with_raw_response``: each method returns ``RawResponse(parsed, http_response)``."""

    def __init__(self, client: FollowerClient) -> None:
        self.server_time = to_raw_response_wrapper(client.server_time)
        self.list_current_orders = to_raw_response_wrapper(client.list_current_orders)
        self.list_history_orders = to_raw_response_wrapper(client.list_history_orders)
        self.get_follow_config = to_raw_response_wrapper(client.get_follow_config)
        self.update_follow_config = to_raw_response_wrapper(client.update_follow_config)
        self.update_stop_profit_loss = to_raw_response_wrapper(client.update_stop_profit_loss)
        self.list_leaders = to_raw_response_wrapper(client.list_leaders)
        self.cancel_leader = to_raw_response_wrapper(client.cancel_leader)


class AsyncFollowerClientWithRawResponse:
    """``client.with_raw_response`` of the async client."""

    def __init__(self, client: AsyncFollowerClient) -> None:
        self.server_time = async_to_raw_response_wrapper(client.server_time)
        self.list_current_orders = async_to_raw_response_wrapper(client.list_current_orders)
        self.list_history_orders = async_to_raw_response_wrapper(client.list_history_orders)
        self.get_follow_config = async_to_raw_response_wrapper(client.get_follow_config)
        self.update_follow_config = async_to_raw_response_wrapper(client.update_follow_config)
        self.update_stop_profit_loss = async_to_raw_response_wrapper(client.update_stop_profit_loss)
        self.list_leaders = async_to_raw_response_wrapper(client.list_leaders)
        self.cancel_leader = async_to_raw_response_wrapper(client.cancel_leader)
