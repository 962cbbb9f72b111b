"""The transport core the sync and async clients share: configuration, and each method
call as one state machine (the rate-limit gate, the deadline, the retry policy, answers
turned into data or exceptions) that the two small I/O loops of ``_client.py`` drive."""

from __future__ import annotations

import logging
import math
import os
import random
import time
import zlib
from collections.abc import Callable, Generator, Mapping
from typing import Any, Final, Generic, NoReturn, TypeAlias, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from toobit_follower_api.types import keep
from toobit_follower_models import Envelope
from toobit_follower_models.operations import BY_ID, Operation

from . import constants as C
from ._auth import ToobitAuth, with_target
from ._deadline import DEADLINE, DeadlinePassed, install
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CredentialsError,
    DeadlineExceededError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseTooLargeError,
    TimestampError,
    ToobitError,
    UnexpectedResponseError,
    UnknownServerError,
    error_class,
    redact,
)
from ._operations import Prepared, prepare
from ._ratelimit import BLOCKED, PROBE_POLL, WAIT_FOR_PROBE, RateLimitGate, backoff, shared_gate
from ._secret import Secret, check_api_key, check_api_secret, mask_api_key
from ._types import NO_RATE_LIMIT, RateLimit, RateLimitBlock, header_int
from .signing import BodySigning

log = logging.getLogger("toobit_follower")

T = TypeVar("T")

SERVER_TIME: Final = BY_ID["getServerTime"]
"""The unsigned clock operation: a -1021 re-syncs through it."""

# What the steps of a call ask of the I/O loop that drives them, and are sent back:
SLEEP: Final = 0  # (SLEEP, seconds) -> None
SEND: Final = 1  # (SEND, call): one attempt -> (response, body), or a NO_ANSWER exception
Steps = Generator[tuple[int, Any], Any, T]

RESYNC: Final = -1.0  # from _next_step: re-sync the clock, then retry

# httpx failures after which the request certainly did not reach the server.
NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_PERMANENT: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)  # no retry fixes
_REPEATABLE: Final = frozenset({"GET", "PUT"})  # a PUT replaces the given fields: safe
# An attempt with no usable answer: any httpx error (connection, protocol, redirects), a
# body too long, in an encoding not asked for, that does not decode, or past the deadline.
NO_ANSWER: Final = (httpx.HTTPError, UnexpectedResponseError, APITimeoutError)
Failure: TypeAlias = APIError | APIConnectionError  # what an attempt can end with
Auth: TypeAlias = httpx.Auth | Callable[[httpx.Request], httpx.Request]
_STATUS: Final = C.RATE_LIMIT_STATUS_HEADER.lower().encode()  # as httpx's raw headers, lowered
_RESET: Final = C.RATE_LIMIT_RESET_HEADER.lower().encode()


def _redact_signatures(record: logging.LogRecord) -> bool:
    """Masks ``signature=`` in the ``httpx`` logger's records (its INFO line shows each signed
    URL, replayable within recvWindow); nothing else changes for other httpx users."""
    if isinstance(record.args, tuple):
        args = record.args
        record.args = tuple(redact(str(a)) if "signature=" in str(a) else a for a in args)
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    return True


