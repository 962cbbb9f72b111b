"""HMAC signing for the fuzzer: the overlay's pure signing module, the project's one
implementation of the rule (lowercase hex HMAC-SHA256 of the query string as sent and the
raw body); tests/test_fuzz_units.py checks it against the known-answer vectors of
docs/reference/basic-information.md."""

from __future__ import annotations

from toobit_follower.signing import sign

__all__ = ["sign"]
