"""Deliberately broken simulators: ASGI middlewares around the real app (test_fuzz_bites.py).

Each fault rewrites one kind of answer of the real simulator, so a test can prove
that the fuzzer reports it, and with which check. The admin routes (/_sim/*) and
the spec (/openapi.yaml) always pass through untouched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from toobit_follower_models.errors import BY_CODE, BY_NAME, ErrorCode
from toobit_follower_models.protocol import API_KEY_HEADER, MAX_RECV_WINDOW, SUCCESS_CODE

from fuzz import keys
from fuzz.signing import sign

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/"
KEY_HEADER = API_KEY_HEADER.lower().encode()  # as an ASGI scope carries it


@dataclass
class Exchange:
    """One request and the real simulator's answer, as a fault sees them."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    status: int
    headers: list[tuple[bytes, bytes]]
    content: bytes
    app: ASGIApp = field(repr=False)

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def code(self) -> Any:
        data = self.json()
        return data.get("code") if isinstance(data, dict) else None

    def reply(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.content = json.dumps(payload, separators=(",", ":")).encode()
        kept = [
            (k, v) for k, v in self.headers if k.lower() not in (b"content-length", b"content-type")
        ]
        kept.append((b"content-type", b"application/json"))
        for name, value in (extra_headers or {}).items():
            kept.append((name.lower().encode(), value.encode()))
        self.headers = kept


Fault = Callable[[Exchange], Awaitable[None]]


class Broken:
    """The real app, with `fault` applied to every /api/* exchange."""

    def __init__(self, app: ASGIApp, fault: Fault, name: str) -> None:
        self.app = app
        self.fault = fault
        self.name = name
        # The admin client reaches the simulator through this wrapper; keep its handle.
        self.sim = getattr(app, "sim", None)

    def __repr__(self) -> str:
        return f"Broken({self.name})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, headers, content = await call(self.app, scope, body)
        exchange = Exchange(
            method=scope["method"],
            path=scope["path"],
            query=parse_qs(
                scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
            ),
            body=body,
            status=status,
            headers=headers,
            content=content,
            app=self.app,
        )
        await self.fault(exchange)
        headers = [(k, v) for k, v in exchange.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(exchange.content)).encode()))
        await send({"type": "http.response.start", "status": exchange.status, "headers": headers})
        await send({"type": "http.response.body", "body": exchange.content})


