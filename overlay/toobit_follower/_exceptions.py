"""The one exception hierarchy of toobit_follower and the one table from error code to class.

::

    ToobitError
    ├── APIError                      the server answered with an error (.status_code, .code, .msg)
    │   ├── AuthenticationError       key or signature refused
    │   ├── TimestampError            -1021, clock outside recvWindow
    │   ├── PermissionDeniedError     read-only key on a write, account not COPY_TRADING
    │   ├── InvalidRequestError       a parameter is missing or invalid
    │   ├── RateLimitError            -1003 / HTTP 429
    │   │   └── IPBannedError         HTTP 418
    │   ├── FollowerNotFoundError     -32045, no such follow relation
    │   ├── HasOpenPositionsError     -120055, cancel refused
    │   ├── UnknownServerError        -1000
    │   └── UnexpectedResponseError   body not the JSON envelope (HTML 502, empty, ...)
    ├── APIConnectionError            no answer: connect/read/write failed
    │   └── APITimeoutError
    └── OutcomeUnknownError           a write failed with 5XX/timeout: it may have been applied

The HTTP status and the exchange's ``code`` are separate attributes; the class is chosen
by :func:`error_class` from ``code`` (read from the body whatever the status), except
that HTTP 429 and 418 always mean rate limited / banned. A code missing from
:data:`ERROR_TABLE` raises a plain :class:`APIError` that keeps the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

import httpx

from ._types import NO_RATE_LIMIT, RateLimit

__all__ = [
    "ERROR_CLASSES",
    "ERROR_TABLE",
    "STATUS_ERROR_CLASSES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ErrorCodeInfo",
    "FollowerNotFoundError",
    "HasOpenPositionsError",
    "IPBannedError",
    "InvalidRequestError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "TimestampError",
    "ToobitError",
    "UnexpectedResponseError",
    "UnknownServerError",
    "error_class",
    "redact",
]

_SIGNATURE_RE: Final = re.compile(r"(signature=)[0-9A-Za-z]+")


def redact(text: str) -> str:
    """``text`` with any ``signature=...`` value masked (URLs in transport messages)."""
    return _SIGNATURE_RE.sub(r"\1<redacted>", text)


class ToobitError(Exception):
    """Base class of every error this package raises."""


class APIError(ToobitError):
    """The server answered and the answer is an error.

    ``code`` is the exchange's code from the body (``None`` when the body had none),
    ``status_code`` the HTTP status; ``rate_limit`` holds the response's
    ``X-Api-Limit*`` headers and ``response`` the httpx response itself.
    """

    def __init__(
        self,
        msg: str,
        *,
        status_code: int,
        code: int | None,
        method: str,
        path: str,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status_code = status_code
        self.code = code
        self.method = method
        self.path = path
        self.response = response
        self.rate_limit: RateLimit = (
            RateLimit.from_headers(response.headers) if response is not None else NO_RATE_LIMIT
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}: HTTP {self.status_code}, code {self.code}: {self.msg}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code},"
            f" msg={self.msg!r}, method={self.method!r}, path={self.path!r})"
        )


class AuthenticationError(APIError):
    """The API key or the signature was refused (HTTP 401)."""


class TimestampError(APIError):
    """-1021: the timestamp is outside recvWindow or ahead of server time (clock skew)."""


class PermissionDeniedError(APIError):
    """The key may not do this: read-only key on a write, or not a COPY_TRADING account."""


class InvalidRequestError(APIError):
    """A parameter or body field is missing, malformed or out of range (HTTP 400)."""


class RateLimitError(APIError):
    """Request weight exceeded (-1003, HTTP 429). ``retry_after``: seconds until the reset."""

    retry_after: float | None = None


class IPBannedError(RateLimitError):
    """HTTP 418: the IP is banned for continuing after a 429 (2 minutes up to 3 days)."""


class FollowerNotFoundError(APIError):
    """-32045: no follow relation (or no such open copy position) for the signed account."""


class HasOpenPositionsError(APIError):
    """-120055: the follower holds copy positions under that leader; cancel refused."""


class UnknownServerError(APIError):
    """-1000: the exchange failed for an unknown reason."""


class UnexpectedResponseError(APIError):
    """The body is not the JSON envelope expected (an HTML gateway page, empty, truncated).

    ``code`` is ``None``; ``excerpt`` quotes the start of the body.
    """

    def __init__(
        self,
        msg: str,
        *,
        status_code: int,
        method: str,
        path: str,
        excerpt: str,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(
            msg, status_code=status_code, code=None, method=method, path=path, response=response
        )
        self.excerpt = excerpt

    def __str__(self) -> str:
        return f"{self.method} {self.path}: HTTP {self.status_code}, {self.msg}: {self.excerpt!r}"


class APIConnectionError(ToobitError):
    """No usable answer: the connection failed or broke."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {type(self).__name__}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, method={self.method!r},"
            f" path={self.path!r})"
        )


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class OutcomeUnknownError(ToobitError):
    """A write failed in a way that leaves its outcome unknown (5XX, timeout, broken
    connection): it may have been applied. Check the state before repeating it (for a
    cancelled leader: ``list_leaders()``). ``error`` is the underlying failure.
    """

    def __init__(self, error: APIError | APIConnectionError, *, method: str, path: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.method = method
        self.path = path
        self.status_code: int | None = error.status_code if isinstance(error, APIError) else None
        self.code: int | None = error.code if isinstance(error, APIError) else None

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path}: outcome unknown, the change may have been applied"
            f" (check before repeating): {self.error}"
        )

    def __repr__(self) -> str:
        return (
            f"OutcomeUnknownError(status_code={self.status_code}, code={self.code},"
            f" method={self.method!r}, path={self.path!r}, error={self.error!r})"
        )


