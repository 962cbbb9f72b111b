"""The rate-limit gate: every call of every client of one API key asks it before sending.

The exchange counts request weight per key in windows of a minute (``REQUEST_WEIGHT``,
3000); over it a request gets 429, and continuing after a 429 gets the IP banned (418,
2 minutes up to 3 days). So the gate:

* keeps the weight the server says is left (``X-Api-Limit-Status`` of the latest
  answer, minus what is still on its way) and lets a call go only once it has
  *reserved* its weight (the spec's ``x-request-weight``), so concurrent calls cannot
  overshoot; when the weight is used up, calls wait for the window's end;
* sends one call alone (a probe) when it does not know what is left (first call, after
  a window ended with the weight used up, after a block), the others wait for its answer;
* after a 429 or 418 blocks every call until ``X-Api-Limit-Reset-Timestamp``: none is
  sent meanwhile. A reset already past, or a second 429 in a row, backs off
  exponentially instead, so the gate never hammers.

All times are server-clock epoch milliseconds as the calling client estimates them.
Thread-safe: the sync client's threads and the async client's tasks share one gate
(one lock, never held across I/O or a sleep); waiting is the caller's job.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Mapping
from typing import Final

from toobit_follower_models.errors import REQUEST_WEIGHTS

from ._constants import (
    INITIAL_RETRY_DELAY,
    MAX_RATE_LIMIT_BLOCK_MS,
    MAX_RETRY_DELAY,
    RATE_LIMIT_WINDOW_MS,
)
from ._exceptions import RateLimitError

__all__ = [
    "BLOCKED",
    "GO",
    "PACED",
    "PROBE",
    "WAIT_FOR_PROBE",
    "RateLimitGate",
    "request_weight",
    "shared_gate",
]

GO: Final = 0
"""Admitted: the call's weight is reserved."""
PROBE: Final = 1
"""Admitted alone: what is left is unknown and this call's answer will tell."""
PACED: Final = 2
"""Wait (the seconds returned) for the window's end: the weight left is used up."""
BLOCKED: Final = 3
"""Wait (the seconds returned) for the reset of a 429/418, or raise if that is too long."""
WAIT_FOR_PROBE: Final = 4
"""Wait a moment (the seconds returned) for another call's probe to be answered."""

PROBE_POLL: Final = 0.005
"""Seconds a call waits before asking the gate again while another call probes."""


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + r"\Z")


_EXACT: Final[Mapping[tuple[str, str], int]] = {
    key: weight for key, weight in REQUEST_WEIGHTS.items() if "{" not in key[1]
}
_TEMPLATED: Final = tuple(
    (method, _template(path), weight)
    for (method, path), weight in REQUEST_WEIGHTS.items()
    if "{" in path
)
_HEAVIEST: Final = max(REQUEST_WEIGHTS.values())


def request_weight(method: str, path: str) -> int:
    """The spec's ``x-request-weight`` of the operation at ``method`` ``path`` (a concrete
    path such as ``/api/v2/.../leaders/123``); the heaviest weight for an unknown one."""
    weight = _EXACT.get((method, path))
    if weight is not None:
        return weight
    for template_method, pattern, template_weight in _TEMPLATED:
        if template_method == method and pattern.match(path):
            return template_weight
    return _HEAVIEST


def _backoff_ms(consecutive: int) -> int:
    return int(min(INITIAL_RETRY_DELAY * 2.0**consecutive, MAX_RETRY_DELAY) * 1000)