class _NoCookies(httpx.Cookies):
    """A jar that never stores: the API sets no cookies, a signed client must replay none,
    and extracting them costs about 30 us of a 115 us call (bench/bench_client.py)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def without_cookie_jar(client: httpx.Client | httpx.AsyncClient) -> None:
    """Give ``client`` a jar that ignores ``Set-Cookie``: on httpx 0.28's private attribute,
    since its setter copies into a plain jar. Remove when httpx can turn cookies off."""
    if isinstance(getattr(client, "_cookies", None), httpx.Cookies):
        client._cookies = _NoCookies()


def _excerpt(content: bytes) -> str:
    return " ".join(content[: C.ERROR_EXCERPT_CHARS].decode("utf-8", "replace").split())


def _call_timeout(timeout: float | httpx.Timeout | None) -> float | None:
    """A whole call's bound: ``timeout``, or an httpx.Timeout's largest value (None: none)."""
    if isinstance(timeout, httpx.Timeout):
        return max((v for v in timeout.as_dict().values() if v is not None), default=None)
    return None if timeout is None else float(timeout)


def _attempt_timeout(attempt_timeout: float | None, timeout: float | None) -> float:
    """One attempt's bound: as given, else a third of the call's, at most 10 s."""
    if attempt_timeout is None:
        share = math.inf if timeout is None else timeout * C.ATTEMPT_SHARE
        return min(C.DEFAULT_ATTEMPT_TIMEOUT, share)
    if not attempt_timeout > 0:
        raise ValueError("attempt_timeout must be > 0")
    return float(attempt_timeout)


def _seconds(value: str) -> float | None:
    """A Retry-After in seconds: finite and non-negative, else ``None``."""
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= C.MAX_RATE_LIMIT_BLOCK_MS / 1000 else None


class Call(Generic[T]):
    """One method call in progress; times are on the client's clock."""

    def __init__(self, prepared: Prepared[T], auth: Auth | None, deadline: float) -> None:
        self.prepared, self.auth = prepared, auth
        self.deadline = deadline  # pushed back by every wait for the rate limit
        self.attempt_deadline = deadline  # the call's, or sooner (attempt_timeout)
        self.held = False  # the attempt holds a reservation of the gate
        self.probe_waited = 0.0  # seconds waited for other calls' probes (it counts)
        self.retries = self.resyncs = self.kind = 0  # kind: how the gate admitted it
        self.maybe_applied = False  # an attempt may have been acted on
        self.error: Failure | None = None  # the last attempt's
        self.limits: tuple[int | None, int | None] = (None, None)  # limit headers seen

    def where(self, response: httpx.Response | None = None) -> dict[str, Any]:
        """The keyword arguments every error of this call (and of ``response``) takes."""
        where: dict[str, Any] = {"method": self.prepared.method, "path": self.prepared.path}
        if response is None:
            return where
        return {**where, "response": response, "status_code": response.status_code}


