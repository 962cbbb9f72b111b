"""REQUEST_WEIGHT limiting per key (or per client address when no key is sent).

Fixed one-minute windows aligned on the minute, as the exchange's headers suggest.
Over the limit: 429 (TOO_MANY_REQUESTS) with Retry-After. A caller that sends more than
`grace` further requests in the same window after its first 429 is banned: 418
until the ban ends, 2 minutes at first, doubling for each new ban, at most 3 days.
"""

from __future__ import annotations

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
    __slots__ = ("over", "start", "used")

    def __init__(self, start: int) -> None:
        self.start = start
        self.used = 0
        self.over = 0  # requests refused in this window


class RateLimiter:
    def __init__(
        self,
        limit: int = 3000,
        window_ms: int = 60_000,
        grace: int = 10,
        ban_ms: int = 120_000,
    ) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self.grace = grace
        self.ban_ms = ban_ms
        self._windows: dict[str, _Window] = {}
        self._bans: dict[str, tuple[int, int]] = {}  # who -> (until ms, bans so far)

    def reset(self) -> None:
        self._windows.clear()
        self._bans.clear()

    def _window(self, who: str, now: int) -> _Window:
        start = now - now % self.window_ms
        window = self._windows.get(who)
        if window is None or window.start != start:
            if len(self._windows) > 100_000:  # drop the windows of past minutes
                self._windows = {k: w for k, w in self._windows.items() if w.start == start}
            window = _Window(start)
            self._windows[who] = window
        return window

    def hit(self, who: str, now: int, weight: int = 1) -> Verdict:
        """Count one request of `weight` for `who` at `now` (ms) and say how it fares."""
        ban = self._bans.get(who)
        if ban is not None and now < ban[0]:
            return Verdict(BANNED, 0, self.limit, ban[0], _seconds(ban[0] - now))
        window = self._window(who, now)
        reset = window.start + self.window_ms
        if window.used + weight <= self.limit:
            window.used += weight
            return Verdict(OK, self.limit - window.used, self.limit, now, 0)
        window.over += 1
        if window.over > self.grace + 1:
            count = ban[1] + 1 if ban is not None else 1
            until = now + min(self.ban_ms * 2 ** (count - 1), MAX_BAN_MS)
            self._bans[who] = (until, count)
            return Verdict(BANNED, 0, self.limit, until, _seconds(until - now))
        return Verdict(LIMITED, 0, self.limit, reset, _seconds(reset - now))

    def peek(self, who: str, now: int) -> Verdict:
        """The headers' view for a request that carries no weight."""
        ban = self._bans.get(who)
        if ban is not None and now < ban[0]:
            return Verdict(BANNED, 0, self.limit, ban[0], _seconds(ban[0] - now))
        window = self._windows.get(who)
        used = (
            window.used if window is not None and window.start == now - now % self.window_ms else 0
        )
        return Verdict(OK, max(self.limit - used, 0), self.limit, now, 0)


def _seconds(ms: int) -> int:
    return max(-(-ms // 1000), 1)
