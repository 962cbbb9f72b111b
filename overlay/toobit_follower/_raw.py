"""``with_raw_response``: the wrappers that make a client method return
``RawResponse(parsed, http_response)``, and where the call loop leaves its response."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Final, ParamSpec, TypeVar

import httpx

from ._types import RawResponse

__all__ = ["async_to_raw_response_wrapper", "keep", "to_raw_response_wrapper"]

T = TypeVar("T")
P = ParamSpec("P")

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


def keep(response: httpx.Response) -> None:
    box = _RAW.get()
    if box is not None:  # the last response of a with_raw_response call is its own
        box.append(response)
