"""httpx transports over the real simulator, for tests of code that uses an httpx client
(such as ``toobit_follower``): no network, no server, the same rules as ``make simulate``.

>>> exchange = SimExchange()
>>> client = FollowerClient(                      # doctest: +SKIP
...     DEMO_API_KEY, DEMO_API_SECRET, base_url=BASE_URL,
...     transport=exchange.transport(),             # async clients: async_transport()
...     clock=exchange.clock.time, sleep=exchange.clock.sleep,
... )
>>> exchange.script(httpx.Response(502, text="<html>502</html>"))  # served first

``exchange.requests`` records every request as sent; ``exchange.sim`` is the simulator
(its store, limiter, options); ``exchange.clock`` is a fake clock shared by the
simulator and, when passed to a client, the client: ``sleep`` advances it, so retry
and clock-skew tests are deterministic and never wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

import anyio.from_thread
import httpx
import yaml

from .app import DropConnection, ServiceFactory, SimApp, SimOptions, Simulator, create_app
from .seed import DEFAULT_SEED_PATH
from .service import FollowerService
from .signing import DEMO_SECRET

__all__ = [
    "BASE_URL",
    "DEMO_API_KEY",
    "DEMO_API_SECRET",
    "DEMO_LEADER_ID",
    "LEADER_API_KEY",
    "LEADER_API_SECRET",
    "LEADER_ID",
    "LEADER_READONLY_API_KEY",
    "LEADER_READONLY_API_SECRET",
    "SECOND_LEADER_API_KEY",
    "SECOND_LEADER_ID",
    "FakeClock",
    "Scripted",
    "SimExchange",
    "default_seed",
]

_DEFAULT_SEED: Final[dict[str, Any]] = yaml.safe_load(DEFAULT_SEED_PATH.read_text("utf-8"))
_DEMO_KEY_RECORD: Final[dict[str, Any]] = _DEFAULT_SEED["apiKeys"][0]

DEMO_API_KEY: Final[str] = _DEMO_KEY_RECORD["key"]
"""The exchange's published demo API key (the default seed's first key)."""
DEMO_API_SECRET: Final[str] = DEMO_SECRET
"""The exchange's published demo secret (public; the only key material in the repo)."""
DEMO_LEADER_ID: Final[int] = next(
    follow["leaderUserId"]
    for follow in _DEFAULT_SEED["follows"]
    if follow["followerId"] == _DEMO_KEY_RECORD["accountId"]
)
"""The leader the demo key's follower follows in the default seed."""


def _leader_key(leader: int, permission: str) -> str:
    """The default seed's active key of a leader's account with that permission."""
    return str(
        next(
            k["key"]
            for k in _DEFAULT_SEED["apiKeys"]
            if k["accountId"] == leader
            and k["permission"] == permission
            and k.get("status", "ACTIVE") == "ACTIVE"
        )
    )


LEADER_ID: Final[int] = DEMO_LEADER_ID
"""The demo leader (S5): the demo follower follows it; the leader keys below are its."""
LEADER_API_KEY: Final[str] = _leader_key(LEADER_ID, "READ_WRITE")
"""The demo leader's read-write key (its secret is the demo secret)."""
LEADER_API_SECRET: Final[str] = DEMO_SECRET
LEADER_READONLY_API_KEY: Final[str] = _leader_key(LEADER_ID, "READ_ONLY")
"""The demo leader's read-only key: reads as the leader key, every write -1020."""
LEADER_READONLY_API_SECRET: Final[str] = DEMO_SECRET
SECOND_LEADER_ID: Final[int] = next(
    ld["id"] for ld in _DEFAULT_SEED["leaders"] if ld["id"] != LEADER_ID
)
"""Leader K7, followed by the second follower (no open position: it can be removed)."""
SECOND_LEADER_API_KEY: Final[str] = _leader_key(SECOND_LEADER_ID, "READ_WRITE")
BASE_URL: Final = "http://simulator.test"

START: Final = 1717200000.0
"""Where a FakeClock starts: the spec's worked example's timestamp, in seconds."""

Scripted = httpx.Response | Callable[[httpx.Request], httpx.Response | None] | Exception
"""A scripted answer: a response, an exception to raise (``httpx.ReadTimeout(...)``), or a
callable of the request returning a response (``None``: let the simulator answer)."""


