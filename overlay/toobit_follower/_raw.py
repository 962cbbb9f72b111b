"""``with_raw_response``: wrappers returning ``RawResponse(parsed, http_response)``, the
last response the call :func:`keep`-s."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Final, Generic, NamedTuple, ParamSpec, TypeVar

import httpx

T = TypeVar("T")
P = ParamSpec("P")
AsyncMethod = Callable[P, Awaitable[T]]
_RAW: Final = ContextVar[list[httpx.Response] | None]("toobit_follower_raw", default=None)


class RawResponse(NamedTuple, Generic[T]):
    """What a ``with_raw_response`` method returns: unpacks as ``(parsed, http_response)``."""

    parsed: T  # the typed data the plain method returns
    http_response: httpx.Response  # headers, status, raw bytes


def to_raw_response_wrapper(method: Callable[P, T]) -> Callable[P, RawResponse[T]]:
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        token = _RAW.set(box := list[httpx.Response]())
        try:
            return RawResponse(method(*args, **kwargs), box[-1])
        finally:
            _RAW.reset(token)

    return functools.update_wrapper(wrapped, method)


def async_to_raw_response_wrapper(method: AsyncMethod[P, T]) -> AsyncMethod[P, RawResponse[T]]:
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        token = _RAW.set(box := list[httpx.Response]())
        try:
            return RawResponse(await method(*args, **kwargs), box[-1])
        finally:
            _RAW.reset(token)

    return functools.update_wrapper(wrapped, method)


def keep(response: httpx.Response) -> None:
    if (box := _RAW.get()) is not None:  # a with_raw_response call is running
        box.append(response)
