"""REQUEST_WEIGHT limiting per caller: an API key once its request is authenticated,
else the client address (app.py decides which).

Fixed one-minute windows aligned on the minute, as the exchange's headers suggest.
Over the limit: 429 (TOO_MANY_REQUESTS) with Retry-After. A caller that sends more than
`grace` further requests in the same window after its first 429 is banned: 418
until the ban ends, 2 minutes at first, doubling for each new ban, at most 3 days.

Memory is bounded: the table holds the current window's callers only (a new window
starts an empty table, so expired windows go at once, never by a scan), at most
`max_callers` of them, and at most `max_callers` bans; past that, the entry first
made longest ago is forgotten (O(1)).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

OK = 0
LIMITED = 1
BANNED = 2

MAX_BAN_MS = 3 * 24 * 3600 * 1000


@dataclass(slots=True)
class Verdict:
    kind: int  # OK / LIMITED / BANNED
    remaining: int  # X-Api-Limit-Status
    limit: int  # X-Api-Limit
    reset_ms: int  # X-Api-Limit-Reset-Timestamp: server time unless limited or banned
    retry_after_s: int  # Retry-After on 429 / 418


class _Window:
    __slots__ = ("over", "used")

    def __init__(self) -> None:
        self.used = 0
        self.over = 0  # requests refused in this window


class RateLimiter:
    def __init__(
        self,
        limit: int = 3000,
        window_ms: int = 60_000,
        grace: int = 10,
        ban_ms: int = 120_000,
        max_callers: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self.grace = grace
        self.ban_ms = ban_ms
        self.max_callers = max_callers
        self._start = -1  # start of the window `_windows` counts
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._bans: OrderedDict[str, tuple[int, int]] = OrderedDict()  # who -> (until, bans)

    def reset(self) -> None:
        self._start = -1
        self._windows = OrderedDict()
        self._bans = OrderedDict()

    def __len__(self) -> int:
        """Entries held: callers of the current window plus bans."""
        return len(self._windows) + len(self._bans)

    def _window(self, who: str, now: int) -> _Window:
        start = now - now % self.window_ms
        if start != self._start:
            self._start = start
            self._windows = OrderedDict()  # every window of the last minute is over
        window = self._windows.get(who)
        if window is None:
            if len(self._windows) >= self.max_callers:
                self._windows.popitem(last=False)
            window = self._windows[who] = _Window()
        return window

    def hit(self, who: str, now: int, weight: int = 1) -> Verdict:
        """Count one request of `weight` for `who` at `now` (ms) and say how it fares."""
        ban = self._bans.get(who)
        if ban is not None and now < ban[0]:
            return Verdict(BANNED, 0, self.limit, ban[0], _seconds(ban[0] - now))
        window = self._window(who, now)
        if window.used + weight <= self.limit:
            window.used += weight
            return Verdict(OK, self.limit - window.used, self.limit, now, 0)
        window.over += 1
        if window.over > self.grace + 1:
            count = ban[1] + 1 if ban is not None else 1
            until = now + min(self.ban_ms * 2 ** (count - 1), MAX_BAN_MS)
            self._bans.pop(who, None)
            if len(self._bans) >= self.max_callers:
                self._bans.popitem(last=False)
            self._bans[who] = (until, count)
            return Verdict(BANNED, 0, self.limit, until, _seconds(until - now))
        reset = self._start + self.window_ms
        return Verdict(LIMITED, 0, self.limit, reset, _seconds(reset - now))

    def peek(self, who: str, now: int) -> Verdict:
        """The headers' view for a request that carries no weight."""
        ban = self._bans.get(who)
        if ban is not None and now < ban[0]:
            return Verdict(BANNED, 0, self.limit, ban[0], _seconds(ban[0] - now))
        window = self._windows.get(who) if self._start == now - now % self.window_ms else None
        used = window.used if window is not None else 0
        return Verdict(OK, max(self.limit - used, 0), self.limit, now, 0)


def _seconds(ms: int) -> int:
    return max(-(-ms // 1000), 1)
