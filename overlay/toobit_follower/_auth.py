"""``ToobitAuth``: the httpx auth hook that signs every request just before it is sent."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Generator
from typing import Final

import httpx

from ._constants import API_KEY_HEADER, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_RECV_WINDOW
from ._probes import Stop
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


def _probe_fast_url() -> bool:
    probe = httpx.URL("https://example.invalid/p?a=1")
    ref = getattr(probe, "_uri_reference", None)
    if ref is None or not hasattr(ref, "_replace"):
        return False
    fast = httpx.URL.__new__(httpx.URL)
    fast._uri_reference = ref._replace(query="a=1&b=2")
    moved = httpx.URL.__new__(httpx.URL)
    moved._uri_reference = ref._replace(path="/p/q%20r", query="a=%2F")
    return fast == probe.copy_with(query=b"a=1&b=2") and moved == httpx.URL(
        "https://example.invalid/p/q%20r?a=%2F"
    )


# httpx.URL.copy_with re-parses and re-validates the whole URL (~15 us, about 10 % of a
# call on a fast transport). The query we set is the URL's own, already-encoded query
# plus ASCII digits, letters, '=' and '&', so nothing needs re-validating: replace the
# query field of httpx's parsed URL directly. httpx is pinned to 0.28.x; the probe
# above falls back to copy_with if a later httpx stores URLs differently. Remove when
# httpx offers a cheap query replacement.
_FAST_URL = _probe_fast_url()


def with_target(base: httpx.URL, target: str) -> httpx.URL:
    """``base`` (a scheme, host and path prefix) followed by ``target``: a path and query
    percent-encoded already (``_operations.prepare``), so nothing needs parsing again;
    httpx would parse and validate the whole URL on every request (~30 % of a call on a
    fast transport). The same fast path and fallback as :func:`with_query`."""
    path, _, query = target.partition("?")
    if _FAST_URL:
        new = httpx.URL.__new__(httpx.URL)
        ref = base._uri_reference
        new._uri_reference = ref._replace(path=ref.path + path, query=query or None)
        return new
    return httpx.URL(str(base) + target)


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

    ``body_signing="auto"``: the client runs the signing probe of ``_probes`` as an
    explicit step before its first request that has a body (the only kind the rule
    changes), as ordinary calls through its rate-limit gate (4 requests: the leaders
    followed, the follow config of a leader not followed, one harmless PUT signed each
    way), and hands the result to :meth:`settle`; the rule found is kept for this
    object's lifetime and shown by ``repr``. Until then requests are signed with the
    documented rule (query+body). The auth hook itself never sends a request.
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
        self.probe_lock = threading.Lock()
        """Held by the sync client while it probes: concurrent first requests wait."""
        self.async_probe_lock = asyncio.Lock()
        """The same for the async client's tasks."""

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

    def for_rule(self, body_signing: BodySigning) -> httpx.Auth:
        """An httpx auth that signs like this one, but with the given body rule."""
        return _RuleAuth(self, body_signing)

    # ---- body_signing="auto" ---------------------------------------------------------
    @property
    def needs_probe(self) -> bool:
        """With ``auto``: the probe has not settled the body rule yet."""
        return self.auto and self.probe_outcome is None

    def settle(self, result: BodySigning | Stop) -> None:
        """Keep what the probe found. A definite but inconclusive answer keeps the
        documented rule for good; one cut short (429/418, no envelope) settles nothing,
        so the next request with a body probes again."""
        if isinstance(result, BodySigning):
            self.body_signing = result
            self.probe_outcome = f"{result.value} (probed)"
        elif result.limited is None and result.definite:
            self.probe_outcome = f"{self.body_signing.value} (probe {result.reason})"

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


class _RuleAuth(httpx.Auth):
    """Signs with ``auth``'s key and clock but a given body rule (the signing probe)."""

    requires_request_body = True

    def __init__(self, auth: ToobitAuth, body_signing: BodySigning) -> None:
        self._auth, self._body_signing = auth, body_signing

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._auth.sign_request(request, self._body_signing)
        yield request