def default_seed(history_rows: int | None = None) -> dict[str, Any]:
    """A fresh copy of the default seed, to change before passing it to SimExchange.

    ``history_rows``: replace the history by that many closed positions of the demo
    follower, copies of its first one opened (and closed) one second apart.
    """
    seed: dict[str, Any] = yaml.safe_load(DEFAULT_SEED_PATH.read_text("utf-8"))
    if history_rows is not None:
        first = next(row for row in seed["history"] if row["leaderUserId"] == DEMO_LEADER_ID)
        seed["history"] = [
            {
                **first,
                **{
                    name: type(first[name])(int(first[name]) + n * 1000)
                    for name in ("openTimeMs", "lastCloseTimeMs")
                },
            }
            for n in range(history_rows)
        ]
    return seed


class FakeClock:
    """A clock whose ``sleep`` advances it instead of waiting, and records every sleep.

    ``time()`` is epoch seconds (a client's ``clock=``), ``ms()`` epoch milliseconds
    (the simulator's clock); set ``now`` or call ``advance`` to move it.
    """

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        """``sleep``, then lets other tasks run, as ``asyncio.sleep`` does."""
        self.sleep(seconds)
        await asyncio.sleep(0)


class SimExchange:
    """One simulator app (``create_app(seed, options=..., service=...)``) behind httpx
    transports.

    ``server_offset_ms`` is added to the fake clock on the simulator's side only: a
    client on the same fake clock is that far off the server (tests of -1021 and
    clock sync). ``service``: the business rules (a ``FollowerService`` subclass adding
    the rule of an operation the simulator lacks).
    """

    def __init__(
        self,
        seed: str | Mapping[str, Any] | None = None,
        *,
        options: SimOptions | None = None,
        clock: FakeClock | None = None,
        server_offset_ms: int = 0,
        service: ServiceFactory = FollowerService,
    ) -> None:
        self.clock = clock or FakeClock()
        self.server_offset_ms = server_offset_ms
        self.app: SimApp = create_app(
            seed, options=options, clock=self.server_time_ms, service=service
        )
        self.requests: list[httpx.Request] = []
        """Every request received, in order, scripted answers included."""
        self._scripted: deque[Scripted] = deque()
        self._asgi = httpx.ASGITransport(app=self.app)

    @property
    def sim(self) -> Simulator:
        """The simulator itself (``sim.store``, ``sim.options``, ``sim.reset()``)."""
        return self.app.sim

    def server_time_ms(self) -> int:
        return self.clock.ms() + self.server_offset_ms

    def script(self, *answers: Scripted) -> None:
        """Serve these answers, one per request, before the simulator answers again."""
        self._scripted.extend(answers)

    def transport(self) -> httpx.BaseTransport:
        """A transport for ``httpx.Client`` (and sync clients built on it)."""
        return _SyncTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """A transport for ``httpx.AsyncClient`` (and async clients built on it)."""
        return _AsyncTransport(self)

    def close(self) -> None:
        self.sim.close()

    # ---- shared by both transports -----------------------------------------------------
    def _scripted_answer(self, request: httpx.Request) -> httpx.Response | None:
        self.requests.append(request)
        if self._scripted:
            answer = self._scripted.popleft()
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, httpx.Response):
                return answer
            return answer(request)
        return None

    async def _simulate(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        try:
            response = await self._asgi.handle_async_request(request)
        except DropConnection:
            # what a client sees when the server closes the socket without answering
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        return response.status_code, response.headers, await response.aread()


class _AsyncTransport(httpx.AsyncBaseTransport):
    def __init__(self, exchange: SimExchange) -> None:
        self._exchange = exchange

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        answer = self._exchange._scripted_answer(request)
        if answer is not None:
            return answer
        status, headers, content = await self._exchange._simulate(request)
        return httpx.Response(status, headers=headers, content=content, request=request)


class _SyncTransport(httpx.BaseTransport):
    """Runs the ASGI app on an event loop in a helper thread (an anyio blocking portal,
    as Starlette's TestClient does), so a sync client works inside async tests too."""

    def __init__(self, exchange: SimExchange) -> None:
        self._exchange = exchange

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        answer = self._exchange._scripted_answer(request)
        if answer is not None:
            return answer
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=content)
        with anyio.from_thread.start_blocking_portal() as portal:
            status, headers, body = portal.call(self._exchange._simulate, copy)
        return httpx.Response(status, headers=headers, content=body, request=request)
