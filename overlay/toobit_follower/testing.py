"""An in-process fake of the follower API for ``httpx.MockTransport``: unit tests of
code that uses the client, with no network and no server.

It checks the key header, ``timestamp``/``recvWindow`` and the signature like the
exchange does, keeps a little state (one leader, its follow config, one open position,
``history_rows`` closed positions) and records every request. ``script()`` queues
canned answers or transport errors that are served before the normal handling.
It is deliberately small; the full, independent implementation of the API is the
simulator (``toobit_follower_sim``).

>>> fake = MockExchange()
>>> client = FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, transport=fake.transport())
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from copy import deepcopy
from typing import Any, Final

import httpx
from pydantic import ValidationError
from toobit_follower_models import FollowConfigUpdate, StopProfitLossUpdate

from ._constants import (
    API_KEY_HEADER,
    MAX_RECV_WINDOW,
    MIN_RECV_WINDOW,
    RATE_LIMIT_HEADER,
    RATE_LIMIT_RESET_HEADER,
    RATE_LIMIT_STATUS_HEADER,
)
from ._operations import decimal_str
from .signing import BodySigning, sign, signed_message

__all__ = [
    "DEMO_API_KEY",
    "DEMO_API_SECRET",
    "DEMO_LEADER_ID",
    "FakeClock",
    "MockExchange",
    "error_body",
    "json_response",
]

DEMO_API_KEY: Final = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"
"""The exchange's published demo API key."""
DEMO_API_SECRET: Final = "30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"  # noqa: S105
"""The exchange's published demo secret (public; the only key material in the repo)."""
DEMO_LEADER_ID: Final = 123456789

PREFIX: Final = "/api/v2/copy-trading/follower"

Scripted = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


