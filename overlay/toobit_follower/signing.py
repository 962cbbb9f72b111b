"""Request signing of the Toobit API: pure functions, no I/O, no clock. ``signature`` (last in
the query) = lowercase hex HMAC-SHA256(secret, query as sent + raw JSON body, no ``&``), per
Basic Information; the Copy-Trading Examples page leaves the body out: see BodySigning."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Final

from .constants import MAX_RECV_WINDOW, MIN_RECV_WINDOW

__all__ = ["SIGNING_PARAMS", "BodySigning", "Signer", "append_signature", "sign"]
__all__ += ["signed_message", "signing_query", "strip_signing_params", "validate_recv_window"]

SIGNING_PARAMS: Final = (b"recvWindow", b"timestamp", b"signature")
"""Query parameters the signer owns: any already on a URL are replaced."""


class BodySigning(StrEnum):
    """Which bytes of a request are signed (only a live host can settle which rule holds)."""

    QUERY_AND_BODY = "query+body"  # the documented rule, the default
    QUERY_ONLY = "query-only"  # what the copy-trading examples page seems to do


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signed_message(
    query: bytes | str,
    body: bytes | str = b"",
    body_signing: BodySigning | str = BodySigning.QUERY_AND_BODY,
) -> bytes:
    """totalParams: ``query`` (as sent, without ``signature``) + ``body`` (raw bytes, no ``&``)."""
    return _as_bytes(query) + (b"" if body_signing == BodySigning.QUERY_ONLY else _as_bytes(body))


def sign(secret: bytes | str, message: bytes | str) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` under ``secret``."""
    return hmac.new(_as_bytes(secret), _as_bytes(message), hashlib.sha256).hexdigest()


class Signer:
    """:func:`sign` with the key schedule computed once: ``Signer(secret)(*parts)``."""

    __slots__ = ("_mac",)

    def __init__(self, secret: bytes | str) -> None:
        self._mac = hmac.new(_as_bytes(secret), digestmod=hashlib.sha256)

    def __call__(self, *parts: bytes) -> str:
        mac = self._mac.copy()
        for part in parts:
            mac.update(part)
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "Signer(<secret>)"


def validate_recv_window(recv_window: int) -> int:
    """``recv_window`` if it is an int in 1..60000, else ``ValueError``."""
    is_int = isinstance(recv_window, int) and not isinstance(recv_window, bool)
    if is_int and MIN_RECV_WINDOW <= recv_window <= MAX_RECV_WINDOW:
        return recv_window
    span = f"{MIN_RECV_WINDOW}..{MAX_RECV_WINDOW}"
    raise ValueError(f"recv_window must be an integer in {span} ms, got {recv_window!r}")


def strip_signing_params(query: bytes) -> bytes:
    """``query`` without any ``recvWindow``, ``timestamp`` or ``signature`` parameter."""
    if not (b"recvWindow" in query or b"timestamp" in query or b"signature" in query):
        return query  # the usual case, and the fast one
    kept = (p for p in query.split(b"&") if p and p.split(b"=", 1)[0] not in SIGNING_PARAMS)
    return b"&".join(kept)


def signing_query(query: bytes, recv_window: int, timestamp: int) -> bytes:
    """The query to sign: ``query`` (signing params removed) + ``recvWindow`` + ``timestamp``."""
    query = strip_signing_params(query)
    tail = b"recvWindow=%d&timestamp=%d" % (recv_window, timestamp)
    return query + b"&" + tail if query else tail


def append_signature(query: bytes, signature: str) -> bytes:
    """The query as sent: ``signature`` appended last."""
    return query + b"&signature=" + signature.encode("ascii")
