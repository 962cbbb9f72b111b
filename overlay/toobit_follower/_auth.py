"""``ToobitAuth``: the httpx auth hook that signs every request just before it is sent."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Final

import httpx

from ._constants import API_KEY_HEADER, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_RECV_WINDOW
from ._operations import Prepared
from ._probes import Answer, MakeRequest, Stop, find_body_signing
from ._secret import Secret, check_api_key, check_api_secret, mask_api_key
from .signing import (
    BodySigning,
    Signer,
    append_signature,
    signing_query,
    validate_recv_window,
)

__all__ = ["AUTO", "ToobitAuth"]

AUTO: Final = "auto"
"""``body_signing="auto"``: find the host's rule with the signing probe on first need."""

_PROBING: Final[contextvars.ContextVar[bool]] = contextvars.ContextVar(
    "toobit_follower_probing", default=False
)
"""True while a probe request of ``body_signing="auto"`` is out: a transport error then
means the caller's own request was never sent."""


def probe_interrupted() -> bool:
    """Whether the last transport error of this thread or task hit a probe request (and
    not the caller's own); reading it clears it."""
    interrupted = _PROBING.get()
    _PROBING.set(False)
    return interrupted


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    response.close()
    response._content = body = b"".join(chunks)[:limit]  # httpx reads it once more
    return body


async def _aread_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    await response.aclose()
    response._content = body = b"".join(chunks)[:limit]
    return body


def _probe_fast_url() -> bool:
    probe = httpx.URL("https://example.invalid/p?a=1")
    ref = getattr(probe, "_uri_reference", None)
    if ref is None or not hasattr(ref, "_replace"):
        return False
    fast = httpx.URL.__new__(httpx.URL)
    fast._uri_reference = ref._replace(query="a=1&b=2")
    return fast == probe.copy_with(query=b"a=1&b=2")


# httpx.URL.copy_with re-parses and re-validates the whole URL (~15 us, about 10 % of a
# call on a fast transport). The query we set is the URL's own, already-encoded query
# plus ASCII digits, letters, '=' and '&', so nothing needs re-validating: replace the
# query field of httpx's parsed URL directly. httpx is pinned to 0.28.x; the probe
# above falls back to copy_with if a later httpx stores URLs differently. Remove when
# httpx offers a cheap query replacement.
_FAST_URL = _probe_fast_url()


def with_query(url: httpx.URL, query: bytes) -> httpx.URL:
    """``url`` with its query replaced by ``query`` (ASCII, already percent-encoded)."""
    if _FAST_URL:
        new = httpx.URL.__new__(httpx.URL)
        new._uri_reference = url._uri_reference._replace(query=query.decode("ascii"))
        return new
    return url.copy_with(query=query)


