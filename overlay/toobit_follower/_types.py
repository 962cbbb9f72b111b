"""Small value types returned next to the parsed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import httpx

from . import constants as C


def header_int(value: str | bytes | None) -> int | None:
    """An integer header's value; ``None`` when absent, not an integer, or too long."""
    value = b"" if value is None else value.strip()
    try:  # the length leaves room for a sign; longer is malformed
        return int(value) if len(value) <= C.MAX_HEADER_DIGITS + 1 else None
    except ValueError:  # empty, or not an integer
        return None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The request-weight headers of one response (``None`` when a header is absent)."""

    remaining: int | None  # X-Api-Limit-Status: request weight left in the current window
    limit: int | None  # X-Api-Limit: the window's maximum request weight
    reset_timestamp_ms: int | None  # X-Api-Limit-Reset-Timestamp: epoch ms of the next reset

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimit:
        names = (C.RATE_LIMIT_STATUS_HEADER, C.RATE_LIMIT_HEADER, C.RATE_LIMIT_RESET_HEADER)
        return cls(*(header_int(headers.get(name)) for name in names))


NO_RATE_LIMIT = RateLimit(None, None, None)


class RateLimitBlock(NamedTuple):
    """What ``client.rate_limit_block`` says while a 429 or 418 keeps every call of the
    key from being sent (``clear_rate_limit_block()`` lifts it on purpose)."""

    until_ms: int  # when the block ends: epoch ms on the server's clock, as estimated
    seconds_left: float  # from now until then
    status_code: int  # 429 (rate limited) or 418 (IP banned)
    code: int | None  # the exchange's code of the answer that set the block; None: none
