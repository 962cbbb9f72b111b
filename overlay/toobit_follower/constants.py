"""Every number of the client's retry, timing and signing policy, named in one place (the
package's own modules read them here too); the wire protocol's facts (header names,
recvWindow's bounds, the host) are the spec's."""

from __future__ import annotations

from typing import Final

from toobit_follower_models.protocol import *  # noqa: F403 - generated from openapi.yaml

API_KEY_ENV: Final = "TOOBIT_API_KEY"
API_SECRET_ENV: Final = "TOOBIT_API_SECRET"  # noqa: S105 - the variable's name, not a secret
BASE_URL_ENV: Final = "TOOBIT_BASE_URL"

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one method call may take: every attempt (connect, send, read) and the backoff
sleeps between them. Waiting for the rate limit does not count (MAX_RATE_LIMIT_WAIT)."""
DEFAULT_ATTEMPT_TIMEOUT: Final = 10.0
"""Seconds one attempt (connect, send, the whole answer) may take without ``attempt_timeout``;
past it a GET or PUT is retried within the call's timeout (a DELETE: OutcomeUnknownError)."""
ATTEMPT_SHARE: Final = 1 / 3
"""Without ``attempt_timeout``, an attempt gets at most this share of ``timeout`` (and at
most DEFAULT_ATTEMPT_TIMEOUT), so that a stalled first attempt leaves time to retry."""

DEFAULT_MAX_RESPONSE_BYTES: Final = 4 * 1024 * 1024  # largest body read (decoded); more fails
ACCEPT_ENCODING: Final = "gzip, deflate"  # what the client accepts and decodes, within that cap

DEFAULT_MAX_RETRIES: Final = 2  # after the first attempt (at most 3 requests), if retryable
INITIAL_RETRY_DELAY: Final = 0.5  # seconds before the first retry; doubled for each next one
MAX_RETRY_DELAY: Final = 8.0  # seconds, the longest backoff delay
JITTER: Final = 0.25  # each delay is shortened by a random fraction in [0, JITTER)

MAX_RATE_LIMIT_WAIT: Final = 60.0
"""Longest wait (s) for the reset after a 429/418, or for the window's end with the weight
used up; a longer one (an IP ban lasts 2 minutes to 3 days) raises instead of sleeping."""
MAX_RATE_LIMIT_BLOCK_MS: Final = 7 * 24 * 3600 * 1000  # longest 429/418 block (bans: 3 days max)
MAX_HEADER_DIGITS: Final = 19  # an X-Api-Limit-* header longer than an int64 is malformed
RATE_LIMIT_WINDOW_MS: Final = 60_000
"""REQUEST_WEIGHT is counted per minute; used up, calls wait for the next minute of server
time (the simulator's windows are aligned; if the exchange's are not, the next call goes
alone and its answer, or a 429's reset, sets the gate right)."""

TIMESTAMP_RESYNCS: Final = 1  # after -1021: re-sync the clock and retry, this many times
ERROR_EXCERPT_CHARS: Final = 200  # how much of an unexpected body an exception quotes

API_KEY_MAX_LENGTH: Final = 128  # 1..128 ASCII letters and digits (-2014); the spec has no rule
