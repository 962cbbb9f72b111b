"""FollowerClient and AsyncFollowerClient against the in-process fake exchange: every
operation, sync and async, with the exact request it sends and the typed data it returns."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from toobit_follower import (
    AsyncFollowerClient,
    CurrentOrder,
    FollowConfig,
    FollowConfigUpdate,
    FollowerClient,
    FollowerNotFoundError,
    HasOpenPositionsError,
    HistoryOrder,
    HistoryOrdersPage,
    Leader,
    RateLimit,
    RawResponse,
    ToobitError,
    constants,
)
from toobit_follower.signing import sign
from toobit_follower.testing import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    FakeClock,
    MockExchange,
)
from toobit_follower_api.api.follower import get_follow_config as generated_get_follow_config

MODES = ["sync", "async"]
PREFIX = "/api/v2/copy-trading/follower"
T0 = 1717200000.0  # the worked example's timestamp, in seconds

CONFIG_FIELDS: dict[str, Any] = {
    "leader_user_id": DEMO_LEADER_ID,
    "invest_amount": "100",
    "single_place_amount": "10",
    "daily_max_invest_amount": "50",
    "leverage": "20",
    "max_invest_rate": "0.5",
    "stop_profit_rate": "0.1",
    "stop_loss_rate": "0.2",
    "real_invest_amount": "100",
    "follow_amount_mode": 1,
    "stop_loss_delay": 30,
    "isolated_reserved_amount": "5",
    "follow_margin_type": 2,
    "follow_symbol_ids": "BTC-SWAP-USDT,ETH-SWAP-USDT",
    "zero_slippage_switch": True,
}
# The spec's request example, compact, in the spec's field order.
CONFIG_BODY = (
    b'{"leaderUserId":123456789,"investAmount":"100","singlePlaceAmount":"10",'
    b'"dailyMaxInvestAmount":"50","leverage":"20","maxInvestRate":"0.5","stopProfitRate":"0.1",'
    b'"stopLossRate":"0.2","realInvestAmount":"100","followAmountMode":1,"stopLossDelay":30,'
    b'"isolatedReservedAmount":"5","followMarginType":2,'
    b'"followSymbolIds":"BTC-SWAP-USDT,ETH-SWAP-USDT","zeroSlippageSwitch":true}'
)


class Env:
    """A client of either kind wired to a fake exchange and a fake clock."""

    def __init__(self, mode: str, fake: MockExchange | None = None, **kwargs: Any) -> None:
        self.clock = FakeClock(T0)
        self.fake = fake or MockExchange(history_rows=25)
        self.fake.clock = self.clock.time
        cls = FollowerClient if mode == "sync" else AsyncFollowerClient
        sleep = self.clock.sleep if mode == "sync" else self.clock.async_sleep
        self.client: Any = cls(
            DEMO_API_KEY,
            DEMO_API_SECRET,
            base_url="https://fake.test",
            transport=self.fake.transport(),
            sleep=sleep,
            clock=self.clock.time,
            **kwargs,
        )

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await resolve(getattr(self.client, name)(*args, **kwargs))

    async def raw(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await resolve(getattr(self.client.with_raw_response, name)(*args, **kwargs))

    @property
    def last(self) -> httpx.Request:
        return self.fake.requests[-1]


async def resolve(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    return result


async def collect(iterator: Iterator[Any] | AsyncIterator[Any]) -> list[Any]:
    if isinstance(iterator, AsyncIterator):
        return [item async for item in iterator]
    return list(iterator)


def assert_signed(request: httpx.Request) -> None:
    """signature is last and signs the query before it plus the exact body sent."""
    query = request.url.query
    signed, _, signature = query.rpartition(b"&signature=")
    assert b"signature=" not in signed
    assert signature.decode() == sign(DEMO_API_SECRET, signed + request.content)
    assert request.headers["X-BB-APIKEY"] == DEMO_API_KEY


# ---- every operation, sync and async -----------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_server_time_is_unsigned(mode: str) -> None:
    env = Env(mode)
    assert await env.call("server_time") == 1717200000000
    assert env.last.url.path == "/api/v1/time"
    assert env.last.url.query == b""


@pytest.mark.parametrize("mode", MODES)
async def test_sync_time_measures_the_offset(mode: str) -> None:
    env = Env(mode, MockExchange(server_offset_ms=-7000))
    assert await env.call("sync_time") == -7000
    assert env.client.clock_offset_ms == -7000
    await env.call("list_leaders")
    assert env.last.url.params["timestamp"] == str(1717200000000 - 7000)


@pytest.mark.parametrize("mode", MODES)
async def test_list_current_orders(mode: str) -> None:
    env = Env(mode)
    orders = await env.call("list_current_orders")
    assert [type(order) for order in orders] == [CurrentOrder]
    order = orders[0]
    assert order.mark_price == Decimal("7121.97")
    assert order.margin == Decimal("3.3854")
    assert order.liquidation_price == ""
    assert order.is_long == 1
    request = env.last
    assert (request.method, request.url.path) == ("GET", f"{PREFIX}/orders/current")
    assert request.url.query.startswith(b"recvWindow=5000&timestamp=1717200000000&signature=")
    assert request.content == b""
    assert_signed(request)


@pytest.mark.parametrize("mode", MODES)
async def test_list_history_orders(mode: str) -> None:
    env = Env(mode)
    page = await env.call("list_history_orders", page=2, size=10)
    assert isinstance(page, HistoryOrdersPage)
    assert (page.pages, page.total, len(page.list_)) == ("3", "25", 10)
    assert page.list_[0].realized_profit == Decimal("5.10")
    assert str(page.list_[0].close_avg_price) == "7100.10"
    assert env.last.url.query.startswith(b"page=2&size=10&recvWindow=5000&timestamp=")
    assert_signed(env.last)
    default = await env.call("list_history_orders")
    assert len(default.list_) == 10
    assert env.last.url.params["page"] == "1"


@pytest.mark.parametrize("mode", MODES)
async def test_iter_history_orders_walks_every_page(mode: str) -> None:
    env = Env(mode)
    rows = await collect(env.client.iter_history_orders(size=10))
    assert len(rows) == 25
    assert all(isinstance(row, HistoryOrder) for row in rows)
    assert [row.open_time_ms for row in rows] == [str(1717200000000 + n * 1000) for n in range(25)]
    pages = [r.url.params["page"] for r in env.fake.requests]
    assert pages == ["1", "2", "3"]
    assert {r.url.params["size"] for r in env.fake.requests} == {"10"}


@pytest.mark.parametrize("mode", MODES)
async def test_iter_history_orders_default_size_and_empty(mode: str) -> None:
    env = Env(mode, MockExchange(history_rows=0))
    assert await collect(env.client.iter_history_orders()) == []
    assert len(env.fake.requests) == 1
    assert env.last.url.params["size"] == "100"


@pytest.mark.parametrize("mode", MODES)
async def test_get_follow_config(mode: str) -> None:
    env = Env(mode)
    config = await env.call("get_follow_config", DEMO_LEADER_ID)
    assert isinstance(config, FollowConfig)
    assert config.invest_amount == Decimal("100")
    assert config.max_invest_rate == Decimal("0.5")
    assert config.follow_symbol_ids == "BTC-SWAP-USDT,ETH-SWAP-USDT"
    assert env.last.url.query.startswith(b"leaderUserId=123456789&recvWindow=5000&timestamp=")
    assert_signed(env.last)


@pytest.mark.parametrize("mode", MODES)
async def test_update_follow_config_with_keyword_fields(mode: str) -> None:
    env = Env(mode)
    assert await env.call("update_follow_config", **CONFIG_FIELDS) is None
    request = env.last
    assert (request.method, request.url.path) == ("PUT", f"{PREFIX}/config")
    assert request.content == CONFIG_BODY
    assert request.headers["Content-Type"] == "application/json"
    assert request.url.query.startswith(b"recvWindow=5000&timestamp=1717200000000&signature=")
    assert_signed(request)


@pytest.mark.parametrize("mode", MODES)
async def test_update_follow_config_with_a_model_and_overrides(mode: str) -> None:
    env = Env(mode)
    model = FollowConfigUpdate(**CONFIG_FIELDS)
    await env.call("update_follow_config", model)
    assert env.last.content == CONFIG_BODY
    await env.call("update_follow_config", model, leverage=Decimal("25.50"), stop_loss_delay=0)
    body = env.last.content
    assert b'"leverage":"25.50"' in body
    assert b'"stopLossDelay":0' in body
    stored = await env.call("get_follow_config", DEMO_LEADER_ID)
    assert stored.leverage == Decimal("25.50")
    assert str(stored.leverage) == "25.50"


@pytest.mark.parametrize("mode", MODES)
async def test_update_stop_profit_loss_is_the_worked_example(mode: str) -> None:
    env = Env(mode)
    result = await env.call(
        "update_stop_profit_loss",
        DEMO_LEADER_ID,
        "BTC-SWAP-USDT",
        True,
        stop_profit_rate="0.1",
        stop_loss_rate=Decimal("0.2"),
        stop_loss_delay=30,
    )
    assert result is None
    request = env.last
    # openapi.yaml, "Signing", worked example: byte for byte
    assert str(request.url) == (
        "https://fake.test/api/v2/copy-trading/follower/positions/stop-profit-loss"
        "?recvWindow=5000&timestamp=1717200000000"
        "&signature=13b95ea365da7ccdd64321878b741e02803cbc43073371f8fac0d8ef207e4d95"
    )
    assert request.content == (
        b'{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1,'
        b'"stopProfitRate":"0.1","stopLossRate":"0.2","stopLossDelay":30}'
    )
    assert env.fake.positions[0]["stopProfitRate"] == "0.1"


@pytest.mark.parametrize("mode", MODES)
async def test_update_stop_profit_loss_leaves_out_none(mode: str) -> None:
    env = Env(mode)
    await env.call(
        "update_stop_profit_loss", DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, stop_loss_rate="0"
    )
    assert env.last.content == (
        b'{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1,"stopLossRate":"0"}'
    )


@pytest.mark.parametrize("mode", MODES)
async def test_list_leaders(mode: str) -> None:
    env = Env(mode)
    leaders = await env.call("list_leaders")
    assert [type(leader) for leader in leaders] == [Leader]
    assert leaders[0].unrealised_pnl == Decimal("-0.03")
    assert leaders[0].leader_user_id == "123456789"
    assert_signed(env.last)


@pytest.mark.parametrize("mode", MODES)
async def test_cancel_leader(mode: str) -> None:
    env = Env(mode)
    with pytest.raises(HasOpenPositionsError):
        await env.call("cancel_leader", DEMO_LEADER_ID)
    env.fake.positions.clear()
    assert await env.call("cancel_leader", DEMO_LEADER_ID) is None
    request = env.last
    assert (request.method, request.url.path) == ("DELETE", f"{PREFIX}/leaders/123456789")
    assert request.content == b""
    assert_signed(request)
    assert env.fake.leaders == {}
    with pytest.raises(FollowerNotFoundError):  # follows nobody now
        await env.call("list_leaders")


# ---- money ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("0.00000001", "0.00000001"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("10.50"), "10.50"),
        ("10.50", "10.50"),
        (Decimal("100"), "100"),
        (Decimal("1.0E+2"), "100"),
        (7, "7"),
        ("123456789012.12345678", "123456789012.12345678"),
    ],
)
async def test_decimals_travel_as_exact_plain_strings(given: Any, sent: str) -> None:
    env = Env("sync")
    await env.call("update_follow_config", **{**CONFIG_FIELDS, "invest_amount": given})
    assert f'"investAmount":"{sent}"'.encode() in env.last.content
    stored = await env.call("get_follow_config", DEMO_LEADER_ID)
    assert stored.invest_amount == Decimal(sent)
    assert format(stored.invest_amount, "f") == sent


def test_response_decimals_keep_their_digits() -> None:
    env = Env("sync")
    env.fake.positions[0]["margin"] = "3.38540000"
    env.fake.positions[0]["unrealizedProfit"] = "-0.00000001"
    order = env.client.list_current_orders()[0]
    assert str(order.margin) == "3.38540000"
    assert format(order.unrealized_profit, "f") == "-0.00000001"


@pytest.mark.parametrize("mode", MODES)
async def test_float_money_is_refused_before_sending(mode: str) -> None:
    env = Env(mode)
    with pytest.raises(TypeError, match="float"):
        await env.call("update_follow_config", **{**CONFIG_FIELDS, "leverage": 20.0})
    with pytest.raises(TypeError, match="float"):
        await env.call("update_stop_profit_loss", 1, "BTC-SWAP-USDT", 1, stop_loss_rate=0.1)
    assert env.fake.requests == []


@pytest.mark.parametrize(
    "override",
    [
        {"invest_amount": "0.000000001"},  # nine decimal places
        {"max_invest_rate": "1.5"},
        {"leader_user_id": 0},
        {"follow_margin_type": 3},
        {"unknown_field": 1},
    ],
)
def test_invalid_update_is_refused_before_sending(override: dict[str, Any]) -> None:
    env = Env("sync")
    with pytest.raises(ValidationError):
        env.client.update_follow_config(**{**CONFIG_FIELDS, **override})
    assert env.fake.requests == []


def test_missing_update_fields_are_refused() -> None:
    env = Env("sync")
    with pytest.raises(ValidationError, match=r"real_invest_amount|realInvestAmount"):
        env.client.update_follow_config(leader_user_id=1, invest_amount="1")
    assert env.fake.requests == []


# ---- raw access and state ----------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_with_raw_response(mode: str) -> None:
    env = Env(mode)
    raw = await env.raw("get_follow_config", DEMO_LEADER_ID)
    assert isinstance(raw, RawResponse)
    parsed, response = raw
    assert isinstance(parsed, FollowConfig)
    assert isinstance(response, httpx.Response)
    assert response.headers["X-Api-Limit"] == "3000"
    assert response.json()["data"]["leaderUserId"] == "123456789"
    assert (await env.raw("server_time")).parsed == 1717200000000
    assert len((await env.raw("list_current_orders")).parsed) == 1
    assert len((await env.raw("list_history_orders", 1, 5)).parsed.list_) == 5
    assert len((await env.raw("list_leaders")).parsed) == 1
    assert (await env.raw("update_follow_config", **CONFIG_FIELDS)).parsed is None
    stop = await env.raw("update_stop_profit_loss", DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, "0.3")
    assert stop.parsed is None and stop.http_response.status_code == 200
    env.fake.positions.clear()
    assert (await env.raw("cancel_leader", DEMO_LEADER_ID)).parsed is None


@pytest.mark.parametrize("mode", MODES)
async def test_last_response_and_rate_limit(mode: str) -> None:
    env = Env(mode)
    assert env.client.last_response is None
    assert env.client.rate_limit == RateLimit(None, None, None)
    await env.call("list_leaders")
    assert env.client.last_response is not None
    assert env.client.last_response.request.url.path == f"{PREFIX}/leaders"
    assert env.client.rate_limit == RateLimit(2999, 3000, 1717200000000)


def test_rate_limit_is_the_last_seen() -> None:
    env = Env("sync")
    env.client.list_leaders()
    env.fake.script(httpx.Response(200, json={"serverTime": 5}))  # no limit headers
    env.client.server_time()
    assert env.client.rate_limit.limit == 3000


def test_sync_context_manager_closes() -> None:
    env = Env("sync")
    with env.client as client:
        client.list_leaders()
    assert env.client.generated.get_httpx_client().is_closed


async def test_async_context_manager_closes() -> None:
    env = Env("async")
    async with env.client as client:
        await client.list_leaders()
    assert env.client.generated.get_async_httpx_client().is_closed


async def test_async_client_against_an_asgi_app() -> None:
    fake = MockExchange()
    fake.clock = lambda: T0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = f"http://asgi{scope['path']}?{scope['query_string'].decode()}"
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        answer = fake.handle(httpx.Request(scope["method"], url, headers=headers, content=body))
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer.content})

    async with AsyncFollowerClient(
        DEMO_API_KEY,
        DEMO_API_SECRET,
        base_url="http://asgi",
        transport=httpx.ASGITransport(app=app),
        clock=lambda: T0,
    ) as client:
        assert (await client.get_follow_config(DEMO_LEADER_ID)).leverage == Decimal("20")
        await client.update_stop_profit_loss(DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, "0.15")
    assert fake.positions[0]["stopProfitRate"] == "0.15"


# ---- configuration -------------------------------------------------------------------------
def test_credentials_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("TOOBIT_API_SECRET", DEMO_API_SECRET)
    monkeypatch.setenv("TOOBIT_BASE_URL", "http://127.0.0.1:9/")
    fake = MockExchange()
    with FollowerClient(transport=fake.transport()) as client:
        assert client.base_url == "http://127.0.0.1:9"
        client.list_leaders()
    assert str(fake.requests[0].url).startswith("http://127.0.0.1:9/api/v2/")
    monkeypatch.delenv("TOOBIT_BASE_URL")
    assert FollowerClient().base_url == constants.DEFAULT_BASE_URL == "https://api.toobit.com"


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOBIT_API_KEY", raising=False)
    monkeypatch.delenv("TOOBIT_API_SECRET", raising=False)
    with pytest.raises(ToobitError, match="TOOBIT_API_KEY"):
        FollowerClient()
    with pytest.raises(ToobitError, match="TOOBIT_API_SECRET"):
        AsyncFollowerClient(api_key=DEMO_API_KEY)


def test_recv_window_is_validated_and_used() -> None:
    with pytest.raises(ValueError, match="recv_window"):
        FollowerClient(DEMO_API_KEY, DEMO_API_SECRET, recv_window=60001)
    env = Env("sync", recv_window=60000)
    env.client.list_leaders()
    assert env.last.url.params["recvWindow"] == "60000"
    assert env.client.recv_window == 60000


def test_query_only_signing_option() -> None:
    env = Env("sync", MockExchange(body_signing="query-only"), body_signing="query-only")  # type: ignore[arg-type]
    env.client.update_stop_profit_loss(DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, "0.1")
    query = env.last.url.query
    signed, _, signature = query.rpartition(b"&signature=")
    assert signature.decode() == sign(DEMO_API_SECRET, signed)
    mismatched = Env("sync", MockExchange(), body_signing="query-only")
    with pytest.raises(ToobitError, match="-1022"):
        mismatched.client.update_stop_profit_loss(DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, "0.1")


def test_generated_client_is_exposed_and_signs() -> None:
    env = Env("sync")
    response = generated_get_follow_config.sync_detailed(
        client=env.client.generated, leader_user_id=DEMO_LEADER_ID
    )
    assert response.status_code == 200
    assert_signed(env.last)
    assert env.last.url.params.get_list("recvWindow") == ["5000"]


def test_repr_shows_no_secret() -> None:
    env = Env("sync")
    for text in (repr(env.client), repr(env.client.auth), repr(env.client.generated)):
        assert DEMO_API_SECRET not in text
    assert "SRQG...OtSq" in repr(env.client)


@pytest.mark.parametrize("mode", MODES)
async def test_leader_ids_from_responses_can_be_passed_back(mode: str) -> None:
    env = Env(mode)
    leader = (await env.call("list_leaders"))[0]
    assert isinstance(leader.leader_user_id, str)
    config = await env.call("get_follow_config", leader.leader_user_id)
    assert config.leader_user_id == leader.leader_user_id
    assert env.last.url.params["leaderUserId"] == "123456789"
    position = (await env.call("list_current_orders"))[0]
    await env.call(
        "update_stop_profit_loss",
        position.leader_user_id,
        position.symbol_id,
        position.is_long,
        stop_loss_rate="0.05",
    )
    assert env.last.content.startswith(b'{"leaderUserId":123456789,')
    await env.call("update_follow_config", **{**CONFIG_FIELDS, "leader_user_id": "123456789"})
    assert env.last.content == CONFIG_BODY
    env.fake.positions.clear()
    await env.call("cancel_leader", leader.leader_user_id)
    assert env.last.url.path.endswith("/leaders/123456789")


@pytest.mark.parametrize("bad", ["12a", "", "-5", True, 1.0])
def test_bad_leader_ids_are_refused_before_sending(bad: Any) -> None:
    env = Env("sync")
    with pytest.raises((TypeError, ValueError)):
        env.client.get_follow_config(bad)
    with pytest.raises((TypeError, ValueError)):
        env.client.cancel_leader(bad)
    assert env.fake.requests == []


GENERATED_MODULES = [
    "get_server_time",
    "list_current_orders",
    "list_history_orders",
    "get_follow_config",
    "update_follow_config",
    "update_stop_profit_loss",
    "list_leaders",
    "cancel_leader",
]


@pytest.mark.parametrize("mode", MODES)
async def test_requests_are_built_by_the_generated_modules(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request comes from the generated ``_get_kwargs``; the generated
    ``_parse_response`` (attrs models, double parsing, raises on HTML) is never used."""
    import importlib

    built: list[str] = []
    for name in GENERATED_MODULES:
        module = importlib.import_module(f"toobit_follower_api.api.follower.{name}")

        def spy(*args: Any, _name: str = name, _real: Any = module._get_kwargs, **kw: Any) -> Any:
            built.append(_name)
            return _real(*args, **kw)

        def never(*args: Any, _name: str = name, **kw: Any) -> Any:
            raise AssertionError(f"{_name}._parse_response was called")

        monkeypatch.setattr(module, "_get_kwargs", spy)
        monkeypatch.setattr(module, "_parse_response", never)
    env = Env(mode)
    await env.call("server_time")
    await env.call("list_current_orders")
    await env.call("list_history_orders")
    await env.call("get_follow_config", DEMO_LEADER_ID)
    await env.call("update_follow_config", **CONFIG_FIELDS)
    await env.call("update_stop_profit_loss", DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, "0.1")
    await env.call("list_leaders")
    env.fake.positions.clear()
    await env.call("cancel_leader", DEMO_LEADER_ID)
    assert built == GENERATED_MODULES


def test_set_cookie_is_never_stored_nor_replayed() -> None:
    """The client keeps no cookie jar: a Set-Cookie from a server (or a gateway) is not
    sent back on the next signed request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            headers={"Set-Cookie": "session=abc; Path=/"},
            json={"serverTime": 1717200000000},
        )

    transport = httpx.MockTransport(handler)
    with FollowerClient("k", "s", base_url="https://api.example", transport=transport) as client:
        client.server_time()
        client.server_time()
    assert len(seen) == 2
    assert "cookie" not in seen[1].headers
