"""Signs each request over the exact bytes that go on the wire.

Registered with `schemathesis.auth.set_from_requests(...)`, so it runs on the
`requests.PreparedRequest` after schemathesis (or a negative case) has built the
URL and serialised the body. `requests` writes JSON with spaces (`{"a": 1}`): the
signature covers those bytes, never a re-serialised object.

For every request: keep the query exactly as prepared (generated `recvWindow`
values, valid or not, stay untouched), add `recvWindow` when the case has none,
add `timestamp`, sign `query + body`, append `signature` last, set `X-BB-APIKEY`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from toobit_follower_models.protocol import API_KEY_HEADER, DEFAULT_RECV_WINDOW

from fuzz.keys import KeyPair
from fuzz.signing import sign


class ToobitSigner(requests.auth.AuthBase):
    """`requests` auth: timestamp + recvWindow + signature over query and raw body.

    `offset_ms` is server time minus local time (measure it with `/api/v1/time`);
    `lead_ms` dates the timestamp slightly ahead of the server clock. The server
    accepts `timestamp < serverTime + 1000` and `serverTime - timestamp <= recvWindow`,
    so a lead below 1000 ms keeps every generated `recvWindow >= 1` satisfiable:
    an INVALID_TIMESTAMP then means the server, not the chosen window, is wrong. Use a lead
    only where the clock offset is exact (the embedded simulator on this machine).
    """

    def __init__(
        self,
        keys: KeyPair,
        *,
        offset_ms: int = 0,
        lead_ms: int = 0,
        recv_window: int | None = DEFAULT_RECV_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.offset_ms = offset_ms
        self.lead_ms = lead_ms
        self.recv_window = recv_window
        self.clock = clock
        self._lock = threading.Lock()
        self.signed = 0

    def __repr__(self) -> str:
        return f"ToobitSigner({self.keys!r}, offset_ms={self.offset_ms}, lead_ms={self.lead_ms})"

    def timestamp(self) -> int:
        return int(self.clock() * 1000) + self.offset_ms + self.lead_ms

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        if body is None:
            raw = b""
        elif isinstance(body, str):
            # Pin the bytes: what is signed is what is sent.
            raw = body.encode("utf-8")
            request.body = raw
            request.headers["Content-Length"] = str(len(raw))
        elif isinstance(body, bytes | bytearray):
            raw = bytes(body)
        else:  # streamed bodies do not occur in this API
            raise TypeError(f"cannot sign a streamed body ({type(body).__name__})")

        parts = urlsplit(request.url or "")
        query = parts.query
        names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
        extra = []
        if self.recv_window is not None and "recvWindow" not in names:
            extra.append(f"recvWindow={self.recv_window}")
        extra.append(f"timestamp={self.timestamp()}")
        query = "&".join([query, *extra]) if query else "&".join(extra)
        signature = sign(self.keys.secret, query.encode("utf-8") + raw)
        request.url = urlunsplit(parts._replace(query=f"{query}&signature={signature}"))
        request.headers[API_KEY_HEADER] = self.keys.api_key
        with self._lock:
            self.signed += 1
        return request


class SignerByTag(requests.auth.AuthBase):
    """`requests` auth: signs each request with the key of its operation's side.

    The operation is the one whose path the request goes to, its side the operation's tag
    in the generated operation table (`fuzz.spec.Contract.tag_of_url`): a leader operation
    is signed with the leader key, a follower operation with the follower key. A request
    to a tag without a key is an error, never signed with another side's key.
    """

    def __init__(
        self,
        keys_by_tag: Mapping[str, KeyPair],
        *,
        tag_of_url: Callable[[str], str],
        offset_ms: int = 0,
        lead_ms: int = 0,
        recv_window: int | None = DEFAULT_RECV_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signers = {
            tag: ToobitSigner(
                pair, offset_ms=offset_ms, lead_ms=lead_ms, recv_window=recv_window, clock=clock
            )
            for tag, pair in keys_by_tag.items()
        }
        self.tag_of_url = tag_of_url

    def __repr__(self) -> str:
        return f"SignerByTag({self.signers!r})"

    @property
    def keys(self) -> dict[str, KeyPair]:
        return {tag: signer.keys for tag, signer in self.signers.items()}

    @property
    def signed(self) -> dict[str, int]:
        """Requests signed so far, by tag."""
        return {tag: signer.signed for tag, signer in self.signers.items()}

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        tag = self.tag_of_url(request.url or "")
        signer = self.signers.get(tag)
        if signer is None:
            raise LookupError(
                f"no key for the {tag!r} operations (keys for {sorted(self.signers)})"
            )
        return signer(request)


def measure_offset_ms(
    get_server_time: Callable[[], int], clock: Callable[[], float] = time.time
) -> int:
    """Server time minus local time, from one round trip (midpoint estimate)."""
    before = clock()
    server = get_server_time()
    after = clock()
    return int(server - (before + after) * 500)
