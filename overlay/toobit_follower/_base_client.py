"""What the sync and async clients share: configuration, turning answers into data or
exceptions, and the retry policy's decisions. The two I/O loops live in ``_client.py``."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable
from typing import Any, Final

import httpx
from pydantic import ValidationError
from toobit_follower_api import AuthenticatedClient
from toobit_follower_models import Envelope

from . import _constants as C
from ._auth import ToobitAuth
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    OutcomeUnknownError,
    RateLimitError,
    TimestampError,
    ToobitError,
    UnexpectedResponseError,
    error_class,
)
from ._operations import Prepared
from ._secret import Secret, mask_api_key
from ._types import NO_RATE_LIMIT, RateLimit
from .signing import BodySigning

log = logging.getLogger("toobit_follower")


RESYNC: Final = -1.0
"""Returned by :meth:`BaseClient._next_step` to ask for a clock re-sync before retrying."""

# httpx failures after which the request certainly did not reach the server.
NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures no retry can fix.
_PERMANENT: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
# Methods whose repetition is safe: a PUT is a full replacement of the given fields.
_REPEATABLE: Final = frozenset({"GET", "PUT"})


class _NoCookies(httpx.Cookies):
    """A cookie jar that never stores: the API sets no cookies and a signed client must
    not replay any. httpx extracts cookies from every response by wrapping it in urllib
    request/response objects, about 30 us of a ~115 us call (bench/bench_client.py)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def without_cookie_jar(client: httpx.Client | httpx.AsyncClient) -> None:
    """Give ``client`` a jar that ignores ``Set-Cookie``.

    httpx's public ``cookies`` setter copies into a plain ``Cookies``, so the jar is
    replaced on the private attribute httpx 0.28 reads; if a later httpx names it
    differently nothing happens (cookies are then merely stored, as before). Remove
    when httpx offers a switch to turn cookie handling off.
    """
    if isinstance(getattr(client, "_cookies", None), httpx.Cookies):
        client._cookies = _NoCookies()


def _excerpt(content: bytes) -> str:
    text = content[: C.ERROR_EXCERPT_CHARS].decode("utf-8", "replace")
    return " ".join(text.split())