class ErrorCodeInfo(NamedTuple):
    """One row of :data:`ERROR_TABLE`."""

    code: int
    exception: type[APIError]
    meaning: str


ERROR_TABLE: Final[tuple[ErrorCodeInfo, ...]] = (
    ErrorCodeInfo(-1000, UnknownServerError, "unknown error"),
    ErrorCodeInfo(-1002, AuthenticationError, "unauthorized (API key header missing)"),
    ErrorCodeInfo(-1003, RateLimitError, "too many requests (request weight exceeded)"),
    ErrorCodeInfo(-1005, PermissionDeniedError, "no permission (account is not COPY_TRADING)"),
    ErrorCodeInfo(-1020, PermissionDeniedError, "not supported (read-only key on a write)"),
    ErrorCodeInfo(-1021, TimestampError, "timestamp outside recvWindow or ahead of server time"),
    ErrorCodeInfo(-1022, AuthenticationError, "signature not valid"),
    ErrorCodeInfo(-1100, InvalidRequestError, "illegal characters in a parameter"),
    ErrorCodeInfo(-1101, InvalidRequestError, "too many parameters"),
    ErrorCodeInfo(-1102, InvalidRequestError, "mandatory parameter missing, empty or malformed"),
    ErrorCodeInfo(-1103, InvalidRequestError, "unknown parameter"),
    ErrorCodeInfo(-1105, InvalidRequestError, "parameter empty"),
    ErrorCodeInfo(-1130, InvalidRequestError, "parameter value not valid (range, precision)"),
    ErrorCodeInfo(-2014, AuthenticationError, "API-key format invalid"),
    ErrorCodeInfo(-2015, AuthenticationError, "invalid API-key, IP, or permissions for action"),
    ErrorCodeInfo(-2017, AuthenticationError, "API key expired"),
    ErrorCodeInfo(-2018, AuthenticationError, "API key suspended"),
    ErrorCodeInfo(-32045, FollowerNotFoundError, "copy trading follower not found"),
    ErrorCodeInfo(-120055, HasOpenPositionsError, "follower has copy positions, cannot cancel"),
)
"""Every documented error code, the class raised for it and what it means."""

ERROR_CLASSES: Final[Mapping[int, type[APIError]]] = MappingProxyType(
    {row.code: row.exception for row in ERROR_TABLE}
)
"""``code -> exception class``, derived from :data:`ERROR_TABLE`."""

STATUS_ERROR_CLASSES: Final[Mapping[int, type[APIError]]] = MappingProxyType(
    {429: RateLimitError, 418: IPBannedError}
)
"""HTTP statuses whose class wins over the body's code."""


def error_class(status_code: int, code: int | None) -> type[APIError]:
    """The exception class for an error answer with this HTTP status and body ``code``."""
    by_status = STATUS_ERROR_CLASSES.get(status_code)
    if by_status is not None:
        return by_status
    if code is None:
        return UnexpectedResponseError
    return ERROR_CLASSES.get(code, APIError)
