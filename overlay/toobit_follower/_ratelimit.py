"""The rate-limit gate every call of every client of one API key asks before sending.

Weight is counted per key per minute; past it comes 429, then an IP ban (418). A call
*reserves* its weight from what ``X-Api-Limit-Status`` said is left, so concurrent calls
cannot overshoot; when that is unknown one call goes alone (a probe) and the rest wait for
its answer. After a 429/418 nothing goes until the reset (past, or limited twice in a row:
backoff). Times are server epoch ms; one lock, never held across I/O, serves threads and tasks.
"""

from __future__ import annotations

import threading
import weakref
from typing import Final

from . import constants as C
from ._exceptions import RateLimitError

# What admit() answers, with the seconds to wait before asking again (0.0 for GO and PROBE).
GO: Final = 0  # admitted, the weight reserved
PROBE: Final = 1  # admitted alone: what is left is unknown, this call's answer will tell
PACED: Final = 2  # the weight left is used up: wait for the window's end
BLOCKED: Final = 3  # wait for the reset of a 429/418 (or raise if that is too long)
WAIT_FOR_PROBE: Final = 4  # another call probes: wait PROBE_POLL seconds for its answer
PROBE_POLL: Final = 0.005


def backoff(retries: int) -> float:
    """Seconds of exponential backoff after ``retries`` failures in a row (no jitter)."""
    return min(C.INITIAL_RETRY_DELAY * 2.0**retries, C.MAX_RETRY_DELAY)


class RateLimitGate:
    """Request weight left, reservations and blocks of one API key (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budget: int | None = None  # may still go before the server says more; None: unknown
        self._window_end = 0  # of the budget's window (assumed: on the minute)
        self._in_flight = 0  # weight sent and not answered yet (counted or not by the server)
        self._probing = False
        self._blocked_until = 0
        self._limited_in_a_row = 0
        self.cause: RateLimitError | None = None  # the 429/418 that blocked the gate last

    def admit(self, weight: int, now_ms: int, max_wait: float) -> tuple[int, float]:
        """``(GO or PROBE, 0.0)`` with ``weight`` reserved, else ``(kind, seconds to wait)``
        (a window's end past ``max_wait``: probe instead). Weight 0 (unsigned) only waits
        for blocks."""
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

    def blocked(self, now_ms: int) -> tuple[int, RateLimitError] | None:
        """``(until_ms, cause)`` while a 429/418 blocks every call, else ``None``."""
        with self._lock:
            if now_ms < self._blocked_until and self.cause is not None:
                return self._blocked_until, self.cause
            return None

    def clear_block(self) -> None:
        """Lift a block on purpose (the user knows the ban is over); the next call probes."""
        with self._lock:
            self._blocked_until = self._limited_in_a_row = 0
            self._budget = None

    def answered(
        self, weight: int, kind: int, remaining: int | None, served_at: int | None
    ) -> None:
        """Release a reservation and learn what is left: ``remaining`` (X-Api-Limit-Status),
        ``served_at`` (X-Api-Limit-Reset-Timestamp); ``None``: nothing to learn."""
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
                window_end = (served_at // C.RATE_LIMIT_WINDOW_MS + 1) * C.RATE_LIMIT_WINDOW_MS
            if self._budget is None or kind == PROBE or window_end > self._window_end:
                # a new window, or the answer of a call sent alone: it tells what is left
                self._budget, self._window_end = left, window_end
            elif window_end == self._window_end:
                # answers overtake each other: one served earlier says more was left than
                # is now, so within a window what is left only goes down
                self._budget = min(self._budget, left)

    def block(self, cause: RateLimitError, until_ms: int, now_ms: int) -> int:
        """A 429/418 (``cause``): nothing goes before ``until_ms`` (past, or limited twice
        in a row: backoff). Returns the block's end."""
        with self._lock:
            # a reset absurdly far out (a malformed header) blocks for the longest ban
            until_ms = min(until_ms, now_ms + C.MAX_RATE_LIMIT_BLOCK_MS)
            if until_ms <= now_ms or self._limited_in_a_row:
                delay = backoff(self._limited_in_a_row)
                until_ms = max(until_ms, now_ms) + int(delay * 1000)
            self._limited_in_a_row += 1
            if until_ms > self._blocked_until:
                self._blocked_until, self.cause = until_ms, cause
            self._budget = None  # after the block, a probe learns the new window
            return self._blocked_until


_SHARED: Final = weakref.WeakValueDictionary[tuple[str, str], RateLimitGate]()
_SHARED_LOCK: Final = threading.Lock()


def shared_gate(base_url: str, api_key: str) -> RateLimitGate:
    """The gate of every client, sync or async, of ``api_key`` on ``base_url`` in this process."""
    with _SHARED_LOCK:
        return _SHARED.setdefault((base_url, api_key), RateLimitGate())
