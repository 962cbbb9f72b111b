"""Request signing of the Toobit API: pure functions, no I/O, no clock.

Rule (Basic Information): ``signature`` = lowercase hex HMAC-SHA256(key = secret,
message = totalParams), where totalParams is the query string exactly as sent
(without ``signature``) immediately followed by the raw JSON body, with no ``&``
between them. ``signature`` is then appended last to the query string.

The exchange's Copy-Trading Examples page prints signatures that ignore the body;
only a live host can settle which rule it enforces, so the body rule is a switch:
:attr:`BodySigning.QUERY_AND_BODY` (default, the documented rule) or
:attr:`BodySigning.QUERY_ONLY`.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Final

from ._constants import MAX_RECV_WINDOW, MIN_RECV_WINDOW

__all__ = [
    "SIGNING_PARAMS",
    "BodySigning",
    "Signer",
    "append_signature",
    "sign",
    "signed_message",
    "signing_query",
    "strip_signing_params",
    "validate_recv_window",
]

SIGNING_PARAMS: Final = (b"recvWindow", b"timestamp", b"signature")
"""Query parameters the signer owns: any already on a URL are replaced."""


class BodySigning(StrEnum):
    """Which bytes of a request are signed."""

    QUERY_AND_BODY = "query+body"
    """Query string followed by the raw JSON body (Basic Information; the default)."""
    QUERY_ONLY = "query-only"
    """Query string only (what the exchange's copy-trading example page seems to do)."""


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signed_message(
    query: bytes | str,
    body: bytes | str = b"",
    body_signing: BodySigning | str = BodySigning.QUERY_AND_BODY,
) -> bytes:
    """totalParams: ``query`` (as sent, without ``signature``) + ``body`` (raw bytes, no ``&``)."""
    query_bytes = _as_bytes(query)
    if body_signing == BodySigning.QUERY_ONLY or not body:
        return query_bytes
    return query_bytes + _as_bytes(body)


def sign(secret: bytes | str, message: bytes | str) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` under ``secret``."""
    return hmac.new(_as_bytes(secret), _as_bytes(message), hashlib.sha256).hexdigest()


class Signer:
    """:func:`sign` with the key schedule computed once (copied per message)."""

    __slots__ = ("_mac",)

    def __init__(self, secret: bytes | str) -> None:
        self._mac = hmac.new(_as_bytes(secret), digestmod=hashlib.sha256)

    def __call__(self, *parts: bytes) -> str:
        """Signature of the concatenation of ``parts``."""
        mac = self._mac.copy()
        for part in parts:
            mac.update(part)
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "Signer(<secret>)"


def validate_recv_window(recv_window: int) -> int:
    """``recv_window`` if it is an int in 1..60000, else ``ValueError``."""
    if (
        isinstance(recv_window, bool)
        or not isinstance(recv_window, int)
        or not MIN_RECV_WINDOW <= recv_window <= MAX_RECV_WINDOW
    ):
        raise ValueError(
            f"recv_window must be an integer in {MIN_RECV_WINDOW}..{MAX_RECV_WINDOW} ms,"
            f" got {recv_window!r}"
        )
    return recv_window


def strip_signing_params(query: bytes) -> bytes:
    """``query`` without any ``recvWindow``, ``timestamp`` or ``signature`` parameter."""
    if not (b"recvWindow" in query or b"timestamp" in query or b"signature" in query):
        return query
    kept = [
        part for part in query.split(b"&") if part and part.split(b"=", 1)[0] not in SIGNING_PARAMS
    ]
    return b"&".join(kept)


def signing_query(query: bytes, recv_window: int, timestamp: int) -> bytes:
    """The query to sign: ``query`` (signing params removed) + ``recvWindow`` + ``timestamp``."""
    query = strip_signing_params(query)
    tail = b"recvWindow=%d&timestamp=%d" % (recv_window, timestamp)
    return query + b"&" + tail if query else tail


def append_signature(query: bytes, signature: str) -> bytes:
    """The query as sent: ``signature`` appended last."""
    return query + b"&signature=" + signature.encode("ascii")