class BaseClient:
    """Configuration and the pure parts of a call; see FollowerClient for the arguments."""

    generated: AuthenticatedClient
    """The generated low-level client; its httpx clients sign with this client's auth."""

    def __init__(
        self,
        *,
        api_key: str | None,
        api_secret: str | Secret | None,
        base_url: str | None,
        recv_window: int,
        body_signing: BodySigning | str,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_rate_limit_wait: float,
        clock: Callable[[], float],
        httpx_args: dict[str, Any],
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get(C.API_KEY_ENV)
        if not api_key:
            raise ToobitError(f"no API key: pass api_key= or set {C.API_KEY_ENV}")
        if api_secret is None:
            api_secret = os.environ.get(C.API_SECRET_ENV)
        if not api_secret:
            raise ToobitError(f"no API secret: pass api_secret= or set {C.API_SECRET_ENV}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        base_url = base_url or os.environ.get(C.BASE_URL_ENV) or C.DEFAULT_BASE_URL
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_rate_limit_wait = max_rate_limit_wait
        self._clock = clock
        self._auth = ToobitAuth(
            api_key,
            Secret(api_secret),
            recv_window=recv_window,
            body_signing=body_signing,
            clock=clock,
        )
        self.generated = AuthenticatedClient(
            base_url=self.base_url,
            token=api_key,
            prefix="",
            auth_header_name=C.API_KEY_HEADER,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            httpx_args={"auth": self._auth, **httpx_args},
        )
        self._last_response: httpx.Response | None = None
        self._limited_response: httpx.Response | None = None

    # ---- public state ------------------------------------------------------------
    @property
    def auth(self) -> ToobitAuth:
        """The httpx auth that signs every request of this client."""
        return self._auth

    @property
    def recv_window(self) -> int:
        return self._auth.recv_window

    @property
    def clock_offset_ms(self) -> int:
        """Server time minus local time, as measured by the last ``sync_time()``."""
        return self._auth.clock_offset_ms

    @clock_offset_ms.setter
    def clock_offset_ms(self, value: int) -> None:
        self._auth.clock_offset_ms = int(value)

    @property
    def last_response(self) -> httpx.Response | None:
        """The httpx response of the last call (``None`` when it got no answer)."""
        return self._last_response

    @property
    def rate_limit(self) -> RateLimit:
        """``X-Api-Limit-Status`` / ``X-Api-Limit`` / ``X-Api-Limit-Reset-Timestamp`` of the
        most recent response that carried them."""
        response = self._limited_response
        return NO_RATE_LIMIT if response is None else RateLimit.from_headers(response.headers)

    def _seen(self, response: httpx.Response) -> None:
        """Remember ``response`` as the last one (and the last with limit headers)."""
        self._last_response = response
        if C.RATE_LIMIT_RESET_HEADER in response.headers:
            self._limited_response = response

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r},"
            f" api_key={mask_api_key(self._auth.api_key)!r})"
        )

    # ---- answers -----------------------------------------------------------------
    def _api_error(
        self,
        prepared: Prepared[Any],
        response: httpx.Response,
        cause: ValidationError | None = None,
    ) -> APIError:
        """The exception for an answer that is not a success."""
        content = response.content
        status = response.status_code
        envelope: Envelope | None = None
        if content:
            try:
                envelope = Envelope.model_validate_json(content)
            except ValidationError:
                envelope = None
        if envelope is None or envelope.code == C.SUCCESS_CODE:
            excerpt = _excerpt(content)
            status_class = error_class(status, None)  # rate limited / banned, whatever the body
            if status_class is not UnexpectedResponseError:
                return status_class(
                    excerpt or "no body",
                    status_code=status,
                    code=None,
                    method=prepared.method,
                    path=prepared.path,
                    response=response,
                )
            if not content:
                what = "empty body"
            elif envelope is not None and status == C.SUCCESS_CODE:
                what = "success envelope whose data does not match the spec"
            elif envelope is not None:
                what = "success envelope with an error status"
            else:
                content_type = response.headers.get("content-type", "no content-type")
                what = f"body is not the JSON envelope ({content_type})"
            error: APIError = UnexpectedResponseError(
                what,
                status_code=status,
                method=prepared.method,
                path=prepared.path,
                excerpt=excerpt,
                response=response,
            )
            if cause is not None:
                error.__cause__ = cause
            return error
        cls = error_class(status, envelope.code)
        return cls(
            envelope.msg,
            status_code=status,
            code=envelope.code,
            method=prepared.method,
            path=prepared.path,
            response=response,
        )

    @staticmethod
    def _connection_error(prepared: Prepared[Any], exc: httpx.TransportError) -> APIConnectionError:
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        error = cls(str(exc) or type(exc).__name__, method=prepared.method, path=prepared.path)
        error.__cause__ = exc
        return error

    # ---- retry policy --------------------------------------------------------------
    def _backoff(self, retries: int) -> float:
        delay = min(C.INITIAL_RETRY_DELAY * 2.0**retries, C.MAX_RETRY_DELAY)
        return delay * (1 - C.JITTER * random.random())  # noqa: S311 - jitter, not crypto

    def _rate_limit_wait(self, error: RateLimitError, retries: int) -> float:
        """Seconds until ``X-Api-Limit-Reset-Timestamp`` (server clock), else Retry-After."""
        reset = error.rate_limit.reset_timestamp_ms
        if reset is not None:
            return max(0.0, (reset - self._auth.timestamp_ms()) / 1000)
        if error.response is not None:
            retry_after = error.response.headers.get("Retry-After")
            if retry_after is not None:
                try:
                    return max(0.0, float(retry_after))
                except ValueError:
                    pass
        return self._backoff(retries)

    def _next_step(
        self,
        prepared: Prepared[Any],
        error: APIError | APIConnectionError,
        retries: int,
        resyncs: int,
        *,
        sent: bool = True,
    ) -> float:
        """Seconds to wait before the next attempt, or :data:`RESYNC`; raises when the
        policy gives up.

        * -1021: re-sync the clock once, retry once (a refused request changed nothing).
        * 429/418/-1003: wait until the reset timestamp if that is at most
          ``max_rate_limit_wait`` away, else raise.
        * connection failed before sending: retry any method with backoff.
        * 5XX, timeout or broken connection after sending (outcome unknown): GET and PUT
          are retried with backoff; DELETE is never repeated. A write that ends this
          way raises OutcomeUnknownError.
        * anything else: raise.
        """
        method = prepared.method
        can_retry = retries < self.max_retries
        if isinstance(error, TimestampError) and resyncs < C.TIMESTAMP_RESYNCS:
            return RESYNC
        if isinstance(error, RateLimitError):
            wait = self._rate_limit_wait(error, retries)
            error.retry_after = wait
            if can_retry and wait <= self.max_rate_limit_wait:
                return wait
            raise error
        if isinstance(error, APIConnectionError):
            if isinstance(error.__cause__, _PERMANENT):
                raise error
            if not sent:
                if can_retry:
                    return self._backoff(retries)
                raise error
        elif error.status_code < 500:
            raise error
        # The server may have acted on it.
        if method in _REPEATABLE and can_retry:
            return self._backoff(retries)
        if method == "GET":
            raise error
        raise OutcomeUnknownError(error, method=method, path=prepared.path) from error

    def _log_retry(
        self, prepared: Prepared[Any], error: APIError | APIConnectionError, delay: float
    ) -> None:
        if log.isEnabledFor(logging.INFO):
            what = (
                f"HTTP {error.status_code} code {error.code}"
                if isinstance(error, APIError)
                else type(error).__name__
            )
            log.info(
                "%s %s failed (%s); retrying in %.2f s", prepared.method, prepared.path, what, delay
            )

    def _offset_from(self, server_ms: int, started: float, ended: float) -> int:
        offset = server_ms - round((started + ended) * 500)
        self._auth.clock_offset_ms = offset
        log.debug("clock offset to server time: %d ms", offset)
        return offset
