"""The one exception hierarchy of toobit_follower and the one rule from error to class
(README, "Errors", tabulates both).

The error table (code, name, HTTP status, message, meaning) is the spec's
``ErrorCode.x-error-table``, generated into ``toobit_follower_models.errors``: a code
added there becomes a typed error with no change to this file. The class comes from the
body's ``code`` when the table knows it (its row's HTTP status gives the family, even
when a gateway answered HTTP 200), else from the HTTP status; HTTP 429 and 418 always
mean rate limited / banned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import httpx
from toobit_follower_models.errors import ERROR_TABLE, ErrorCode, ErrorInfo, error_info

from ._types import NO_RATE_LIMIT, RateLimit

__all__ = ["CODE_CLASSES", "ERROR_TABLE", "FAMILIES", "APIConnectionError", "APIError"]
__all__ += ["APITimeoutError", "AuthenticationError", "CredentialsError", "DeadlineExceededError"]
__all__ += ["ErrorCode", "ErrorInfo", "FollowerNotFoundError", "HasOpenPositionsError"]
__all__ += ["IPBannedError", "InvalidRequestError", "NotALeaderError", "OutcomeUnknownError"]
__all__ += ["PermissionDeniedError", "RateLimitError", "ResponseTooLargeError", "TimestampError"]
__all__ += ["ToobitError", "UnexpectedResponseError", "UnknownServerError"]
__all__ += ["error_class", "error_info"]

_SIGNATURE_RE: Final = re.compile(r"(signature=)[0-9A-Za-z]+")


def redact(text: str) -> str:
    """``text`` with any ``signature=...`` value masked (URLs in transport messages)."""
    return _SIGNATURE_RE.sub(r"\1<redacted>", text)


class ToobitError(Exception):
    """Base class of every error this package raises."""

    _shown: tuple[str, ...] = ()
    """The attributes ``repr`` shows (never a secret: none is kept on an error)."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


class CredentialsError(ToobitError, ValueError):
    """The API key or secret is missing or malformed (the message never shows the secret)."""


class APIError(ToobitError):
    """The server answered with an error: ``status_code`` (HTTP), ``code`` and ``msg`` (the
    body's; ``code`` is ``None`` without one), ``info`` and ``meaning`` (the spec's row for
    the code, ``None`` for one it does not list), ``rate_limit`` (the ``X-Api-Limit*``
    headers) and ``response`` (the httpx response)."""

    _shown = ("status_code", "code", "msg", "method", "path")

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
        self.info: ErrorInfo | None = None if code is None else error_info(code, status_code)
        self.meaning: str | None = None if self.info is None else self.info.meaning
        self.method = method
        self.path = path
        self.response = response
        self.rate_limit: RateLimit = (
            RateLimit.from_headers(response.headers) if response is not None else NO_RATE_LIMIT
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}: HTTP {self.status_code}, code {self.code}: {self.msg}"


class InvalidRequestError(APIError):
    """HTTP 400 family: a parameter or body field is missing, malformed or refused."""


class FollowerNotFoundError(InvalidRequestError):
    """FOLLOWER_NOT_FOUND: no follow relation (or no such open copy position)."""


class HasOpenPositionsError(InvalidRequestError):
    """FOLLOWER_HAS_POSITIONS: the follower holds copy positions under that leader."""


class NotALeaderError(InvalidRequestError):
    """LEADER_NOT_AVAILABLE: the signed account is not an active copy-trading leader."""


class AuthenticationError(APIError):
    """HTTP 401 family: the API key, the timestamp or the signature was refused."""


class TimestampError(AuthenticationError):
    """INVALID_TIMESTAMP: the timestamp is outside recvWindow or ahead of server time."""


class PermissionDeniedError(APIError):
    """HTTP 403 family: read-only key on a write, or not a COPY_TRADING account."""


class RateLimitError(APIError):
    """HTTP 429: request weight exceeded. ``retry_after``: seconds until the reset."""

    retry_after: float | None = None


class IPBannedError(RateLimitError):
    """HTTP 418: the IP is banned for continuing after a 429 (2 minutes up to 3 days)."""


class UnknownServerError(APIError):
    """HTTP 5XX family: the exchange failed for an unknown reason."""


class UnexpectedResponseError(APIError):
    """The body is not the JSON envelope expected (an HTML gateway page, empty, truncated);
    ``code`` is ``None``, ``excerpt`` quotes the body's start."""

    def __init__(self, msg: str, *, excerpt: str, **where: Any) -> None:
        """``where``: APIError's ``status_code``, ``method``, ``path`` and ``response``."""
        super().__init__(msg, code=None, **where)
        self.excerpt = excerpt

    def __str__(self) -> str:
        return f"{self.method} {self.path}: HTTP {self.status_code}, {self.msg}: {self.excerpt!r}"


class ResponseTooLargeError(UnexpectedResponseError):
    """The body is longer than ``max_bytes`` (``max_response_bytes``): not read further."""

    def __init__(self, *, max_bytes: int, **where: Any) -> None:
        message = f"body longer than {max_bytes} bytes (max_response_bytes), not read further"
        super().__init__(message, **where)
        self.max_bytes = max_bytes


class APIConnectionError(ToobitError):
    """No usable answer: the connection failed or broke."""

    _shown = ("message", "method", "path")

    def __init__(self, message: str, *, method: str, path: str) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {type(self).__name__}: {self.message}"


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class DeadlineExceededError(APITimeoutError):
    """The call's ``timeout`` (seconds) passed: it bounds every attempt of one method call
    together, a slow or dripping answer included, and the backoff between them."""

    def __init__(self, message: str, *, method: str, path: str, timeout: float) -> None:
        super().__init__(message, method=method, path=path)
        self.timeout = timeout


class OutcomeUnknownError(ToobitError):
    """A write failed in a way that leaves its outcome unknown (5XX, timeout, broken
    connection, no JSON envelope): it may have been applied, so check the state before
    repeating it. ``error`` is the underlying failure."""

    _shown = ("status_code", "code", "method", "path", "error")

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


FAMILIES: Final[Mapping[int, type[APIError]]] = MappingProxyType(
    {
        400: InvalidRequestError,
        401: AuthenticationError,
        403: PermissionDeniedError,
        418: IPBannedError,
        429: RateLimitError,
        500: UnknownServerError,
    }
)
"""HTTP status -> exception family (any other 5XX is UnknownServerError too): one class
for each status the spec's error table uses."""

CODE_CLASSES: Final[Mapping[str, type[APIError]]] = MappingProxyType(
    {
        ErrorCode.INVALID_TIMESTAMP.name: TimestampError,  # the client re-syncs its clock
        ErrorCode.FOLLOWER_NOT_FOUND.name: FollowerNotFoundError,
        ErrorCode.FOLLOWER_HAS_POSITIONS.name: HasOpenPositionsError,
        ErrorCode.LEADER_NOT_AVAILABLE.name: NotALeaderError,
    }
)
"""``ErrorCode`` name -> a class of its own (each a subclass of its row's family)."""


def _family(status_code: int) -> type[APIError]:
    return FAMILIES.get(status_code, UnknownServerError if 500 <= status_code <= 599 else APIError)


def error_class(status_code: int, code: int | None) -> type[APIError]:
    """The exception class for an error answer with this HTTP status and body ``code``."""
    by_status = _family(status_code)
    if issubclass(by_status, RateLimitError):
        return by_status
    if code is None:
        return UnexpectedResponseError
    info = error_info(code, status_code)
    if info is None:
        return by_status
    return CODE_CLASSES.get(info.name) or _family(info.http_status)