async def call(
    app: ASGIApp, scope: Scope, body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run one request through `app`, collecting its answer."""
    sent = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


async def signed_call(
    app: ASGIApp, method: str, path: str, payload: Any = None, key: keys.KeyPair | None = None
) -> tuple[int, bytes]:
    """A correctly signed request from inside a fault (a side effect the client never asked for)."""
    pair = key or keys.demo()
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    query = f"recvWindow={MAX_RECV_WINDOW}&timestamp={int(time.time() * 1000)}"
    query += "&signature=" + sign(pair.secret, query.encode() + body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (KEY_HEADER, pair.api_key.encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    status, _, content = await call(app, scope, body)
    return status, content


# --- the faults ---------------------------------------------------------------------------
HISTORY = "/api/v2/copy-trading/follower/orders/history"
CONFIG = "/api/v2/copy-trading/follower/config"
LEADERS = "/api/v2/copy-trading/follower/leaders"
STOP_PROFIT_LOSS = "/api/v2/copy-trading/follower/positions/stop-profit-loss"
LEADER_CONFIG = "/api/v2/copy-trading/leader/config"
# The page's Update Leader Config example (openapi.yaml), which the seed's demo leader
# accepts, with another trade protection value: a change to the leader's stored config.
LEADER_CONFIG_CHANGE = {
    "unLeadType": 1,
    "unLeadStartTime": 1717200000000,
    "unLeadEndTime": 1717286400000,
    "leadPositionType": 0,
    "tradeProtect": 5,
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
}
SUCCESS = {"code": SUCCESS_CODE, "msg": "success", "data": None}
UNDOCUMENTED_CODE = min(BY_CODE) - 1  # below every code of the spec's table
MALFORMED = (ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, ErrorCode.INVALID_PARAMETER)


def error(code: ErrorCode, **fields: str) -> tuple[int, dict[str, Any]]:
    """The HTTP status and envelope the spec's error table gives `code`."""
    row = BY_NAME[code.name]
    return row.http_status, {"code": row.code, "msg": row.format_message(**fields)}


async def server_error_on_full_page(ex: Exchange) -> None:
    """HTTP 500 for one input: the history page of the largest size (size=100)."""
    if ex.path == HISTORY and ex.query.get("size") == ["100"]:
        ex.reply(*error(ErrorCode.UNKNOWN))


async def undocumented_code(ex: Exchange) -> None:
    """ "No follow relation" answered with a code the spec does not list."""
    if ex.path == CONFIG and ex.method == "GET" and ex.code == ErrorCode.FOLLOWER_NOT_FOUND:
        status, body = error(ErrorCode.FOLLOWER_NOT_FOUND)
        ex.reply(status, {**body, "code": UNDOCUMENTED_CODE})


async def status_mismatch(ex: Exchange) -> None:
    """ "No follow relation" sent with HTTP 401 (the spec's table gives it another status)."""
    if ex.path == CONFIG and ex.method == "GET" and ex.code == ErrorCode.FOLLOWER_NOT_FOUND:
        ex.status = 401


async def missing_field(ex: Exchange) -> None:
    """`netProfit` dropped from every leader of the leaders list."""
    data = ex.json()
    if (
        ex.path == LEADERS
        and ex.method == "GET"
        and isinstance(data, dict)
        and data.get("code") == SUCCESS_CODE
    ):
        for leader in data.get("data") or []:
            leader.pop("netProfit", None)
        ex.reply(ex.status, data)


async def accepts_invalid(ex: Exchange) -> None:
    """A take-profit/stop-loss update rejected as malformed is answered as a success."""
    if ex.path == STOP_PROFIT_LOSS and ex.code in MALFORMED:
        ex.reply(200, SUCCESS)


async def rejects_valid(ex: Exchange) -> None:
    """The leaders list refused as invalid although nothing in the request is wrong."""
    if ex.path == LEADERS and ex.method == "GET" and ex.code == SUCCESS["code"]:
        ex.reply(*error(ErrorCode.INVALID_PARAMETER, name="recvWindow"))


async def write_then_error(ex: Exchange) -> None:
    """A rejected follow-config update that changed the stored config anyway."""
    if ex.path == CONFIG and ex.method == "PUT" and ex.code not in (None, SUCCESS["code"]):
        await signed_call(
            ex.app,
            "PUT",
            STOP_PROFIT_LOSS,
            {
                "leaderUserId": 123456789,
                "symbolId": "BTC-SWAP-USDT",
                "isLong": 1,
                "stopProfitRate": "0.37",
            },
        )


async def leader_undocumented_code(ex: Exchange) -> None:
    """The leader config query answered with a code the spec does not list."""
    if ex.path == LEADER_CONFIG and ex.method == "GET" and ex.code == SUCCESS["code"]:
        status, body = error(ErrorCode.LEADER_NOT_AVAILABLE)
        ex.reply(status, {**body, "code": UNDOCUMENTED_CODE})


async def leader_write_then_error(ex: Exchange) -> None:
    """A rejected leader config update that changed the leader's stored config anyway."""
    if ex.path == LEADER_CONFIG and ex.method == "PUT" and ex.code not in (None, SUCCESS["code"]):
        await signed_call(ex.app, "PUT", LEADER_CONFIG, LEADER_CONFIG_CHANGE, keys.leader())


async def read_only_write_accepted(ex: Exchange) -> None:
    """A write with the read-only key answered as a success."""
    if ex.code == ErrorCode.NOT_SUPPORTED:
        ex.reply(200, SUCCESS)


async def leaks_secret(ex: Exchange) -> None:
    """The demo secret echoed in a response header of the leaders list."""
    if ex.path == LEADERS:
        ex.headers.append((b"x-debug-secret", keys.DEMO_SECRET.encode()))


FAULTS: dict[str, Fault] = {
    "server_error_on_full_page": server_error_on_full_page,
    "undocumented_code": undocumented_code,
    "status_mismatch": status_mismatch,
    "missing_field": missing_field,
    "accepts_invalid": accepts_invalid,
    "rejects_valid": rejects_valid,
    "write_then_error": write_then_error,
    "leader_undocumented_code": leader_undocumented_code,
    "leader_write_then_error": leader_write_then_error,
    "read_only_write_accepted": read_only_write_accepted,
    "leaks_secret": leaks_secret,
}


def broken(app: ASGIApp, fault: str) -> Broken:
    return Broken(app, FAULTS[fault], fault)