class RateLimitGate:
    """Request weight left, reservations and blocks of one API key (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budget: int | None = None
        """Weight that may still be sent before the server says more; None: unknown."""
        self._window_end = 0
        """When the window the budget was counted in ends (assumed: on the minute)."""
        self._in_flight = 0
        """Weight sent and not answered yet (counted or not by the server)."""
        self._probing = False
        self._blocked_until = 0
        self._cause: RateLimitError | None = None
        self._limited_in_a_row = 0

    # ---- before sending --------------------------------------------------------------
    def admit(self, weight: int, now_ms: int, max_wait: float) -> tuple[int, float]:
        """``(GO or PROBE, 0.0)`` with ``weight`` reserved, or ``(PACED, BLOCKED or
        WAIT_FOR_PROBE, seconds)`` to wait before asking again (``max_wait``: the caller
        would rather probe than wait longer for the window's end). ``weight`` 0 (an unsigned
        call, counted per address rather than per key) only respects blocks."""
        with self._lock:
            if now_ms < self._blocked_until:
                return BLOCKED, (self._blocked_until - now_ms) / 1000
            if weight == 0:
                return GO, 0.0
            budget = self._budget
            if budget is not None:
                if budget >= weight:
                    self._budget = budget - weight
                    self._in_flight += weight
                    return GO, 0.0
                wait = (self._window_end - now_ms) / 1000
                if 0 < wait <= max_wait:
                    return PACED, wait
                # the window has ended (or the caller will not wait for it): ask the server
            if self._probing:
                return WAIT_FOR_PROBE, PROBE_POLL
            self._probing = True
            self._in_flight += weight
            return PROBE, 0.0

    @property
    def cause(self) -> RateLimitError | None:
        """The 429/418 that blocked the gate last."""
        return self._cause

    def blocked(self, now_ms: int) -> tuple[int, RateLimitError] | None:
        """``(until_ms, cause)`` while a 429/418 blocks every call, else ``None``."""
        with self._lock:
            if now_ms < self._blocked_until and self._cause is not None:
                return self._blocked_until, self._cause
            return None

    def clear_block(self) -> None:
        """Lift a block on purpose (the user knows the ban is over); the next call is sent
        alone and its answer tells what is left."""
        with self._lock:
            self._blocked_until = 0
            self._limited_in_a_row = 0
            self._budget = None

    # ---- after the answer ------------------------------------------------------------
    def answered(
        self, weight: int, kind: int, remaining: int | None, served_at: int | None
    ) -> None:
        """Release a reservation; learn what is left from an answer's X-Api-Limit-Status
        (``remaining``) and X-Api-Limit-Reset-Timestamp (``served_at``: the server's clock
        when not limited). ``None``: no answer, or one that must not count (limited)."""
        with self._lock:
            self._in_flight = max(self._in_flight - weight, 0)
            if kind == PROBE:
                self._probing = False
            if weight == 0 or remaining is None:
                return
            if served_at is not None and served_at < self._blocked_until:
                return  # served before a block ended: what it says is stale
            self._limited_in_a_row = 0
            # calls still on their way may or may not have been counted: assume they were
            left = max(remaining - self._in_flight, 0)
            window_end = self._window_end
            if served_at is not None:
                window_end = (served_at // RATE_LIMIT_WINDOW_MS + 1) * RATE_LIMIT_WINDOW_MS
            if self._budget is None or kind == PROBE or window_end > self._window_end:
                # a new window, or the answer of a call sent alone: it tells what is left
                self._budget, self._window_end = left, window_end
            elif window_end == self._window_end:
                # answers overtake each other: one served earlier says more was left than
                # is now, so within a window what is left only goes down
                self._budget = min(self._budget, left)

    def block(self, cause: RateLimitError, until_ms: int, now_ms: int) -> int:
        """A 429/418 answer (``cause``): nothing is sent before ``until_ms`` (its reset),
        or, when that is already past or the previous answer was limited too, before an
        exponential backoff has passed. Returns the end of the block."""
        with self._lock:
            # a reset absurdly far out (a malformed header) blocks for the longest ban
            until_ms = min(until_ms, now_ms + MAX_RATE_LIMIT_BLOCK_MS)
            if until_ms <= now_ms or self._limited_in_a_row:
                until_ms = max(until_ms, now_ms) + _backoff_ms(self._limited_in_a_row)
            self._limited_in_a_row += 1
            if until_ms > self._blocked_until:
                self._blocked_until = until_ms
                self._cause = cause
            self._budget = None  # after the block, a probe learns the new window
            return self._blocked_until


_SHARED: Final[weakref.WeakValueDictionary[tuple[str, str], RateLimitGate]] = (
    weakref.WeakValueDictionary()
)
_SHARED_LOCK: Final = threading.Lock()


def shared_gate(base_url: str, api_key: str) -> RateLimitGate:
    """The gate of every client of ``api_key`` on ``base_url`` in this process, sync and
    async alike (kept while one of them lives)."""
    with _SHARED_LOCK:
        gate = _SHARED.get((base_url, api_key))
        if gate is None:
            gate = RateLimitGate()
            _SHARED[(base_url, api_key)] = gate
        return gate
