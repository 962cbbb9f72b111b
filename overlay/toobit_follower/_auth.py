"""``ToobitAuth``: the httpx auth hook that signs every request just before it is sent."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Final

import httpx

from ._secret import Secret, check_api_key, check_api_secret, mask_api_key
from .constants import API_KEY_HEADER, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_RECV_WINDOW
from .signing import BodySigning, Signer, append_signature, signing_query, validate_recv_window

if TYPE_CHECKING:  # the probe is the conformance package's (it imports this package)
    from toobit_follower_conformance.probes import Stop

AUTO: Final = "auto"
"""``body_signing="auto"``: find the host's rule with the signing probe on first need."""


# httpx re-parses a whole URL on copy_with or URL(str) (~15 us, ~10 % of a fast call); ours are
# encoded already, so we set fields of httpx 0.28's private parsed URL (else the public API).
# Remove when httpx has a cheap way.
def _replaced(url: httpx.URL, path: str, query: str | None) -> httpx.URL:
    new = httpx.URL.__new__(httpx.URL)
    new._uri_reference = url._uri_reference._replace(path=path, query=query)
    return new


def _probe_fast_url() -> bool:
    try:
        moved = _replaced(httpx.URL("https://example.invalid/p?a=1"), "/p/q%20r", "a=%2F")
    except (AttributeError, TypeError, ValueError):  # not the parsed URL of httpx 0.28
        return False
    return moved == httpx.URL("https://example.invalid/p/q%20r?a=%2F")


_FAST_URL = _probe_fast_url()


def with_target(base: httpx.URL, target: str) -> httpx.URL:
    """``base`` (scheme, host, path prefix) + ``target`` (path and query, percent-encoded)."""
    if not _FAST_URL:
        return httpx.URL(str(base) + target)
    path, _, query = target.partition("?")
    return _replaced(base, base._uri_reference.path + path, query or None)


def with_query(url: httpx.URL, query: bytes) -> httpx.URL:
    """``url`` with its query replaced by ``query`` (ASCII, already percent-encoded)."""
    if not _FAST_URL:
        return url.copy_with(query=query)
    return _replaced(url, url._uri_reference.path, query.decode("ascii"))


class ToobitAuth(httpx.Auth):
    """Sets ``recvWindow``, ``timestamp`` (afresh on a retry) and ``X-BB-APIKEY``; appends
    ``signature`` over the query as sent and the exact body bytes. A malformed key or secret
    raises CredentialsError. ``body_signing="auto"``: the client probes, then :meth:`settle`."""

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
        self._signer = Signer(check_api_secret(api_secret).get_secret_value())
        self.recv_window = validate_recv_window(recv_window)
        self.auto = body_signing == AUTO
        # with auto: the documented rule until the probe settles it (probe_outcome not None)
        self.body_signing = BodySigning.QUERY_AND_BODY if self.auto else BodySigning(body_signing)
        self.probe_outcome: str | None = None
        self.clock = clock
        self.clock_offset_ms = clock_offset_ms  # server minus local time, from sync_time()
        self.base_url, self.max_probe_bytes = base_url, max_probe_bytes
        self.probe_lock = threading.Lock()  # held by the call that probes

    def timestamp_ms(self) -> int:
        return int(self.clock() * 1000) + self.clock_offset_ms

    def sign_request(
        self, request: httpx.Request, rule: BodySigning | None = None
    ) -> httpx.Request:
        """Sign ``request`` (body read) in place, with this object's body rule or ``rule``."""
        query = signing_query(request.url.query, self.recv_window, self.timestamp_ms())
        both = (rule or self.body_signing) is BodySigning.QUERY_AND_BODY
        signature = self._signer(query, request.content if both else b"")
        request.url = with_query(request.url, append_signature(query, signature))
        request.headers[API_KEY_HEADER] = self.api_key
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.sign_request(request)

    def for_rule(self, body_signing: BodySigning) -> Callable[[httpx.Request], httpx.Request]:
        """An httpx auth (a function) that signs like this one, but with the given body rule."""
        return functools.partial(self.sign_request, rule=body_signing)

    @property
    def needs_probe(self) -> bool:
        return self.auto and self.probe_outcome is None

    def settle(self, result: BodySigning | Stop) -> None:
        """Keep what the probe found; a definite but inconclusive answer keeps the documented
        rule, one cut short (429/418, no envelope) settles nothing."""
        if isinstance(result, BodySigning):
            self.body_signing = result
            self.probe_outcome = f"{result.value} (probed)"
        elif result.definite:
            self.probe_outcome = f"{self.body_signing.value} (probe {result.reason})"

    def describe_body_signing(self) -> str:
        """``query+body``, ``auto: query-only (probed)``, ``auto: not probed yet (...)``."""
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