class BodyReader:
    """Reads one answer off the wire once its head has come (its rate-limit headers go to
    the call), then its body (``iter_raw``): at most ``max_response_bytes`` once decoded (a
    Content-Length past it is refused unread), and not past the attempt's deadline. It
    decodes gzip and deflate itself, never past the cap (httpx inflates a whole read at
    once: 64 KiB of gzip can hold 64 MiB of zeros); another encoding, or one that does not
    decode, is unexpected."""

    def __init__(self, client: BaseClient, call: Call[Any], response: httpx.Response) -> None:
        self._client, self._call, self._response = client, call, response
        length = remaining = served = None
        encoding = b""
        for name, value in response.headers.raw:  # one pass: httpx's get() is per name
            name = name.lower()
            if name == b"content-length":
                length = header_int(value)
            elif name == _STATUS:
                remaining = header_int(value)
            elif name == _RESET:
                served = header_int(value)
            elif name == b"content-encoding":
                encoding = value.strip().lower()
        call.limits = (remaining, served)
        if length is not None and length > client.max_response_bytes:
            raise self._too_large(b"")  # unread
        # an in-process transport hands the body over read (an empty stream counts as
        # consumed once iterated, its content never read); from the wire it is streamed
        self._pre_read = response.is_stream_consumed
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: Any = None
        self._raw = encoding == b"deflate"  # which may be raw rather than zlib-wrapped
        if encoding in (b"gzip", b"x-gzip", b"deflate"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # either header
        elif encoding not in (b"", b"identity") and not self._pre_read:
            raise self._unexpected(f"content-encoding {encoding.decode('latin-1')!r} not asked for")

    def feed(self, chunk: bytes) -> None:
        decoder = self._decoder
        if decoder is None:
            self._take(chunk)
            return
        while chunk:
            try:
                out = decoder.decompress(chunk, self._client.max_response_bytes - self._size + 1)
            except zlib.error as exc:
                if self._raw and not self._size:  # some servers send raw deflate
                    self._raw, decoder = False, zlib.decompressobj(-zlib.MAX_WBITS)
                    self._decoder = decoder
                    continue
                raise self._unexpected(f"body does not decode ({exc})") from None
            self._raw = False
            self._take(out)
            chunk = decoder.unconsumed_tail

    def _take(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > self._client.max_response_bytes:
            raise self._too_large(self._chunks[0])
        if self._client._clock() >= self._call.attempt_deadline:
            raise self._client._timeout_error(self._call)

    def body(self) -> bytes:
        """The whole body, decoded."""
        if self._pre_read and not self._chunks:
            self._take(self._response.content)
        elif self._decoder is not None and not self._decoder.eof and self._size:
            raise self._unexpected("compressed body ends early")
        return b"".join(self._chunks)

    def _too_large(self, start: bytes) -> ResponseTooLargeError:
        max_bytes, where = self._client.max_response_bytes, self._call.where(self._response)
        return ResponseTooLargeError(excerpt=_excerpt(start), max_bytes=max_bytes, **where)

    def _unexpected(self, what: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(what, excerpt="", **self._call.where(self._response))


class BaseClient:
    """Configuration, public state and the steps of a call; the I/O loops are the
    subclasses' (see SyncClient for the arguments)."""

    _http_class: Callable[..., httpx.Client | httpx.AsyncClient]
    _default_sleep: Callable[[float], Any]
    _raw: Callable[[Any], Any]  # the class of with_raw_response: the generated mixin's
    _run: Callable[[Steps[Any]], Any]
    """Drives steps: blocking I/O (returns their value) or asyncio (a coroutine of it)."""

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
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key_from = "api_key"
        if api_key is None:
            api_key, key_from = os.environ.get(C.API_KEY_ENV), C.API_KEY_ENV
        if not api_key:
            raise CredentialsError(f"no API key: pass api_key= or set {C.API_KEY_ENV}")
        check_api_key(api_key, key_from)
        secret_from = "api_secret"  # noqa: S105 - where it came from, not a secret
        if api_secret is None:
            api_secret, secret_from = os.environ.get(C.API_SECRET_ENV), C.API_SECRET_ENV
        if not api_secret:
            raise CredentialsError(f"no API secret: pass api_secret= or set {C.API_SECRET_ENV}")
        secret = check_api_secret(api_secret, secret_from)
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be >= 1")
        base_url = base_url or os.environ.get(C.BASE_URL_ENV) or C.DEFAULT_BASE_URL
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_rate_limit_wait = max_rate_limit_wait
        self.max_response_bytes = max_response_bytes
        self.timeout = _call_timeout(timeout)  # seconds per call (None: no bound)
        self.attempt_timeout = _attempt_timeout(attempt_timeout, self.timeout)
        self._clock = clock
        self._sleep = sleep or self._default_sleep
        self._auth = auth = ToobitAuth(
            api_key, secret, recv_window=recv_window, body_signing=body_signing, clock=clock
        )
        # A client on the network shares the gate of its key and host with every client in
        # the process; one given a transport (a fake, an in-process app) has its own.
        self._gate = shared_gate(self.base_url, api_key) if transport is None else RateLimitGate()
        self._last_response: httpx.Response | None = None
        self._limited_response: httpx.Response | None = None
        # Signed requests carry the key header (the auth adds it); unsigned ones do not.
        self._http = http = self._http_class(
            base_url=self.base_url,
            headers={"Accept-Encoding": C.ACCEPT_ENCODING},
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            auth=auth,
            **({} if transport is None else {"transport": transport}),
        )
        self._base = http.base_url.copy_with(raw_path=http.base_url.raw_path.rstrip(b"/"))
        # Headers already normalised: a request copies their list (from a dict, httpx would
        # normalise every header of every request again); with a body's, cached per mapping
        self._headers = httpx.Headers(http.headers)
        self._merged: tuple[object, httpx.Headers] = (None, self._headers)
        self._extensions = {"timeout": http.timeout.as_dict()}
        without_cookie_jar(http)
        install(http)
        self.with_raw_response = self._raw(self)
        """The same methods, returning ``RawResponse(parsed, http_response)``."""
        logging.getLogger("httpx").addFilter(_redact_signatures)  # once: addFilter dedups

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
        """The ``X-Api-Limit*`` headers of the latest response that had them."""
        response = self._limited_response
        return NO_RATE_LIMIT if response is None else RateLimit.from_headers(response.headers)

    @property
    def rate_limit_block(self) -> RateLimitBlock | None:
        """While a 429 or 418 keeps every call of this key and host from being sent: until
        when, and why (``None`` when nothing blocks). Bans were seen to last 10 hours and
        3 days; a call raises at once when the block outlasts ``max_rate_limit_wait``."""
        now = self._auth.timestamp_ms()
        blocked = self._gate.blocked(now)
        if blocked is None:
            return None
        until, cause = blocked
        return RateLimitBlock(until, (until - now) / 1000, cause.status_code, cause.code)

    def clear_rate_limit_block(self) -> None:
        """Lift the block of a 429/418 for every client of this key and host (only when you
        know it is over: calling on through a ban prolongs it). The next call is sent alone
        and its answer tells the weight left."""
        self._gate.clear_block()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r},"
            f" api_key={mask_api_key(self._auth.api_key)!r},"
            f" body_signing={self._auth.describe_body_signing()!r})"
        )

    # ---- a call, as steps for an I/O loop ---------------------------------------
    def _steps(
        self,
        prepared: Prepared[T],
        within: Call[Any] | None = None,
        body_signing: BodySigning | None = None,
    ) -> Steps[tuple[T, httpx.Response]]:
        """One method call: returns ``(data, response)``, or raises what the retry policy
        gives up with. ``within``: the call a clock re-sync serves (its deadline holds);
        ``body_signing``: another body rule than the client's (the signing probe)."""
        call = self._begin(prepared, within, body_signing)
        while True:
            wait = self._admit(call)
            if wait:
                yield SLEEP, wait
                continue
            error: Failure
            deadline = DEADLINE.set(self._start_attempt(call))
            try:
                got = yield SEND, call
                if isinstance(got, BaseException):
                    error = self._failed(call, got)
                else:
                    ok, result = self._answer(call, *got)
                    if ok:
                        return result, got[0]
                    error = result
            finally:
                # however the attempt ended (an exception of any kind, Ctrl-C, a cancelled
                # task: the loop closes the steps), its reservation goes back to the gate
                DEADLINE.reset(deadline)
                self._release(call)
            step = self._next_step(call, error)
            if step == RESYNC:  # sync_time(), within what is left of this call's timeout
                call.resyncs += 1
                try:
                    yield from self._sync_steps(call)
                except ToobitError as failed:
                    raise error from failed  # the -1021 is the error; the re-sync its cause
                continue
            call.retries += 1
            self._log_retry(call, error, step)
            yield SLEEP, step

    def _call(
        self, operation: Operation, arguments: Mapping[str, object], body: BaseModel | None, /
    ) -> Any:
        """What every generated method calls: its data (an awaitable of it, async)."""
        return self._run(self._call_steps(operation, arguments, body))

    def _call_steps(
        self, operation: Operation, arguments: Mapping[str, object], body: BaseModel | None
    ) -> Steps[Any]:
        prepared = prepare(operation, arguments, body)
        if prepared.json is not None and self._auth.needs_probe:
            yield from self._settle_steps()
        data, response = yield from self._steps(prepared)
        keep(response)
        return data

    def _settle_steps(self) -> Steps[None]:
        """``body_signing="auto"``: the signing probe, its requests ordinary calls through
        the gate (concurrent first writes wait for one). Cut short, it raises the probe's
        failure: the caller's request is not sent (its outcome is known) and the next write
        probes again."""
        from toobit_follower_conformance.probes import Answer, find_body_signing  # it imports us

        lock = self._auth.probe_lock
        while not lock.acquire(blocking=False):  # held across I/O: threads and tasks poll
            yield SLEEP, PROBE_POLL
        flow = find_body_signing(lambda prepared, rule: (prepared, None, rule))
        try:
            if not self._auth.needs_probe:  # another call probed meanwhile
                return
            _, step = next(flow)
            while True:
                try:
                    _, response = yield from self._steps(*step)
                except APIError as refused:
                    answer = Answer.of_error(refused)
                except OutcomeUnknownError as unknown:  # about the probe's harmless PUT
                    raise unknown.error from None
                else:
                    answer = Answer.of(response, response.content)
                _, step = flow.send(answer)
        except StopIteration as done:
            self._auth.settle(done.value)
        finally:
            lock.release()

    def _build_request(self, prepared: Prepared[Any]) -> httpx.Request:
        """The request of one attempt, as ``build_request`` makes it (the client's headers
        and timeout) but without parsing the URL again: the target is encoded already."""
        headers, extra = self._headers, prepared.headers
        if extra is not None:
            seen, headers = self._merged
            if seen is not extra:  # one mapping for every JSON body: merged once per client
                headers = httpx.Headers(self._headers)
                headers.update(extra)  # by name, whatever its case
                self._merged = (extra, headers)
        return httpx.Request(
            prepared.method,
            with_target(self._base, prepared.target),
            content=prepared.json,
            headers=headers,
            extensions=self._extensions,
        )

    def _begin(
        self, prepared: Prepared[T], within: Call[Any] | None, body_signing: BodySigning | None
    ) -> Call[T]:
        self._last_response = None
        auth: Auth | None = None  # an unsigned request carries no key header
        if prepared.signed:
            auth = self._auth if body_signing is None else self._auth.for_rule(body_signing)
        deadline = math.inf if self.timeout is None else self._clock() + self.timeout
        call = Call(prepared, auth, deadline if within is None else min(deadline, within.deadline))
        if within is not None:
            call.resyncs = C.TIMESTAMP_RESYNCS  # a re-sync answered -1021 is not re-synced
        return call

    def _admit(self, call: Call[Any]) -> float:
        """0.0 when the gate lets the next attempt go (its weight reserved), else the
        seconds to wait first. Raises when a 429/418 blocks for longer than
        ``max_rate_limit_wait``, or when the call has no time left."""
        kind, wait = self._gate.admit(
            call.prepared.weight, self._auth.timestamp_ms(), self.max_rate_limit_wait
        )
        message = ""  # the deadline error's default
        if kind == WAIT_FOR_PROBE:
            # another call's first request tells what is left: waiting for it counts
            # against this call's timeout and max_rate_limit_wait
            call.probe_waited += wait
            if not (
                self._clock() + wait >= call.deadline
                or call.probe_waited > self.max_rate_limit_wait
            ):
                return wait
            message = (
                f"not sent: waited {call.probe_waited:.2f} s for another call of this key"
                " to learn the weight left (its first request), and this call's timeout"
                f" ({self.timeout}) or max_rate_limit_wait ({self.max_rate_limit_wait:g} s)"
                " would pass"
            )
        elif kind == BLOCKED and wait > self.max_rate_limit_wait:
            raise self._blocked_error(call, wait)
        elif wait:
            call.deadline += wait  # waiting for the rate limit does not count
            return wait
        else:
            call.kind, call.held = kind, True
            if self._clock() < call.deadline:
                return 0.0
            self._release(call)
        self._give_up(call, call.error or self._deadline_error(call, message=message))

    def _release(
        self, call: Call[Any], remaining: int | None = None, served_at: int | None = None
    ) -> None:
        """Give back the attempt's reservation (once), with what the answer said."""
        if call.held:
            call.held = False
            self._gate.answered(call.prepared.weight, call.kind, remaining, served_at)

    def _start_attempt(self, call: Call[Any]) -> float:
        """Set the attempt's deadline; returns it on ``time.monotonic()`` for the sockets."""
        now = self._clock()
        if call.prepared.method in _REPEATABLE and call.retries < self.max_retries:
            call.attempt_deadline = min(call.deadline, now + self.attempt_timeout)
        else:  # no retry could follow (a DELETE, the last attempt): all the time left
            call.attempt_deadline = call.deadline
        return time.monotonic() + (call.attempt_deadline - now)

    # ---- errors ---------------------------------------------------------------------
    def _blocked_error(self, call: Call[Any], wait: float) -> RateLimitError:
        cause = self._gate.cause
        assert cause is not None  # the gate keeps the answer that blocked it
        error = type(cause)(
            f"not sent: an earlier HTTP {cause.status_code} answer blocks every call of this"
            f" key for {wait:.1f} s more, longer than max_rate_limit_wait"
            f" ({self.max_rate_limit_wait:g} s)",
            status_code=cause.status_code,
            code=cause.code,
            **call.where(),
        )
        error.rate_limit, error.retry_after = cause.rate_limit, wait
        return error

    def _deadline_error(
        self, call: Call[Any], cause: BaseException | None = None, message: str = ""
    ) -> DeadlineExceededError:
        timeout = math.inf if self.timeout is None else self.timeout
        message = message or (
            f"the call took longer than its timeout ({timeout:g} s) over"
            f" {call.retries + 1} attempt(s)"
        )
        error = DeadlineExceededError(message, timeout=timeout, **call.where())
        error.__cause__ = cause
        return error

    def _timeout_error(self, call: Call[Any], cause: BaseException | None = None) -> Failure:
        """An attempt cut at its deadline: the call's (DeadlineExceededError) or only the
        attempt's (APITimeoutError, retried like any timeout)."""
        if call.attempt_deadline >= call.deadline:
            return self._deadline_error(call, cause)
        message = f"the attempt took longer than attempt_timeout ({self.attempt_timeout:g} s)"
        error = APITimeoutError(message, **call.where())
        error.__cause__ = cause
        return error

    # ---- answers ----------------------------------------------------------------------
    def _received(self, call: Call[Any], response: httpx.Response) -> BodyReader:
        """An answer's head has come: the reader of its body."""
        return BodyReader(self, call, response)

    def _answer(self, call: Call[T], response: httpx.Response, body: bytes) -> tuple[bool, Any]:
        """``(True, data)`` for a success, ``(False, error)`` otherwise; releases the
        reservation, telling the gate what the answer's headers say."""
        response._content = body  # what httpx's own read() would have set
        self._last_response = response
        limits = call.limits
        if limits[1] is not None:
            self._limited_response = response
        ok, result = self._outcome(call, response, body)
        if isinstance(result, RateLimitError):  # its headers say nothing of the budget
            limits = (None, None)
        self._release(call, *limits)
        return ok, result

    def _outcome(self, call: Call[Any], response: httpx.Response, body: bytes) -> tuple[bool, Any]:
        status, cause = response.status_code, None
        if status == 200:
            try:
                parsed = call.prepared.parse(body)
            except ValidationError as exc:
                cause = exc
            else:
                if parsed.code == C.SUCCESS_CODE:
                    return True, parsed.data
        try:
            envelope: Envelope | None = Envelope.model_validate_json(body)
        except ValidationError:
            envelope = None
        where = call.where(response)
        if envelope is not None and envelope.code != C.SUCCESS_CODE:
            cls = error_class(status, envelope.code)
            return False, cls(envelope.msg, code=envelope.code, **where)
        if envelope is not None and status == 200 and call.prepared.method != "GET":
            return True, None  # the write was applied; its data (documented null) is ignored
        excerpt = _excerpt(body)
        status_class = error_class(status, None)  # rate limited / banned, whatever the body
        if status_class is not UnexpectedResponseError:
            return False, status_class(excerpt or "no body", code=None, **where)
        if not body:
            what = "empty body"
        elif envelope is not None and status == 200:
            what = "success envelope whose data does not match the spec"
        elif envelope is not None:
            what = "success envelope with an error status"
        else:
            kind = response.headers.get("content-type", "no content-type")
            what = f"body is not the JSON envelope ({kind})"
        error = UnexpectedResponseError(what, excerpt=excerpt, **where)
        error.__cause__ = cause
        return False, error

    def _failed(self, call: Call[Any], exc: BaseException) -> Failure:
        """The error of an attempt that got no (usable) answer."""
        if isinstance(exc, Failure):  # body too large, deadline
            return exc
        if isinstance(exc, httpx.TimeoutException) and (
            isinstance(exc.__cause__, DeadlinePassed) or self._clock() >= call.attempt_deadline
        ):
            return self._timeout_error(call, exc)
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        message = (str(exc) or type(exc).__name__).replace(self._auth.api_key, "<api key>")
        error = cls(message, **call.where())
        error.__cause__ = exc
        return error

    # ---- the retry policy ---------------------------------------------------------------
    def _rate_limited(self, error: RateLimitError) -> float:
        """Block the gate for every call until the answer's reset (server clock), else its
        Retry-After (see RateLimitGate.block); returns the seconds to wait."""
        now = self._auth.timestamp_ms()
        until = error.rate_limit.reset_timestamp_ms
        if until is None and error.response is not None:
            seconds = _seconds(error.response.headers.get("Retry-After", ""))
            until = None if seconds is None else now + round(seconds * 1000)
        until = self._gate.block(error, now if until is None else until, now)
        error.retry_after = wait = (until - now) / 1000
        return wait

    def _next_step(self, call: Call[Any], error: Failure) -> float:
        """Seconds to wait before the next attempt, or :data:`RESYNC`; raises when the
        policy (README, "Retries") gives up. No retry ends past the call's deadline."""
        can_retry = call.retries < self.max_retries
        call.error = error
        if isinstance(error, TimestampError) and call.resyncs < C.TIMESTAMP_RESYNCS:
            return RESYNC  # a refused request changed nothing
        if isinstance(error, RateLimitError):  # every call waits for the reset
            wait = self._rate_limited(error)
            if can_retry and wait <= self.max_rate_limit_wait:
                call.deadline += wait  # waiting for the rate limit does not count
                return wait
            raise error
        repeatable = call.prepared.method in _REPEATABLE
        if isinstance(error, APIConnectionError):
            if isinstance(error.__cause__, _PERMANENT):
                raise error
            sent = not isinstance(error.__cause__, NOT_SENT)  # else any method can be repeated
            repeatable = repeatable or not sent
            call.maybe_applied = call.maybe_applied or sent
        # 5XX: by status or by the code's row, or a 5XX page that is not the envelope
        elif isinstance(error, UnknownServerError) or (
            type(error) is UnexpectedResponseError and 500 <= error.status_code <= 599
        ):
            call.maybe_applied = True  # the server may have acted on it: DELETE is not repeated
        elif isinstance(error, UnexpectedResponseError):
            call.maybe_applied = True  # no envelope: nobody knows what the server did
            self._give_up(call, error)
        else:
            raise error  # a definite answer: refused, nothing changed
        delay = backoff(call.retries) * (1 - C.JITTER * random.random())  # noqa: S311 - not crypto
        if repeatable and can_retry and self._clock() + delay < call.deadline:
            return delay
        self._give_up(call, error)

    def _give_up(self, call: Call[Any], error: Failure) -> NoReturn:
        """Raise ``error``; for a write an attempt may have applied, OutcomeUnknownError."""
        prepared = call.prepared
        if prepared.method == "GET" or not call.maybe_applied:
            raise error
        raise OutcomeUnknownError(error, method=prepared.method, path=prepared.path) from error

    def _log_retry(self, call: Call[Any], error: Failure, delay: float) -> None:
        what = type(error).__name__
        if isinstance(error, APIError):
            what = f"HTTP {error.status_code} code {error.code}"
        method, path = call.prepared.method, call.prepared.path
        log.info("%s %s failed (%s); retrying in %.2f s", method, path, what, delay)

    def _sync_steps(self, within: Call[Any] | None = None) -> Steps[int]:
        """GET /api/v1/time: the offset (server minus local, ms, at the round trip's middle)
        later requests are signed with."""
        started = self._clock()
        server_ms, _ = yield from self._steps(prepare(SERVER_TIME, {}), within)
        offset: int = server_ms - round((started + self._clock()) * 500)
        self._auth.clock_offset_ms = offset
        log.debug("clock offset to server time: %d ms", offset)
        return offset