def json_response(
    status_code: int, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A response with a compact JSON body."""
    content = json.dumps(body, separators=(",", ":")).encode()
    return httpx.Response(
        status_code,
        content=content,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_body(code: int, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg}


class FakeClock:
    """A clock whose ``sleep`` advances it instead of waiting; records every sleep.

    Pass ``clock=fake.time`` and ``sleep=fake.sleep`` (or ``fake.async_sleep``) to a client.
    """

    def __init__(self, start: float = 1717200000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Refused(Exception):
    def __init__(self, status_code: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status_code = status_code
        self.code = code
        self.msg = msg


def _history_row(n: int) -> dict[str, Any]:
    return {
        "symbolId": "BTC-SWAP-USDT",
        "positionType": 1,
        "leverage": "20",
        "isLong": n % 2,
        "leaderNickname": "S5",
        "leaderAvatar": "https://static.example.com/avatar.png",
        "openTimeMs": str(1717200000000 + n * 1000),
        "lastCloseTimeMs": str(1717203600000 + n * 1000),
        "openAvgPrice": "6805",
        "closeAvgPrice": "7100.10",
        "maxPositionQuantity": "0.02",
        "closedQuantity": "0.02",
        "realizedProfit": f"5.{n:02d}",
        "closeStatus": 2,
    }


class MockExchange:
    """A fake follower API. ``transport()`` gives an httpx.MockTransport serving it."""

    def __init__(
        self,
        *,
        api_key: str = DEMO_API_KEY,
        api_secret: str = DEMO_API_SECRET,
        clock: Callable[[], float] = time.time,
        server_offset_ms: int = 0,
        body_signing: BodySigning | str = BodySigning.QUERY_AND_BODY,
        history_rows: int = 1,
        errors_as_200: bool = False,
        read_only: bool = False,
    ) -> None:
        self.api_key = api_key
        self._api_secret = api_secret
        self.clock = clock
        self.server_offset_ms = server_offset_ms
        """Server clock minus the fake's ``clock`` (simulates a skewed client)."""
        self.body_signing = BodySigning(body_signing)
        self.errors_as_200 = errors_as_200
        self.read_only = read_only
        self.requests: list[httpx.Request] = []
        """Every request received, in order (``.url``, ``.headers``, ``.content``)."""
        self.scripted: deque[Scripted] = deque()
        self.leaders: dict[int, dict[str, Any]] = {
            DEMO_LEADER_ID: {
                "leaderUserId": str(DEMO_LEADER_ID),
                "leaderNickname": "S5",
                "leaderAvatar": "https://static.example.com/avatar.png",
                "marginBalance": "521.64",
                "availableMargin": "518.25",
                "unrealisedPnl": "-0.03",
                "realisedProfit": "0",
                "holdingProfitSharing": "0",
                "settledProfitSharing": "0.58",
                "netProfit": "-0.58",
            }
        }
        self.configs: dict[int, dict[str, Any]] = {
            DEMO_LEADER_ID: {
                "leaderUserId": str(DEMO_LEADER_ID),
                "investAmount": "100",
                "singlePlaceAmount": "10",
                "dailyMaxInvestAmount": "50",
                "leverage": "20",
                "maxInvestRate": "0.5",
                "stopProfitRate": "0.1",
                "stopLossRate": "0.2",
                "followAmountMode": 1,
                "stopLossDelay": 30,
                "isolatedReservedAmount": "5",
                "followMarginType": 2,
                "followSymbolIds": "BTC-SWAP-USDT,ETH-SWAP-USDT",
                "zeroSlippageSwitch": True,
            }
        }
        self.positions: list[dict[str, Any]] = [
            {
                "leaderUserId": str(DEMO_LEADER_ID),
                "leaderNickname": "S5",
                "leaderAvatar": "https://static.example.com/avatar.png",
                "symbolId": "BTC-SWAP-USDT",
                "isLong": 1,
                "positionType": 1,
                "leverage": "20",
                "openAvgPrice": "6805",
                "markPrice": "7121.97",
                "currentPrice": "6805",
                "quantity": "0.01",
                "margin": "3.3854",
                "liquidationPrice": "",
                "unrealizedProfit": "3.17",
                "unrealizedProfitRate": "0.9315",
                "stopProfitRate": "",
                "stopLossRate": "",
            }
        ]
        self.history: list[dict[str, Any]] = [_history_row(n) for n in range(history_rows)]

    # ---- plumbing ------------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def script(self, *answers: Scripted) -> None:
        """Serve these answers (or raise these exceptions) before the normal handling."""
        self.scripted.extend(answers)

    def server_time_ms(self) -> int:
        return int(self.clock() * 1000) + self.server_offset_ms

    def rate_limit_headers(self) -> dict[str, str]:
        return {
            RATE_LIMIT_STATUS_HEADER: "2999",
            RATE_LIMIT_HEADER: "3000",
            RATE_LIMIT_RESET_HEADER: str(self.server_time_ms()),
        }

    def ok(self, data: Any) -> httpx.Response:
        return json_response(
            200, {"code": 200, "msg": "success", "data": data}, self.rate_limit_headers()
        )

    def refuse(self, status_code: int, code: int, msg: str) -> httpx.Response:
        status = 200 if self.errors_as_200 and status_code in (400, 401, 403) else status_code
        return json_response(status, error_body(code, msg), self.rate_limit_headers())

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.scripted:
            answer = self.scripted.popleft()
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, httpx.Response):
                return answer
            return answer(request)
        try:
            if request.url.path == "/api/v1/time":
                return json_response(
                    200, {"serverTime": self.server_time_ms()}, self.rate_limit_headers()
                )
            self._check_signed(request)
            return self._route(request)
        except _Refused as refused:
            return self.refuse(refused.status_code, refused.code, refused.msg)

    # ---- the checks of a signed request ------------------------------------------------
    def _check_signed(self, request: httpx.Request) -> None:
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            raise _Refused(401, -1002, "You are not authorized to execute this request.")
        if key != self.api_key:
            raise _Refused(401, -2015, "Invalid API-key, IP, or permissions for action.")
        query = request.url.query
        signed, sep, signature = query.rpartition(b"&signature=")
        params = request.url.params
        if not sep or "timestamp" not in params:
            raise _Refused(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            )
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", "5000"))
        except ValueError:
            raise _Refused(
                400, -1130, "Data sent for paramter 'recvWindow' is not valid."
            ) from None
        if not MIN_RECV_WINDOW <= recv_window <= MAX_RECV_WINDOW:
            raise _Refused(400, -1130, "Data sent for paramter 'recvWindow' is not valid.")
        now = self.server_time_ms()
        if not (timestamp < now + 1000 and now - timestamp <= recv_window):
            raise _Refused(401, -1021, "Timestamp for this request is outside of the recvWindow.")
        expected = sign(
            self._api_secret, signed_message(signed, request.content, self.body_signing)
        )
        if signature.decode("ascii", "replace") != expected:
            raise _Refused(401, -1022, "Signature for this request is not valid.")
        if self.read_only and request.method != "GET":
            raise _Refused(403, -1020, "This operation is not supported.")

    # ---- the endpoints -------------------------------------------------------------
    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        method = request.method
        if not path.startswith(PREFIX):
            return json_response(404, error_body(-1000, "Not found."))
        path = path[len(PREFIX) :]
        if (method, path) == ("GET", "/orders/current"):
            self._need_relation()
            return self.ok(self.positions)
        if (method, path) == ("GET", "/orders/history"):
            return self._history(request)
        if (method, path) == ("GET", "/config"):
            leader = self._leader_param(request.url.params.get("leaderUserId"))
            return self.ok(self.configs[leader])
        if (method, path) == ("PUT", "/config"):
            return self._put_config(request)
        if (method, path) == ("PUT", "/positions/stop-profit-loss"):
            return self._put_stop_profit_loss(request)
        if (method, path) == ("GET", "/leaders"):
            self._need_relation()
            return self.ok(list(self.leaders.values()))
        if method == "DELETE" and path.startswith("/leaders/"):
            leader = self._leader_param(path.rsplit("/", 1)[1])
            if any(int(p["leaderUserId"]) == leader for p in self.positions):
                raise _Refused(
                    400, -120055, "The follower currently has copy position, cannot be removed."
                )
            del self.leaders[leader]
            self.configs.pop(leader, None)
            return self.ok(None)
        return json_response(404, error_body(-1000, "Not found."))

    def _need_relation(self) -> None:
        if not self.leaders:
            raise _Refused(400, -32045, "Copy trading follower not found.")

    def _leader_param(self, raw: str | None) -> int:
        if raw is None:
            raise _Refused(
                400,
                -1102,
                "Mandatory parameter 'leaderUserId' was not sent, was empty/null, or malformed.",
            )
        if not raw.isdigit() or int(raw) < 1:
            raise _Refused(400, -1130, "Data sent for paramter 'leaderUserId' is not valid.")
        leader = int(raw)
        if leader not in self.leaders:
            raise _Refused(400, -32045, "Copy trading follower not found.")
        return leader

    def _history(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            page = int(params.get("page", "1"))
            size = int(params.get("size", "10"))
        except ValueError:
            raise _Refused(400, -1130, "Data sent for paramter 'size' is not valid.") from None
        if page < 1 or not 1 <= size <= 100:
            raise _Refused(400, -1130, "Data sent for paramter 'size' is not valid.")
        self._need_relation()
        total = len(self.history)
        pages = (total + size - 1) // size
        rows = self.history[(page - 1) * size : page * size]
        return self.ok({"pages": str(pages), "total": str(total), "list": rows})

    def _body(self, request: httpx.Request) -> Any:
        content = request.content
        if b"\n" in content or b"\r" in content:
            raise _Refused(401, -1022, "Signature for this request is not valid.")
        try:
            return json.loads(content)
        except ValueError:
            raise _Refused(
                400, -1102, "Mandatory parameter 'body' was not sent, was empty/null, or malformed."
            ) from None

    @staticmethod
    def _invalid(exc: ValidationError) -> _Refused:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "body"
        if first["type"] == "missing":
            return _Refused(
                400,
                -1102,
                f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
            )
        return _Refused(400, -1130, f"Data sent for paramter '{name}' is not valid.")

    def _put_config(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request)
        try:
            update = FollowConfigUpdate.model_validate(body)
        except ValidationError as exc:
            raise self._invalid(exc) from None
        leader = self._leader_param(str(update.leader_user_id))
        stored = {
            key: decimal_str(value) if not isinstance(value, bool | int | str) else value
            for key, value in update.model_dump(by_alias=True).items()
            if key != "realInvestAmount"
        }
        stored["leaderUserId"] = str(leader)
        self.configs[leader] = stored
        return self.ok(None)

    def _put_stop_profit_loss(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request)
        try:
            update = StopProfitLossUpdate.model_validate(body)
        except ValidationError as exc:
            raise self._invalid(exc) from None
        for position in self.positions:
            if (
                int(position["leaderUserId"]) == update.leader_user_id
                and position["symbolId"] == update.symbol_id
                and position["isLong"] == update.is_long
            ):
                if update.stop_profit_rate is not None:
                    position["stopProfitRate"] = decimal_str(update.stop_profit_rate)
                if update.stop_loss_rate is not None:
                    position["stopLossRate"] = decimal_str(update.stop_loss_rate)
                return self.ok(None)
        raise _Refused(400, -32045, "Copy trading follower not found.")

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state (leaders, configs, positions, history)."""
        return deepcopy(
            {
                "leaders": self.leaders,
                "configs": self.configs,
                "positions": self.positions,
                "history": self.history,
            }
        )