class ToobitAuth(httpx.Auth):
    """Signs requests: adds ``recvWindow`` and ``timestamp``, appends ``signature`` last,
    sets ``X-BB-APIKEY``.

    The signed message is the query string as sent followed by the exact body bytes of
    the request (``request.content``), never a re-serialised body. Any ``recvWindow``,
    ``timestamp`` or ``signature`` already on the URL is replaced, so a retried request
    is signed afresh with a new timestamp. A malformed key or secret raises
    CredentialsError (a ValueError).

    ``body_signing="auto"``: before the first request that has a body (the only kind the
    rule changes), the signing probe of ``_probes`` runs once, through the same httpx
    client (4 requests: the leaders followed, the follow config of a leader not followed,
    one harmless PUT signed each way); the rule found is kept for this object's lifetime
    and shown by ``repr``. Concurrent first requests wait for one probe. A probe that
    gets a definite but inconclusive answer keeps the documented rule (query+body); one
    cut short (429/418, a transport error, an answer with no envelope) is tried again
    on the next request; after a 429/418 the caller gets that answer, and its own
    request is not sent.
    """

    requires_request_body = True

    def __init__(
        self,
        api_key: str,
        api_secret: str | Secret,
        *,
        recv_window: int = DEFAULT_RECV_WINDOW,
        body_signing: BodySigning | str = BodySigning.QUERY_AND_BODY,
        clock: Callable[[], float] = time.time,
        clock_offset_ms: int = 0,
        base_url: str | None = None,
        max_probe_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.api_key = check_api_key(api_key)
        secret = check_api_secret(api_secret)
        self.recv_window = validate_recv_window(recv_window)
        self.auto = body_signing == AUTO
        """Whether the body rule is (to be) found by the signing probe."""
        self.body_signing = BodySigning.QUERY_AND_BODY if self.auto else BodySigning(body_signing)
        """The rule requests are signed with (with ``auto``: the documented one until the
        probe has settled it)."""
        self.probe_outcome: str | None = None
        """With ``auto``: what the probe found (``None`` until it has settled)."""
        self.clock = clock
        self.clock_offset_ms = clock_offset_ms
        """Added to the local clock: server time minus local time, from ``sync_time()``."""
        self.base_url = base_url
        """Where probe requests go (default: the scheme and host of the request)."""
        self.max_probe_bytes = max_probe_bytes
        self._signer = Signer(secret.get_secret_value())
        self._lock = threading.Lock()
        self._async_lock = asyncio.Lock()

    def timestamp_ms(self) -> int:
        """The timestamp the next request gets: local clock plus the synced offset."""
        return int(self.clock() * 1000) + self.clock_offset_ms

    def sign_request(self, request: httpx.Request, body_signing: BodySigning | None = None) -> None:
        """Sign ``request`` in place (its body must have been read), with this object's body
        rule or the one given."""
        url = request.url
        query = signing_query(url.query, self.recv_window, self.timestamp_ms())
        if (body_signing or self.body_signing) is BodySigning.QUERY_AND_BODY:
            signature = self._signer(query, request.content)
        else:
            signature = self._signer(query)
        request.url = with_query(url, append_signature(query, signature))
        request.headers[API_KEY_HEADER] = self.api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request

    # ---- body_signing="auto" ---------------------------------------------------------
    def _must_probe(self, request: httpx.Request) -> bool:
        return self.auto and self.probe_outcome is None and bool(request.content)

    def _probe_maker(self, origin: httpx.Request) -> MakeRequest:
        url = origin.url
        base = self.base_url or f"{url.scheme}://{url.netloc.decode('ascii')}"

        def make(prepared: Prepared[Any], rule: BodySigning) -> httpx.Request:
            probe = httpx.Request(
                prepared.method,
                base + prepared.target,
                content=prepared.json,
                headers=prepared.headers,
                extensions=origin.extensions,  # the caller's timeouts
            )
            self.sign_request(probe, rule)
            return probe

        return make

    def _settle(self, result: BodySigning | Stop) -> bool:
        """Keep what the probe found; False when the caller's request must not be sent."""
        if isinstance(result, BodySigning):
            self.body_signing = result
            self.probe_outcome = f"{result.value} (probed)"
        elif result.limited is not None:
            return False
        elif result.definite:
            self.probe_outcome = f"{self.body_signing.value} (probe {result.reason})"
        return True

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        if self._must_probe(request):
            with self._lock:
                if self._must_probe(request):
                    flow = find_body_signing(self._probe_maker(request))
                    try:
                        _, probe = next(flow)
                        while True:
                            _PROBING.set(True)
                            response = yield probe
                            _PROBING.set(False)
                            body = _read_capped(response, self.max_probe_bytes)
                            _, probe = flow.send(Answer.of(response, body))
                    except StopIteration as done:
                        if not self._settle(done.value):
                            return  # the caller gets the 429/418
        self.sign_request(request)
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        if self._must_probe(request):
            async with self._async_lock:
                if self._must_probe(request):
                    flow = find_body_signing(self._probe_maker(request))
                    try:
                        _, probe = next(flow)
                        while True:
                            _PROBING.set(True)
                            response = yield probe
                            _PROBING.set(False)
                            body = await _aread_capped(response, self.max_probe_bytes)
                            _, probe = flow.send(Answer.of(response, body))
                    except StopIteration as done:
                        if not self._settle(done.value):
                            return
        self.sign_request(request)
        yield request

    def describe_body_signing(self) -> str:
        """The body rule, as ``repr`` shows it: ``query+body``, ``auto: query-only
        (probed)``, ``auto: not probed yet (query+body until then)``."""
        if not self.auto:
            return self.body_signing.value
        if self.probe_outcome is None:
            return f"auto: not probed yet ({self.body_signing.value} until then)"
        return f"auto: {self.probe_outcome}"

    def __repr__(self) -> str:
        return (
            f"ToobitAuth(api_key={mask_api_key(self.api_key)!r}, api_secret=Secret('**********'),"
            f" recv_window={self.recv_window}, body_signing={self.describe_body_signing()!r})"
        )
