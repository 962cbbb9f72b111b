"""Small value types returned next to the parsed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

import httpx

from ._constants import (
    MAX_HEADER_DIGITS,
    RATE_LIMIT_HEADER,
    RATE_LIMIT_RESET_HEADER,
    RATE_LIMIT_STATUS_HEADER,
)

__all__ = ["NO_RATE_LIMIT", "RateLimit", "RateLimitBlock", "RawResponse", "header_int"]

T = TypeVar("T")


def header_int(value: str | bytes | None) -> int | None:
    """An integer header's value; ``None`` when absent, not an integer, or longer than an
    int64 (a 400-digit reset timestamp is malformed, not a date)."""
    if value is None:
        return None
    value = value.strip()
    if not 0 < len(value) <= MAX_HEADER_DIGITS + 1:  # room for a sign
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    return header_int(headers.get(name))


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


class RateLimitBlock(NamedTuple):
    """What ``client.rate_limit_block`` says while a 429 or 418 keeps every call of the
    key from being sent (``clear_rate_limit_block()`` lifts it on purpose)."""

    until_ms: int
    """When the block ends: epoch ms on the server's clock (as the client estimates it)."""
    seconds_left: float
    """Seconds from now until then."""
    status_code: int
    """429 (rate limited) or 418 (IP banned)."""
    code: int | None
    """The exchange's code of the answer that set the block (``None``: it had none)."""


class RawResponse(NamedTuple, Generic[T]):
    """What a ``with_raw_response`` method returns: unpacks as ``(parsed, http_response)``."""

    parsed: T
    """The typed data the plain method returns."""
    http_response: httpx.Response
    """The httpx response (headers, status, raw bytes)."""
