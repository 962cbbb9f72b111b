"""Signature verification over the bytes that arrived (Basic Information, signing rules).

The signed message is the raw query string exactly as received, minus the final
`&signature=...` pair, followed by the raw body with line terminators dropped (the
exchange drops them before verifying, so a pretty-printed body never verifies: the
client signed the bytes it sent, newlines included). Nothing is re-encoded or sorted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

# The exchange's published demo secret: the only key material in the repo.
DEMO_SECRET = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"  # noqa: S105
SIGNATURE = "signature"
_HEX = frozenset(b"0123456789abcdef")


@dataclass(slots=True)
class Query:
    """A query string split into decoded parameters, keeping what signing needs."""

    params: dict[str, list[str | None]] = field(default_factory=dict)
    signature: bytes | None = None  # raw value of the trailing signature pair
    signature_count: int = 0
    signed_message: bytes = b""
    unreadable_names: int = 0  # names that are not UTF-8 once decoded (signed, never declared)

    def values(self, name: str) -> list[str | None]:
        return self.params.get(name, [])


def _decode(part: bytes) -> str | None:
    try:
        if b"%" not in part and b"+" not in part:
            return part.decode("utf-8")  # the common case, without unquoting
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_query(raw: bytes) -> Query:
    """Split `raw` on `&`; names and values are percent-decoded (None when not UTF-8)."""
    query = Query(signed_message=raw)
    if not raw:
        return query
    segments = raw.split(b"&")
    last = len(segments) - 1
    params = query.params
    for index, segment in enumerate(segments):
        if not segment:
            continue
        name_raw, _, value_raw = segment.partition(b"=")
        if name_raw == b"signature":
            query.signature_count += 1
            if index == last:
                query.signature = value_raw
                cut = len(raw) - len(segment)
                query.signed_message = raw[: cut - 1] if cut > 0 else b""
            continue
        name = _decode(name_raw)
        if name is None:
            query.unreadable_names += 1  # no parameter any operation declares
            continue
        if name == SIGNATURE:  # percent-encoded: not the signature parameter as sent
            continue
        values = params.get(name)
        if values is None:
            params[name] = [_decode(value_raw)]
        else:
            values.append(_decode(value_raw))
    return query


def new_mac(secret: str) -> hmac.HMAC:
    """A keyed HMAC-SHA256 to .copy() per request (saves the key schedule)."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def signature_ok(mac: hmac.HMAC, query: Query, body: bytes) -> bool:
    """True iff the trailing signature is the lowercase hex HMAC of the signed message."""
    sent = query.signature
    if query.signature_count != 1 or sent is None or len(sent) != 64:
        return False
    if not _HEX.issuperset(sent):
        return False  # uppercase hex, or not hex at all
    digest = mac.copy()
    digest.update(query.signed_message)
    if body:
        digest.update(body.replace(b"\r", b"").replace(b"\n", b""))
    return hmac.compare_digest(digest.hexdigest().encode(), sent)
