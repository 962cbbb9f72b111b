"""Small value types returned next to the parsed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

import httpx

from ._constants import RATE_LIMIT_HEADER, RATE_LIMIT_RESET_HEADER, RATE_LIMIT_STATUS_HEADER

__all__ = ["NO_RATE_LIMIT", "RateLimit", "RawResponse"]

T = TypeVar("T")


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The request-weight headers of one response (``None`` when a header is absent)."""

    remaining: int | None
    """``X-Api-Limit-Status``: request weight left in the current window."""
    limit: int | None
    """``X-Api-Limit``: the window's maximum request weight."""
    reset_timestamp_ms: int | None
    """``X-Api-Limit-Reset-Timestamp``: epoch ms of the next window reset."""

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimit:
        return cls(
            remaining=_int_header(headers, RATE_LIMIT_STATUS_HEADER),
            limit=_int_header(headers, RATE_LIMIT_HEADER),
            reset_timestamp_ms=_int_header(headers, RATE_LIMIT_RESET_HEADER),
        )


NO_RATE_LIMIT = RateLimit(None, None, None)


class RawResponse(NamedTuple, Generic[T]):
    """What a ``with_raw_response`` method returns: unpacks as ``(parsed, http_response)``."""

    parsed: T
    """The typed data the plain method returns."""
    http_response: httpx.Response
    """The httpx response (headers, status, raw bytes)."""
