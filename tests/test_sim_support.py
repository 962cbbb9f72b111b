"""Helpers for the simulator tests (no tests here).

Requests are signed with this file's own few lines of hmac + hashlib, never with the
client package or the simulator's code, so the tests check the simulator's verification
independently. `Sim` drives the ASGI app in process with raw bytes (query string and
body exactly as given), which httpx would normalise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from toobit_follower_sim import SimOptions, create_app

SECRET = b"30lfjDT51iOG1kYZnDoLNynOyMdIcmQyO1XYfxzYOmQfx9tjiI98Pzio4uhZ0Uk2"
DEMO_KEY = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"
READ_ONLY_KEY = "SimReadOnlyKeyXJj5vsKIS6nThTGx5XutQ4NMRKKJ92zGror5R5WN2MGUcsuRuv"
SECOND_KEY = "SimSecondFollowerKeyhylDIADB2LgvfCAtGpfwFG0DPMDljzTryy7y1mEu4O32"
NO_RELATION_KEY = "SimNoRelationKey4bfAFu5gDHtTGibr75ELaIBVIQQSMIHjxwmy12uWfcnyFVBA"
STANDARD_KEY = "SimSpotAccountKey8nV5MbzwDDSWoiTStN4OrfSYrE0sju0oH6FZKHUBTz09qwj"
EXPIRED_KEY = "SimExpiredKeySaFcxcKXaOAYoPITTNhGhj4gNbkD5xXoBjZqnTQVjCb9irC2gMy"
SUSPENDED_KEY = "SimSuspendedKey2WuBUUYTBtkPuFnkOCI8Q4oRv1gbVZUm8urK0ysgr4ifxzDwH"
LEADER_KEY = "SimLeaderKeyiONoucnN3ZqZ0RICz8QNA7oI430m6NMnmquG22FTLkVCPs0ALTkf"  # S5's
LEADER_READ_ONLY_KEY = "SimLeaderReadOnlyKeyVDB2QtrAoMU1xeM23lgjiqCr1Zz9Njl6IvfyIHuHj3So"
SECOND_LEADER_KEY = "SimSecondLeaderKeypobm6M7kA161ax39htEx09UXjuzyIhk53MwSWf7QAtrfsw"  # K7's

NOW = 1_717_200_000_000  # the fixed clock of in-process tests
S5 = 123456789
K7 = 987654321

P = "/api/v2/copy-trading/follower"
CURRENT = f"{P}/orders/current"
HISTORY = f"{P}/orders/history"
STOP = f"{P}/positions/stop-profit-loss"
CONFIG = f"{P}/config"
LEADERS = f"{P}/leaders"

LP = "/api/v2/copy-trading/leader"
LEAD_CURRENT = f"{LP}/orders/current"
LEAD_HISTORY = f"{LP}/orders/history"
TRADE_DATA = f"{LP}/trade-data"
PROFIT_SHARING = f"{LP}/profit-sharings/history"
SYMBOLS = f"{LP}/symbols"
LEADER_CONFIG = f"{LP}/config"
FOLLOWERS = f"{LP}/followers"

# The page's PUT examples, compact as a client must send them.
STOP_EXAMPLE = {
    "leaderUserId": 123456789,
    "symbolId": "BTC-SWAP-USDT",
    "isLong": 1,
    "stopProfitRate": "0.1",
    "stopLossRate": "0.2",
    "stopLossDelay": 30,
}
CONFIG_EXAMPLE = {
    "leaderUserId": 123456789,
    "investAmount": "100",
    "singlePlaceAmount": "10",
    "dailyMaxInvestAmount": "50",
    "leverage": "20",
    "maxInvestRate": "0.5",
    "stopProfitRate": "0.1",
    "stopLossRate": "0.2",
    "realInvestAmount": "100",
    "followAmountMode": 1,
    "stopLossDelay": 30,
    "isolatedReservedAmount": "5",
    "followMarginType": 2,
    "followSymbolIds": "BTC-SWAP-USDT,ETH-SWAP-USDT",
    "zeroSlippageSwitch": True,
}
# The leader page's config update example: it succeeds for the demo leader S5.
LEADER_CONFIG_EXAMPLE = {
    "unLeadType": 1,
    "unLeadStartTime": 1717200000000,
    "unLeadEndTime": 1717286400000,
    "leadPositionType": 0,
    "tradeProtect": 1,
    "profitPeriod": 7,
    "profitRate": "0.1",
    "followAssetLowerLimit": "100",
    "fixedAmountFollowMin": "10",
    "fixedRateFollowMin": "10",
    "isNeedInvite": 1,
    "inviteScope": 2,
    "symbolIds": ["BTC-SWAP-USDT", "ETH-SWAP-USDT"],
    "recommendShare": 1,
    "recommendShareRate": "0.2",
    "inviteCode": "LEADER2026",
}
# The changes to LEADER_CONFIG_EXAMPLE that make it a valid update of leader K7 (private
# with a custom ratio, leading ETH only, no current lead orders).
K7_LEADER_CONFIG = {
    "unLeadType": 0,
    "leadPositionType": -1,
    "profitRate": "0.15",
    "followAssetLowerLimit": "50",
    "fixedAmountFollowMin": "5",
    "fixedRateFollowMin": "50",
    "symbolIds": ["ETH-SWAP-USDT"],
    "inviteCode": "K7INVITE",
}
# A valid fixed-amount config of follower 10002 / leader K7 (no open positions).
K7_CONFIG = {
    "leaderUserId": K7,
    "investAmount": "300",
    "singlePlaceAmount": "30",
    "dailyMaxInvestAmount": "0",
    "leverage": "15",
    "maxInvestRate": "0.75",
    "stopProfitRate": "0",
    "stopLossRate": "0.05",
    "realInvestAmount": "300",
    "followAmountMode": 0,
    "stopLossDelay": 10,
    "isolatedReservedAmount": "0",
    "followMarginType": 1,
    "followSymbolIds": "all",
    "zeroSlippageSwitch": False,
}


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def sign(message: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes
    allow: str | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> int:
        return int(self.json["code"])


class Clock:
    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Sim:
    """An app plus a raw in-process ASGI driver."""

    def __init__(self, seed: Any = None, **options: Any) -> None:
        options.setdefault("admin", True)
        options.setdefault("validate_responses", True)
        self.clock = Clock()
        self.app = create_app(seed=seed, options=SimOptions(**options), clock=self.clock)
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        self.loop.close()
        self.app.sim.close()

    def raw(
        self,
        method: str,
        path: str,
        query: bytes = b"",
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> Resp:
        return self.loop.run_until_complete(self._call(method, path, query, body, headers or []))

    async def _call(
        self, method: str, path: str, query: bytes, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> Resp:
        headers = [(k.lower(), v) for k, v in headers]
        if body and not any(k in (b"content-length", b"transfer-encoding") for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))  # as a server sees it
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
        }
        sent: list[dict[str, Any]] = []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = sent[0]
        assert start["type"] == "http.response.start"
        response_headers: dict[str, str] = {}
        for k, v in start["headers"]:
            response_headers[k.decode().lower()] = v.decode("latin-1")
        payload = b"".join(m.get("body", b"") for m in sent[1:])
        return Resp(start["status"], response_headers, payload, response_headers.get("allow"))

    def signed(
        self,
        method: str,
        path: str,
        params: str = "",
        body: bytes | dict[str, Any] = b"",
        *,
        key: str = DEMO_KEY,
        secret: bytes = SECRET,
        timestamp: int | None = None,
        recv_window: int | None = 5000,
        content_type: bytes | None = b"application/json",
    ) -> Resp:
        """A correctly signed request: params, recvWindow, timestamp, then the signature;
        a PUT or POST declares its JSON body (content_type=None leaves the header out)."""
        if isinstance(body, dict):
            body = compact(body)
        parts = [params] if params else []
        if recv_window is not None:
            parts.append(f"recvWindow={recv_window}")
        parts.append(f"timestamp={self.clock.now if timestamp is None else timestamp}")
        query = "&".join(parts)
        signature = sign(query.encode() + body, secret)
        headers = [(b"x-bb-apikey", key.encode())]
        if method in ("PUT", "POST") and content_type is not None:
            headers.append((b"content-type", content_type))
        return self.raw(method, path, f"{query}&signature={signature}".encode(), body, headers)

    def state(self) -> str:
        resp = self.raw("GET", "/_sim/state")
        assert resp.status == 200
        return str(resp.json["digest"])

    def dump(self) -> dict[str, Any]:
        return dict(self.raw("GET", "/_sim/state").json["state"])


def envelope_ok(resp: Resp) -> Any:
    assert resp.status == 200, (resp.status, resp.body)
    payload = resp.json
    assert payload["code"] == 200 and payload["msg"] == "success", payload
    return payload["data"]


def assert_error(resp: Resp, code: int, status: int, msg: str | None = None) -> None:
    payload = resp.json
    assert (resp.status, payload["code"]) == (status, code), (resp.status, payload)
    assert "data" not in payload or payload["data"] is None
    if msg is not None:
        assert payload["msg"] == msg, payload["msg"]


LIMIT_HEADERS = ("x-api-limit-status", "x-api-limit", "x-api-limit-reset-timestamp")
