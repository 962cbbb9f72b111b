"""FollowerClient and AsyncFollowerClient against the simulator behind an httpx transport
(toobit_follower_sim.testing): every operation, sync and async, with the exact request
it sends and the typed data it returns. Request bodies come from the spec's examples and
the generated models, so an added field needs no edit here."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pydantic
import pytest
from pydantic import ValidationError
from test_sim_support import K7, NO_RELATION_KEY, SECOND_KEY
from toobit_follower import (
    AsyncFollowerClient,
    AuthenticationError,
    CurrentOrder,
    ErrorCode,
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
from toobit_follower._operations import request_body
from toobit_follower.signing import sign
from toobit_follower.spec import spec_dict
from toobit_follower_sim.testing import (
    BASE_URL,
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_LEADER_ID,
    SimExchange,
    default_seed,
)

MODES = ["sync", "async"]
PREFIX = "/api/v2/copy-trading/follower"
NOW_MS = 1717200000000  # the fake clock's start: the worked example's timestamp

SPEC = spec_dict()
CONFIG_EXAMPLE: dict[str, Any] = SPEC["paths"][f"{PREFIX}/config"]["put"]["requestBody"]["content"][
    "application/json"
]["examples"]["followConfig"]["value"]
# The spec's request example as keyword fields (Python names), whatever fields it has.
CONFIG_FIELDS: dict[str, Any] = FollowConfigUpdate.model_validate(CONFIG_EXAMPLE).model_dump(
    exclude_none=True
)
REQUIRED_CONFIG_FIELDS = {
    name: value
    for name, value in CONFIG_FIELDS.items()
    if FollowConfigUpdate.model_fields[name].is_required()
}


class Env:
    """A client of either kind wired to a simulator and its fake clock."""

    def __init__(
        self,
        mode: str,
        exchange: SimExchange | None = None,
        key: str = DEMO_API_KEY,
        **kwargs: Any,
    ) -> None:
        self.exchange = exchange or SimExchange(default_seed(history_rows=25))
        clock = self.exchange.clock
        self.client: Any
        if mode == "sync":
            self.client = FollowerClient(
                key,
                DEMO_API_SECRET,
                base_url=BASE_URL,
                transport=self.exchange.transport(),
                sleep=clock.sleep,
                clock=clock.time,
                **kwargs,
            )
        else:
            self.client = AsyncFollowerClient(
                key,
                DEMO_API_SECRET,
                base_url=BASE_URL,
                transport=self.exchange.async_transport(),
                sleep=clock.async_sleep,
                clock=clock.time,
                **kwargs,
            )

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await resolve(getattr(self.client, name)(*args, **kwargs))

    async def raw(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await resolve(getattr(self.client.with_raw_response, name)(*args, **kwargs))

    @property
    def requests(self) -> list[httpx.Request]:
        return self.exchange.requests

    @property
    def last(self) -> httpx.Request:
        return self.exchange.requests[-1]


async def resolve(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    return result


async def collect(iterator: Iterator[Any] | AsyncIterator[Any]) -> list[Any]:
    if isinstance(iterator, AsyncIterator):
        return [item async for item in iterator]
    return list(iterator)


def assert_signed(request: httpx.Request, key: str = DEMO_API_KEY) -> None:
    """signature is last and signs the query before it plus the exact body sent."""
    query = request.url.query
    signed, _, signature = query.rpartition(b"&signature=")
    assert b"signature=" not in signed
    assert signature.decode() == sign(DEMO_API_SECRET, signed + request.content)
    assert request.headers["X-BB-APIKEY"] == key


def assert_compact_json(content: bytes, expected: dict[str, Any]) -> None:
    assert json.loads(content) == expected
    assert content == json.dumps(json.loads(content), separators=(",", ":")).encode()


# ---- every operation, sync and async -----------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_server_time_is_unsigned(mode: str) -> None:
    env = Env(mode)
    assert await env.call("server_time") == NOW_MS
    assert env.last.url.path == "/api/v1/time"
    assert env.last.url.query == b""


@pytest.mark.parametrize("mode", MODES)
async def test_sync_time_measures_the_offset(mode: str) -> None:
    env = Env(mode, SimExchange(server_offset_ms=-7000))
    assert await env.call("sync_time") == -7000
    assert env.client.clock_offset_ms == -7000
    await env.call("list_leaders")
    assert env.last.url.params["timestamp"] == str(NOW_MS - 7000)


@pytest.mark.parametrize("mode", MODES)
async def test_list_current_orders(mode: str) -> None:
    env = Env(mode)
    orders = await env.call("list_current_orders")
    assert [type(order) for order in orders] == [CurrentOrder]
    order = orders[0]
    assert order.mark_price == Decimal("7121.97")
    assert order.margin == Decimal("3.3854")
    assert order.liquidation_price is None  # "": not set (spec 2.0.0)
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
    assert (page.pages, page.total, len(page.list_)) == (3, 25, 10)  # int, as typed
    assert all(isinstance(row.realized_profit, Decimal) for row in page.list_)
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
    opened = {int(row.open_time_ms) for row in rows}
    first = min(opened)
    assert opened == {first + n * 1000 for n in range(25)}
    assert [r.url.params["page"] for r in env.requests] == ["1", "2", "3"]
    assert {r.url.params["size"] for r in env.requests} == {"10"}


@pytest.mark.parametrize("mode", MODES)
async def test_iter_history_orders_default_size_and_empty(mode: str) -> None:
    env = Env(mode, SimExchange(default_seed(history_rows=0)))
    assert await collect(env.client.iter_history_orders()) == []
    assert len(env.requests) == 1
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
    assert_compact_json(request.content, CONFIG_EXAMPLE)
    assert request.headers["Content-Type"] == "application/json"
    assert request.url.query.startswith(b"recvWindow=5000&timestamp=1717200000000&signature=")
    assert_signed(request)


@pytest.mark.parametrize("mode", MODES)
async def test_update_follow_config_with_only_the_required_fields(mode: str) -> None:
    env = Env(mode)
    await env.call("update_follow_config", **REQUIRED_CONFIG_FIELDS)
    assert env.last.content == request_body(FollowConfigUpdate(**REQUIRED_CONFIG_FIELDS))
    sent = json.loads(env.last.content)
    for name, field in FollowConfigUpdate.model_fields.items():
        assert ((field.alias or name) in sent) is field.is_required(), name
    stored = await env.call("get_follow_config", DEMO_LEADER_ID)
    for name, value in REQUIRED_CONFIG_FIELDS.items():
        if name in FollowConfig.model_fields:
            assert str(getattr(stored, name)) == str(value), name


@pytest.mark.parametrize("mode", MODES)
async def test_update_follow_config_with_a_model_and_overrides(mode: str) -> None:
    env = Env(mode)
    model = FollowConfigUpdate(**CONFIG_FIELDS)
    await env.call("update_follow_config", model)
    assert_compact_json(env.last.content, CONFIG_EXAMPLE)
    await env.call(
        "update_follow_config", model, stop_profit_rate=Decimal("0.50"), stop_loss_delay=0
    )
    assert json.loads(env.last.content) == {
        **CONFIG_EXAMPLE,
        "stopProfitRate": "0.50",
        "stopLossDelay": 0,
    }
    stored = await env.call("get_follow_config", DEMO_LEADER_ID)
    assert str(stored.stop_profit_rate) == "0.50"
    assert stored.stop_loss_delay == 0


def test_an_optional_request_field_left_unset_is_left_out() -> None:
    # what `make generate` gives for a new optional body field, here as a subclass
    extended = pydantic.create_model(
        "FollowConfigUpdateWithNewField",
        __base__=FollowConfigUpdate,
        new_amount=(Decimal | None, pydantic.Field(None, alias="newAmount")),
    )
    env = Env("sync")
    env.exchange.script(httpx.Response(200, json={"code": 200, "msg": "success", "data": None}))
    env.client.update_follow_config(extended(**CONFIG_FIELDS))
    assert_compact_json(env.last.content, CONFIG_EXAMPLE)
    assert request_body(extended(**CONFIG_FIELDS, new_amount=Decimal("1E-8"))).endswith(
        b',"newAmount":"0.00000001"}'
    )


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
    assert request.url.raw_path == (
        b"/api/v2/copy-trading/follower/positions/stop-profit-loss"
        b"?recvWindow=5000&timestamp=1717200000000"
        b"&signature=13b95ea365da7ccdd64321878b741e02803cbc43073371f8fac0d8ef207e4d95"
    )
    assert request.content == (
        b'{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1,'
        b'"stopProfitRate":"0.1","stopLossRate":"0.2","stopLossDelay":30}'
    )
    position = (await env.call("list_current_orders"))[0]
    assert (str(position.stop_profit_rate), str(position.stop_loss_rate)) == ("0.1", "0.2")


@pytest.mark.parametrize("mode", MODES)
async def test_update_stop_profit_loss_leaves_out_none(mode: str) -> None:
    env = Env(mode)
    await env.call(
        "update_stop_profit_loss",
        DEMO_LEADER_ID,
        "BTC-SWAP-USDT",
        1,
        stop_loss_rate="0.3",
        stop_profit_rate=None,
    )
    assert env.last.content == (
        b'{"leaderUserId":123456789,"symbolId":"BTC-SWAP-USDT","isLong":1,"stopLossRate":"0.3"}'
    )
    position = (await env.call("list_current_orders"))[0]
    assert (position.stop_profit_rate, str(position.stop_loss_rate)) == (None, "0.3")


@pytest.mark.parametrize("mode", MODES)
async def test_list_leaders(mode: str) -> None:
    env = Env(mode)
    leaders = await env.call("list_leaders")
    assert [type(leader) for leader in leaders] == [Leader]
    assert leaders[0].unrealised_pnl == Decimal("-0.03")
    assert leaders[0].leader_user_id == DEMO_LEADER_ID  # an int, whatever the wire form
    assert_signed(env.last)


@pytest.mark.parametrize("mode", MODES)
async def test_cancel_leader(mode: str) -> None:
    env = Env(mode)
    with pytest.raises(HasOpenPositionsError):  # the demo follower holds a position
        await env.call("cancel_leader", DEMO_LEADER_ID)
    second = Env(mode, env.exchange, key=SECOND_KEY)  # follows K7, no positions
    assert await second.call("cancel_leader", K7) is None
    request = second.last
    assert (request.method, request.url.path) == ("DELETE", f"{PREFIX}/leaders/{K7}")
    assert request.content == b""
    assert_signed(request, SECOND_KEY)
    with pytest.raises(FollowerNotFoundError):  # follows nobody now
        await second.call("list_leaders")


# ---- money ---------------------------------------------------------------------------
# (the simulator's business rules bound each field: small amounts go in one, large in another)
@pytest.mark.parametrize(
    ("field", "given", "sent"),
    [
        ("isolated_reserved_amount", "0.00000001", "0.00000001"),
        ("isolated_reserved_amount", Decimal("1E-8"), "0.00000001"),
        ("isolated_reserved_amount", Decimal("10.50"), "10.50"),
        ("isolated_reserved_amount", "10.50", "10.50"),
        ("isolated_reserved_amount", Decimal("-0"), "0"),
        ("isolated_reserved_amount", 7, "7"),
        ("stop_profit_rate", Decimal("100"), "100"),
        ("stop_profit_rate", Decimal("1.0E+2"), "100"),
        ("stop_profit_rate", "123456789012.12345678", "123456789012.12345678"),
    ],
)
async def test_decimals_travel_as_exact_plain_strings(field: str, given: Any, sent: str) -> None:
    env = Env("sync")
    await env.call("update_follow_config", **{**CONFIG_FIELDS, field: given})
    alias = FollowConfigUpdate.model_fields[field].alias
    assert f'"{alias}":"{sent}"'.encode() in env.last.content
    stored = getattr(await env.call("get_follow_config", DEMO_LEADER_ID), field)
    assert stored == Decimal(sent)
    assert format(stored, "f") == sent


def test_response_decimals_keep_their_digits() -> None:
    data = default_seed()
    data["positions"][0].update(margin="3.38540000", unrealizedProfit="-0.00000001")
    env = Env("sync", SimExchange(data))
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
    assert env.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_keywords_are_refused_by_name(mode: str) -> None:
    env = Env(mode)
    with pytest.raises(TypeError, match="'no_such_field'"):
        await env.call("update_follow_config", **CONFIG_FIELDS, no_such_field=1)
    alias = FollowConfigUpdate.model_fields["leader_user_id"].alias
    with pytest.raises(TypeError, match=repr(alias)):  # Python names, not wire names
        await env.call("update_follow_config", **{alias: DEMO_LEADER_ID})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'no_such_field'"):
        await env.call("update_stop_profit_loss", 1, "BTC-SWAP-USDT", 1, no_such_field="1")
    assert env.requests == []


@pytest.mark.parametrize(
    "override",
    [
        {"invest_amount": "0.000000001"},  # nine decimal places
        {"max_invest_rate": "1.5"},
        {"leader_user_id": 0},
        {"follow_margin_type": -1},
    ],
)
def test_invalid_update_is_refused_before_sending(override: dict[str, Any]) -> None:
    env = Env("sync")
    with pytest.raises(ValidationError):
        env.client.update_follow_config(**{**CONFIG_FIELDS, **override})
    assert env.requests == []


def test_missing_update_fields_are_refused() -> None:
    env = Env("sync")
    given = {"leader_user_id": 1}
    with pytest.raises(ValidationError) as caught:
        env.client.update_follow_config(**given)
    missing = {str(error["loc"][0]) for error in caught.value.errors()}
    required = {
        field.alias or name
        for name, field in FollowConfigUpdate.model_fields.items()
        if field.is_required() and name not in given
    }
    assert missing == required
    assert env.requests == []


# ---- raw access and state ----------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_with_raw_response(mode: str) -> None:
    env = Env(mode)
    raw = await env.raw("get_follow_config", DEMO_LEADER_ID)
    assert isinstance(raw, RawResponse)
    parsed, response = raw
    assert isinstance(parsed, FollowConfig)
    assert isinstance(response, httpx.Response)
    assert int(response.headers["X-Api-Limit"]) == env.exchange.sim.options.rate_limit
    assert response.json()["data"]["leaderUserId"] == str(DEMO_LEADER_ID)
    assert (await env.raw("server_time")).parsed == NOW_MS
    assert len((await env.raw("list_current_orders")).parsed) == 1
    assert len((await env.raw("list_history_orders", 1, 5)).parsed.list_) == 5
    assert len((await env.raw("list_leaders")).parsed) == 1
    assert (await env.raw("update_follow_config", **CONFIG_FIELDS)).parsed is None
    stop = await env.raw(
        "update_stop_profit_loss", DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, stop_profit_rate="0.3"
    )
    assert stop.parsed is None and stop.http_response.status_code == 200
    second = Env(mode, env.exchange, key=SECOND_KEY)
    assert (await second.raw("cancel_leader", K7)).parsed is None


@pytest.mark.parametrize("mode", MODES)
async def test_last_response_and_rate_limit(mode: str) -> None:
    env = Env(mode)
    assert env.client.last_response is None
    assert env.client.rate_limit == RateLimit(None, None, None)
    await env.call("list_leaders")
    assert env.client.last_response is not None
    assert env.client.last_response.request.url.path == f"{PREFIX}/leaders"
    limit = env.client.rate_limit
    assert limit.limit == env.exchange.sim.options.rate_limit
    assert limit.remaining is not None and 0 < limit.remaining < limit.limit
    assert limit.reset_timestamp_ms is not None and limit.reset_timestamp_ms >= NOW_MS


def test_rate_limit_is_the_last_seen() -> None:
    env = Env("sync")
    env.client.list_leaders()
    seen = env.client.rate_limit
    env.exchange.script(httpx.Response(200, json={"serverTime": 5}))  # no limit headers
    assert env.client.server_time() == 5
    assert env.client.rate_limit == seen


def test_sync_context_manager_closes() -> None:
    env = Env("sync")
    with env.client as client:
        client.list_leaders()
    assert env.client.http_client.is_closed


async def test_async_context_manager_closes() -> None:
    env = Env("async")
    async with env.client as client:
        await client.list_leaders()
    assert env.client.http_client.is_closed


# ---- configuration -------------------------------------------------------------------------
def test_credentials_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOBIT_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("TOOBIT_API_SECRET", DEMO_API_SECRET)
    monkeypatch.setenv("TOOBIT_BASE_URL", "http://127.0.0.1:9/")
    exchange = SimExchange()
    with FollowerClient(transport=exchange.transport(), clock=exchange.clock.time) as client:
        assert client.base_url == "http://127.0.0.1:9"
        client.list_leaders()
    assert str(exchange.requests[0].url).startswith("http://127.0.0.1:9/api/v2/")
    monkeypatch.delenv("TOOBIT_BASE_URL")
    assert FollowerClient().base_url == constants.DEFAULT_BASE_URL == "https://api.toobit.com"


def test_constants_is_an_importable_module() -> None:
    # README: "numbers in `toobit_follower.constants`"
    code = (
        "import toobit_follower.constants as c, toobit_follower._base_client as core;"
        "assert c.DEFAULT_MAX_RETRIES == 2 and c.API_KEY_HEADER == 'X-BB-APIKEY';"
        "print(core.C is c)"  # the numbers the client uses are these
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


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
    env = Env("sync", body_signing="query-only")
    # the simulator follows Basic Information (query + body), so it refuses the variant
    with pytest.raises(AuthenticationError) as caught:
        env.client.update_stop_profit_loss(
            DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, stop_profit_rate="0.1"
        )
    assert caught.value.code == ErrorCode.INVALID_SIGNATURE
    signed, _, signature = env.last.url.query.rpartition(b"&signature=")
    assert signature.decode() == sign(DEMO_API_SECRET, signed)
    env.client.list_leaders()  # no body: both rules sign the same bytes


def test_repr_shows_no_secret() -> None:
    env = Env("sync")
    for text in (repr(env.client), repr(env.client.auth), repr(env.client.http_client)):
        assert DEMO_API_SECRET not in text
    assert f"{DEMO_API_KEY[:4]}...{DEMO_API_KEY[-4:]}" in repr(env.client)


@pytest.mark.parametrize("mode", MODES)
async def test_leader_ids_from_responses_can_be_passed_back(mode: str) -> None:
    env = Env(mode)
    leader = (await env.call("list_leaders"))[0]
    assert isinstance(leader.leader_user_id, int)
    config = await env.call("get_follow_config", leader.leader_user_id)
    assert config.leader_user_id == leader.leader_user_id
    assert env.last.url.params["leaderUserId"] == str(DEMO_LEADER_ID)
    position = (await env.call("list_current_orders"))[0]
    await env.call(
        "update_stop_profit_loss",
        position.leader_user_id,
        position.symbol_id,
        position.is_long,
        stop_loss_rate="0.05",
    )
    assert env.last.content.startswith(f'{{"leaderUserId":{DEMO_LEADER_ID},'.encode())
    await env.call(
        "update_follow_config", **{**CONFIG_FIELDS, "leader_user_id": leader.leader_user_id}
    )
    assert_compact_json(env.last.content, CONFIG_EXAMPLE)
    nobody = Env(mode, env.exchange, key=NO_RELATION_KEY)
    with pytest.raises(FollowerNotFoundError):
        await nobody.call("cancel_leader", leader.leader_user_id)
    assert nobody.last.url.path.endswith(f"/leaders/{DEMO_LEADER_ID}")


@pytest.mark.parametrize("bad", ["12a", "", "-5", True, 1.0])
def test_bad_leader_ids_are_refused_before_sending(bad: Any) -> None:
    env = Env("sync")
    with pytest.raises((TypeError, ValueError)):
        env.client.get_follow_config(bad)
    with pytest.raises((TypeError, ValueError)):
        env.client.cancel_leader(bad)
    assert env.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_requests_are_built_from_the_operation_table(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every method's request is prepared from its row of the generated operation table
    (method, path, parameters and body models all from the spec), never by hand."""
    import toobit_follower._base_client as client_module
    from toobit_follower_models.operations import OPERATIONS

    built: list[str] = []
    real = client_module.prepare

    def spy(operation: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(operation.operation_id)
        prepared = real(operation, *args, **kwargs)
        assert (prepared.method, prepared.signed) == (operation.method, operation.signed)
        return prepared

    monkeypatch.setattr(client_module, "prepare", spy)
    env = Env(mode)
    await env.call("server_time")
    await env.call("list_current_orders")
    await env.call("list_history_orders")
    await env.call("get_follow_config", DEMO_LEADER_ID)
    await env.call("update_follow_config", **CONFIG_FIELDS)
    await env.call(
        "update_stop_profit_loss", DEMO_LEADER_ID, "BTC-SWAP-USDT", 1, stop_profit_rate="0.1"
    )
    await env.call("list_leaders")
    await Env(mode, env.exchange, key=SECOND_KEY).call("cancel_leader", K7)
    assert sorted(built) == sorted(op.operation_id for op in OPERATIONS if op.tag == "follower")


def test_set_cookie_is_never_stored_nor_replayed() -> None:
    """The client keeps no cookie jar: a Set-Cookie from a server (or a gateway) is not
    sent back on the next signed request."""
    exchange = SimExchange()
    cookie = {"Set-Cookie": "session=abc; Path=/"}
    exchange.script(httpx.Response(200, headers=cookie, json={"serverTime": NOW_MS}))
    env = Env("sync", exchange)
    env.client.server_time()
    env.client.list_leaders()
    assert len(exchange.requests) == 2
    assert "cookie" not in exchange.requests[1].headers
