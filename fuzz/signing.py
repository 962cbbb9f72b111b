"""HMAC signing for the fuzzer: the overlay's pure signing module when it is there.

`toobit_follower.signing.sign(secret, message)` is the project's one implementation
of the rule (lowercase hex HMAC-SHA256). The fallback below is the same two lines,
for a checkout where the overlay is not importable; the tests check both against
the known-answer vectors of docs/reference/basic-information.md.
"""

from __future__ import annotations

import hashlib
import hmac


def _local_sign(secret: bytes | str, message: bytes | str) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    msg = message.encode("utf-8") if isinstance(message, str) else message
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


try:
    from toobit_follower.signing import sign as _overlay_sign
except ImportError:  # pragma: no cover - the overlay is part of the repo
    _overlay_sign = None

sign = _overlay_sign if _overlay_sign is not None else _local_sign
SOURCE = "toobit_follower.signing" if _overlay_sign is not None else "fuzz.signing (local)"
